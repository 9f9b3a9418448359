"""mock_server/api/operations.py: a handler called by `SandboxApp` gets the arguments Connexion's
`AsyncApp` gives it for the same request (path and query parameters typed, named the Python way,
defaults, arrays, nullables, a JSON body or its default, an upload's files, the request context),
and its return value answers as `AsyncApp` answers it (a status, headers, no body)."""

from __future__ import annotations

import datetime as dt

import connexion
import pytest
from connexion.resolver import Resolver
from starlette.datastructures import UploadFile

from mock_server.api.operations import SandboxApp

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "binding", "version": "1"},
    "paths": {
        "/Items/{itemId}": {
            "get": {
                "operationId": "get_item",
                "parameters": [
                    {"name": "itemId", "in": "path", "required": True, "schema": {"type": "integer"}},
                    {"name": "pageIndex", "in": "query", "schema": {"type": "integer", "default": 1}},
                    {"name": "ratio", "in": "query", "schema": {"type": "number"}},
                    {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
                    {"name": "ids", "in": "query", "explode": False,
                     "schema": {"type": "array", "items": {"type": "integer"}}},
                    {"name": "includeCancelled", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                    {"name": "note", "in": "query", "schema": {"type": "string", "nullable": True}},
                    {"name": "unused", "in": "query", "schema": {"type": "string", "default": "x"}},
                ],
                "responses": {"200": {"description": "ok", "content": {"application/json": {}}}},
            },
        },
        "/Things": {
            "post": {
                "operationId": "post_thing",
                "requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "properties": {"a": {"type": "integer"}}}}}},
                "responses": {"201": {"description": "created", "content": {"application/json": {}}}},
            },
            "put": {
                "operationId": "put_thing",
                "requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "default": {"a": 7}}}}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {}}}},
            },
            "delete": {
                "operationId": "delete_thing",
                "responses": {"204": {"description": "gone"}},
            },
        },
        "/Upload": {
            "post": {
                "operationId": "upload",
                "requestBody": {"content": {"multipart/form-data": {"schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"},
                                   "more": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {}}}},
            },
        },
        "/Context": {
            "get": {
                "operationId": "context",
                "responses": {"200": {"description": "ok", "content": {"application/json": {}}}},
            },
        },
        "/Pdf": {
            "get": {
                "operationId": "pdf",
                "responses": {"200": {"description": "ok", "content": {"application/pdf": {}}}},
            },
        },
    },
}


def described(value):
    """A handler argument as JSON: its Python type and value (an upload by its name and bytes)."""
    if isinstance(value, UploadFile):
        return {"upload": value.filename, "bytes": value.file.read().decode()}
    if isinstance(value, list):
        return [described(item) for item in value]
    if isinstance(value, dict):
        return {key: described(item) for key, item in value.items()}
    if isinstance(value, (dt.date, dt.datetime)):
        return {"date": value.isoformat()}
    return {type(value).__name__: value}


def get_item(item_id, page_index, ratio=None, tags=None, ids=None, include_cancelled=None, from_=None,
             note="absent"):
    return described(dict(item_id=item_id, page_index=page_index, ratio=ratio, tags=tags, ids=ids,
                          include_cancelled=include_cancelled, from_=from_, note=note))


def post_thing(body):
    return described({"body": body}), 201


async def put_thing(body):
    return described({"body": body}), 200, {"X-Seen": "yes"}


def delete_thing():
    return None, 204


def upload(file=None, more=None):
    return described({"file": file, "more": more})


def context(context_):
    return described({"keys": sorted(context_)})


def pdf():
    return b"%PDF-1.4 tiny", 200, {"Content-Disposition": 'inline; filename="x.pdf"'}


HANDLERS = {name: globals()[name] for name in
            ("get_item", "post_thing", "put_thing", "delete_thing", "upload", "context", "pdf")}

REQUESTS = [
    ("GET", "/Items/12", {}),
    ("GET", "/Items/12?pageIndex=3&ratio=2.5&tags=a&tags=b&ids=4,5&includeCancelled=true&from=2026-12-01"
            "&note=null&other=9", {}),
    ("GET", "/Items/12?includeCancelled=false&note=hello&tags=solo", {}),
    ("GET", "/Items/abc", {}),
    ("GET", "/Items/12?pageIndex=x", {}),
    ("POST", "/Things", {"json": {"a": 3}}),
    ("POST", "/Things", {}),
    ("POST", "/Things", {"content": b"null", "headers": {"Content-Type": "application/json"}}),
    ("PUT", "/Things", {"headers": {"Content-Type": "application/json"}}),
    ("PUT", "/Things", {"json": {"b": 1}}),
    ("DELETE", "/Things", {}),
    ("POST", "/Upload", {"files": [("file", ("a.txt", b"first")), ("more", ("b.txt", b"second")),
                                   ("more", ("c.txt", b"third"))]}),
    ("POST", "/Upload", {"files": [("file", ("a.txt", b"only"))]}),
    ("GET", "/Context", {}),
    ("GET", "/Pdf", {}),
    ("GET", "/Nowhere", {}),
    ("PATCH", "/Things", {}),
]


def answers(app, requests=REQUESTS) -> list[tuple]:
    app.add_api(SPEC, resolver=Resolver(function_resolver=HANDLERS.__getitem__))
    out = []
    with app.test_client() as client:
        for method, path, options in requests:
            response = client.request(method, path, **options)
            headers = {name: response.headers[name] for name in
                       ("content-type", "x-seen", "content-disposition") if name in response.headers}
            out.append((method, path, response.status_code, headers, response.content))
    return out


@pytest.fixture(scope="module")
def both():
    return (answers(connexion.AsyncApp(__name__, pythonic_params=True)),
            answers(SandboxApp(__name__, pythonic_params=True)))


@pytest.mark.parametrize("number", range(len(REQUESTS)), ids=[f"{m} {p}" for m, p, _ in REQUESTS])
def test_each_request_answers_as_asyncapp_answers_it(both, number):
    connexion_answer, sandbox_answer = both[0][number], both[1][number]
    assert sandbox_answer == connexion_answer


def test_the_arguments_are_typed_named_and_defaulted(both):
    import json
    _, sandbox = both
    assert json.loads(sandbox[0][4]) == {
        "item_id": {"int": 12}, "page_index": {"int": 1}, "ratio": {"NoneType": None}, "tags": {"NoneType": None},
        "ids": {"NoneType": None}, "include_cancelled": {"NoneType": None}, "from_": {"NoneType": None},
        "note": {"str": "absent"}}
    given = json.loads(sandbox[1][4])
    assert given["page_index"] == {"int": 3} and given["ratio"] == {"float": 2.5}
    assert given["tags"] == [{"str": "a"}, {"str": "b"}] and given["ids"] == [{"int": 4}, {"int": 5}]
    assert given["include_cancelled"] == {"bool": True} and given["note"] == {"NoneType": None}
    assert json.loads(sandbox[8][4]) == {"body": {"a": {"int": 7}}}  # the schema's default body
    assert sandbox[10][2] == 204 and sandbox[10][4] == b""
    assert json.loads(sandbox[11][4]) == {"file": {"upload": "a.txt", "bytes": "first"},
                                          "more": [{"upload": "b.txt", "bytes": "second"},
                                                   {"upload": "c.txt", "bytes": "third"}]}
    assert sandbox[14][3]["content-type"] == "application/pdf" and sandbox[14][4] == b"%PDF-1.4 tiny"
    assert [answer[2] for answer in sandbox[-2:]] == [404, 405]


def test_no_body_and_no_media_type_gives_the_default_body():
    """AsyncApp answers this one 500 (it hands the JSON encoder the empty body as bytes)."""
    import json
    [(_, _, status, _, body)] = answers(SandboxApp(__name__, pythonic_params=True), [("PUT", "/Things", {})])
    assert (status, json.loads(body)) == (200, {"body": {"a": {"int": 7}}})
