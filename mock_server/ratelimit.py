"""The live API's rate limit: `limit` requests per API key over a rolling window, then 429.

Captured live: 100 requests per key over about a minute; past that the API answers `429`,
`text/plain`, with `Retry-After` in **milliseconds** (not the seconds HTTP specifies). The sandbox
does the same so that a client that would be throttled in production is throttled here first.
`/_mock` (the sandbox's own controls) never counts; a request without a key is not counted either
(it gets its 401 further on). Requests refused with 429 do not count towards the window.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from typing import Callable

DEFAULT = "100/60"
"""What `serve` enforces unless told otherwise (`--rate-limit`, ALTOVIZ_MOCK_RATE_LIMIT)."""
_RULE = re.compile(r"\s*(\d+)\s*(?:/\s*(\d+(?:\.\d+)?)\s*)?\Z")


def parse(text: str) -> tuple[int, float] | None:
    """`off` -> None; `N/SECONDS` (or `N`, per 60 s) -> (N, SECONDS); a ValueError says what is wrong."""
    if text.strip().lower() in ("off", "0", "none", "false", "no"):
        return None
    match = _RULE.match(text)
    if not match or int(match.group(1)) < 1 or (match.group(2) is not None and float(match.group(2)) <= 0):
        raise ValueError(f"rate limit {text!r}: expected 'off' or N/SECONDS, e.g. 100/60")
    return int(match.group(1)), float(match.group(2) or 60)


class RateLimit:
    """ASGI middleware placed after the canonical layer (which hands every key on as `x-api-key`)."""

    def __init__(self, app, limit: int, window: float, clock: Callable[[], float] = time.monotonic,
                 exempt: tuple[str, ...] = ("/_mock",)):
        self.app = app
        self.limit = limit
        self.window = window
        self.clock = clock
        self.exempt = exempt
        self._hits: dict[bytes, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: bytes) -> int | None:
        """Milliseconds until `key` may send again, or None if it may now (and the request counts)."""
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) < self.limit:
                hits.append(now)
                self._forget_idle(now)
                return None
            return max(1, math.ceil((hits[0] + self.window - now) * 1000))

    def _forget_idle(self, now: float) -> None:
        # Keys whose every hit has left the window are dropped: memory follows the active keys.
        if len(self._hits) > 64:
            for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window]:
                del self._hits[key]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            return await self.app(scope, receive, send)
        key = next((value for name, value in scope["headers"] if name == b"x-api-key"), None)
        wait = self.retry_after(key) if key else None
        if wait is None:
            return await self.app(scope, receive, send)
        body = f"Rate limit exceeded: {self.limit} requests per {self.window:g} s. Retry after {wait} ms.".encode()
        await send({"type": "http.response.start", "status": 429,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"retry-after", str(wait).encode()),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
