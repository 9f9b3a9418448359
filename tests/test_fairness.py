"""Slow receivers: an attempt ends at its deadline even when the receiver drips its answer, and one
tenant's slow webhooks never keep another tenant's events waiting for a worker.

The dripping receiver is a raw socket server on 127.0.0.1 that sends its status line one byte at a
time, far below the per-read timeout; it counts the connections it holds. Waits poll with deadlines;
nothing asserts on durations except the `durationMs` the sandbox itself records.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from mock_server.app import create_app
from mock_server.config import DEFAULT_API_KEY, Config
from mock_server.domain.collection import Event

from test_webhooks import Receiver, register, wait_until

from conftest import services

KEY = DEFAULT_API_KEY
OTHER = "team-b"


class Dripping:
    """Accepts connections and answers each one byte every `every` seconds, never finishing."""

    def __init__(self, every: float = 0.2):
        self.every = every
        self.open = 0  # connections held right now
        self.accepted = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/drip"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.open += 1
                self.accepted += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket):
        try:
            for byte in b"HTTP/1.1 200 OK\r\n" * 1000:
                if self._stop.wait(self.every):
                    break
                conn.sendall(bytes([byte]))
        except OSError:
            pass  # the sandbox gave up on it
        finally:
            conn.close()
            with self._lock:
                self.open -= 1

    def held(self) -> int:
        with self._lock:
            return self.open

    def close(self):
        self._stop.set()
        self.sock.close()


@pytest.fixture
def dripping():
    server = Dripping()
    yield server
    server.close()


def test_an_attempt_to_a_dripping_receiver_ends_at_its_deadline(tmp_path, dripping):
    app = create_app(Config(data_dir=tmp_path, webhook_backoff=30, webhook_max_attempts=2, webhook_timeout=1.0))
    try:
        with app.test_client(headers={"X-API-KEY": KEY}) as client:
            register(client, dripping.url, ["CustomerCreated"])
            client.post("/v1/Customers", json={"companyName": "Goutte à goutte"})

            attempts = wait_until(lambda: client.get("/_mock/webhooks/deliveries").json(), what="the first attempt")
    finally:
        services(app).close()

    (attempt,) = attempts
    assert attempt["error"].startswith("timeout after 1 s")
    assert attempt["result"] == "retrying"
    # Bytes kept coming every 0.2 s (never a 1 s silence): only a deadline on the whole attempt ends it.
    assert attempt["durationMs"] <= 1000 + 500


def test_slow_deliveries_of_one_tenant_leave_a_worker_for_another(tmp_path, dripping):
    receiver = Receiver()
    app = create_app(Config(data_dir=tmp_path, api_keys=(OTHER,), webhook_workers=4, webhook_backoff=30,
                            webhook_max_attempts=1, webhook_timeout=30.0))
    try:
        with app.test_client(headers={"X-API-KEY": KEY}) as a, app.test_client(headers={"X-API-KEY": OTHER}) as b:
            register(a, dripping.url, ["CustomerCreated"])
            register(b, f"{receiver.url}/b", ["CustomerCreated"])
            for index in range(6):  # more slow deliveries than workers
                a.post("/v1/Customers", json={"companyName": f"Lent {index}"})
            # Tenant A holds as many workers as it may: three of four, the others' lanes waiting.
            wait_until(lambda: dripping.held() == 3, what="tenant A's attempts in flight")

            b.post("/v1/Customers", json={"companyName": "Rapide"})

            wait_until(lambda: receiver.events("/b"), what="tenant B's delivery")
            assert dripping.held() == 3  # A's attempts are still dripping (30 s deadline)
            assert dripping.accepted == 3  # and A never got the fourth worker
    finally:
        dripping.close()
        services(app).close()
        receiver.close()


def test_a_delivery_that_cannot_be_sent_is_failed_with_its_reason(tmp_path):
    receiver = Receiver()
    app = create_app(Config(data_dir=tmp_path, webhook_backoff=0.05, webhook_max_attempts=3, webhook_timeout=1.0))
    svc = services(app)
    try:
        with app.test_client(headers={"X-API-KEY": KEY}) as client:
            register(client, f"{receiver.url}/hook", ["CustomerDeleted"])
            # A resource that cannot be encoded as UTF-8 (a lone surrogate), as stored before the
            # API refused such input: its body cannot be sent, however often it is tried.
            ctx = svc.tenants.context(KEY)
            gone = {"id": 999, "companyName": "A\ud800"}
            svc.webhooks.emit(KEY, ctx.repo, [(Event("CustomerDeleted", "Customers", 999, gone), gone)])

            wait_until(lambda: client.get("/_mock/webhooks/deliveries").json(), what="the attempt")
            wait_until(svc.webhooks.idle, what="the queue to empty")
            (attempt,) = client.get("/_mock/webhooks/deliveries").json()
            assert attempt["result"] == "failed"
            assert "UnicodeEncodeError" in attempt["error"]
            assert client.get("/_mock/webhooks/pending").json() == []
            assert receiver.at("/hook") == []
    finally:
        svc.close()
        receiver.close()
