"""mock_server/api/validation.py's `PreparedValidation`: for every operation of both contracts, a
request gets from it what Connexion's own request validation gives (the same refusal, or the same
body and headers handed on), the first time and once its per-operation parts are reused."""

from __future__ import annotations

import asyncio
import copy

import pytest
from connexion.middleware.request_validation import RequestValidationAPI, RequestValidationMiddleware
from connexion.spec import Specification

from mock_server.api.resolver import OperationResolver
from mock_server.api.validation import PreparedValidation, PreparedValidationAPI, validator_map
from mock_server.contracts import load_admin_contract, load_contract
from mock_server.routing import middlewares
from mock_server.sandbox.admin_api import AdminResolver

CONTENT_TYPES = [None, "application/json", "Application/JSON; charset=UTF-8", "application/json; charset=latin-1",
                 "text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
                 "application/problem+json"]
BODIES = [b"", b"{}", b'{"name": "Dupont", "id": "x"}', b"[1]", b"null", b"not json", b'{"email": 5}']
QUERIES = [b"", b"PageIndex=abc&PageSize=1", b"PageSize=5&unknown=1"]


class Recorder:
    """The next app: what the validation hands on (the body it replays, the headers)."""

    def __init__(self):
        self.seen = None

    async def __call__(self, scope, receive, send):
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.seen = ("handed on", body, sorted(scope["headers"]))


def operations(api_cls, contract: dict, resolver):
    recorder = Recorder()
    api = api_cls(Specification.from_dict(copy.deepcopy(contract)), next_app=recorder, resolver=resolver,
                  validator_map=validator_map(), strict_validation=False)
    return api.operations, recorder


async def outcome(operation, recorder, scope, body: bytes):
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return messages.pop() if messages else {"type": "http.disconnect"}

    async def send(message):
        pass

    recorder.seen = None
    try:
        await operation({**scope, "headers": list(scope["headers"])}, receive, send)
    except Exception as exc:  # a refusal: Connexion's problem exceptions
        return ("refused", type(exc).__name__, getattr(exc, "status", None), getattr(exc, "detail", str(exc)))
    return recorder.seen


def scope_for(operation, query: bytes, content_type: str | None, body: bytes) -> dict:
    parameters = operation._operation.parameters
    headers = [(b"host", b"127.0.0.1"), (b"x-api-key", b"k")]
    if content_type is not None:
        headers.append((b"content-type", content_type.encode()))
    if body:
        headers.append((b"content-length", str(len(body)).encode()))
    return {"type": "http", "method": operation._operation.method.upper(), "path": "/", "query_string": query,
            "headers": headers, "path_params": {p["name"]: "1" for p in parameters if p["in"] == "path"},
            "extensions": {}}


@pytest.mark.parametrize("contract, resolver", [(load_contract(), OperationResolver), (load_admin_contract(), AdminResolver)],
                         ids=["openapi.yaml", "admin.yaml"])
def test_prepared_validation_answers_as_connexion_does(contract, resolver):
    connexion_ops, connexion_seen = operations(RequestValidationAPI, contract, resolver())
    prepared_ops, prepared_seen = operations(PreparedValidationAPI, contract, resolver())
    assert prepared_ops.keys() == connexion_ops.keys() and len(prepared_ops) > 10
    compared, refused = asyncio.run(compare(connexion_ops, connexion_seen, prepared_ops, prepared_seen))
    # Both kinds of outcome were compared: refusals (415, 400) and requests handed on.
    assert 0 < refused < compared


async def compare(connexion_ops, connexion_seen, prepared_ops, prepared_seen) -> tuple[int, int]:
    compared = refused = 0
    for operation_id, theirs in connexion_ops.items():
        ours = prepared_ops[operation_id]
        has_body = theirs._operation.request_body
        for content_type in CONTENT_TYPES:
            for body in BODIES if has_body else BODIES[:2]:
                for query in QUERIES:
                    expected = await outcome(theirs, connexion_seen, scope_for(theirs, query, content_type, body), body)
                    for attempt in ("first", "reused"):
                        got = await outcome(ours, prepared_seen, scope_for(ours, query, content_type, body), body)
                        assert got == expected, (operation_id, content_type, body, query, attempt)
                    compared += 1
                    refused += expected[0] == "refused"
    return compared, refused


def test_the_app_validates_through_prepared_validation():
    stack = middlewares()
    assert PreparedValidation in stack and RequestValidationMiddleware not in stack
