"""The ASGI edge of the sandbox: a request-size limit, and the bridge from ASGI into Flask.

Why not Connexion's own bridge: `FlaskApp` runs Flask through `a2wsgi.WSGIMiddleware`, which
hands every request to a thread pool and then hops back to the event loop for each piece of the
answer (`start_response`, every body chunk, the end), waiting each time on a
`concurrent.futures.Future`: four thread round trips per request, each paying a GIL handover.
`FlaskBridge` reads the (already size-checked) body on the loop, runs Flask once with it, and
sends the collected answer: see docs/benchmarks.md for the numbers that chose it.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import sys
from concurrent.futures import ThreadPoolExecutor

from a2wsgi.wsgi import build_environ
from connexion.exceptions import ProblemException

MAX_JSON_BODY = 1024 * 1024
"""Bytes a request body may hold, except multipart uploads (bounded per kind, see app.py)."""

# Operations that may block for long (PDF rendering, uploads): run off the event loop.
SLOW_PATH_PARTS = ("/Download/", "/ProductImages/", "/PurchaseInvoices/file")


class BodyTooLarge(ProblemException):
    """413, rendered in the shape the contract documents for the operation."""

    def __init__(self, limit: int):
        super().__init__(status=413, title="Content Too Large",
                         detail=f"The request body is over the sandbox's limit of {limit:,} bytes")


class BodyLimit:
    """Refuse (413) a non-multipart request body over `limit` bytes, before anything reads it.

    A declared `Content-Length` over the limit is refused at once; a body without one (chunked)
    is counted as it is received and refused when it passes the limit.
    """

    def __init__(self, app, limit: int = MAX_JSON_BODY):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        length = None
        for name, value in scope["headers"]:
            if name == b"content-type" and value.lower().startswith(b"multipart/"):
                return await self.app(scope, receive, send)
            if name == b"content-length":
                length = value
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = None
            if declared is not None and declared > self.limit:
                raise BodyTooLarge(self.limit)
        limit, received = self.limit, 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        return await self.app(scope, counting_receive, send)


class FlaskBridge:
    """ASGI → WSGI for the sandbox's Flask app: one call into Flask per request, answer sent whole.

    Fast operations run on the event-loop thread itself (no thread handover at all); the ones that
    may take long (PDFs, uploads: `SLOW_PATH_PARTS`) and, with `fsync`, every write run in a thread
    pool, so that they never hold the loop. Flask's and Connexion's contexts are context variables:
    the call runs in a copy of the request task's context either way.
    """

    def __init__(self, wsgi_app, *, workers: int = 8, offload_writes: bool = False):
        self.app = wsgi_app
        self.offload_writes = offload_writes
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flask")

    def _offloaded(self, scope) -> bool:
        if self.offload_writes and scope["method"] not in ("GET", "HEAD"):
            return True
        path = scope["path"]
        return any(part in path for part in SLOW_PATH_PARTS)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":  # Connexion's LifespanMiddleware answers it; be safe
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        environ = build_environ(scope, io.BytesIO(b"".join(chunks)))
        environ["wsgi.errors"] = sys.stderr
        context = contextvars.copy_context()
        if self._offloaded(scope):
            loop = asyncio.get_running_loop()
            status, headers, body = await loop.run_in_executor(self.executor, context.run, self._call, environ)
        else:
            status, headers, body = context.run(self._call, environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _call(self, environ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        answer = []

        def start_response(status, response_headers, exc_info=None):
            if exc_info is not None and answer:
                raise exc_info[1].with_traceback(exc_info[2])
            answer[:] = [status, response_headers]
            return lambda data: body.append(data)

        body: list[bytes] = []
        iterable = self.app(environ, start_response)
        try:
            body.extend(iterable)
        finally:
            getattr(iterable, "close", lambda: None)()
        status, response_headers = answer
        headers = [(name.strip().encode("latin-1").lower(), value.strip().encode("latin-1"))
                   for name, value in response_headers]
        return int(status.split(" ", 1)[0]), headers, b"".join(body)
