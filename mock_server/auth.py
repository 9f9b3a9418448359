"""API-key authentication: each accepted key is its own tenant.

The contract lists the three ways the live API takes a key (header, HTTP Basic `apikey`:key, query
`apikey`); the canonical layer (canonical.py) has already handed each on as the `X-API-KEY` header,
but each scheme verifies its own form too, so that the contract's alternatives hold as written.
"""

from __future__ import annotations

from connexion.exceptions import OAuthProblem
from connexion.security import ApiKeySecurityHandler, BasicSecurityHandler

from .sandbox.tenants import Tenants

# The two 401 details of Connexion's security handler, on /v1 and /_mock alike.
MISSING_KEY = "The X-API-KEY header is missing"
INVALID_KEY = "The X-API-KEY header does not hold a valid API key"


def security_map(tenants: Tenants) -> dict:
    """Connexion's `security_map` with an apiKey handler bound to `tenants`."""

    def verify(api_key: str, required_scopes=None) -> dict:
        tenant = tenants.authenticate(api_key)
        if tenant is None:
            raise OAuthProblem(detail=INVALID_KEY)
        return {"sub": tenant}

    class TenantApiKeyHandler(ApiKeySecurityHandler):
        """Resolves keys through `tenants` rather than a function named in the contract."""

        def _resolve_func(self, security_scheme):
            return verify

    def verify_basic(username: str, password: str, required_scopes=None) -> dict:
        if username.lower() != "apikey":
            raise OAuthProblem(detail=INVALID_KEY)
        return verify(password)

    class TenantBasicHandler(BasicSecurityHandler):
        """HTTP Basic with user `apikey` and the key as the password."""

        def _resolve_func(self, security_scheme):
            return verify_basic

    return {"apiKey": TenantApiKeyHandler, "basic": TenantBasicHandler}
