"""Sandbox-only machinery: tenants and their seeded state, and the `/_mock` controls."""
