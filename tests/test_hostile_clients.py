"""Hostile clients on a real server (loopback): a body dribbled a byte at a time is cut at its
deadline without holding a worker, and one tenant's heavy PDF renders never make another tenant's
download wait behind them. Orderings are asserted by events (who answered first), never by
wall-clock durations."""

from __future__ import annotations

import select
import socket
import threading
import time

import httpx
import pytest

from test_server_process import KEY, client

pytestmark = pytest.mark.slow


class Dribbler:
    """A raw-socket client that sends a request head, then its body one byte every `every` seconds
    (never all of it), and keeps what the server answers."""

    def __init__(self, port: int, path: str, *, length: int = 1000, every: float = 0.2,
                 content_type: str = "text/plain", key: str | None = None, start: bytes = b"{"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Type: {content_type}",
                f"Content-Length: {length}"]
        if key:
            head.append(f"X-API-KEY: {key}")
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + start)
        self.every = every
        self.answer = b""
        self.closed = threading.Event()  # the server closed the connection
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select([self.sock], [], [], self.every)
                if readable:
                    data = self.sock.recv(65536)
                    if not data:
                        break
                    self.answer += data
                    continue
                self.sock.sendall(b" ")
        except OSError:  # reset by the server once it gave up
            pass
        finally:
            self.closed.set()

    def answered(self) -> bool:
        return bool(self.answer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def test_a_body_dribbled_a_byte_at_a_time_is_cut_at_its_deadline_and_holds_no_worker(server_factory):
    server = server_factory("--empty", env={"ALTOVIZ_MOCK_BODY_TIMEOUT": "2"})
    port = server.port
    with client(server) as c:
        customer = c.post("/v1/Customers", json={"companyName": "Patiente SARL"}).json()
        # More dribblers than the server's worker threads (10), on a route whose handler reads the
        # body itself (the inbox takes any media type), on a JSON write and on an upload.
        dribblers = [Dribbler(port, f"/_mock/inbox/slow-{n}") for n in range(12)]
        dribblers += [Dribbler(port, "/v1/Customers", content_type="application/json", key=KEY),
                      Dribbler(port, "/v1/PurchaseInvoices/file", content_type="multipart/form-data; boundary=x",
                               key=KEY, start=b'--x\r\nContent-Disposition: form-data; name="file"; '
                                              b'filename="f.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-')]
        try:
            # Everyone else is served meanwhile: a GET by id and health, before any dribbler is cut.
            for _ in range(5):
                assert c.get(f"/v1/Customers/{customer['id']}").status_code == 200
                assert c.get("/_mock/health").status_code == 200
            assert not any(d.answered() for d in dribblers)

            for d in dribblers:  # each one is answered 408 and its connection closed
                assert d.closed.wait(15), "the server kept a dribbling connection open"
            statuses = {d.answer.split(b"\r\n", 1)[0] for d in dribblers}
            assert statuses == {b"HTTP/1.1 408 Request Timeout"}, statuses
            assert all(b"connection: close" in d.answer.lower() for d in dribblers)
        finally:
            for d in dribblers:
                d.close()
        # A body sent in time is read as usual, and nothing of the cut requests was stored.
        assert c.post("/_mock/inbox/slow-0", content=b"on time").json()["received"] is True
        assert [x["companyName"] for x in c.get("/v1/Customers").json()] == ["Patiente SARL"]


def wait_until(check, what: str, timeout: float = 20.0):
    """Poll `check` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def new_invoice(c: httpx.Client, text_lines: int) -> int:
    customer = c.post("/v1/Customers", json={"companyName": "Imprimerie Lourde SARL"}).json()
    lines = [{"type": "Text", "description": f"Détail de la prestation fournie, ligne {n}"} for n in range(text_lines)]
    lines.append({"type": "Service", "description": "Forfait", "quantity": 1, "taxExcludedPrice": 100,
                  "vat": {"rate": 20}})
    response = c.post("/v1/SaleInvoices", json={"customerId": customer["id"], "lines": lines})
    assert response.status_code == 200, response.text[:300]
    return response.json()["id"]


def raw_download(port: int, key: str, invoice_id: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET /v1/SaleInvoices/Download/{invoice_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                 f"X-API-KEY: {key}\r\n\r\n".encode())
    return sock


def test_one_tenants_heavy_pdfs_never_keep_another_tenants_download_waiting(server_factory):
    other = "team-b-secret-key"
    server = server_factory("--empty", "--api-key", other)
    with client(server) as a, client(server, other) as b:
        heavy = new_invoice(a, 4000)  # a second or so of layout each (the limits allow 20,000 lines)
        small = new_invoice(b, 0)
        a_small = new_invoice(a, 0)

        # Tenant A asks for 12 heavy PDFs at once: three times the render slots.
        downloads = [raw_download(server.port, KEY, heavy) for _ in range(12)]
        try:
            renders = wait_until(lambda: (lambda s: s if s["running"] + s["waiting"] == 12 else None)(
                a.get("/_mock/renders").json()), what="A's 12 downloads admitted")
            assert renders["running"] == renders["perTenant"] == 2 and renders["waiting"] == 10

            # Tenant B's download is answered while every one of A's is still pending.
            pdf = b.get(f"/v1/SaleInvoices/Download/{small}")
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
            readable, _, _ = select.select(downloads, [], [], 0)
            assert readable == [], "one of A's heavy downloads was answered before B's small one"
        finally:
            for sock in downloads:  # A's client gives up on all of them
                sock.close()

        # Waiting or rendering, each one is given up: the slots are free again for A itself.
        wait_until(lambda: a.get("/_mock/renders").json() | {"perTenant": 0, "total": 0}
                   == {"running": 0, "waiting": 0, "cancelled": 12, "perTenant": 0, "total": 0},
                   what="A's downloads given up")
        assert a.get(f"/v1/SaleInvoices/Download/{a_small}").content.startswith(b"%PDF-")
        # The journal records each one as the client leaving (499), none as answered.
        entries = wait_until(lambda: (lambda items: items if len(items) == 12 else None)(
            a.get("/_mock/requests", params={"path": f"/v1/SaleInvoices/Download/{heavy}"}).json()["items"]),
            what="the journal's entries of A's heavy downloads")
        assert [e["status"] for e in entries] == [499] * 12
