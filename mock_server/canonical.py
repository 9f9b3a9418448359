"""Read a request the way the live API (ASP.NET) reads it: rewritten into the contract's spelling.

One ASGI middleware in front of routing and validation, built once from the contract, so that
the rest of the chain (routing, security, validation, handlers) only ever sees the contract's
spelling (docs/live-vs-published.md has the source of each rule):

- the path matched case-insensitively and with a trailing slash (`/v1/customers/12/` is
  `/v1/Customers/12`): `scope["path"]` and `raw_path` rewritten, no redirect;
- query parameter names matched case-insensitively (`pageindex` is `PageIndex`);
- the API key taken from `X-API-KEY` (any case), HTTP Basic (user `apikey`, the key as password)
  or `?apikey=` (removed from the query), and handed on as the one `x-api-key` header;
- JSON body property names matched case-insensitively against the operation's request schema,
  nested objects and arrays too; unknown properties dropped; numbers sent as strings read as
  numbers where the schema says number or integer;
- what Altoviz's own n8n node sends from its editor's defaults: a date-time in a date field or a
  date query parameter read as its date, `""` in a nullable non-text field read as null, `0` in a
  nullable reference id (`productId`, `classificationId`) read as no reference.

Where the live API silently reads a request differently from what it says, the answer carries an
`X-Mock-Warning` header (mock_server/warnings.py); `strict` refuses such a request (400) instead.
Paths the contract does not have (`/_mock`, `/ui`, unknown routes) pass untouched.

`route_any_segment` makes the routing in front of the operations take a segment with any character
in it, a newline too, as ASP.NET does (call it before the APIs are added).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlencode

from connexion.exceptions import BadRequestProblem
from starlette.convertors import PathConvertor, register_url_convertor

from . import warnings
from .api.problems import VALIDATION_FAILED, LiveBadRequest
from .api.validation import ABSENT, PARSED_BODY, parse_json
from .route_index import RouteIndex

METHODS = ("get", "post", "put", "delete", "patch")
DATE_TIME_PREFIX = re.compile(r"(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}")
INTEGER = re.compile(r"\s*-?\d+\s*\Z")
NUMBER = re.compile(r"\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*\Z")
# Query parameters the live API accepts and does nothing with (captured live, see the docs).
IGNORED_QUERY = {"orderby": "OrderBy"}
# The query parameter that may carry the API key (vendor doc: "discouraged").
KEY_QUERY = "apikey"


class AnyPathConvertor(PathConvertor):
    """Starlette's `path` convertor, matching every character. Its own regex, `.*`, stops at a
    newline: the Mount that Connexion puts each API under (`Router.mount(base_path)`, compiled as
    `{base_path}/{path:path}`) then matched no request with `%0A` in its path, so no operation
    route was tried (`/v1/Colleagues/GetByInternalId/a%0Ab` answered an empty 404), and a path
    ending in `%0A` was cut before it (`.*$` matches before a final newline)."""

    regex = "(?s:.*)"


def route_any_segment() -> None:
    """Register `AnyPathConvertor` as Starlette's `path` (its public `register_url_convertor`):
    the Mounts compiled afterwards route paths with a newline in a segment like any other. The
    operations' own parameter routes (`[^/]+`, Starlette's `str`) already take a newline."""
    register_url_convertor("path", AnyPathConvertor())


@dataclass
class Operation:
    """What the layer needs of one operation: its query names and date parameters, its body schema."""

    query: dict[str, str] = field(default_factory=dict)  # lower-case name -> contract spelling
    integers: set[str] = field(default_factory=set)  # the integer path and query parameters
    date_query: set[str] = field(default_factory=set)
    body: dict | None = None


@dataclass
class Route:
    """A contract path: its segments (a parameter's name where `literal` is False), its operations."""

    template: str
    segments: list[str]
    literal: list[bool]
    operations: dict[str, Operation]

    @property
    def parameters(self) -> int:
        return self.literal.count(False)


def _resolver(spec: dict):
    components = spec.get("components", {})

    def resolve(node):
        while isinstance(node, dict) and "$ref" in node:
            section, name = node["$ref"].split("/")[-2:]
            node = components[section][name]
        return node

    return resolve


def _schema_tree(schema, resolve, seen: dict):
    """`schema` with its `$ref`s resolved, `allOf` merged; recursive schemas share one node."""
    schema = resolve(schema)
    if not isinstance(schema, dict):
        return {}
    if id(schema) in seen:
        return seen[id(schema)]
    out: dict = {}
    seen[id(schema)] = out
    parts = [schema, *(resolve(part) for part in schema.get("allOf", ()))]
    for part in parts:
        for key, value in part.items():
            if key in ("allOf", "properties", "items"):
                continue
            out.setdefault(key, value)
        if "properties" in part:
            props = out.setdefault("properties", {})
            for name, sub in part["properties"].items():
                props[name] = _schema_tree(sub, resolve, seen)
        if "items" in part:
            out["items"] = _schema_tree(part["items"], resolve, seen)
    if "properties" in out:
        out["_names"] = {name.lower(): name for name in out["properties"]}
    return out


def compile_routes(spec: dict) -> dict[int, list[Route]]:
    """The contract's paths by number of segments, each list with static paths before templated ones."""
    resolve = _resolver(spec)
    seen: dict = {}
    routes: dict[int, list[Route]] = {}
    for template, item in spec.get("paths", {}).items():
        common = [resolve(p) for p in item.get("parameters", ())]
        operations = {}
        for method in METHODS:
            raw = item.get(method)
            if raw is None:
                continue
            operation = Operation()
            for parameter in common + [resolve(p) for p in raw.get("parameters", ())]:
                if resolve(parameter.get("schema", {})).get("type") == "integer":
                    operation.integers.add(parameter["name"])
                if parameter.get("in") != "query":
                    continue
                operation.query[parameter["name"].lower()] = parameter["name"]
                if resolve(parameter.get("schema", {})).get("format") == "date":
                    operation.date_query.add(parameter["name"])
            body = resolve(raw.get("requestBody", {}))
            schema = body.get("content", {}).get("application/json", {}).get("schema")
            if schema is not None:
                operation.body = _schema_tree(schema, resolve, seen)
            operations[method.upper()] = operation
        segments = [s[1:-1] if s.startswith("{") else s for s in template.strip("/").split("/")]
        literal = [not s.startswith("{") for s in template.strip("/").split("/")]
        routes.setdefault(len(segments), []).append(Route(template, segments, literal, operations))
    for same_length in routes.values():
        same_length.sort(key=lambda r: r.parameters)
    return routes


class BodyReader:
    """Canonicalises a parsed JSON body along a schema tree; collects the warnings it owes."""

    def __init__(self):
        self.warnings: list[str] = []

    def read(self, schema: dict, value, where: str):
        kind = schema.get("type")
        if isinstance(value, str):
            return self._scalar(schema, kind, value, where)
        if isinstance(value, dict) and "properties" in schema:
            return self._object(schema, value, where)
        if isinstance(value, list) and kind == "array" and "items" in schema:
            return [self.read(schema["items"], item, f"{where}[{n}]") for n, item in enumerate(value)]
        if (value == 0 and value is not False and kind == "integer" and schema.get("nullable")
                and where.rsplit(".", 1)[-1].endswith("Id")):
            # n8n sends 0 for an unset reference id on a line: ASP.NET reads "no reference".
            self.warnings.append(f"0 read as no reference: {where}")
            return None
        return value

    def _object(self, schema: dict, value: dict, where: str) -> dict:
        properties, names = schema["properties"], schema["_names"]
        extra = schema.get("additionalProperties")
        out: dict = {}
        for key, item in value.items():
            name = key if key in properties else names.get(key.lower())
            path = f"{where}.{name or key}" if where else (name or key)
            if name is None:
                if isinstance(extra, dict) or extra is True:
                    out[key] = item
                else:
                    self.warnings.append(f"unknown property ignored: {path}")
                continue
            if name in out:
                # Two spellings of one property: the exact one wins, the other is dropped.
                if key != name:
                    self.warnings.append(f"duplicate property ignored: {where + '.' if where else ''}{key}")
                    continue
            out[name] = self.read(properties[name], item, path)
        return out

    def _scalar(self, schema: dict, kind, value: str, where: str):
        if value == "" and schema.get("nullable") and (kind != "string" or schema.get("format") or "enum" in schema):
            self.warnings.append(f'"" read as null: {where}')
            return None
        if kind == "integer" and INTEGER.match(value):
            return int(value)
        if kind == "number" and NUMBER.match(value):
            number = float(value)
            return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
        if kind == "string" and schema.get("format") == "date":
            match = DATE_TIME_PREFIX.match(value)
            if match:
                self.warnings.append(f"date-time read as its date: {where}")
                return match.group(1)
        return value


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _basic_key(value: bytes) -> str | None:
    """The key of an `Authorization: Basic` header whose user is `apikey`."""
    scheme, _, credentials = value.decode("latin-1").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return password if user.lower() == "apikey" and password else None


class Canonical:
    """The ASGI middleware; `spec` is the contract served at the root, `strict` refuses warnings."""

    def __init__(self, app, spec: dict, strict: bool = False, exempt: tuple[str, ...] = ("/_mock",)):
        self.app = app
        self.routes = compile_routes(spec)
        self.strict = strict
        self.exempt = exempt
        # The candidates of `route` by segment count and first two segments (lower case), in
        # `routes`' order.
        self._candidates = RouteIndex(
            (count, tuple(s.lower() for s in route.segments[:2]) if all(route.literal[:2]) else None, route)
            for count, same_length in self.routes.items() for route in same_length)

    def route(self, raw_segments: list[bytes]) -> tuple[Route, list[bytes]] | None:
        """The contract route of a request path's raw segments, and the segments in its spelling."""
        decoded = [unquote(s.decode("latin-1")).lower() for s in raw_segments]
        for route in self._candidates.candidates(len(raw_segments), tuple(decoded[:2])):
            if all(s.lower() == d if lit else d != ""
                   for s, lit, d in zip(route.segments, route.literal, decoded)):
                return route, [quote(s).encode() if lit else raw
                               for s, lit, raw in zip(route.segments, route.literal, raw_segments)]
        return None

    @staticmethod
    def read_integers(route: Route, operation: Operation, segments: list[bytes]) -> tuple[list[bytes], list[str]]:
        """The live API's own 400 for an integer path parameter that is not one ("The value 'abc'
        is not valid."); else the segments with each one written with spaces around it
        (`/v1/Customers/%201`) made that integer, as the live API's model binding reads it, and the
        names of those parameters. The router's integer convertor would not match it: the answer
        would be an unknown route's empty 404."""
        read, spaced = [], []
        for name, lit, raw in zip(route.segments, route.literal, segments):
            if not lit and name in operation.integers:
                value = unquote(raw.decode("latin-1"))
                if not INTEGER.match(value):
                    raise LiveBadRequest(f"The value '{value}' is not valid.", [])
                if value != value.strip():
                    raw = quote(value.strip()).encode()
                    spaced.append(name)
            read.append(raw)
        return read, spaced

    @staticmethod
    def check_page_index(query) -> None:
        """The live API's own 400 for a page index below 1."""
        for name, value in query:
            if name == "PageIndex" and INTEGER.match(value) and int(value) < 1:
                raise LiveBadRequest(VALIDATION_FAILED, ["'Page Index' must be greater than or equal to '1'."])

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            return await self.app(scope, receive, send)
        warnings.begin(self.strict)
        # The rewritten scope shares the client's `extensions`: what routing puts there (the
        # operationId) reaches the layers outside, the journal's record included.
        scope.setdefault("extensions", {})
        scope = dict(scope)
        headers = [(k, v) for k, v in scope["headers"] if k != b"x-api-key"]
        key = _header(scope, b"x-api-key")

        raw_path = scope.get("raw_path") or quote(scope["path"]).encode()
        raw_path = raw_path.split(b"?", 1)[0]
        trimmed = raw_path.rstrip(b"/") if raw_path != b"/" else raw_path
        raw_segments = trimmed.strip(b"/").split(b"/")
        found = self.route(raw_segments)
        operation = None
        notes: list[str] = []
        if found is not None:
            route, segments = found
            operation = route.operations.get(scope["method"])
            if operation is not None:
                segments, spaced = self.read_integers(route, operation, segments)
                notes += [f"spaces around an integer ignored: {name}" for name in spaced]
            raw_path = b"/" + b"/".join(segments)
            scope["raw_path"] = raw_path
            scope["path"] = unquote(raw_path.decode("latin-1"))

        query_string = scope.get("query_string", b"")
        query = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True) if query_string else []
        kept = []
        for name, value in query:
            lower = name.lower()
            if lower == KEY_QUERY:
                key = key or value.encode("utf-8")
                continue
            if operation is not None:
                if lower in IGNORED_QUERY:
                    notes.append(f"{IGNORED_QUERY[lower]} ignored")
                    continue
                name = operation.query.get(lower, name)
                if name in operation.date_query:
                    match = DATE_TIME_PREFIX.match(value)
                    if match:
                        notes.append(f"date-time read as its date: {name}")
                        value = match.group(1)
            kept.append((name, value))
        scope["query_string"] = urlencode(kept, quote_via=quote).encode("latin-1") if query_string else b""
        if operation is not None:
            self.check_page_index(kept)

        if key is None:
            authorization = _header(scope, b"authorization")
            if authorization is not None:
                basic = _basic_key(authorization)
                if basic is not None:
                    key = basic.encode("utf-8")
                    headers = [(k, v) for k, v in headers if k != b"authorization"]
        if key is not None:
            headers.append((b"x-api-key", key))
        scope["headers"] = headers

        if operation is not None and operation.body is not None and _is_json(scope):
            receive, body_notes = await self._canonical_body(receive, operation.body, scope)
            notes += body_notes
        warnings.check(notes)
        return await self.app(scope, receive, send)

    async def _canonical_body(self, receive, schema: dict, scope):
        """Read the whole body (BodyLimit, outside, bounds it), rewrite it, and replay it."""
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return _replay(message, receive), []
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        notes: list[str] = []
        reader = BodyReader()
        try:
            # The request-body parser's own rules (depth, huge integers, lone surrogates): a body it
            # refuses is passed on as sent, for the chain's validation to refuse in its words.
            parsed = parse_json(body)
            rewritten = parsed if parsed is ABSENT else reader.read(schema, parsed, "")
        except (BadRequestProblem, ValueError, RecursionError):
            pass
        else:
            notes = reader.warnings
            if notes or rewritten != parsed:
                try:
                    body = json.dumps(rewritten, allow_nan=False).encode("ascii")
                except ValueError:
                    pass  # a number JSON cannot carry: the chain refuses the body as it was sent
                else:
                    scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
                    scope["headers"].append((b"content-length", str(len(body)).encode()))
                    parsed = rewritten
            scope.setdefault("extensions", {})[PARSED_BODY] = (body, parsed)
        return _replay({"type": "http.request", "body": body, "more_body": False}, receive), notes


def _is_json(scope) -> bool:
    content_type = _header(scope, b"content-type")
    if content_type is None:
        return False
    media = content_type.split(b";", 1)[0].strip().lower()
    return media in (b"application/json", b"text/json") or media.endswith(b"+json")


def _replay(first: dict, then):
    """A `receive` that hands `first` once, then the server's own (which tells a disconnect)."""
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await then()

    return receive
