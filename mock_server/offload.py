"""Where a /v1 handler runs: on the event loop when none of its steps can wait, else in a thread.

Most requests read or write a few documents of a tenant already in memory: a few tens of µs of
work, where handing it to Connexion's thread pool and back costs several times that in CPU
(docs/architecture.md has the numbers). So each /v1 handler (`inline_first`, applied by the
resolver) is first run on the event loop. A step that could make it wait or take long asks
`off_loop()` first, before it does anything:

- the tenant's store when the tenant is not in memory (loaded from disk) or not seeded yet, when
  a write would `fsync`, and when a read (or an index built on first use) would go through more
  than `SCAN_ON_LOOP` documents of a kind;
- a PDF render, reading an upload, and the file store's reads and writes (uploads, images);
- the request journal persisting an entry (`journal_persist`), which also reads the tenant's
  clock through `run`.

On the loop, `off_loop()` raises `Offload`. It unwinds the handler like any exception, so the
store rolls back whatever the handler had written in its transaction. The handler then runs
again from the start in Connexion's thread pool, with the arguments it first got. There,
`off_loop()` does nothing. A handler that never asks runs to its end on the loop.

A tenant's store held by another thread (a compaction installing its snapshot, a request in a
thread) is not a reason to leave the loop: the step raises `Busy`, the handler's transaction
rolls back the same way, and `run` waits on the loop for the store's `SharedLock` to be released,
then runs the handler again there.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from contextvars import ContextVar

from starlette.concurrency import run_in_threadpool


BUSY_RETRIES = 50
"""How many times a handler waits on the loop for a busy lock before it runs in a thread."""
BUSY_WAIT = 5.0
"""The longest wait on the loop for a busy lock's release (seconds), before a thread takes over."""

SCAN_ON_LOOP = 100
"""A read may go through at most this many documents of a kind on the event loop: a list of 100
invoices, every one shaped, holds the loop ~7 ms (docs/architecture.md)."""

_ON_LOOP: ContextVar[bool] = ContextVar("altoviz_mock_on_loop", default=False)


class Offload(BaseException):
    """Raised by `off_loop()` on the event loop: the handler is to run in a thread instead.

    A BaseException, so that no `except Exception` of a handler or of the domain takes it for a
    failure of its own."""


class Busy(Offload):
    """Raised on the event loop by a step that found a `SharedLock` held by a thread: `run` waits
    on the loop for the lock's release, then runs the handler again, on the loop."""

    def __init__(self, reason: str, lock: "SharedLock"):
        super().__init__(reason)
        self.lock = lock


class SharedLock:
    """A re-entrant lock shared by threads and the event loop, which never waits on it.

    A thread blocks on it as on any lock. On the loop, a step takes it only if it is free
    (`acquire(blocking=False)`), else raises `Busy`; `when_free()` is a future done at the lock's
    next release. Handing such a request to a thread instead would make a convoy: while a thread
    holds the lock, every request of the tenant arriving meanwhile would go to a thread too, each
    waiting for the lock and then for the GIL, and new ones keep joining as long as it lasts."""

    __slots__ = ("_lock", "_waiters", "_waiters_lock")

    def __init__(self):
        self._lock = threading.RLock()
        self._waiters: list[asyncio.Future] = []
        self._waiters_lock = threading.Lock()

    def acquire(self, blocking: bool = True) -> bool:
        return self._lock.acquire(blocking)

    def release(self) -> None:
        self._lock.release()
        if self._waiters:
            with self._waiters_lock:
                waiters, self._waiters = self._waiters, []
            for future in waiters:
                future.get_loop().call_soon_threadsafe(_wake, future)

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def when_free(self) -> asyncio.Future:
        """A future of the running loop, done once the lock has been released (it may be taken
        again by then: the waiter tries again)."""
        future = asyncio.get_running_loop().create_future()
        with self._waiters_lock:
            self._waiters.append(future)
        if self._lock.acquire(blocking=False):  # released before the waiter was in the list
            self.release()
        return future


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def on_loop() -> bool:
    """True while a handler runs on the event loop (`inline_first`)."""
    return _ON_LOOP.get()


def off_loop(reason: str) -> None:
    """Called by a step that may wait or take long, before it does anything: on the event loop,
    raise `Offload` (the handler reruns in a thread); in a thread, nothing."""
    if _ON_LOOP.get():
        raise Offload(reason)


async def run(function, /, *args, **kwargs):
    """`function(*args, **kwargs)` on the event loop, or again from the start in Connexion's thread
    pool (Starlette's `run_in_threadpool`) when one of its steps says it would wait. A step that
    found a `SharedLock` held (`Busy`) is waited for on the loop instead: the function runs again
    there once the lock is released (at most `BUSY_RETRIES` times, each wait `BUSY_WAIT` at most,
    then in a thread)."""
    for _ in range(BUSY_RETRIES):
        token = _ON_LOOP.set(True)
        try:
            return function(*args, **kwargs)
        except Busy as busy:
            freed = busy.lock.when_free()
        except Offload:
            break
        finally:
            _ON_LOOP.reset(token)
        try:
            await asyncio.wait_for(freed, BUSY_WAIT)
        except TimeoutError:
            break
    return await run_in_threadpool(function, *args, **kwargs)


def inline_first(function, answer=None):
    """`function` (a synchronous handler) as a coroutine that `run`s it. `api/operations.HandlerCall`
    awaits a coroutine handler on the loop; its signature stays `function`'s (`functools.wraps`).
    With `answer`, a plain dict or list the handler returns is sent as `answer(value)`
    (api/resolver.json_answer); anything else (a tuple with a status or headers, None, a response)
    goes to Connexion's response decorator as it is."""

    @functools.wraps(function)
    async def handler(*args, **kwargs):
        # Its arguments are path and query values, never changed; a handler reads the body itself,
        # a copy of its own on each run (api/_http.request_document).
        result = await run(function, *args, **kwargs)
        if answer is not None and result.__class__ in (dict, list):
            return answer(result)
        return result

    return handler
