"""Schemathesis suites checking a server against the contract (`openapi.yaml`)."""
