"""X-API-KEY authentication: each accepted key is its own tenant."""

from __future__ import annotations

from connexion.exceptions import OAuthProblem
from connexion.security import ApiKeySecurityHandler

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

    return {"apiKey": TenantApiKeyHandler}
