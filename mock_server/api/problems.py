"""Error answers: the live API's error surface on the Altoviz API, ProblemDetails on /_mock.

The live API (docs/live-vs-published.md) answers 401, 405 and an unknown route's 404 with an empty
body and no `Content-Type`, and every other error in its own `Error` shape, in one of three forms:
`{"errors": [...], "message": "Validation failed"}` for structural validation (English),
`{"errors": [], "message": "<specific>"}` (an absent record, an id that is not a number), and
`{"errors": null, "message": "<business rule>"}` (French). Which shape an answer takes is still read
from the contract per operation and status (the sandbox's own limits, 413 and 415, keep
ProblemDetails), so that the contract stays the single source of truth. The admin API's contract
(admin.yaml, served at /_mock) is read the same way: its errors are all ProblemDetails, and a
parameter or body its schema refuses is worded from the schema (`admin_wording`: `"size" must be
an integer from 0 to 700`, `Unknown fields: colour`) rather than in jsonschema's words.
"""

from __future__ import annotations

import errno
import json
import logging
import re

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from .validation import SchemaViolation
from ..auth import MISSING_KEY
from ..contracts import operation_responses
from ..domain.errors import DomainError
from ..store import CorruptStoreError

log = logging.getLogger(__name__)

TYPES = {
    400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    401: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
    404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    405: "https://tools.ietf.org/html/rfc9110#section-15.5.6",
    413: "https://tools.ietf.org/html/rfc9110#section-15.5.14",
    415: "https://tools.ietf.org/html/rfc9110#section-15.5.16",
    500: "https://tools.ietf.org/html/rfc9110#section-15.6.1",
    501: "https://tools.ietf.org/html/rfc9110#section-15.6.2",
    503: "https://tools.ietf.org/html/rfc9110#section-15.6.4",
    507: "https://www.rfc-editor.org/rfc/rfc4918#section-11.5",
}
TITLES = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
          413: "Content Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error",
          501: "Not Implemented", 503: "Service Unavailable", 507: "Insufficient Storage"}


def error_shapes(spec: dict) -> dict[tuple[str, int], str]:
    """Map (operationId, status) to the name of the error schema the contract documents."""
    shapes = {}
    for operation_id, status, response in operation_responses(spec):
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        if status.isdigit() and int(status) >= 400 and "$ref" in schema:
            shapes[(operation_id, int(status))] = schema["$ref"].rsplit("/", 1)[-1]
    return shapes


def path_table(spec: dict, base_path: str = "") -> list[tuple[re.Pattern, int, dict[str, str]]]:
    """Each contract path (under `base_path`) as a regex, its number of parameters, and its
    {METHOD: operationId}."""
    table = []
    for path, item in spec.get("paths", {}).items():
        # As the canonical layer reads paths (mock_server/canonical.py): any case, a trailing slash.
        pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(base_path + path)) + "/?$",
                             re.IGNORECASE)
        operations = {m.upper(): op.get("operationId") for m, op in item.items()
                      if m in ("get", "post", "put", "patch", "delete")}
        table.append((pattern, path.count("{"), operations))
    return table


# The message of a structural validation error, the `errors` listing what failed (captured live).
VALIDATION_FAILED = "Validation failed"
# Statuses the live API answers with an empty body and no Content-Type (captured live).
EMPTY = (401, 405)


class LiveBadRequest(ProblemException):
    """A 400 the live API words itself; `errors` is its `errors` member (a list, or None)."""

    def __init__(self, message: str, errors: list[str] | None):
        super().__init__(status=400, title="Bad Request", detail=message)
        self.errors = errors


def _clean(detail: str) -> str:
    # jsonschema messages carry the whole failing schema after a blank line: keep the first sentence.
    return (detail or "").split("\n\n")[0].strip()


# --- the admin API's words for a schema's refusal ------------------------------------------------

def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _bounds(low, high) -> str | None:
    """`0 to 700`, `at least 1`, `at most 9`; None without bounds."""
    if low is not None and high is not None:
        return f"{_number(low)} to {_number(high)}"
    if low is not None:
        return f"at least {_number(low)}"
    if high is not None:
        return f"at most {_number(high)}"
    return None


def _range(schema: dict) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    bounds = _bounds(low, high)
    if bounds is None:
        return ""
    return f" from {bounds}" if low is not None and high is not None else f" {bounds}"


def _lower_first(text: str) -> str:
    text = " ".join(text.split())
    return text[:1].lower() + text[1:]


def describe(schema: dict) -> str:
    """What a value of `schema` is, in words: `an integer from 0 to 700`, `true or false`,
    `one of GET, POST`, `a string of 1 to 300 characters`."""
    if "enum" in schema:
        return "one of " + ", ".join(str(value) for value in schema["enum"])
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if alternatives:
        words = []
        for alternative in alternatives:
            if alternative.get("type") == "array" and alternative.get("items") in alternatives:
                # A list of the other alternatives ("a type, or a list of types").
                words.append(f"a list of {_count(alternative, 'minItems', 'maxItems', 'of them')}")
            else:
                words.append(describe(alternative))
        return ", or ".join(words)
    kind = schema.get("type")
    if kind == "integer":
        return "an integer" + _range(schema)
    if kind == "number":
        return "a number" + _range(schema)
    if kind == "boolean":
        return "true or false"
    if kind == "object":
        return "an object"
    if kind == "array":
        return f"a list of {_count(schema, 'minItems', 'maxItems', 'items')}, each {describe(schema.get('items', {}))}"
    if kind == "string":
        if schema.get("format") == "date-time":
            return "an ISO 8601 instant"
        if "pattern" in schema:
            # The pattern's meaning in words is its description; the pattern otherwise.
            return _lower_first(schema["description"]) if schema.get("description") else f"text matching {schema['pattern']}"
        if "minLength" in schema or "maxLength" in schema:
            return f"a string of {_count(schema, 'minLength', 'maxLength', 'characters')}"
        return "a string"
    return "a valid value"


def _count(schema: dict, least: str, most: str, what: str) -> str:
    bounds = _bounds(schema.get(least), schema.get(most))
    if bounds is not None:
        return f"{bounds} {what}"
    return what if what != "of them" else "them"


def admin_wording(exc: SchemaViolation) -> str:
    """A schema's refusal of a parameter or body of the admin API, worded from the schema: the
    field (or parameter) and what it must be."""
    error, schema = exc.error, exc.schema
    if exc.where != "body":
        if error is None:
            return f'Give "{exc.name}" ({describe(schema)})'
        return f'"{exc.name}" must be {describe(schema)}'
    properties = schema.get("properties", {})
    if error is None:
        return exc.detail
    if error.path and error.path[0] in properties:
        field = error.path[0]
        return f'"{field}" must be {describe(properties[field])}'
    if not error.path:  # the body as a whole
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            return "Unknown fields: " + ", ".join(sorted(set(error.instance) - set(properties)))
        if error.validator == "required" and isinstance(error.instance, dict):
            field = next(name for name in error.validator_value if name not in error.instance)
            field_schema = properties.get(field, {})
            what = _lower_first(field_schema["description"]) if field_schema.get("description") else describe(field_schema)
            return f'Give "{field}" ({what})'
        if error.validator == "minProperties" and properties:
            return "Give at least one of " + ", ".join(f'"{name}"' for name in properties)
        if error.validator == "type" and schema.get("type") == "object":
            return "Expected a JSON object body"
    return _clean(exc.detail)


class ProblemRenderer:
    """Builds error responses and installs the handlers on a Connexion app."""

    def __init__(self, spec: dict, mounted: dict[str, dict] | None = None):
        """`spec`: the contract served at the root; `mounted`: {base path: contract} of the other
        APIs of the app (the admin API at /_mock)."""
        self.shapes = error_shapes(spec)
        self.paths = path_table(spec)
        self.mounted = tuple(mounted or ())
        for base_path, other in (mounted or {}).items():
            self.shapes.update(error_shapes(other))
            self.paths += path_table(other, base_path)

    def _operations(self, path: str) -> dict[str, str]:
        """{METHOD: operationId} of the most specific contract templates matching `path`."""
        matches = [(params, ops) for pattern, params, ops in self.paths if pattern.match(path)]
        if not matches:
            return {}
        fewest = min(params for params, _ in matches)
        return {m: op for params, ops in matches if params == fewest for m, op in ops.items()}

    def allow(self, path: str) -> str | None:
        """The `Allow` header for a request path: the methods the contract documents there."""
        return ", ".join(self._operations(path)) or None

    def operation_id(self, request: ConnexionRequest) -> str | None:
        """The operation a request addressed, found from the contract (errors may precede routing)."""
        return self._operations(request.url.path).get(request.method)

    def live(self, request: ConnexionRequest | None) -> bool:
        """True for a request to the Altoviz API (not to a mounted API such as /_mock)."""
        return request is None or not request.url.path.startswith(self.mounted)

    def empty(self, status: int, headers=None) -> ConnexionResponse:
        """The live API's body-less error: no Content-Type either."""
        return ConnexionResponse(status_code=status, body=b"", content_type=None, headers=headers or {})

    def response(self, request: ConnexionRequest | None, status: int, detail: str,
                 errors: list[str] | None = None, title: str | None = None, headers=None,
                 message: str | None = None) -> ConnexionResponse:
        """The error answer in the shape the contract documents; `message` (default `detail`) and
        `errors` fill the `Error` shape."""
        if status in EMPTY and self.live(request):
            return self.empty(status, headers)
        operation_id = self.operation_id(request) if request is not None else None
        title = title or TITLES.get(status, "Error")
        if self.shapes.get((operation_id, status)) == "Error":
            body = {"errors": errors, "message": message or detail}
        else:
            body = {"type": TYPES.get(status, "about:blank"), "title": title, "status": status, "detail": detail}
            if request is not None:
                body["instance"] = request.url.path
        return ConnexionResponse(status_code=status, body=json.dumps(body, ensure_ascii=False),
                                 content_type="application/json", headers=headers or {})

    def on_domain_error(self, request, exc: DomainError):
        # An absent record: `errors` empty; a business rule: `errors` null (captured live).
        errors = [] if exc.status == 404 else None
        return self.response(request, exc.status, exc.detail, errors, exc.title)

    def on_problem(self, request, exc: ProblemException):
        detail = _clean(exc.detail or exc.title or "")
        if exc.status == 401 and detail == "No authorization token provided":
            detail = MISSING_KEY
        if isinstance(exc, SchemaViolation) and not self.live(request):  # the admin API's own words
            return self.response(request, 400, admin_wording(exc), headers=exc.headers)
        if hasattr(exc, "errors"):  # worded by the sandbox (LiveBadRequest, StrictRefusal)
            return self.response(request, exc.status, detail, exc.errors, headers=exc.headers)
        if exc.status == 400:  # the contract's structural validation
            return self.response(request, 400, detail, [detail], headers=exc.headers, message=VALIDATION_FAILED)
        return self.response(request, exc.status, detail, [detail], headers=exc.headers)

    def on_http_exception(self, request, exc: HTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and request is not None:
            # Werkzeug only lists the methods of the first matching rule: the contract knows them all.
            allow = self.allow(request.url.path)
            if allow:
                headers["Allow"] = allow
        if exc.status_code == 404 and self.live(request):
            return self.empty(404, headers)  # an unknown route (a record's 404 is a DomainError)
        return self.response(request, exc.status_code, _clean(str(exc.detail)), headers=headers)

    def on_malformed_form(self, request, exc: MultiPartException):
        # Starlette's form parser refuses a body that is not multipart/form-data as its boundary says.
        return self.response(request, 400, f"The multipart/form-data body is malformed: {exc.message}")

    def on_unexpected(self, request, exc: Exception):
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            # The store leaves nothing half-written (store.py): the write simply did not happen.
            log.error("disk full on %s: %s", request.url.path if request else "?", exc)
            return self.response(request, 507, "The sandbox's disk is full: nothing was stored. "
                                 "Free space where its data is kept, then retry")
        if isinstance(exc, CorruptStoreError):
            # A tenant is read from disk at its first use: its damaged files refuse it, not the server.
            log.error("%s", exc)
            return self.response(request, 503, "This tenant's data files are damaged; the server log names "
                                 "them. Restart the sandbox with --recover to keep what is readable")
        # Never a stack trace in a body: the log has it.
        log.exception("unexpected error on %s", request.url.path if request else "?", exc_info=exc)
        return self.response(request, 500, "The sandbox failed to process this request; see the server log")

    def install(self, app) -> None:
        app.add_error_handler(DomainError, self.on_domain_error)
        app.add_error_handler(ProblemException, self.on_problem)
        app.add_error_handler(HTTPException, self.on_http_exception)
        app.add_error_handler(MultiPartException, self.on_malformed_form)
        app.add_error_handler(Exception, self.on_unexpected)
