"""Sandbox-only machinery: tenants and their seeded state, and the handlers of the `/_mock` admin
API (served by Connexion from `mock_server/admin.yaml`, see `admin_api.py`)."""
