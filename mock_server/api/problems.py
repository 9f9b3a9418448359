"""Error answers: every 4xx/5xx body matches the shape the contract documents for that operation.

The vendor documents some errors as `ProblemDetails` (RFC 7807 fields) and others as its own
`Error` ({message, errors}); the shape is read from the contract per operation and status, so
that the contract stays the single source of truth. The admin API's contract (admin.yaml, served
at /_mock) is read the same way: its errors are all ProblemDetails.
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

from ..auth import MISSING_KEY
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
    components = spec.get("components", {})
    shapes = {}
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            for status, response in operation.get("responses", {}).items():
                if "$ref" in response:
                    response = components["responses"][response["$ref"].rsplit("/", 1)[-1]]
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if status.isdigit() and int(status) >= 400 and "$ref" in schema:
                    shapes[(operation["operationId"], int(status))] = schema["$ref"].rsplit("/", 1)[-1]
    return shapes


def path_table(spec: dict, base_path: str = "") -> list[tuple[re.Pattern, int, dict[str, str]]]:
    """Each contract path (under `base_path`) as a regex, its number of parameters, and its
    {METHOD: operationId}."""
    table = []
    for path, item in spec.get("paths", {}).items():
        pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(base_path + path)) + "$")
        operations = {m.upper(): op.get("operationId") for m, op in item.items()
                      if m in ("get", "post", "put", "patch", "delete")}
        table.append((pattern, path.count("{"), operations))
    return table


def _clean(detail: str) -> str:
    # jsonschema messages carry the whole failing schema after a blank line: keep the first sentence.
    return (detail or "").split("\n\n")[0].strip()


class ProblemRenderer:
    """Builds error responses and installs the handlers on a Connexion app."""

    def __init__(self, spec: dict, mounted: dict[str, dict] | None = None):
        """`spec`: the contract served at the root; `mounted`: {base path: contract} of the other
        APIs of the app (the admin API at /_mock)."""
        self.shapes = error_shapes(spec)
        self.paths = path_table(spec)
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

    def response(self, request: ConnexionRequest | None, status: int, detail: str,
                 errors: list[str] | None = None, title: str | None = None, headers=None) -> ConnexionResponse:
        operation_id = self.operation_id(request) if request is not None else None
        title = title or TITLES.get(status, "Error")
        if self.shapes.get((operation_id, status)) == "Error":
            body = {"message": detail, "errors": errors or [detail]}
        else:
            body = {"type": TYPES.get(status, "about:blank"), "title": title, "status": status, "detail": detail}
            if request is not None:
                body["instance"] = request.url.path
        return ConnexionResponse(status_code=status, body=json.dumps(body, ensure_ascii=False),
                                 content_type="application/json", headers=headers or {})

    def on_domain_error(self, request, exc: DomainError):
        return self.response(request, exc.status, exc.detail, exc.errors, exc.title)

    def on_problem(self, request, exc: ProblemException):
        detail = _clean(exc.detail or exc.title or "")
        if exc.status == 401 and detail == "No authorization token provided":
            detail = MISSING_KEY
        return self.response(request, exc.status, detail, headers=exc.headers)

    def on_http_exception(self, request, exc: HTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and request is not None:
            # Werkzeug only lists the methods of the first matching rule: the contract knows them all.
            allow = self.allow(request.url.path)
            if allow:
                headers["Allow"] = allow
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
