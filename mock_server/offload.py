"""Where a /v1 handler runs: on the event loop when none of its steps can wait, else in a thread.

Most requests read or write a few documents of a tenant already in memory: a few tens of µs of
work, where handing it to Connexion's thread pool and back costs several times that in CPU
(docs/architecture.md has the numbers). So each /v1 handler (`inline_first`, applied by the
resolver) is first run on the event loop. A step that could make it wait or take long asks
`off_loop()` first, before it does anything:

- the tenant's store when its lock is held by another thread, when the tenant is not in memory
  (loaded from disk) or not seeded yet, when a write would `fsync`, and when a read (or an index
  built on first use) would go through more than `SCAN_ON_LOOP` documents of a kind;
- a PDF render, reading an upload, and the file store's reads and writes (uploads, images);
- the request journal persisting an entry (`journal_persist`), which also reads the tenant's
  clock through `run`.

On the loop, `off_loop()` raises `Offload`. It unwinds the handler like any exception, so the
store rolls back whatever the handler had written in its transaction. The handler then runs
again from the start in Connexion's thread pool, with the arguments it first got. There,
`off_loop()` does nothing. A handler that never asks runs to its end on the loop.
"""

from __future__ import annotations

import functools
import inspect
from contextvars import ContextVar

from starlette.concurrency import run_in_threadpool


SCAN_ON_LOOP = 100
"""A read may go through at most this many documents of a kind on the event loop: a list of 100
invoices, every one shaped, holds the loop ~7 ms (docs/architecture.md)."""

_ON_LOOP: ContextVar[bool] = ContextVar("altoviz_mock_on_loop", default=False)


class Offload(BaseException):
    """Raised by `off_loop()` on the event loop: the handler is to run in a thread instead.

    A BaseException, so that no `except Exception` of a handler or of the domain takes it for a
    failure of its own."""


def on_loop() -> bool:
    """True while a handler runs on the event loop (`inline_first`)."""
    return _ON_LOOP.get()


def off_loop(reason: str) -> None:
    """Called by a step that may wait or take long, before it does anything: on the event loop,
    raise `Offload` (the handler reruns in a thread); in a thread, nothing."""
    if _ON_LOOP.get():
        raise Offload(reason)


async def run(function, /, *args, again: dict | None = None, **kwargs):
    """`function(*args, **kwargs)` on the event loop, or again from the start in Connexion's thread
    pool (Starlette's `run_in_threadpool`) when one of its steps says it would wait; `again`, if
    given, are the keyword arguments of that second run."""
    token = _ON_LOOP.set(True)
    try:
        return function(*args, **kwargs)
    except Offload:
        pass
    finally:
        _ON_LOOP.reset(token)
    return await run_in_threadpool(function, *args, **(kwargs if again is None else again))


def inline_first(function):
    """`function` (a synchronous handler) as a coroutine that `run`s it. Connexion awaits a
    coroutine handler on the loop; its signature stays `function`'s."""

    @functools.wraps(function)
    async def handler(*args, **kwargs):
        # Its arguments are path and query values, never changed; a handler reads the body itself,
        # a copy of its own on each run (api/_http.request_document).
        return await run(function, *args, **kwargs)

    # Connexion inspects the handler's signature on every request, that of the function under its
    # decorators (`__wrapped__`): computed once for both (Python's `__signature__` protocol, which
    # `inspect.signature` answers from).
    function.__signature__ = handler.__signature__ = inspect.signature(function)
    return handler
