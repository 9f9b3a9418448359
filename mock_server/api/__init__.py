"""Thin HTTP adapters, one module per API resource: parse the validated request, call the domain,
shape the response. No business rules here."""
