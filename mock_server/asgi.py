"""The ASGI edge of the sandbox, Connexion middlewares in front of the rest: a request-size limit,
a deadline on the request body, and the request's head (Host, Content-Type) parsed strictly."""

from __future__ import annotations

import asyncio
import re
import weakref

from connexion.exceptions import BadRequestProblem, ProblemException
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

MAX_JSON_BODY = 1024 * 1024
"""Bytes a request body may hold, except multipart uploads."""
RAW_BODY = "altoviz_mock.raw_body"
"""The scope extension holding a request's whole body as `BodyDeadline` read it (not for uploads)."""
MAX_UPLOAD_BODY = 12 * 1024 * 1024
"""Bytes a multipart upload may hold (each kind of file is then checked: 5 MB images, 10 MB PDFs)."""


class BodyTooLarge(ProblemException):
    """413, rendered in the shape the contract documents for the operation."""

    def __init__(self, limit: int):
        super().__init__(status=413, title="Content Too Large",
                         detail=f"The request body is over the sandbox's limit of {limit:,} bytes")


class BodyLimit:
    """Refuse (413) a request body over `limit` bytes (a multipart upload over `upload_limit`),
    before anything reads it.

    A declared `Content-Length` over the limit is refused at once; a body without one (chunked)
    is counted as it is received and refused when it passes the limit.
    """

    def __init__(self, app, limit: int = MAX_JSON_BODY, upload_limit: int = MAX_UPLOAD_BODY):
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        length, limit = None, self.limit
        for name, value in scope["headers"]:
            if name == b"content-type" and value.lower().startswith(b"multipart/"):
                limit = self.upload_limit
            if name == b"content-length":
                length = value
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = None
            if declared is not None and declared > limit:
                raise BodyTooLarge(limit)
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        return await self.app(scope, counting_receive, send)


class BodyTimeout(ProblemException):
    """408: the body did not arrive in time; the connection is closed after the answer."""

    def __init__(self, seconds: float):
        super().__init__(status=408, title="Request Timeout", headers={"Connection": "close"},
                         detail=f"The request body was not received within {seconds:g} s of its head")


_NO_BODY_METHODS = ("GET", "HEAD", "OPTIONS")


class _Deadlines:
    """The body messages awaited on one event loop, against their deadlines, and one timer for
    them all: it wakes every `resolution` seconds while some are awaited and cancels those past
    their deadline. A timer per message (`asyncio.timeout_at`) cost 2.5 % of a JSON write's
    instructions (docs/architecture.md); a deadline now passes at most `resolution` late."""

    def __init__(self, loop: asyncio.AbstractEventLoop, resolution: float):
        self.loop = loop
        self.resolution = resolution
        self.waiting: dict[asyncio.Task, float] = {}
        self.expired: set[asyncio.Task] = set()
        self.timer: asyncio.TimerHandle | None = None

    def _sweep(self) -> None:
        self.timer = None
        now = self.loop.time()
        for task, deadline in list(self.waiting.items()):
            if deadline <= now and task not in self.expired:
                self.expired.add(task)
                task.cancel()
        if self.waiting:
            self.timer = self.loop.call_later(self.resolution, self._sweep)

    async def receive(self, receive, deadline: float):
        """`receive()`, or TimeoutError once `deadline` (on the loop's clock) has passed."""
        task = asyncio.current_task()
        self.waiting[task] = deadline
        if self.timer is None:
            self.timer = self.loop.call_later(self.resolution, self._sweep)
        try:
            return await receive()
        except asyncio.CancelledError:
            # This deadline's cancellation, and no other (the server stopping): a timeout.
            if task in self.expired and task.uncancel() == 0:
                raise TimeoutError from None
            raise
        finally:
            del self.waiting[task]
            self.expired.discard(task)


class BodyDeadline:
    """A request body must arrive within `timeout` seconds of the request's head (at most a quarter
    of it, or 0.5 s, late: `_Deadlines`), else 408 and the connection is closed: a client dribbling
    a body a byte at a time holds nothing for longer.

    A body that is not an upload (at most `MAX_JSON_BODY` bytes, `BodyLimit` counts it) is read
    whole here, on the event loop, before the rest of the app sees it: a handler's thread never
    waits on a slow client. An upload (multipart) or a body on a GET goes on as it comes, each
    `receive` bounded by the same deadline (Connexion parses uploads on the loop too).
    A request without a body costs one look at its headers.
    """

    def __init__(self, app, timeout: float):
        self.app = app
        self.timeout = timeout
        self._deadlines: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per event loop

    def _on(self, loop) -> _Deadlines:
        deadlines = self._deadlines.get(loop)
        if deadlines is None:
            deadlines = self._deadlines[loop] = _Deadlines(loop, resolution=min(0.5, self.timeout / 4))
        return deadlines

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        has_body = multipart = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                has_body = has_body or value.strip() not in (b"0", b"")
            elif name == b"transfer-encoding":
                has_body = True
            elif name == b"content-type":
                multipart = value.lower().startswith(b"multipart/")
        if not has_body:
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        deadlines = self._on(loop)

        async def bounded_receive():
            if deadline <= loop.time():
                raise BodyTimeout(self.timeout)
            try:
                return await deadlines.receive(receive, deadline)
            except TimeoutError:
                raise BodyTimeout(self.timeout) from None

        if multipart or scope["method"] in _NO_BODY_METHODS:
            complete = False

            async def receive_until_complete():
                nonlocal complete
                if complete:  # the body is in: what comes next is a disconnect, whenever it comes
                    return await receive()
                message = await bounded_receive()
                complete = message["type"] != "http.request" or not message.get("more_body", False)
                return message

            return await self.app(scope, receive_until_complete, send)
        chunks = []
        while True:
            message = await bounded_receive()
            if message["type"] != "http.request":
                return  # the client left before its body was complete: nobody to answer
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        # Kept for a handler that records the raw body (`api._http.request_body`: the webhook inbox)
        # whatever Connexion made of it (a form's fields, a JSON document).
        scope.setdefault("extensions", {})[RAW_BODY] = body
        whole: list[dict] = [{"type": "http.request", "body": body, "more_body": False}]

        async def replaying_receive():
            return whole.pop() if whole else await receive()

        return await self.app(scope, replaying_receive, send)


# RFC 9110 `Host` = uri-host [ ":" port ]: a registered name, an IPv4 address or an [IPv6] literal.
HOST = re.compile(rb"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                  rb"[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?\Z")


class RequestHead:
    """The request's `Host` and `Content-Type` headers read once, strictly, before anything uses them.

    A malformed or repeated `Host` (`attacker.example/x?`) is refused with 400: the answers build
    URLs from it (`Hello.url`, `imageUrl`), so it never reaches one. The media type of
    `Content-Type` is case-insensitive (RFC 9110): `Application/JSON; charset=UTF-8` is given to
    Connexion lower-cased (its parameters untouched), so every validator and handler sees JSON.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = scope["headers"]
        hosts = [value for name, value in headers if name == b"host"]
        if len(hosts) > 1 or (hosts and not HOST.match(hosts[0])):
            raise BadRequestProblem(detail="The Host header is not a host name or address with an optional port")
        for index, (name, value) in enumerate(headers):
            if name == b"content-type":
                media_type, sep, parameters = value.partition(b";")
                if media_type != media_type.lower():
                    headers = list(headers)
                    headers[index] = (name, media_type.lower() + sep + parameters)
                    scope = {**scope, "headers": headers}
                break
        return await self.app(scope, receive, send)


class Pages:
    """The sandbox's web pages (not operations of a contract): the dashboard and the admin API's
    contract and Swagger UI, a Flask app of their own (`pages`) run by a2wsgi in its threads.

    A request whose path one of `pages`' routes matches (any method: Flask answers its own 405s and
    redirects) goes to it; everything else goes on to Connexion's routing.
    """

    def __init__(self, app, *, pages, prefix: str = "/_mock/"):
        from a2wsgi import WSGIMiddleware

        self.app = app
        self.prefix = prefix
        self.routes = pages.url_map.bind("localhost")
        self.pages = WSGIMiddleware(pages.wsgi_app)

    def _is_page(self, path: str) -> bool:
        try:
            self.routes.match(path, method="GET")
        except NotFound:
            return False
        except (MethodNotAllowed, RequestRedirect):  # a page all the same: Flask answers them
            pass
        return True

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(self.prefix) and self._is_page(scope["path"]):
            return await self.pages(scope, receive, send)
        return await self.app(scope, receive, send)
