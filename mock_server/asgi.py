"""The ASGI edge of the sandbox: a request-size limit, a Connexion middleware in front of the rest."""

from __future__ import annotations

from connexion.exceptions import ProblemException

MAX_JSON_BODY = 1024 * 1024
"""Bytes a request body may hold, except multipart uploads (bounded per kind, see app.py)."""


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
