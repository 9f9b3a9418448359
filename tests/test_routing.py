"""mock_server/routing.py: a router whose routes are grouped in `ShapedRoutes` answers every request
as Starlette's router over the same routes does (same route, same path parameters, same 405 or
404), for the contract's paths and for paths near them."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from connexion.frameworks.starlette import starlettify_path
from starlette.routing import Route, Router

from mock_server.contracts import load_contract
from mock_server.routing import ShapedRoutes

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
