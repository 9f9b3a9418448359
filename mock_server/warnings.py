"""Request-scoped warnings: what the live API silently does that a client almost certainly did not mean.

The canonical layer (canonical.py) opens a collector per request; the request layers and the
domain's `Context.warnings` (forwarded by the adapters) add to it; the answer carries each warning
as one `X-Mock-Warning` header (`WarningHeaders`, outside the error handlers: a refusal or a 404
says what was read before it, too). In strict mode a warning refuses the request instead (400, nothing
changed): `StrictRefusal`.
"""

from __future__ import annotations

from contextvars import ContextVar

from connexion.exceptions import ProblemException

HEADER = "X-Mock-Warning"

_collected: ContextVar[list[str] | None] = ContextVar("altoviz_mock_warnings", default=None)
_strict: ContextVar[bool] = ContextVar("altoviz_mock_strict", default=False)


class StrictRefusal(ProblemException):
    """A request that would have drawn warnings, refused under `--strict`: 400, nothing changed."""

    def __init__(self, warnings: list[str]):
        self.errors = list(warnings)
        super().__init__(status=400, title="Bad Request",
                         detail="Refused in strict mode: " + "; ".join(warnings))


def begin(strict: bool) -> None:
    """Open the collector of the request running in this context (`WarningHeaders` writes it out)."""
    _collected.set([])
    _strict.set(strict)


def strict() -> bool:
    """True when the current request runs under `--strict`."""
    return _strict.get()


def warn(*texts: str) -> None:
    """Record warnings on the current request (none open: outside a request, nothing to tell)."""
    collected = _collected.get()
    if collected is not None:
        collected.extend(t for t in texts if t not in collected)


def check(texts: list[str]) -> None:
    """Record `texts`; under `--strict`, refuse the request with them instead."""
    if texts and _strict.get():
        raise StrictRefusal(texts)
    warn(*texts)


def _header_text(text: str) -> bytes:
    """`text` as a header value: printable ASCII, anything else escaped (`\\n`, `\\xe9`), since a
    warning may name a property the client sent, whose name can hold any character."""
    return "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode("ascii") for c in text).encode("ascii")


def header_values(collected: list[str]) -> list[tuple[bytes, bytes]]:
    """The `X-Mock-Warning` headers of an answer."""
    return [(HEADER.lower().encode(), _header_text(text)) for text in collected]


class WarningHeaders:
    """ASGI middleware: the answer carries the warnings of its request, whoever wrote it: the
    handler, or the error handlers of Connexion's `ExceptionMiddleware`, which it wraps (a 400 or a
    404 rendered there is sent outside the layers that collected them)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_warnings(message):
            # Read when the answer starts: the collector is opened further in (`begin`), in this
            # request's context.
            collected = _collected.get()
            if message["type"] == "http.response.start" and collected:
                message = {**message, "headers": [*message.get("headers", ()), *header_values(collected)]}
            await send(message)

        return await self.app(scope, receive, send_with_warnings)
