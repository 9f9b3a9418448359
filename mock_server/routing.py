"""Connexion's routing, each request trying only the operation routes of its path's shape.

Connexion routes a request with a Starlette `Router` holding one `Route` per operation, in the
contract's order, tried one after the other until one matches: `POST /v1/SaleInvoices/Finalize/{id}`
went through 57 of the 93 routes' regexes, some 5 % of that request's CPU time (docs/architecture.md). The
routes a path can match all have its segment count and, when literal, its first two segments:
`ShapedRoutes` tries those only, in the same order, with their own `matches`, so every answer is
the one the whole list gives (the first full match, else the first partial one: the 405s).

`ShapedRouting` is Connexion's `RoutingMiddleware`, put in its place in the app's `middlewares` (a
public knob: `middlewares()`, which also places the sandbox's own middlewares): after each API is
added, its router's routes are grouped in one `ShapedRoutes` (a Starlette `BaseRoute`).

Before that routing, Connexion's `SwaggerUIMiddleware` runs every request through a router of its
own (the contract's `/openapi.json`, `/openapi.yaml`, `/ui/...` under each API's base path), whose
default hands the request on. `SwaggerUIPaths`, in its place, hands on at once a path none of those
routes can answer, nor redirect to with a slash added or removed; the others take its router.
"""

from __future__ import annotations

from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from starlette.routing import BaseRoute, Match, Mount, NoMatchFound, Route

from .api.validation import PreparedValidation
from .route_index import RouteIndex


def _segments(path: str) -> list[str] | None:
    """`/v1/Customers/{id:int}` → ["v1", "Customers", "{id:int}"]; None for a path not from the root."""
    return path[1:].split("/") if path.startswith("/") else None


def _route_path(scope) -> str:
    """The path a route of the router matches (below the Mount's `root_path`), as Starlette reads it."""
    path, root = scope["path"], scope.get("root_path", "")
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root):] if path[len(root)] == "/" else path


def _head(segments: list[str]) -> tuple[str, ...]:
    return tuple(s.lower() for s in segments[:2])


class ShapedRoutes(BaseRoute):
    """A router's routes as one: those a path's shape allows tried in order, the first full match
    (else the first partial one) handling the request, as Starlette's `Router` does over them all."""

    def __init__(self, routes: list[Route]):
        self.routes = list(routes)
        shapes = []
        for route in self.routes:
            segments = _segments(route.path)
            literal = [("{" not in s) for s in segments[:2]]
            shapes.append((len(segments), _head(segments) if all(literal) else None, route))
        self._index = RouteIndex(shapes)

    @staticmethod
    def indexable(routes) -> bool:
        """Routes whose shape tells the paths they match: plain routes, one segment per parameter."""
        return bool(routes) and all(
            type(route) is Route and _segments(route.path) is not None and ":path}" not in route.path
            for route in routes)

    def candidates(self, scope) -> list[Route]:
        segments = _segments(_route_path(scope))
        if segments is None:
            return self.routes
        return self._index.candidates(len(segments), _head(segments))

    def matches(self, scope):
        if scope["type"] != "http":
            return Match.NONE, {}
        partial = None
        for route in self.candidates(scope):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                # The Router puts this route in scope["route"], then the child scope: the route that
                # matched takes its place there, for `handle`.
                return Match.FULL, {**child_scope, "route": route}
            if match is Match.PARTIAL and partial is None:
                partial = {**child_scope, "route": route}
        if partial is not None:
            return Match.PARTIAL, partial
        return Match.NONE, {}

    async def handle(self, scope, receive, send) -> None:
        await scope["route"].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params):
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)


class ShapedRouting(RoutingMiddleware):
    """Connexion's routing middleware, the routes of each API it adds grouped in a `ShapedRoutes`."""

    def add_api(self, *args, **kwargs) -> None:
        super().add_api(*args, **kwargs)
        router = self.router.routes[-1].app  # the Mount `add_api` just appended, over the API's router
        if ShapedRoutes.indexable(router.routes):
            router.routes[:] = [ShapedRoutes(router.routes)]


class SwaggerUIPaths(SwaggerUIMiddleware):
    """Connexion's Swagger UI middleware, its router run only for the paths its routes may answer.

    Its routes are literal paths (`/ui/`, `/openapi.json`) and mounts (`/ui`'s static files) under
    each API's Mount: `paths` holds the literal ones (and each mount's own path), `prefixes` the
    mounts' with a slash. Its router answers a path that one of them matches, or matches once a
    trailing slash is added or removed (Starlette's redirect); every other path went to its default,
    which hands the request on unchanged, as this does without the router.
    """

    def __init__(self, app) -> None:
        super().__init__(app)
        self.paths: set[str] | None = set()
        self.prefixes: tuple[str, ...] = ()

    def add_api(self, *args, **kwargs) -> None:
        super().add_api(*args, **kwargs)
        self.paths, self.prefixes = self._literal_paths()

    def _literal_paths(self) -> tuple[set[str] | None, tuple[str, ...]]:
        """(`paths`, `prefixes`) of the router's routes; (None, ()) for a route of another shape,
        which makes every request take the router."""
        paths, prefixes = set(), []
        for mount in self.router.routes:
            if type(mount) is not Mount or "{" in mount.path:
                return None, ()
            paths.add(mount.path)
            for route in getattr(mount.app, "routes", ()):
                path = mount.path + route.path
                if type(route) not in (Route, Mount) or "{" in path:
                    return None, ()
                paths.add(path)
                if type(route) is Mount:
                    prefixes.append(path + "/")
        return paths, tuple(prefixes)

    def _may_answer(self, path: str) -> bool:
        if self.paths is None:
            return True
        stripped = path.rstrip("/")  # what Starlette tries for a path ending with slashes
        return path in self.paths or stripped in self.paths or path + "/" in self.paths \
            or (stripped + "/").startswith(self.prefixes)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not self._may_answer(scope["path"]):
            return await self.app(scope, receive, send)
        return await super().__call__(scope, receive, send)


# Connexion's middlewares replaced by subclasses: this module's, and validation's.
_REPLACED = {RoutingMiddleware: ShapedRouting, SwaggerUIMiddleware: SwaggerUIPaths,
             RequestValidationMiddleware: PreparedValidation}


def middlewares(before: dict | None = None) -> list:
    """Connexion's default middlewares, `ShapedRouting`, `SwaggerUIPaths` and `PreparedValidation`
    (api/validation.py) in place of theirs, each of `before`'s lists (of middlewares, outermost
    first) in front of the Connexion middleware it names: what `add_middleware`'s positions do,
    which name the classes replaced here. A new list for each app, as Connexion inserts the
    middlewares `add_middleware` adds into the one it is given."""
    before = dict(before or {})
    stack = []
    for middleware in ConnexionMiddleware.default_middlewares:
        stack.extend(before.pop(middleware, ()))
        stack.append(_REPLACED.get(middleware, middleware))
    if before:
        raise ValueError(f"not among Connexion's middlewares: {', '.join(map(str, before))}")
    return stack
