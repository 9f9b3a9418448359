"""mock_server/asgi.py `BodyDeadline`: a body not in by its deadline is a 408 (`BodyTimeout`), one
sent in time reaches the app whole, and only the deadline's own cancellation becomes a timeout.
The deadlines of a loop share one timer (`_Deadlines`): these run on several loops in turn."""

from __future__ import annotations

import asyncio

import pytest

from mock_server.asgi import BodyDeadline, BodyTimeout

TIMEOUT = 0.2  # seconds: the body's deadline in these tests
BOUND = 10.0  # no test waits longer than this for an answer


def scope(body_length: int) -> dict:
    return {"type": "http", "method": "POST", "path": "/v1/Customers",
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(body_length).encode())]}


class App:
    """The app behind the middleware: records the body it reads."""

    def __init__(self):
        self.bodies = []

    async def __call__(self, scope, receive, send):
        message = await receive()
        self.bodies.append(message["body"])


def never_complete(first: bytes = b"{"):
    """A client that sends the start of its body, then nothing."""
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": first, "more_body": True}
        await asyncio.Event().wait()

    return receive


def in_pieces(*pieces: bytes):
    messages = [{"type": "http.request", "body": p, "more_body": n < len(pieces) - 1} for n, p in enumerate(pieces)]

    async def receive():
        await asyncio.sleep(0)
        return messages.pop(0)

    return receive


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, BOUND))


def test_a_body_not_in_by_its_deadline_is_a_timeout_on_every_loop():
    app = App()
    middleware = BodyDeadline(app, timeout=TIMEOUT)
    for _ in range(3):  # each asyncio.run is a new loop, with deadlines of its own
        with pytest.raises(BodyTimeout) as refused:
            run(middleware(scope(10), never_complete(), None))
        assert refused.value.status_code == 408
    assert app.bodies == []  # the app never saw a part of it


def test_a_body_sent_in_pieces_in_time_reaches_the_app_whole():
    app = App()
    middleware = BodyDeadline(app, timeout=TIMEOUT)

    async def main():
        await asyncio.gather(*(middleware(scope(9), in_pieces(b'{"a"', b":", b"1}  "), None) for _ in range(20)))

    run(main())
    assert app.bodies == [b'{"a":1}  '] * 20


def test_only_the_deadline_makes_a_timeout_another_cancellation_stays_one():
    middleware = BodyDeadline(App(), timeout=60)

    async def main():
        request = asyncio.ensure_future(middleware(scope(10), never_complete(), None))
        await asyncio.sleep(0.05)
        request.cancel()  # the server stopping, or the client gone
        with pytest.raises(asyncio.CancelledError):
            await request

    run(main())


def test_a_timeout_on_one_request_leaves_the_others_reading():
    app = App()
    middleware = BodyDeadline(app, timeout=TIMEOUT)

    async def main():
        slow = asyncio.ensure_future(middleware(scope(10), never_complete(), None))
        for _ in range(5):
            await middleware(scope(2), in_pieces(b"{", b"}"), None)
        with pytest.raises(BodyTimeout):
            await slow
        await middleware(scope(2), in_pieces(b"{", b"}"), None)

    run(main())
    assert app.bodies == [b"{}"] * 6
