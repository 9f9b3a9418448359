"""mock_server/routing.py: a router whose routes are grouped in `ShapedRoutes` answers every request
as Starlette's router over the same routes does (same route, same path parameters, same 405 or
404), for the contract's paths and for paths near them; `SwaggerUIPaths` answers (or hands on)
every request as Connexion's Swagger UI middleware does."""

from __future__ import annotations

import asyncio
import copy
import itertools

import pytest
from connexion.frameworks.starlette import starlettify_path
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.spec import Specification
from starlette.exceptions import HTTPException
from starlette.routing import Route, Router

from mock_server.app import SWAGGER_UI
from mock_server.contracts import load_admin_contract, load_contract
from mock_server.routing import ShapedRoutes, SwaggerUIPaths
from mock_server.sandbox.admin_api import BASE_PATH as ADMIN_BASE_PATH, NO_SWAGGER_UI

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


class Endpoint:
    """An ASGI app (as Connexion routes to) answering its operationId and the path parameters."""

    def __init__(self, name: str):
        self.name = name

    async def __call__(self, scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-endpoint", self.name.encode())]})
        await send({"type": "http.response.body", "body": repr(sorted(scope["path_params"].items())).encode()})


def contract_routes() -> list[Route]:
    """A Route per operation of openapi.yaml, in its order, typed as Connexion types them."""
    routes = []
    for template, item in load_contract()["paths"].items():
        parameters = [p for op in item.values() if isinstance(op, dict) for p in op.get("parameters", [])]
        types = {p["name"]: "int" for p in parameters
                 if p.get("in") == "path" and p.get("schema", {}).get("type") == "integer"}
        for method, operation in item.items():
            if method.upper() not in METHODS:
                continue
            name = operation["operationId"]

            routes.append(Route(starlettify_path(template, types), Endpoint(name), methods=[method.upper()]))
    return routes


def answer(router: Router, method: str, path: str) -> tuple:
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": b"", "headers": [], "scheme": "http", "server": ("127.0.0.1", 80)}
    asyncio.run(router(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    # The endpoint's name, or a 405's `Allow` (the methods of the first route the path matched).
    return start["status"], sorted(start["headers"]), body


def request_paths(routes: list[Route]) -> list[str]:
    """Each template filled in several ways, its case changed, a slash added, a segment dropped."""
    paths = {"/", "/v1", "/v1/", "/nothing/here", "/v1/Customers/12/extra/more"}
    for route in routes:
        template = route.path
        for value in ("12", "abc", "-3"):
            path = "/".join(value if "{" in s else s for s in template.split("/"))
            paths |= {path, path.lower(), path + "/", path.rsplit("/", 1)[0]}
    return sorted(paths)


@pytest.fixture(scope="module")
def routers():
    routes = contract_routes()
    assert ShapedRoutes.indexable(routes)
    return Router(routes=list(routes)), Router(routes=[ShapedRoutes(routes)]), routes


def test_shaped_routes_answer_as_the_whole_list_does(routers):
    plain, shaped, routes = routers
    paths = request_paths(routes)
    assert len(paths) > 300
    seen = set()
    for method, path in itertools.product(METHODS, paths):
        expected = answer(plain, method, path)
        assert answer(shaped, method, path) == expected, (method, path)
        seen.add(expected[0])
    assert {200, 404, 405} <= seen  # matches, partial matches (wrong method) and misses were all tried


def test_shaped_routes_try_fewer_routes_than_the_whole_list(routers):
    _, _, routes = routers
    shaped = ShapedRoutes(routes)
    finalize = {"type": "http", "method": "POST", "path": "/v1/SaleInvoices/Finalize/12", "root_path": ""}
    candidates = shaped.candidates(finalize)
    assert any(route.matches(finalize)[0].name == "FULL" for route in candidates)
    assert len(candidates) < len(routes) / 5


def swagger_ui(cls):
    """`cls` over an app that answers 299 with the scope's path (the request handed on), both
    contracts added as Connexion adds them (the most specific base path first)."""

    async def next_app(scope, receive, send):
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": repr((scope["path"], scope.get("root_path"))).encode()})

    middleware = cls(next_app)
    for contract, base_path, options in ((load_admin_contract(), ADMIN_BASE_PATH, NO_SWAGGER_UI),
                                         (load_contract(), "", SWAGGER_UI)):
        middleware.add_api(Specification.load(copy.deepcopy(contract)), base_path=base_path,
                           swagger_ui_options=options)
    return middleware


def outcome(app, method: str, path: str) -> tuple:
    """The answer, or the HTTP error raised for Connexion's exception middleware to render (a
    missing static file of Swagger UI)."""
    try:
        return answer(app, method, path)
    except HTTPException as exc:
        return exc.status_code, "raised", exc.detail


def test_swagger_ui_paths_answer_as_connexions_middleware_does():
    stock, ours = swagger_ui(SwaggerUIMiddleware), swagger_ui(SwaggerUIPaths)
    pages = ["/openapi.json", "/openapi.yaml", "/ui", "/ui/", "/ui/index.html", "/ui/swagger-ui-config.json",
             "/ui/swagger-ui.css", "/ui/nothing.js", "/_mock/openapi.json", "/_mock/ui/", "/_mock", "/_mock/"]
    paths = set(request_paths(contract_routes()))
    for page in pages:
        paths |= {page, page + "/", page + "//", page.rstrip("/"), page.upper(), "/v1" + page, "/" + page}
    statuses = set()
    for method, path in itertools.product(("GET", "POST"), sorted(paths)):
        expected = outcome(stock, method, path)
        assert outcome(ours, method, path) == expected, (method, path)
        statuses.add(expected[0])
    # Pages, redirects (a slash added or removed) and requests handed on were all tried.
    assert {200, 299} <= statuses and statuses & {307, 308}
    assert ours.paths and ours.prefixes  # the shortcut is on: the routes were all literal or mounts
