"""Direct dispatch: the contract's ordinary requests answered without the framework's per-request layers.

Connexion answers a request through a chain of ASGI middleware (routing, security, parameter and
body validation, context), then Flask (its own routing, request and app contexts), then
Connexion's decorators (argument parsing, response building): ~90 % of the CPU time of a GET by
id, the domain and the store ~3 % (docs/benchmarks.md). `DirectDispatch` sits in front of that
chain, inside Connexion's middleware stack, and answers the requests whose outcome it can decide
exactly as the chain would, from the same contract:

- the operation, found by method and path from the contract (static paths first, as Connexion);
- the X-API-KEY resolved to a tenant by the same `Tenants.authenticate`;
- parameters and JSON bodies checked by the same compiled validators (`api.validation`), with the
  same conversions (Connexion's own `pythonic` names, `int`/`boolean` conversions);
- the handler named by the same resolver, called with the same arguments; its return value turned
  into an answer as Connexion's response decorator does, encoded with the same JSON encoder;
- with `validate_responses`, the body checked against the contract's response schema.

Everything else goes down the chain untouched (the body is replayed): any request that is not a
plain JSON one (multipart, PDFs, HEAD, odd content types, a parameter in an unusual spelling such
as `+7`, a repeated or empty one), any request the chain would refuse (no key, a wrong key, an
invalid parameter or body: the chain writes the 4xx with its exact message), /_mock, /ui and every
path the contract does not have, requests while fault rules are set, and writes when writes are
offloaded to threads (`fsync`). Errors the handler raises (not found, business rules) propagate to
Connexion's exception middleware, which renders them as for any request. So the chain stays the one
place that words refusals, and this module never has to.

`tests/test_dispatch.py` sends the same requests to a sandbox with and without it and compares the
answers; the whole test suite and the Schemathesis runs go through it. docs/benchmarks.md has the
numbers that chose it.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import unquote

from connexion.decorators.parameter import pythonic
from connexion.decorators.response import BaseResponseDecorator
from connexion.exceptions import NonConformingResponseBody
from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator, format_error_with_path
from jsonschema import Draft4Validator

from .api import _http
from .api.resolver import resolve
from .api.validation import FORMATS, INT_RANGES, _finite_float, _not_json, _too_deep, compiled_check
from .speedups import FastJSON, cached_inspect_function_arguments

log = logging.getLogger(__name__)

METHODS = ("get", "post", "put", "delete")
JSON = "application/json"
INTEGER = re.compile(r"-?[0-9]{1,19}\Z")
BOOLEANS = {"true": True, "false": False}
WATCHED = (b"x-api-key", b"host", b"content-type")
_unpack = BaseResponseDecorator._unpack_handler_response


class Refer(Exception):
    """The request goes down Connexion's chain (which words any refusal)."""


def _checker(schema: dict) -> Callable[[object], bool]:
    """A predicate telling whether a converted parameter value passes `schema`, as the chain's
    `ContractParameterValidator` would decide."""
    kind, fmt = schema.get("type"), schema.get("format")
    rest = set(schema) - {"type", "format", "description", "example"}
    if kind == "integer" and not rest and fmt in (None, "int32", "int64"):
        if fmt is None:
            return lambda v: True
        low, high = INT_RANGES[fmt]
        return lambda v: low <= v <= high
    if kind in ("string", "boolean") and not rest and fmt is None:
        return lambda v: True
    validator = Draft4Validator(schema, format_checker=FORMATS)
    return validator.is_valid


@dataclass
class Parameter:
    name: str
    argument: str
    kind: str
    required: bool
    check: Callable[[object], bool]

    def convert(self, raw: str):
        """The value the chain would pass the handler, or `Refer` where it could decide otherwise."""
        if raw == "" or raw in ("null", "None"):
            raise Refer
        if self.kind == "integer":
            if not INTEGER.match(raw):
                raise Refer
            value = int(raw)
        elif self.kind == "boolean":
            value = BOOLEANS.get(raw)
            if value is None:
                raise Refer
        elif self.kind == "string":
            value = raw
        else:
            raise Refer
        if not self.check(value):
            raise Refer
        return value


@dataclass
class Operation:
    operation_id: str
    handler: Callable
    secured: bool
    path: list[Parameter]
    query: dict[str, Parameter]
    body: Callable | None = None  # the request-body check, if the operation takes a body
    body_argument: str | None = None
    body_nullable: bool = False
    responses: dict[str, object] = field(default_factory=dict)  # status → response validator (or None)
    arguments: frozenset = frozenset()
    has_kwargs: bool = False


def _json_only(operation: dict) -> bool:
    """True if every answer of the operation is JSON (or body-less) and any body it takes is JSON."""
    for response in operation.get("responses", {}).values():
        if set(response.get("content", {})) - {JSON}:
            return False
    content = operation.get("requestBody", {}).get("content")
    return content is None or set(content) == {JSON}


def compile_operations(spec: dict) -> tuple[dict, dict]:
    """From a contract whose `$ref`s are resolved: ({(METHOD, path): Operation} for static paths,
    {METHOD: [(regex, [names], Operation, [regexes of rival templates])]} for templated ones)."""
    static, templated = {}, {}
    for path, item in spec["paths"].items():
        for method in METHODS:
            raw = item.get(method)
            if raw is None or not _json_only(raw):
                continue
            operation = _compile(spec, path, item, raw)
            if "{" not in path:
                static[(method.upper(), path)] = operation
            else:
                names = re.findall(r"{([^}]+)}", path)
                pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "([^/]+)", re.escape(path)) + r"\Z")
                templated.setdefault(method.upper(), []).append((path, pattern, names, operation))
    # A path two templates match (`/v1/Customers/GetByInternalId/contacts` is also
    # `/v1/Customers/{id}/contacts`) is the chain's to route: each template keeps its rivals.
    return static, {method: [(pattern, names, operation, [p for other, p, _, _ in routes
                                                           if other != path and _may_overlap(path, other)])
                             for path, pattern, names, operation in routes]
                    for method, routes in templated.items()}


def _may_overlap(a: str, b: str) -> bool:
    """True if one request path could match both path templates."""
    left, right = a.split("/"), b.split("/")
    return len(left) == len(right) and all(x == y or "{" in x or "{" in y for x, y in zip(left, right))


def _compile(spec: dict, path: str, item: dict, raw: dict) -> Operation:
    parameters = {(p["name"], p["in"]): p for p in item.get("parameters", []) + raw.get("parameters", [])}
    by_place: dict[str, list[Parameter]] = {"path": [], "query": [], "header": [], "cookie": []}
    for (name, place), p in parameters.items():
        schema = p.get("schema", {})
        by_place[place].append(Parameter(name, pythonic(name), schema.get("type"), bool(p.get("required")),
                                         _checker(schema)))
    if by_place["header"] or by_place["cookie"] or any(p.required for p in by_place["query"]):
        raise ValueError(f"{raw['operationId']}: header, cookie or required query parameters are not dispatched")
    handler = resolve(raw["operationId"])
    arguments, has_kwargs = cached_inspect_function_arguments(handler)
    operation = Operation(raw["operationId"], handler, bool(raw.get("security", spec.get("security"))),
                          by_place["path"], {p.name: p for p in by_place["query"]},
                          arguments=frozenset(arguments), has_kwargs=has_kwargs)
    body = raw.get("requestBody")
    if body is not None:
        schema = body["content"][JSON].get("schema", {})
        validator = Draft4RequestValidator(schema, format_checker=FORMATS)
        operation.body = compiled_check(schema) or validator.is_valid
        operation.body_argument = pythonic(raw.get("x-body-name", "body"))
        operation.body_nullable = bool(schema.get("nullable") or schema.get("x-nullable"))
    for status, response in raw.get("responses", {}).items():
        schema = response.get("content", {}).get(JSON, {}).get("schema")
        operation.responses[status] = (None if schema is None
                                       else Draft4ResponseValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER))
    return operation


class DirectDispatch:
    """ASGI middleware (Connexion's `add_middleware`): answers what it can decide, passes the rest on."""

    def __init__(self, app, *, spec: dict, services, faults: Callable[[], object], validate_responses: bool,
                 offload_writes: bool = False):
        self.app = app
        self.services = services
        self.tenants = services.tenants
        self.faults = faults
        self.validate_responses = validate_responses
        self.offload_writes = offload_writes
        self.static, self.templated = compile_operations(spec)

    def route(self, method: str, path: str) -> tuple[Operation, dict] | None:
        operation = self.static.get((method, path))
        if operation is not None:
            return operation, {}
        for pattern, names, operation, rivals in self.templated.get(method, ()):
            match = pattern.match(path)
            if match:
                if any(rival.match(path) for rival in rivals):
                    return None
                return operation, dict(zip(names, match.groups()))
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("GET", "POST", "PUT", "DELETE"):
            return await self.app(scope, receive, send)
        routed = self.route(scope["method"], scope["path"])
        if routed is None or (self.offload_writes and scope["method"] != "GET") or self.faults().any():
            return await self.app(scope, receive, send)
        body, more = await _read_body(receive)
        try:
            if more is not None:  # the client went away, or the body is not whole: the chain decides
                raise Refer
            call, kwargs = self._prepare(scope, routed, body)
        except Refer:
            return await self.app(scope, _replay(body, more, receive), send)
        status, headers, payload = self._call(routed[0], call, kwargs)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _prepare(self, scope, routed, body: bytes) -> tuple[_http.Call, dict]:
        operation, path_values = routed
        headers = {}
        for name, value in scope["headers"]:
            if name in headers and name in WATCHED:  # which one would the chain read? Its call.
                raise Refer
            headers[name] = value
        tenant = None
        if operation.secured:
            key = headers.get(b"x-api-key")
            if not key:
                raise Refer
            tenant = self.tenants.authenticate(key.decode("latin-1"))
            if tenant is None:
                raise Refer
        host = headers.get(b"host")
        if not host:
            raise Refer
        kwargs = {}
        for parameter in operation.path:
            kwargs[parameter.argument] = parameter.convert(path_values[parameter.name])
        query = scope.get("query_string")
        if query:
            if not query.isascii():
                raise Refer
            kwargs.update(self._query(operation, query))
        if operation.body is not None:
            argument = self._body(operation, headers, body)
            if operation.body_argument in operation.arguments or operation.has_kwargs:
                kwargs[operation.body_argument] = argument
        elif body:
            raise Refer
        if not operation.has_kwargs:
            kwargs = {k: v for k, v in kwargs.items() if k in operation.arguments}
        host_url = f"{scope.get('scheme', 'http')}://{host.decode('latin-1')}/"
        return _http.Call(self.services, tenant, host_url), kwargs

    @staticmethod
    def _query(operation: Operation, query: bytes) -> dict:
        values = {}
        for pair in query.decode("latin-1").split("&"):
            if not pair:
                continue
            name, eq, raw = pair.partition("=")
            if not eq or "%" in name or "+" in name:
                raise Refer
            parameter = operation.query.get(name)
            if parameter is None:
                continue  # not in the contract: ignored, as by the chain (strict_validation off)
            if parameter.argument in values:
                raise Refer
            try:
                text = unquote(raw.replace("+", " "), errors="strict")
            except UnicodeDecodeError:
                raise Refer from None
            values[parameter.argument] = parameter.convert(text)
        return values

    @staticmethod
    def _body(operation: Operation, headers: dict, body: bytes):
        content_type = headers.get(b"content-type", b"").decode("latin-1").replace(" ", "").lower()
        if content_type not in ("application/json", "application/json;charset=utf-8") or not body.strip():
            raise Refer
        try:
            value = json.loads(body.decode("utf-8"), parse_constant=_not_json, parse_float=_finite_float)
        except Exception:  # noqa: BLE001 - not JSON, not UTF-8, too deep, NaN...: the chain words it
            raise Refer from None
        if isinstance(value, (dict, list)) and _too_deep(body, value):
            raise Refer
        if value is None and not operation.body_nullable:
            raise Refer
        if not operation.body(value):
            raise Refer
        return value

    def _call(self, operation: Operation, call: _http.Call, kwargs: dict) -> tuple[int, list, bytes]:
        token = _http.CALL.set(call)
        try:
            result = operation.handler(**kwargs)
        finally:
            _http.CALL.reset(token)
        if hasattr(result, "get_data") and hasattr(result, "status_code"):  # a Flask/Werkzeug response
            payload = result.get_data()
            headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in result.headers.items()
                       if k.lower() != "content-length"]
            return result.status_code, headers + [(b"content-length", str(len(payload)).encode())], payload
        data, status, extra = _unpack(result)
        # As Connexion's Jsonifier: compact JSON and a final newline.
        payload = b"" if data is None else FastJSON.dumps(data).encode("utf-8") + b"\n"
        status = status or (204 if data is None else 200)
        if self.validate_responses:
            self._validate_response(operation, status, data)
        headers = [(b"content-type", JSON.encode()), (b"content-length", str(len(payload)).encode())]
        headers += [(str(k).lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in (extra or {}).items()]
        return status, headers, payload

    @staticmethod
    def _validate_response(operation: Operation, status: int, data) -> None:
        validator = operation.responses.get(str(status), operation.responses.get("default"))
        if validator is None or data is None:
            return
        errors = sorted(validator.iter_errors(data), key=lambda e: e.path)
        if errors:
            error = errors[0]
            log.warning("Validation error: %s%s", error.message, format_error_with_path(exception=error))
            raise NonConformingResponseBody(detail="Response body does not conform to specification. "
                                                   f"{error.message}{format_error_with_path(exception=error)}")


async def _read_body(receive) -> tuple[bytes, dict | None]:
    """The whole request body; `more` is the message that ended reading early (a disconnect), or None."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks), None


def _replay(body: bytes, ended: dict | None, receive):
    """A `receive` giving the chain the body already read, then the original channel."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            if ended is not None and not body:
                return ended
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


__all__ = ["DirectDispatch", "compile_operations"]
