"""X-API-KEY authentication: each accepted key is its own tenant."""

from __future__ import annotations

from connexion.exceptions import OAuthProblem
from connexion.security import NO_VALUE, ApiKeySecurityHandler

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
        # Connexion puts `sub` in the request context as `user` (the tenant of api/_http.py).
        return {"sub": tenant}

    class TenantApiKeyHandler(ApiKeySecurityHandler):
        """Checks keys with `verify` (bound to this app's tenants) rather than a function named by
        the contract's `x-apikeyInfoFunc`: `get_fn` is the handler's public factory of checks."""

        def get_fn(self, security_scheme, required_scopes):
            check = self.check_api_key(verify)
            name = security_scheme["name"]

            def check_request(request):
                api_key = request.headers.get(name)
                return NO_VALUE if api_key is None else check(request, api_key, required_scopes=required_scopes)

            return check_request

    return {"apiKey": TenantApiKeyHandler}
