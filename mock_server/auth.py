"""API-key authentication: each accepted key is its own tenant.

The contract lists the three ways the live API takes a key (header, HTTP Basic `apikey`:key, query
`apikey`); the canonical layer (canonical.py) has already handed each on as the `X-API-KEY` header,
but each scheme verifies its own form too, so that the contract's alternatives hold as written.
Both handlers override the check factory of Connexion's handlers (`get_fn`), whose check returns
the token info (`{"sub": tenant}`), `NO_VALUE` when the scheme's form is absent, or raises the 401.
"""

from __future__ import annotations

import base64
import binascii

from connexion.exceptions import OAuthProblem
from connexion.security import NO_VALUE, ApiKeySecurityHandler, BasicSecurityHandler

from .sandbox.tenants import Tenants

# The two 401 details of Connexion's security handler, on /v1 and /_mock alike.
MISSING_KEY = "The X-API-KEY header is missing"
INVALID_KEY = "The X-API-KEY header does not hold a valid API key"


def security_map(tenants: Tenants) -> dict:
    """Connexion's `security_map` with apiKey and basic handlers bound to `tenants`."""

    def verify(api_key: str) -> dict:
        tenant = tenants.authenticate(api_key)
        if tenant is None:
            raise OAuthProblem(detail=INVALID_KEY)
        # Connexion puts `sub` in the request context as `user` (the tenant of api/_http.py).
        return {"sub": tenant}

    class TenantApiKeyHandler(ApiKeySecurityHandler):
        """Checks keys (header or query, as the scheme says) with `verify`, bound to this app's
        tenants, rather than a function named by the contract's `x-apikeyInfoFunc`."""

        def get_fn(self, security_scheme, required_scopes):
            name, where = security_scheme["name"], security_scheme.get("in", "header")

            # `verify` called as is: Connexion's `check_api_key` wrapper would read its signature
            # on every request (twice) to learn what it takes, which it knows here.
            def check_request(request):
                source = request.query_params if where == "query" else request.headers
                api_key = source.get(name)
                return NO_VALUE if api_key is None else verify(api_key)

            return check_request

    def verify_basic(username: str, password: str) -> dict:
        if username.lower() != "apikey":
            raise OAuthProblem(detail=INVALID_KEY)
        return verify(password)

    class TenantBasicHandler(BasicSecurityHandler):
        """HTTP Basic with user `apikey` and the key as the password."""

        def get_fn(self, security_scheme, required_scopes):
            def check_request(request):
                auth_type, user_pass = self.get_auth_header_value(request)
                if auth_type != "basic":
                    return NO_VALUE
                try:
                    username, password = base64.b64decode(user_pass).decode("latin1").split(":", 1)
                except (ValueError, binascii.Error):
                    raise OAuthProblem(detail="Invalid authorization header") from None
                return verify_basic(username, password)

            return check_request

    return {"apiKey": TenantApiKeyHandler, "basic": TenantBasicHandler}
