"""The request journal: what each client sent to /v1 and /Hello, what it got back, and why.

`RequestJournal` is an ASGI middleware of Connexion's chain (added in create_app just inside the
server-error one), so it sees every answer as the client gets it, refusals and faults included: the
final status, headers and body. It records each /v1 and /Hello request in the `Journal` ring of the
tenant of its API key, and writes one access-log line per request (every path) on the
`altoviz_mock.access` logger.

The reasons it records come from the answer itself: the refusal is the error body's `message` (live
shape) or `detail` (ProblemDetails); the warnings are the `X-Mock-Warning` headers; the fault is the
`X-Mock-Fault` header (the rule id, sandbox/faults.py). The operationId is the one Connexion's
router put in the ASGI scope's extensions, else the contract's operation matching method and path
(`Operations.match`); for a refused or unrouted request `Operations.near_misses` lists the closest
operations of the contract and what differs.

A request with no accepted key is recorded in the default tenant's journal: it belongs to nobody
else, and the developer looking at the sandbox is the one who needs to see it.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import difflib
import fnmatch
import json
import logging
import threading
import time
from http import HTTPStatus
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import parse_qsl, urlencode

from . import offload
from .config import DEFAULT_API_KEY
from .route_index import RouteIndex
from .store import replace_file, tenant_dirname

access_log = logging.getLogger("altoviz_mock.access")

BODY_CAP = 16 * 1024
"""Characters of a request or answer body kept in an entry (the rest is cut, `...Truncated` says so)."""
DEFAULT_SIZE = 1000
CLIENT_CLOSED = 499
"""The status recorded for a request the client left before it was answered (nginx's): nothing was sent."""
REDACTED = "***"
SECRET_HEADERS = {"x-api-key", "authorization", "cookie", "proxy-authorization"}
SECRET_QUERY = {"apikey", "api_key"}
PERSIST_FILE = "requests.jsonl"
ROUTING = "connexion_routing"  # connexion.middleware.abstract.ROUTING_CONTEXT
CONTEXT = "connexion_context"  # where the security handler puts the tenant ("user")
TEXT_TYPES = ("json", "text/", "xml", "x-www-form-urlencoded", "javascript", "yaml")
METHODS = ("get", "post", "put", "patch", "delete")


def journaled(path: str) -> bool:
    """Whether a request path is recorded (the API's paths; never /_mock, /ui or the contract)."""
    return path == "/v1" or path.startswith("/v1/") or path.lower().rstrip("/") == "/hello"


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _body_text(data: bytes, content_type: str) -> tuple[str, bool]:
    """A body as an entry keeps it: text (capped at BODY_CAP characters), binary ones described."""
    if not data:
        return "", False
    kind = content_type.lower()
    if kind and not any(t in kind for t in TEXT_TYPES):
        return f"({len(data)} bytes of {content_type.split(';')[0].strip()})", False
    text = data.decode("utf-8", errors="replace")
    return (text[:BODY_CAP], True) if len(text) > BODY_CAP else (text, False)


def redact_query(query: str) -> str:
    """The query string with any API key in it replaced by ***."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(name.lower() in SECRET_QUERY for name, _ in pairs):
        return query
    return urlencode([(n, REDACTED if n.lower() in SECRET_QUERY else v) for n, v in pairs], safe="*")


def refusal_of(status: int, body: bytes) -> str | None:
    """Why a 4xx/5xx answer refused: its body's `message` or `detail`, else the status's phrase."""
    if status < 400:
        return None
    if status == CLIENT_CLOSED:
        return "The client closed the connection before it was answered"
    try:
        answer = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        answer = None
    if isinstance(answer, dict):
        for name in ("message", "detail", "title"):
            if isinstance(answer.get(name), str) and answer[name]:
                return answer[name]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


# --- the contract's operations: what a request matched, and what it nearly matched ----------------

class Operations:
    """The contract's (method, path template) pairs, for the operationId of a request Connexion's
    router did not name and for near misses."""

    def __init__(self, spec: dict):
        self.operations = []
        shared_parameters = spec.get("components", {}).get("parameters", {})

        def resolved(parameter: dict) -> dict:
            if "$ref" in parameter:
                return shared_parameters.get(parameter["$ref"].rsplit("/", 1)[-1], {})
            return parameter

        for template, item in spec.get("paths", {}).items():
            shared = item.get("parameters", [])
            for method in METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                required = [p for p in map(resolved, (*shared, *operation.get("parameters", [])))
                            if p.get("required") and p.get("in") in ("query", "header")
                            and p.get("name", "").lower() != "x-api-key"]
                self.operations.append({
                    "operationId": operation.get("operationId"), "method": method.upper(), "path": template,
                    "segments": template.strip("/").split("/"), "required": required})
        # The candidates of `match`, by method, segment count and the first two segments, static
        # segments first (as in Connexion's router: /Customers/Find over /{id}).
        by_parameters = sorted(self.operations, key=lambda op: sum(s.startswith("{") for s in op["segments"]))
        self._candidates = RouteIndex(
            ((op["method"], len(op["segments"])),
             None if any(s.startswith("{") for s in op["segments"][:2]) else tuple(op["segments"][:2]), op)
            for op in by_parameters)

    @staticmethod
    def _path_distance(segments: list[str], template: list[str]) -> float:
        """0 for a path the template matches; more the more segments differ and the less alike they
        are (a segment differing in case alone counts a tenth)."""
        distance = abs(len(segments) - len(template)) * 1.0
        for sent, wanted in zip(segments, template):
            if wanted.startswith("{") and wanted.endswith("}"):
                distance += 0 if sent else 1
            elif sent != wanted:
                distance += max(0.1, 1 - difflib.SequenceMatcher(None, sent.lower(), wanted.lower()).ratio())
        return distance

    @staticmethod
    def _matches(segments: list[str], template: list[str]) -> bool:
        return len(segments) == len(template) and all(
            wanted == sent or (wanted[:1] == "{" and sent) for sent, wanted in zip(segments, template))

    def match(self, method: str, path: str) -> str | None:
        """The operationId of the operation with this method and a template matching the path."""
        segments = path.strip("/").split("/")
        candidates = self._candidates.candidates((method, len(segments)), tuple(segments[:2]))
        return next((op["operationId"] for op in candidates if self._matches(segments, op["segments"])), None)

    def near_misses(self, method: str, path: str, query: str, headers: dict[str, str],
                    operation_id: str | None, limit: int = 3) -> list[dict]:
        """The operations closest to a refused or unrouted request, closest first, with what differs.

        A request routed to `operation_id` only gets that operation's missing required parameters:
        a not-found or a business-rule refusal is not a near miss of another operation."""
        segments = path.strip("/").split("/")
        sent_query = {name.lower() for name, _ in parse_qsl(query, keep_blank_values=True)}
        sent_headers = {name.lower() for name in headers}
        found = []
        for op in self.operations:
            if operation_id is not None and op["operationId"] != operation_id:
                continue
            distance = self._path_distance(segments, op["segments"])
            if operation_id is not None or (distance == 0 and op["method"] == method):
                missing = [p["name"] for p in op["required"] if p["name"].lower() not in
                           (sent_query if p["in"] == "query" else sent_headers)]
                if missing:
                    found.append((0, op, f"missing parameter {missing[0]}"))
            elif distance == 0:
                found.append((0.5, op, "method"))
            elif op["method"] == method and distance <= max(1.0, len(op["segments"]) / 2):
                found.append((distance, op, "path"))
        found.sort(key=lambda item: (item[0], item[1]["path"]))
        return [{"operationId": op["operationId"], "method": op["method"], "path": op["path"], "differs": differs}
                for _, op, differs in found[:limit]]


# --- a request as recorded, and the entry it makes ------------------------------------------------

def _entry(item: dict | Recorded) -> dict:
    return item if isinstance(item, dict) else item.entry()


def _kept(body: bytes, raw_headers) -> bytes | tuple[str, bool]:
    """A body as a `Recorded` request keeps it: as received up to BODY_CAP bytes; a longer one is
    made the entry's text now (at most BODY_CAP characters), so an entry never read holds no more
    than one read."""
    if len(body) <= BODY_CAP:
        return body
    content_type = next((v.decode("latin-1") for n, v in raw_headers if n.lower() == b"content-type"), "")
    return _body_text(body, content_type)


class Recorded:
    """A request as the middleware records it: what it saw, raw (bytes, ASGI header lists, the
    instants as datetimes), and what the access log needed anyway (operationId, refusal,
    warnings, fault). The entry (`entry()`: headers decoded and redacted, bodies as text, the
    clocks as ISO 8601, the near misses) is made when it is first read, then kept instead.

    The raw request holds the API key as sent: it never leaves this object (no `repr`, no
    persistence, no read but through `entry()`, which replaces secrets by ***)."""

    __slots__ = ("_raw", "_made", "id")

    def __init__(self, operations: Operations, wall: dt.datetime, sandbox: dt.datetime, method: str, path: str,
                 operation_id: str | None, query: str, request_headers, request_body: bytes, status: int,
                 response_headers, response_body: bytes, duration: float, refusal: str | None,
                 warnings: list[str], fault: str | None):
        self.id = 0
        self._made: dict | None = None
        self._raw = (operations, wall, sandbox, method, path, operation_id, query, request_headers,
                     _kept(request_body, request_headers), status, response_headers,
                     _kept(response_body, response_headers), duration, refusal, warnings, fault)

    def __setitem__(self, name: str, value: int) -> None:  # the journal gives the id: entry["id"] = n
        if name != "id":
            raise KeyError(name)
        self.id = value

    def __repr__(self) -> str:
        return f"<Recorded request {self.id}>"

    def entry(self) -> dict:
        """The journal entry of this request (made once; safe to call from several threads)."""
        raw, entry = self._raw, self._made
        if entry is None:
            entry = self._make(raw)
            self._made = entry  # set before the raw request is dropped: a concurrent reader sees one
            self._raw = None
        return entry

    def _make(self, raw) -> dict:
        (operations, wall, sandbox, method, path, operation_id, query, raw_request_headers, request_body,
         status, raw_response_headers, response_body, duration, refusal, warnings, fault) = raw
        request_headers = _decode_headers(raw_request_headers, redact=True)
        response_headers = _decode_headers(raw_response_headers, redact=False)
        request_text, request_cut = (request_body if isinstance(request_body, tuple) else
                                     _body_text(request_body, _header(request_headers, "content-type") or ""))
        response_text, response_cut = (response_body if isinstance(response_body, tuple) else
                                       _body_text(response_body, _header(response_headers, "content-type") or ""))
        near = []
        if status >= 400 or operation_id is None:
            try:
                near = operations.near_misses(method, path, query, dict(request_headers), operation_id)
            except Exception:  # an entry is still worth reading without them
                logging.getLogger(__name__).exception("request journal: near misses failed")
        return {
            "id": self.id, "time": _iso(wall), "sandboxTime": _iso(sandbox), "method": method, "path": path,
            "operationId": operation_id, "query": redact_query(query), "requestHeaders": request_headers,
            "requestBody": request_text, "requestBodyTruncated": request_cut, "status": status,
            "responseHeaders": response_headers, "responseBody": response_text,
            "responseBodyTruncated": response_cut, "durationMs": duration, "refusal": refusal,
            "warnings": warnings, "fault": fault, "nearMisses": near}


# --- the rings -------------------------------------------------------------------------------------

class Journal:
    """The recorded requests: a ring of at most `size` entries per tenant, newest last; with
    `persist_dir`, each tenant's ring is also a JSON-lines file beside its data, read back at start."""

    def __init__(self, size: int = DEFAULT_SIZE, persist_dir: Path | None = None):
        if size < 1:
            raise ValueError("the journal size must be at least 1")
        self.size = size
        self.persist_dir = Path(persist_dir) if persist_dir is not None else None
        self._lock = threading.Lock()
        self._rings: dict[str, collections.deque] = {}
        self._next_ids: dict[str, int] = {}
        self._lines: dict[str, int] = {}

    def _file(self, tenant: str) -> Path:
        return self.persist_dir / tenant_dirname(tenant) / PERSIST_FILE

    def _ring(self, tenant: str) -> collections.deque:
        ring = self._rings.get(tenant)
        if ring is None:
            ring = self._rings[tenant] = collections.deque(maxlen=self.size)
            self._next_ids[tenant] = 1
            if self.persist_dir is not None:
                self._load(tenant, ring)
        return ring

    def _load(self, tenant: str, ring: collections.deque) -> None:
        try:
            lines = self._file(tenant).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:  # a line cut by a crash: the ones before it still count
                continue
            if isinstance(entry, dict) and isinstance(entry.get("id"), int):
                ring.append(entry)
        self._lines[tenant] = len(lines)
        if ring:
            self._next_ids[tenant] = ring[-1]["id"] + 1

    def _persist(self, tenant: str, entry: dict, ring: collections.deque) -> None:
        path = self._file(tenant)
        path.parent.mkdir(parents=True, exist_ok=True)
        count = self._lines.get(tenant, 0)
        # The file holds at most twice the ring: past that it is rewritten with the ring alone.
        if count >= 2 * self.size:
            replace_file(path, "".join(json.dumps(_entry(e), ensure_ascii=False) + "\n" for e in ring).encode("utf-8"),
                         sync=False)
            self._lines[tenant] = len(ring)
            return
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._lines[tenant] = count + 1

    def record(self, tenant: str, entry: dict | Recorded) -> dict | Recorded:
        """Add an entry (given its `id`, the tenant's next one) to the tenant's ring: a dict, or a
        `Recorded` request, made an entry when first read (or now, to be persisted)."""
        with self._lock:
            ring = self._ring(tenant)
            entry["id"] = self._next_ids[tenant]
            self._next_ids[tenant] += 1
            ring.append(entry)
            if self.persist_dir is not None:
                try:
                    self._persist(tenant, _entry(entry), ring)
                except OSError as exc:  # the ring in memory still has it
                    logging.getLogger(__name__).warning("request journal not persisted: %s", exc)
        return entry

    def entries(self, tenant: str) -> list[dict]:
        """The tenant's entries, oldest first."""
        with self._lock:
            ring = list(self._ring(tenant))
        # Made entries outside the lock: requests being recorded never wait for a reader.
        return [_entry(e) for e in ring]

    def clear(self, tenant: str) -> int:
        """Forget the tenant's entries (ids keep increasing); how many there were."""
        with self._lock:
            ring = self._ring(tenant)
            count = len(ring)
            ring.clear()
            if self.persist_dir is not None:
                self._file(tenant).unlink(missing_ok=True)
                self._lines[tenant] = 0
        return count

    def restart(self, tenant: str) -> None:
        """Forget the tenant's entries and start its ids at 1 again, as a new process does (an app
        that tests share between them); a persisted journal's file is removed too."""
        self.clear(tenant)
        with self._lock:
            self._rings.pop(tenant, None)
            self._next_ids.pop(tenant, None)


# --- filters -------------------------------------------------------------------------------------

class FilterError(ValueError):
    """A filter of GET /_mock/requests that cannot be applied (its message says which and why)."""


def _parse_after(text: str) -> Callable[[dict], bool]:
    """`after`: the entries recorded after this ISO 8601 instant (wall clock)."""
    try:
        instant = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00").replace("t", "T"))
    except ValueError:  # an RFC 3339 instant Python has no datetime for (a leap second)
        raise FilterError('"after" must be an ISO 8601 instant') from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.timezone.utc)
    return lambda entry: dt.datetime.fromisoformat(entry["time"].replace("Z", "+00:00")) > instant


def select(entries: Iterable[dict], *, operation_id: str | None = None, method: str | None = None,
           path: str | None = None, status: str | None = None, since: int | None = None,
           after: str | None = None, warnings: bool | None = None, refused: bool | None = None) -> list[dict]:
    """The entries the filters of GET /_mock/requests (and /count, .har) keep, newest first. The
    filters are admin.yaml's query parameters as Connexion validated and converted them (`status`
    a status such as 404 or a class such as 4xx, `since` an entry id, `after` an RFC 3339 instant)."""
    tests: list[Callable[[dict], bool]] = []
    if operation_id:
        wanted = operation_id.lower()
        tests.append(lambda e: (e["operationId"] or "").lower() == wanted)
    if method:
        method = method.upper()
        tests.append(lambda e: e["method"] == method)
    if path:
        tests.append(lambda e: fnmatch.fnmatchcase(e["path"], path))
    if status is not None:
        if status[1:] == "xx":
            tests.append(lambda e: e["status"] // 100 == int(status[0]))
        else:
            tests.append(lambda e: e["status"] == int(status))
    if since is not None:
        tests.append(lambda e: e["id"] > since)
    if after is not None:
        tests.append(_parse_after(after))
    if warnings:
        tests.append(lambda e: bool(e["warnings"]))
    if refused:
        tests.append(lambda e: e["refusal"] is not None)
    return [e for e in reversed(list(entries)) if all(test(e) for test in tests)]


def page_of(selected: list[dict], page: int, size: int) -> dict:
    """One page of selected entries (`page` from 1, `size` entries a page)."""
    start = (page - 1) * size
    return {"total": len(selected), "page": page, "pageSize": size, "items": selected[start:start + size]}


# --- HAR 1.2 -------------------------------------------------------------------------------------

def _har_headers(headers: dict[str, str | list[str]]) -> list[dict]:
    pairs = []
    for name, value in headers.items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append({"name": name, "value": one})
    return pairs


def har(entries: list[dict], base_url: str, version: str) -> dict:
    """The entries (oldest first) as a HAR 1.2 log, for browsers' and other tools' viewers."""
    har_entries = []
    for entry in entries:
        url = base_url.rstrip("/") + entry["path"] + (f"?{entry['query']}" if entry["query"] else "")
        request_type = entry["requestHeaders"].get("Content-Type") or entry["requestHeaders"].get("content-type") or ""
        response_type = _header(entry["responseHeaders"], "content-type") or ""
        request = {"method": entry["method"], "url": url, "httpVersion": "HTTP/1.1", "cookies": [],
                   "headers": _har_headers(entry["requestHeaders"]),
                   "queryString": [{"name": n, "value": v}
                                   for n, v in parse_qsl(entry["query"], keep_blank_values=True)],
                   "headersSize": -1, "bodySize": len(entry["requestBody"].encode("utf-8"))}
        if entry["requestBody"]:
            request["postData"] = {"mimeType": request_type, "text": entry["requestBody"]}
        har_entries.append({
            "startedDateTime": entry["time"], "time": entry["durationMs"],
            "request": request,
            "response": {"status": entry["status"], "statusText": _phrase(entry["status"]),
                         "httpVersion": "HTTP/1.1", "cookies": [],
                         "headers": _har_headers(entry["responseHeaders"]),
                         "content": {"size": len(entry["responseBody"].encode("utf-8")), "mimeType": response_type,
                                     "text": entry["responseBody"]},
                         "redirectURL": _header(entry["responseHeaders"], "location") or "",
                         "headersSize": -1, "bodySize": -1},
            "cache": {},
            "timings": {"send": 0, "wait": entry["durationMs"], "receive": 0},
            "comment": f"journal entry {entry['id']}, operationId {entry['operationId'] or 'none'}"})
    return {"log": {"version": "1.2", "creator": {"name": "altoviz-mock", "version": version},
                    "entries": har_entries}}


def _header(headers: dict, name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value[0] if isinstance(value, list) else value
    return None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# --- the middleware --------------------------------------------------------------------------------

def _decode_headers(raw: list[tuple[bytes, bytes]], redact: bool) -> dict[str, str | list[str]]:
    """ASGI headers as a dict (a repeated header as a list), secrets replaced by ***."""
    headers: dict[str, str | list[str]] = {}
    for name, value in raw:
        key = name.decode("latin-1")
        text = REDACTED if redact and key.lower() in SECRET_HEADERS else value.decode("latin-1")
        # Keep the spelling clients see in documentation for the two that matter.
        key = {"x-api-key": "X-API-KEY", "authorization": "Authorization"}.get(key.lower(), key)
        if key in headers:
            previous = headers[key]
            headers[key] = [*previous, text] if isinstance(previous, list) else [previous, text]
        else:
            headers[key] = text
    return headers


def _api_key(raw_headers: list[tuple[bytes, bytes]], query: str) -> str | None:
    """The API key of a request: X-API-KEY, else HTTP Basic's user name, else ?apikey."""
    for name, value in raw_headers:
        if name == b"x-api-key":
            return value.decode("latin-1")
    for name, value in raw_headers:
        if name == b"authorization" and value[:6].lower() == b"basic ":
            try:
                return base64.b64decode(value[6:].strip(), validate=True).decode("utf-8").split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name.lower() in SECRET_QUERY:
            return value
    return None


def key_hint(key: str | None) -> str:
    """Enough of an API key to recognise it (a log line, the admin API's tenants, the dashboard),
    never the key itself."""
    if not key:
        return "-"
    return f"{key[:4]}…" if len(key) >= 12 else "…"


class RequestJournal:
    """ASGI middleware: records /v1 and /Hello requests in the journal, logs one line per request.

    `authenticate` gives the tenant of an API key (None: not accepted); `sandbox_time(tenant)` the
    tenant's sandbox clock; `operations` the contract (`Operations`) for operationIds and near misses.
    """

    def __init__(self, app, *, journal: Journal, authenticate: Callable[[str], str | None],
                 sandbox_time: Callable[[str], dt.datetime], operations: Operations,
                 clock: Callable[[], dt.datetime], log_format: str = "text"):
        self.app = app
        self.journal = journal
        self.authenticate = authenticate
        self.sandbox_time = sandbox_time
        self.operations = operations
        self.clock = clock
        self.log_format = log_format

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        record = journaled(path)
        began, wall = time.perf_counter(), self.clock()
        request_body, received = bytearray(), 0
        answer = {"status": 500, "headers": [], "started": False}
        response_body = bytearray()

        async def recording_receive():
            nonlocal received
            message = await receive()
            if record and message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if len(request_body) <= BODY_CAP * 4:  # bytes enough for BODY_CAP characters
                    request_body.extend(chunk[:BODY_CAP * 4 + 1 - len(request_body)])
            return message

        async def recording_send(message):
            if message["type"] == "http.response.start":
                answer["status"], answer["headers"] = message["status"], list(message.get("headers", []))
                answer["started"] = True
            elif message["type"] == "http.response.body" and len(response_body) <= BODY_CAP * 4:
                response_body.extend(message.get("body", b"")[:BODY_CAP * 4 + 1 - len(response_body)])
            await send(message)

        try:
            await self.app(scope, recording_receive if record else receive, recording_send)
            if not answer["started"]:  # an app returns without answering only when the client left
                answer["status"] = CLIENT_CLOSED
        finally:
            duration = round((time.perf_counter() - began) * 1000, 2)
            try:
                # On the loop, unless the tenant's clock cannot be read at once (offload.py).
                await offload.run(self._finish, scope, record, wall, duration, answer, bytes(request_body),
                                  bytes(response_body))
            except Exception:  # the journal never breaks a request
                logging.getLogger(__name__).exception("request journal failed")

    def _finish(self, scope, record, wall, duration, answer, request_body, response_body) -> None:
        """The access-log line, and the request recorded as seen (`Recorded`: the entry is made
        when it is read). Only what the line needs, the tenant and its clock are worked out here."""
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        raw_headers = scope.get("headers", [])
        status, response_headers = answer["status"], answer["headers"]
        key = _api_key(raw_headers, query)
        extensions = scope.get("extensions", {})
        # The tenant the security handler accepted the key for, else the key's (a request refused
        # or answered before security: a 404, a 405, a 413...).
        tenant = extensions.get(CONTEXT, {}).get("user") or (self.authenticate(key) if key else None)
        if record:
            # What may wait comes first, before anything is logged or recorded (offload.py).
            if self.journal.persist_dir is not None:
                offload.off_loop("the entry is written to disk")
            owner = tenant or self.authenticate(DEFAULT_API_KEY) or DEFAULT_API_KEY
            try:
                sandbox = self.sandbox_time(owner)  # the tenant's clock now, not when the entry is read
            except Exception:  # an unreadable tenant clock: its wall clock still says when
                sandbox = wall
        operation_id = (extensions.get(ROUTING, {}).get("operation_id")
                        or (self.operations.match(method, path) if record else None))
        warnings, fault = [], None
        for name, value in response_headers:
            if name[:7].lower() == b"x-mock-":
                name = name.lower()
                if name == b"x-mock-warning":
                    warnings.append(value.decode("latin-1"))
                elif name == b"x-mock-fault" and fault is None:
                    fault = value.decode("latin-1")
        refusal = refusal_of(status, response_body)
        self._log(method, path, status, duration, key, operation_id, warnings[0] if warnings else refusal)
        if not record:
            return
        self.journal.record(owner, Recorded(
            self.operations, wall, sandbox, method, path, operation_id, query, tuple(raw_headers), request_body,
            status, response_headers, response_body, duration, refusal, warnings, fault))

    def _log(self, method, path, status, duration, key, operation_id, reason) -> None:
        level = logging.ERROR if status >= 500 else logging.INFO
        if not access_log.isEnabledFor(level):
            return
        if self.log_format == "json":
            line = json.dumps({"method": method, "path": path, "status": status, "durationMs": duration,
                               "tenant": key_hint(key), "operationId": operation_id, "reason": reason},
                              ensure_ascii=False)
        else:
            line = f"{method} {path} {status} {duration:.1f}ms tenant={key_hint(key)} op={operation_id or '-'}"
            if reason:
                line += f" {json.dumps(reason, ensure_ascii=False)}"
        access_log.log(level, line)
