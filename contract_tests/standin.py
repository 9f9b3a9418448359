"""Local stand-ins of "the live API", to prove that live mode reports drift.

A stand-in is the real sandbox app served by uvicorn on 127.0.0.1 (a free port, a thread of the
calling process), optionally behind a small ASGI middleware that makes it drift from the contract
in exactly one known way: a renamed response field, a changed type, a new enum value, an
undocumented status code, a removed endpoint, a new required request field or parameter, a changed
content type. Without a drift it is faithful: live mode must report nothing against it.

    with StandIn("renamed-field") as api:
        run_contract(RunOptions(base_url=api.url, api_key=api.api_key))

From a shell (what the README's "Detecting drift" section does):

    python -m contract_tests.standin --drift renamed-field --port 8081
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from mock_server.config import DEFAULT_API_KEY, Config

Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, Headers, bytes]


def _json_answer(status: int, document: object) -> Answer:
    body = json.dumps(document).encode()
    return status, [(b"content-type", b"application/json")], body


def _rewrite_json(body: bytes, change: Callable[[dict], None]) -> bytes:
    """Apply `change` to every JSON object of the document (an object or an array of them)."""
    try:
        document = json.loads(body)
    except ValueError:
        return body
    for item in document if isinstance(document, list) else [document]:
        if isinstance(item, dict):
            change(item)
    return json.dumps(document, ensure_ascii=False).encode()


@dataclass(frozen=True)
class Drift:
    """One way the stand-in departs from the contract.

    `path` (a regex on the request path) and `methods` say which requests it touches. `request`
    may answer instead of the app (method, path, query string, body → answer or None); `response`
    rewrites the app's answer (status, headers, body → answer). `reported` lists the
    (operation, check) pairs live mode must report, `writes` whether it takes `--allow-writes`.
    """

    name: str
    summary: str
    path: str
    methods: tuple[str, ...]
    reported: tuple[tuple[str, str], ...]
    request: Callable[[str, str, str, bytes], Answer | None] | None = None
    response: Callable[[int, Headers, bytes], Answer] | None = None
    writes: bool = False

    def touches(self, method: str, path: str) -> bool:
        return method in self.methods and re.fullmatch(self.path, path) is not None


def _rename_company_name(status: int, headers: Headers, body: bytes) -> Answer:
    def change(item: dict) -> None:
        if "companyName" in item:
            item["company_name"] = item.pop("companyName")
    return status, headers, _rewrite_json(body, change) if status == 200 else body


def _unit_price_as_text(status: int, headers: Headers, body: bytes) -> Answer:
    def change(item: dict) -> None:
        if isinstance(item.get("unitPrice"), (int, float)):
            item["unitPrice"] = f"{item['unitPrice']:.2f}"
    return status, headers, _rewrite_json(body, change) if status == 200 else body


def _new_customer_type(status: int, headers: Headers, body: bytes) -> Answer:
    def change(item: dict) -> None:
        if item.get("type") == "Government":
            item["type"] = "PublicAdministration"
    return status, headers, _rewrite_json(body, change) if status == 200 else body


def _forbidden(method: str, path: str, query: str, body: bytes) -> Answer:
    return _json_answer(403, {"type": "about:blank", "title": "Forbidden", "status": 403,
                              "detail": "Your subscription does not include this API"})


def _route_gone(method: str, path: str, query: str, body: bytes) -> Answer:
    # What ASP.NET answers for a route that no longer exists: an empty 404.
    return 404, [], b""


def _email_required_in_body(method: str, path: str, query: str, body: bytes) -> Answer | None:
    try:
        document = json.loads(body or b"null")
    except ValueError:
        return None  # not JSON: the app answers as usual
    if isinstance(document, dict) and not document.get("email"):
        return _json_answer(400, {"message": "The Email field is required.",
                                  "errors": ["The Email field is required."]})
    return None


def _email_required_in_query(method: str, path: str, query: str, body: bytes) -> Answer | None:
    if not re.search(r"(^|&)email=[^&]", query):
        return _json_answer(400, {"type": "about:blank", "title": "Bad Request", "status": 400,
                                  "detail": "The email parameter is required."})
    return None


def _plain_text(status: int, headers: Headers, body: bytes) -> Answer:
    if status != 200:
        return status, headers, body
    headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
    return status, headers + [(b"content-type", b"text/plain; charset=utf-8")], body


DRIFTS: dict[str, Drift] = {d.name: d for d in [
    Drift("renamed-field", "customers answer `company_name` instead of `companyName`",
          r"/v1/Customers(/.*)?", ("GET", "POST", "PUT"), response=_rename_company_name,
          reported=(("GET /v1/Customers", "response_schema_conformance"),
                    ("GET /v1/Customers/{id}", "response_schema_conformance"))),
    Drift("changed-type", "products answer `unitPrice` as a string (\"735.00\"), not a number",
          r"/v1/Products(/.*)?", ("GET", "POST", "PUT"), response=_unit_price_as_text,
          reported=(("GET /v1/Products", "response_schema_conformance"),
                    ("GET /v1/Products/{id}", "response_schema_conformance"))),
    Drift("new-enum-value", "customers of type Government answer the new type `PublicAdministration`",
          r"/v1/Customers(/.*)?", ("GET", "POST", "PUT"), response=_new_customer_type,
          reported=(("GET /v1/Customers", "response_schema_conformance"),)),
    Drift("undocumented-status", "GET /v1/Vats answers 403 Forbidden (not documented)",
          r"/v1/Vats", ("GET",), request=_forbidden,
          reported=(("GET /v1/Vats", "status_code_conformance"),)),
    Drift("removed-endpoint", "GET /v1/ProductFamilies/{id} is gone: an empty 404 for every id",
          r"/v1/ProductFamilies/[^/]+", ("GET",), request=_route_gone,
          reported=(("GET /v1/ProductFamilies/{id}", "operation_available"),)),
    Drift("new-required-parameter", "GET /v1/Colleagues (the list) requires the `email` query parameter",
          r"/v1/Colleagues", ("GET",), request=_email_required_in_query,
          reported=(("GET /v1/Colleagues", "positive_data_acceptance"),)),
    Drift("new-required-field", "POST /v1/Customers requires `email` in the body (400 without it)",
          r"/v1/Customers", ("POST",), request=_email_required_in_body, writes=True,
          reported=(("POST /v1/Customers", "positive_data_acceptance"),)),
    Drift("changed-content-type", "GET /v1/Units answers text/plain instead of application/json",
          r"/v1/Units", ("GET",), response=_plain_text,
          reported=(("GET /v1/Units", "content_type_conformance"),)),
]}


class DriftMiddleware:
    """ASGI middleware applying one `Drift` to the requests it touches; the others pass through."""

    def __init__(self, app, drift: Drift | None, log: list | None = None):
        self.app = app
        self.drift = drift
        self.log = log

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        method, path = scope["method"], scope["path"]
        if self.log is not None:
            self.log.append((time.monotonic(), method, path))
        drift = self.drift
        if drift is None or not drift.touches(method, path):
            return await self.app(scope, receive, send)

        received, body, more = [], b"", True
        while more:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if drift.request is not None:
            answer = drift.request(method, path, scope.get("query_string", b"").decode("latin-1"), body)
            if answer is not None:
                return await self._send(send, *answer)

        async def replay():
            return received.pop(0) if received else await receive()

        if drift.response is None:
            return await self.app(scope, replay, send)
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._send(send, *drift.response(start["status"], list(start.get("headers", [])),
                                                           b"".join(chunks)))
            else:
                await send(message)

        await self.app(scope, replay, capture)

    @staticmethod
    async def _send(send, status: int, headers: Headers, body: bytes) -> None:
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def sandbox_config(**values) -> Config:
    """An in-memory, seeded sandbox that never delivers webhooks (the URLs a contract run registers
    are made up: nothing may leave 127.0.0.1)."""
    if "webhook_workers" in Config.__dataclass_fields__:
        values.setdefault("webhook_workers", 0)
    return Config(data_dir=None, **values)


def close_app(app) -> None:
    services = app.services
    close = getattr(services, "close", None) or services.store.close
    close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StandIn:
    """The sandbox (in memory, seeded) on 127.0.0.1, drifting as `drift` says (None: faithful)."""

    drift: str | None = None
    port: int = 0
    api_key: str = DEFAULT_API_KEY
    requests: list = field(default_factory=list)  # (monotonic time, method, path) of every request

    def __post_init__(self):
        if self.drift is not None and self.drift not in DRIFTS:
            raise ValueError(f"unknown drift {self.drift!r}; known: {', '.join(DRIFTS)}")
        self.port = self.port or free_port()
        self._server = None
        self._thread = None
        self._app = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> "StandIn":
        import uvicorn

        from mock_server.app import create_app

        self._app = create_app(sandbox_config(port=self.port))
        app = DriftMiddleware(self._app, DRIFTS.get(self.drift) if self.drift else None, self.requests)
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                     log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, name=f"standin-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the stand-in did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._app is not None:
            close_app(self._app)
        self._server = self._thread = self._app = None

    def __enter__(self) -> "StandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    parser = argparse.ArgumentParser(
        prog="python -m contract_tests.standin",
        description="Serve the sandbox on 127.0.0.1, drifting from the contract in one known way.")
    parser.add_argument("--drift", choices=sorted(DRIFTS), help="the drift to apply (default: none, faithful)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--list", action="store_true", help="list the drifts and exit")
    args = parser.parse_args(argv)
    if args.list:
        for drift in DRIFTS.values():
            print(f"{drift.name:24} {drift.summary}{' (needs --allow-writes)' if drift.writes else ''}")
        return 0
    standin = StandIn(args.drift, port=args.port).start()
    what = f"drifting: {DRIFTS[args.drift].summary}" if args.drift else "faithful"
    print(f"Stand-in of the live API ({what}) listening on {standin.url}, API key {standin.api_key}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
