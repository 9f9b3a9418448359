"""Webhooks: registrations, the events every operation emits, signed deliveries to a real receiver,
retries, ordering, isolation between tenants, the delivery log and inbox, and restarts.

Receivers are `ThreadingHTTPServer`s on 127.0.0.1 in threads of this process (or the sandbox's own
inbox); every wait polls with a deadline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from PIL import Image

from mock_server.app import create_app, load_contract
from mock_server.config import DEFAULT_API_KEY, Config
from mock_server.domain.collection import Context
from mock_server.domain.kinds import EVENT_KINDS, KINDS
from mock_server.domain.parties import Customers
from mock_server.domain.webhooks import TYPES
from mock_server.sandbox.tenants import reference_data
from mock_server.store import Store

from conftest import free_port, server_env, services

KEY = DEFAULT_API_KEY
WAIT = 10.0  # seconds any expected delivery may take at most


def wait_until(predicate, timeout: float = WAIT, what: str = "condition"):
    """Poll `predicate` until it returns something truthy (returned), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


class Receiver:
    """A webhook receiver on 127.0.0.1: records every request; answers per path from `plan`
    (a list of statuses used up one per request), 200 once the plan is used up."""

    def __init__(self, port: int = 0):
        self.requests: list[dict] = []
        self.plan: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    statuses = receiver.plan.get(self.path) or []
                    status = statuses.pop(0) if statuses else 200
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                              "status": status})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def at(self, path: str) -> list[dict]:
        with self._lock:
            return [r for r in self.requests if r["path"] == path]

    def events(self, path: str) -> list[dict]:
        """The JSON bodies received at `path` and answered 2xx, in arrival order."""
        return [json.loads(r["body"]) for r in self.at(path) if r["status"] < 300]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def config(tmp_path) -> Config:
    # Short retries for tests: 0.05 s, 0.1 s... three attempts; a hanging receiver costs 1 s.
    return Config(data_dir=tmp_path / "data", validate_responses=True, webhook_backoff=0.05,
                  webhook_max_attempts=3, webhook_timeout=1.0)


def dispatcher(app):
    return services(app).webhooks


def settle(app, timeout: float = WAIT):
    """Wait until every queued delivery was delivered or given up."""
    wait_until(dispatcher(app).idle, timeout, "the webhook queue to empty")


def register(client, url: str, types=TYPES, secret: str | None = None, name: str = "test hook") -> dict:
    """Register a webhook and return it as listed: the registration answers `id: 0`, as live."""
    response = client.post("/v1/Webhooks", json={"name": name, "url": url, "types": list(types), "secretKey": secret})
    assert response.status_code == 201, response.text
    assert response.json()["id"] == 0
    listed = client.get("/v1/Webhooks").json()[-1]  # the newest registration
    assert listed == {**response.json(), "id": listed["id"]}
    return listed


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- registrations ----------------------------------------------------------------------------------

def test_the_kinds_registry_makes_the_contract_webhook_types():
    enum = load_contract()["components"]["schemas"]["WebhookType"]["enum"]
    assert sorted(TYPES) == sorted(enum) and len(TYPES) == len(set(TYPES))


def test_every_kind_names_a_contract_schema_and_every_event_kind_has_a_sample():
    schemas = load_contract()["components"]["schemas"]
    for kind in KINDS.values():
        assert kind.schema in schemas, kind.name
        assert all(url in schemas[kind.schema]["properties"] for url in kind.urls), kind.name
    assert {k.name for k in KINDS.values() if k.sample} == set(EVENT_KINDS)
    for kind in EVENT_KINDS.values():
        assert kind.sample["id"] == 0 and set(kind.sample) <= set(schemas[kind.schema]["properties"]), kind.name


def test_register_list_and_unregister_by_id_or_url(client):
    assert client.get("/v1/Webhooks").json() == []
    first = register(client, "https://hooks.example.test/altoviz", ["InvoiceCreated", "InvoiceCreated"],
                     secret="s3cr3t", name="Compta")
    assert first == {"id": 1, "name": "Compta", "url": "https://hooks.example.test/altoviz",
                     "types": ["InvoiceCreated"], "secretKey": "s3cr3t"}
    second = register(client, "http://127.0.0.1:9/b", ["CustomerCreated"])
    third = register(client, "http://127.0.0.1:9/b", ["CustomerDeleted"])
    assert second["secretKey"] is None
    assert client.get("/v1/Webhooks").json() == [first, second, third]

    response = client.delete("/v1/Webhooks", params={"id": first["id"]})
    assert response.status_code == 200 and response.json() == first
    # By url: every registration of the URL goes, the oldest is answered.
    response = client.delete("/v1/Webhooks", params={"url": "http://127.0.0.1:9/b"})
    assert response.status_code == 200 and response.json() == second
    assert client.get("/v1/Webhooks").json() == []

    for params in ({"id": first["id"]}, {"url": "http://127.0.0.1:9/b"}, {"id": 99, "url": "http://x.test/"}):
        response = client.delete("/v1/Webhooks", params=params)
        assert response.status_code == 404, params
        assert response.json()["errors"] == []
    response = client.delete("/v1/Webhooks")
    assert response.status_code == 400 and "l'id ou l'url" in response.json()["message"]


INVALID_REGISTRATIONS = [  # (body, what the error says)
    ({"name": "x", "url": "ftp://files.example.test/", "types": []}, "http"),
    ({"name": "x", "url": "/relative/path", "types": []}, "http"),
    ({"name": "x", "url": "example.test/hook", "types": []}, "http"),
    ({"name": "x", "url": "http://", "types": []}, "http"),
    ({"name": "x", "url": "http://exa mple.test/", "types": []}, "spaces"),
    ({"name": "x", "url": "http://example.test:99999/", "types": []}, "valid"),
    ({"name": "x", "url": "", "types": []}, ""),
    ({"name": "", "url": "http://example.test/", "types": []}, ""),
    ({"url": "http://example.test/", "types": []}, "name"),
    ({"name": "x", "types": []}, "url"),
    ({"name": "x", "url": "http://example.test/"}, "types"),
    ({"name": "x", "url": "http://example.test/", "types": ["InvoicePaid"]}, ""),
]


def test_registration_is_validated(client):
    for body, says in INVALID_REGISTRATIONS:
        response = client.post("/v1/Webhooks", json=body)
        assert response.status_code == 400, (body, response.text)
        payload = response.json()
        assert says in " ".join([payload["message"], *(payload["errors"] or [])]), (body, payload)
    assert client.get("/v1/Webhooks").json() == []


# --- deliveries -------------------------------------------------------------------------------------

def test_a_delivery_is_a_signed_text_plain_post_of_id_type_and_the_resource(app, client, receiver):
    signed = register(client, f"{receiver.url}/signed", ["CustomerCreated"], secret="clé-secrète")
    register(client, f"{receiver.url}/plain", ["CustomerCreated"])
    created = client.post("/v1/Customers", json={"companyName": "Boulangerie Éclair", "email": "a@eclair.fr"}).json()

    request = wait_until(lambda: receiver.at("/signed"), what="the signed delivery")[0]
    body = request["body"]
    assert request["headers"]["Content-Type"] == "text/plain"
    assert request["headers"]["X-Signature"] == signature(signed["secretKey"], body)
    event = json.loads(body.decode("utf-8"))
    assert set(event) == {"id", "type", "data"}
    assert re.fullmatch(r"evt_[0-9a-z]{25}", event["id"])  # as the live API's event ids
    assert event["type"] == "CustomerCreated"
    assert event["data"] == created == client.get(f"/v1/Customers/{created['id']}").json()

    plain = wait_until(lambda: receiver.at("/plain"), what="the unsigned delivery")[0]
    assert "X-Signature" not in plain["headers"]
    assert json.loads(plain["body"])["id"] == event["id"]  # one event, one delivery per webhook
    settle(app)

    log = client.get("/_mock/webhooks/deliveries").json()
    assert len(log) == 2
    entry = next(e for e in log if e["url"].endswith("/signed"))
    assert entry["eventId"] == event["id"] and entry["type"] == "CustomerCreated"
    assert entry["webhookId"] == signed["id"] and entry["attempt"] == 1
    assert entry["statusCode"] == 200 and entry["error"] is None and entry["result"] == "delivered"
    assert isinstance(entry["durationMs"], float) and entry["timestamp"].endswith("Z")
    # The signature it carried, kept with the attempt: still there once the webhook is gone.
    assert entry["signature"] == request["headers"]["X-Signature"]
    assert next(e for e in log if e["url"].endswith("/plain"))["signature"] is None
    assert client.delete("/v1/Webhooks", params={"id": signed["id"]}).status_code == 200
    after = next(e for e in client.get("/_mock/webhooks/deliveries").json() if e["url"].endswith("/signed"))
    assert after["signature"] == request["headers"]["X-Signature"]
    assert client.get("/_mock/webhooks/pending").json() == []


def test_every_webhook_type_is_emitted_by_the_operation_that_causes_it(app, client, receiver):
    register(client, f"{receiver.url}/all")
    expected: list[tuple[str, int]] = []

    def ok(response, status=200):
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    customer = ok(client.post("/v1/Customers", json={"companyName": "Atelier Rivière", "firstName": "Léa",
                                                     "lastName": "Rivière", "email": "lea@riviere.fr"}))
    main_contact = client.get(f"/v1/Customers/{customer['id']}/contacts").json()[0]
    expected += [("CustomerCreated", customer["id"]), ("ContactCreated", main_contact["id"])]
    ok(client.put(f"/v1/Customers/{customer['id']}", json={**customer, "phone": "04 78 00 00 00"}))
    expected += [("CustomerUpdated", customer["id"]), ("ContactUpdated", main_contact["id"])]

    contact = ok(client.post("/v1/Contacts", json={"firstName": "Paul", "lastName": "Durand"}))
    ok(client.put(f"/v1/Contacts/{contact['id']}", json={**contact, "function": "Comptable"}))
    ok(client.delete(f"/v1/Contacts/{contact['id']}"))
    expected += [("ContactCreated", contact["id"]), ("ContactUpdated", contact["id"]), ("ContactDeleted", contact["id"])]

    product = ok(client.post("/v1/Products", json={"name": "Audit", "number": "AUD-1", "type": "Service",
                                                   "unitPrice": 500, "vat": {"rate": 20}}))
    ok(client.put(f"/v1/Products/{product['id']}", json={**product, "unitPrice": 550}))
    ok(client.delete(f"/v1/Products/{product['id']}"))
    expected += [("ProductCreated", product["id"]), ("ProductUpdated", product["id"]), ("ProductDeleted", product["id"])]

    lines = [{"type": "Service", "description": "Audit", "quantity": 1, "taxExcludedPrice": 500, "vat": {"rate": 20}}]
    invoice = ok(client.post("/v1/SaleInvoices", json={"customerId": customer["id"], "lines": lines}))
    ok(client.put(f"/v1/SaleInvoices/{invoice['id']}", json={**invoice, "subject": "Audit annuel"}))
    ok(client.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}"))
    assert client.put(f"/v1/SaleInvoices/{invoice['id']}", json={"subject": "refusé"}).status_code == 400  # no event
    ok(client.post("/v1/SaleInvoices/MarkAsPaid", json={"invoiceId": invoice["id"], "amount": 100}))
    ok(client.post(f"/v1/SaleInvoices/Send/{invoice['id']}", json=["compta@riviere.fr"]))
    expected += [("InvoiceCreated", invoice["id"])] + [("InvoiceUpdated", invoice["id"])] * 4

    draft = ok(client.post("/v1/SaleInvoices", json={"customerId": customer["id"], "lines": lines}))
    ok(client.delete(f"/v1/SaleInvoices/{draft['id']}"))
    expected += [("InvoiceCreated", draft["id"]), ("InvoiceDeleted", draft["id"])]

    # Cancelling through a credit is an update of the invoice; credits themselves are no event.
    credit = ok(client.post("/v1/SaleCredits", json={"cancelledInvoicetId": invoice["id"]}))
    ok(client.post(f"/v1/SaleCredits/Finalize/{credit['id']}"))
    expected += [("InvoiceUpdated", invoice["id"])]

    quote = ok(client.post("/v1/SaleQuotes", json={"customerId": customer["id"], "lines": lines}))
    ok(client.delete(f"/v1/SaleQuotes/{quote['id']}"))
    expected += [("QuoteCreated", quote["id"]), ("QuoteDeleted", quote["id"])]
    # QuoteUpdated also comes from the sandbox trigger (without changing the quote).
    latest_quote = ok(client.post("/v1/SaleQuotes", json={"customerId": customer["id"], "lines": lines}))
    ok(client.post("/_mock/webhooks/trigger", json={"type": "QuoteUpdated"}), 202)
    expected += [("QuoteCreated", latest_quote["id"]), ("QuoteUpdated", latest_quote["id"])]

    # Suppliers and families have no WebhookType (a supplier without person fields has no contact).
    ok(client.post("/v1/Suppliers", json={"name": "Papeterie Centrale"}))
    ok(client.post("/v1/ProductFamilies", json={"label": "Conseil", "number": "FAM-C"}))

    gone = ok(client.post("/v1/Customers", json={"companyName": "Éphémère", "email": "x@ephemere.fr"}))
    gone_contact = client.get(f"/v1/Customers/{gone['id']}/contacts").json()[0]
    before = client.get(f"/v1/Customers/{gone['id']}").json()
    ok(client.delete(f"/v1/Customers/{gone['id']}"))
    expected += [("CustomerCreated", gone["id"]), ("ContactCreated", gone_contact["id"]),
                 ("CustomerDeleted", gone["id"]), ("ContactDeleted", gone_contact["id"])]

    wait_until(lambda: len(receiver.at("/all")) >= len(expected), what="every event")
    settle(app)
    events = receiver.events("/all")
    assert Counter((e["type"], e["data"]["id"]) for e in events) == Counter(expected)
    assert {e["type"] for e in events} == set(TYPES)
    assert len({e["id"] for e in events}) == len(events)

    # One resource's events arrive in the order of its changes, each with the resource as it was then.
    story = [e for e in events if e["data"]["id"] == invoice["id"] and e["type"].startswith("Invoice")]
    assert [e["type"] for e in story] == ["InvoiceCreated"] + ["InvoiceUpdated"] * 5
    assert [e["data"]["isDraft"] for e in story] == [True, True, False, False, False, False]
    assert story[1]["data"]["subject"] == "Audit annuel"
    assert story[3]["data"]["balance"] == 500 and story[4]["data"]["sentAt"]
    assert story[5]["data"]["isCancelled"] is True
    assert story[0]["data"]["pdfUrl"] == f"/v1/saleinvoices/download/{invoice['id']}"
    deleted = next(e for e in events if e["type"] == "CustomerDeleted")
    assert deleted["data"] == before


def test_refunding_a_cancelling_credit_with_finalize_cancels_its_invoice(app, client, receiver):
    # MarkAsRefunded's finalizeCredit finalizes the credit the way Finalize does: the invoice it
    # cancels is marked, points at it, and an InvoiceUpdated event says so.
    lines = [{"type": "Service", "description": "Audit", "quantity": 1, "taxExcludedPrice": 500, "vat": {"rate": 20}}]
    invoice = client.post("/v1/SaleInvoices", json={"customerId": 2, "lines": lines}).json()
    invoice = client.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}").json()
    register(client, f"{receiver.url}/invoices", ["InvoiceUpdated"])
    credit = client.post("/v1/SaleCredits", json={"cancelledInvoicetId": invoice["id"]}).json()
    refunded = client.post("/v1/SaleCredits/MarkAsRefunded", json={"creditId": credit["id"], "finalizeCredit": True})
    assert refunded.status_code == 200, refunded.text
    credit = refunded.json()
    assert credit["number"] and not credit["isDraft"] and credit["isPaid"]

    cancelled = client.get(f"/v1/SaleInvoices/{invoice['id']}").json()
    assert cancelled["isCancelled"] is True
    assert (cancelled["cancellationCreditId"], cancelled["cancellationCreditNumber"]) == (credit["id"], credit["number"])
    event = wait_until(lambda: receiver.events("/invoices"), what="the InvoiceUpdated delivery")[0]
    assert event["type"] == "InvoiceUpdated" and event["data"]["id"] == invoice["id"]
    assert event["data"]["isCancelled"] is True and event["data"]["cancellationCreditId"] == credit["id"]
    settle(app)


def test_product_events_carry_the_image_url_of_the_host_the_request_came_in_on(app, client, receiver):
    register(client, f"{receiver.url}/products", ["ProductUpdated"])
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (1, 2, 3)).save(buffer, format="PNG")
    png = buffer.getvalue()
    path = f"/_mock/files/{hashlib.sha256(png).hexdigest()}"
    uploaded = client.post("/v1/ProductImages/1", files={"file": ("p.png", png, "image/png")},
                           headers={"Host": "altoviz-mock:8000"})
    assert uploaded.status_code == 200, uploaded.text
    assert client.put("/v1/Products/1", json={**client.get("/v1/Products/1").json(), "name": "Renommé"},
                      headers={"Host": "localhost:9000"}).status_code == 200
    assert client.delete("/v1/ProductImages/1").status_code == 200

    events = wait_until(lambda: len(receiver.events("/products")) >= 3 and receiver.events("/products"),
                        what="three ProductUpdated events")
    assert [e["data"]["imageUrl"] for e in events] == [f"http://altoviz-mock:8000{path}",
                                                       f"http://localhost:9000{path}", None]
    assert events[0]["data"] == uploaded.json()


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(app, client, receiver):
    receiver.plan["/flaky"] = [500, 503]
    hook = register(client, f"{receiver.url}/flaky", ["ProductCreated"], secret="k")
    client.post("/v1/Products", json={"name": "Tapis", "unitPrice": 10, "vat": {"rate": 20}})
    wait_until(lambda: len(receiver.at("/flaky")) == 3, what="three attempts")
    settle(app)

    requests = receiver.at("/flaky")
    assert [r["status"] for r in requests] == [500, 503, 200]
    assert len({r["body"] for r in requests}) == 1  # the same event each time, signed the same
    assert {r["headers"]["X-Signature"] for r in requests} == {signature("k", requests[0]["body"])}
    log = client.get("/_mock/webhooks/deliveries", params={"webhookId": hook["id"]}).json()
    assert [(e["attempt"], e["statusCode"], e["result"]) for e in log] == [
        (1, 500, "retrying"), (2, 503, "retrying"), (3, 200, "delivered")]
    assert log[0]["error"] == "HTTP 500" and log[0]["nextAttemptAt"]
    assert len({e["deliveryId"] for e in log}) == 1


def test_a_receiver_failing_every_attempt_is_given_up_then_redelivered_on_demand(app, client, receiver):
    receiver.plan["/down"] = [500] * 3
    hook = register(client, f"{receiver.url}/down", ["CustomerCreated"])
    client.post("/v1/Customers", json={"companyName": "Toujours en panne"})
    wait_until(lambda: len(receiver.at("/down")) == 3, what="three attempts")
    settle(app)
    log = client.get("/_mock/webhooks/deliveries").json()
    assert [e["result"] for e in log] == ["retrying", "retrying", "failed"] and log[-1]["nextAttemptAt"] is None
    event_id = log[0]["eventId"]

    response = client.post(f"/_mock/webhooks/deliveries/{event_id}/redeliver")
    assert response.status_code == 202
    again = response.json()["deliveries"]
    assert [(d["eventId"], d["webhookId"], d["state"]) for d in again] == [(event_id, hook["id"], "pending")]
    wait_until(lambda: len(receiver.at("/down")) == 4, what="the redelivery")
    settle(app)
    assert json.loads(receiver.at("/down")[-1]["body"])["id"] == event_id
    last = client.get("/_mock/webhooks/deliveries", params={"deliveryId": again[0]["id"]}).json()
    assert [(e["attempt"], e["result"]) for e in last] == [(1, "delivered")]

    # By delivery id too; unknown ids are a 404.
    assert client.post(f"/_mock/webhooks/deliveries/{log[0]['deliveryId']}/redeliver").status_code == 202
    wait_until(lambda: len(receiver.at("/down")) == 5, what="the second redelivery")
    for unknown in ("999", "not-an-event"):
        assert client.post(f"/_mock/webhooks/deliveries/{unknown}/redeliver").status_code == 404


def test_deliveries_of_one_resource_arrive_in_the_order_of_its_changes(app, client, receiver):
    customer = client.post("/v1/Customers", json={"companyName": "Ordre SARL"}).json()
    receiver.plan["/order"] = [500]  # the first delivery needs a retry: the later ones wait for it
    register(client, f"{receiver.url}/order", ["CustomerUpdated"])
    for i in range(1, 11):
        assert client.put(f"/v1/Customers/{customer['id']}", json={"phone": str(i)}).status_code == 200
    wait_until(lambda: len(receiver.events("/order")) == 10, what="ten updates")
    phones = [json.loads(r["body"])["data"]["phone"] for r in receiver.at("/order")]
    assert phones == ["1"] + [str(i) for i in range(1, 11)]


def test_a_dead_or_hanging_receiver_does_not_hold_up_the_api(tmp_path):
    # A receiver that accepts and never answers holds its delivery until the 60 s timeout; every
    # write meanwhile must answer: they are all done while that attempt is still in flight.
    app = create_app(Config(data_dir=tmp_path, webhook_backoff=0.05, webhook_max_attempts=3, webhook_timeout=60.0))
    closed_port = free_port()  # nobody listens: connection refused
    hanging = socket.socket()  # accepts connections (backlog) and never answers
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(64)
    hanging_url = f"http://127.0.0.1:{hanging.getsockname()[1]}/hook"
    try:
        with app.test_client(headers={"X-API-KEY": KEY}) as client:
            register(client, f"http://127.0.0.1:{closed_port}/hook", ["CustomerCreated"])
            register(client, hanging_url, ["CustomerCreated"])
            for i in range(16):
                assert client.post("/v1/Customers", json={"companyName": f"Rapide {i}"}).status_code == 200
            wait_until(lambda: len(client.get("/_mock/webhooks/deliveries").json()) >= 3, what="refused attempts")
            attempts = client.get("/_mock/webhooks/deliveries", params={"pageSize": 1000}).json()
            assert {a["error"].split(":")[0] for a in attempts if a["url"] != hanging_url} == {"ConnectError"}
            assert not [a for a in attempts if a["url"] == hanging_url], "the hanging attempt cannot have ended yet"
            assert any(d["url"] == hanging_url for d in client.get("/_mock/webhooks/pending").json())
    finally:
        hanging.close()
        services(app).close()


def test_unregistering_stops_deliveries(app, client, receiver):
    gone = register(client, f"{receiver.url}/gone", ["CustomerCreated"])
    register(client, f"{receiver.url}/kept", ["CustomerCreated"])
    client.post("/v1/Customers", json={"companyName": "Avant"})
    wait_until(lambda: receiver.at("/gone") and receiver.at("/kept"), what="both deliveries")

    assert client.delete("/v1/Webhooks", params={"url": gone["url"]}).status_code == 200
    client.post("/v1/Customers", json={"companyName": "Après"})
    wait_until(lambda: len(receiver.at("/kept")) == 2, what="the second delivery to the kept webhook")
    settle(app)
    assert len(receiver.at("/gone")) == 1


def test_unregistering_cancels_the_deliveries_waiting_for_a_retry(tmp_path, receiver):
    app = create_app(Config(data_dir=tmp_path, webhook_backoff=30, webhook_timeout=1.0))
    try:
        with app.test_client(headers={"X-API-KEY": KEY}) as c:
            receiver.plan["/later"] = [500]
            hook = register(c, f"{receiver.url}/later", ["CustomerCreated"])
            c.post("/v1/Customers", json={"companyName": "Patience"})
            wait_until(lambda: c.get("/_mock/webhooks/deliveries").json(), what="the first attempt")
            assert [d["state"] for d in c.get("/_mock/webhooks/pending").json()] == ["pending"]
            c.delete("/v1/Webhooks", params={"id": hook["id"]})
            assert c.get("/_mock/webhooks/pending").json() == []
            assert len(receiver.at("/later")) == 1
    finally:
        services(app).close()


def test_tenants_never_see_each_others_events(tmp_path, receiver):
    app = create_app(Config(data_dir=tmp_path, api_keys=("team-b",), webhook_backoff=0.05, webhook_timeout=1.0))
    try:
        with app.test_client(headers={"X-API-KEY": KEY}) as a, app.test_client(headers={"X-API-KEY": "team-b"}) as b:
            hook_a = register(a, f"{receiver.url}/a")
            register(b, f"{receiver.url}/b")
            assert [w["url"] for w in b.get("/v1/Webhooks").json()] == [f"{receiver.url}/b"]
            a.post("/v1/Customers", json={"companyName": "Chez A", "email": "a@chez-a.fr"})
            b.post("/v1/Products", json={"name": "Chez B", "unitPrice": 1, "vat": {"rate": 20}})
            wait_until(lambda: len(receiver.at("/a")) == 2 and len(receiver.at("/b")) == 1, what="both tenants' events")
            settle(app)
            assert sorted(e["type"] for e in receiver.events("/a")) == ["ContactCreated", "CustomerCreated"]
            assert [e["type"] for e in receiver.events("/b")] == ["ProductCreated"]
            log_a = a.get("/_mock/webhooks/deliveries").json()
            log_b = b.get("/_mock/webhooks/deliveries").json()
            assert {e["url"] for e in log_a} == {hook_a["url"]} and len(log_b) == 1
            assert b.post(f"/_mock/webhooks/deliveries/{log_a[0]['eventId']}/redeliver").status_code == 404
            assert b.delete("/v1/Webhooks", params={"url": hook_a["url"]}).status_code == 404
    finally:
        services(app).close()


def test_a_failed_write_publishes_nothing(app, client, receiver):
    register(client, f"{receiver.url}/hook")
    invoice = client.post("/v1/SaleInvoices", json={"lines": [{"type": "Text", "description": "Note"}]}).json()
    assert client.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}").status_code == 400  # no customer
    assert client.post("/v1/SaleInvoices/MarkAsPaid", json={"invoiceId": invoice["id"]}).status_code == 400
    assert client.delete("/v1/Customers/999").status_code == 404
    wait_until(lambda: receiver.at("/hook"), what="the creation")
    settle(app)
    assert [e["type"] for e in receiver.events("/hook")] == ["InvoiceCreated"]


# --- sandbox controls -------------------------------------------------------------------------------

def test_trigger_sends_a_sample_event_of_any_type(app, client, receiver):
    register(client, f"{receiver.url}/t", ["CustomerDeleted", "InvoiceCreated"])
    response = client.post("/_mock/webhooks/trigger", json={"type": "CustomerDeleted"})
    assert response.status_code == 202
    body = response.json()
    assert body["type"] == "CustomerDeleted" and len(body["deliveries"]) == 1
    latest = client.get("/v1/Customers").json()[-1]
    event = wait_until(lambda: receiver.events("/t"), what="the sample")[0]
    assert event == {"id": body["eventId"], "type": "CustomerDeleted", "data": latest}
    assert client.get(f"/v1/Customers/{latest['id']}").status_code == 200  # nothing was deleted

    # No invoice yet: a made-up one (id 0), shaped like the others.
    client.post("/_mock/webhooks/trigger", json={"type": "InvoiceCreated"})
    sample = wait_until(lambda: receiver.events("/t")[1:], what="the invoice sample")[0]
    assert sample["type"] == "InvoiceCreated" and sample["data"]["id"] == 0 and sample["data"]["pdfUrl"]

    assert client.post("/_mock/webhooks/trigger", json={"type": "ProductCreated"}).json()["deliveries"] == []
    assert client.post("/_mock/webhooks/trigger", json={"type": "InvoicePaid"}).status_code == 400
    with app.test_client() as anonymous:
        assert anonymous.post("/_mock/webhooks/trigger", json={"type": "InvoiceCreated"}).status_code == 401
        assert anonymous.get("/_mock/webhooks/deliveries").status_code == 401


def test_the_inbox_receives_without_a_key_and_shows_each_tenant_its_own_deliveries(tmp_path):
    """POST is open (a receiver); reading or emptying needs a key and shows only the deliveries of
    events the caller's tenant recorded: another tenant's bodies and signatures stay hidden."""
    team_b = "team-b-secret-key"
    app = create_app(Config(data_dir=tmp_path, api_keys=(team_b,), webhook_workers=0))
    try:
        with app.test_client() as anonymous, app.test_client(headers={"X-API-KEY": DEFAULT_API_KEY}) as a, \
                app.test_client(headers={"X-API-KEY": team_b}) as b:
            recorded = a.post("/_mock/webhooks/trigger", json={"type": "CustomerCreated"})
            assert recorded.status_code == 202
            event_id = recorded.json()["eventId"]
            assert event_id is None  # no webhook registered: recorded for nobody
            hook = a.post("/v1/Webhooks", json={"name": "inbox", "url": "http://127.0.0.1:9/_mock/inbox/demo",
                                                "types": ["CustomerCreated"]})
            assert hook.status_code == 201, hook.text
            event_id = a.post("/_mock/webhooks/trigger", json={"type": "CustomerCreated"}).json()["eventId"]
            delivered = json.dumps({"id": event_id, "type": "CustomerCreated", "data": {}}).encode()
            assert anonymous.post("/_mock/inbox/demo", content=delivered,
                                  headers={"Content-Type": "text/plain", "X-Signature": "abc"}).status_code == 200
            assert anonymous.post("/_mock/inbox/demo?status=503", content=b"raw").status_code == 503
            # A form body is recorded as sent too (Connexion parses forms: the raw bytes are kept aside).
            assert anonymous.post("/_mock/inbox/demo", data={"a": "1"}).json()["received"] is True
            assert anonymous.get("/_mock/inbox/demo").status_code == 401
            assert anonymous.delete("/_mock/inbox/demo").status_code == 401
            [mine] = a.get("/_mock/inbox/demo").json()
            assert mine["json"]["id"] == event_id and mine["headers"]["X-Signature"] == "abc"
            assert mine["contentType"] == "text/plain" and mine["body"] == delivered.decode()
            assert b.get("/_mock/inbox/demo").json() == []  # tenant B sees nothing of A's
            assert b.delete("/_mock/inbox/demo").json() == {"deleted": 0}
            assert a.get("/_mock/inbox/other").json() == []
            assert a.delete("/_mock/inbox/demo").json() == {"deleted": 1}
            assert a.get("/_mock/inbox/demo").json() == []
            assert a.get("/_mock/inbox/bad%20name").status_code == 400
    finally:
        services(app).close()


def test_the_delivery_log_is_bounded_per_tenant_and_paginated(tmp_path):
    """A dead receiver, 12 failed deliveries, a log that keeps 5: the oldest attempts and finished
    deliveries are pruned as new ones are written; the log answers a page at a time."""
    config = Config(data_dir=tmp_path, webhook_log_keep=5, webhook_max_attempts=1, webhook_backoff=0)
    app = create_app(config)
    try:
        with app.test_client(headers={"X-API-KEY": DEFAULT_API_KEY}) as client:
            register(client, "http://127.0.0.1:9/dead", ["CustomerCreated"])
            for n in range(12):
                assert client.post("/v1/Customers", json={"companyName": f"Retenue {n} SARL"}).status_code == 200
            wait_until(lambda: client.get("/_mock/webhooks/pending").json() == [], what="every delivery done")
            page = client.get("/_mock/webhooks/deliveries", params={"pageSize": 1000})
            assert page.headers["X-Total-Count"] == "5"
            kept = page.json()
            assert len(kept) == 5 and all(a["result"] == "failed" for a in kept)
            assert [a["id"] for a in kept] == sorted(a["id"] for a in kept)  # the latest five, oldest first
            repo = services(app).tenants.open(DEFAULT_API_KEY)
            assert repo.count("WebhookDeliveries") == 5
            pages = [client.get("/_mock/webhooks/deliveries", params={"page": n, "pageSize": 2}) for n in (1, 2, 3, 4)]
            assert [len(p.json()) for p in pages] == [2, 2, 1, 0]
            assert [a for p in pages for a in p.json()] == kept
            assert {p.headers["X-Total-Count"] for p in pages} == {"5"}
            for bad in ({"pageSize": 0}, {"pageSize": 1001}, {"page": "x"}):
                assert client.get("/_mock/webhooks/deliveries", params=bad).status_code == 400
    finally:
        services(app).close()


# --- configuration, store and domain ----------------------------------------------------------------

def test_the_retry_schedule_comes_from_the_environment():
    config = Config.from_env({"ALTOVIZ_MOCK_WEBHOOK_MAX_ATTEMPTS": "9", "ALTOVIZ_MOCK_WEBHOOK_BACKOFF": "0.5",
                              "ALTOVIZ_MOCK_WEBHOOK_BACKOFF_FACTOR": "3", "ALTOVIZ_MOCK_WEBHOOK_BACKOFF_MAX": "10",
                              "ALTOVIZ_MOCK_WEBHOOK_TIMEOUT": "2.5", "ALTOVIZ_MOCK_WEBHOOK_WORKERS": "0"})
    assert (config.webhook_max_attempts, config.webhook_backoff, config.webhook_backoff_factor,
            config.webhook_backoff_max, config.webhook_timeout, config.webhook_workers) == (9, 0.5, 3, 10, 2.5, 0)
    default = Config()
    assert default.webhook_backoff <= 2 and default.webhook_max_attempts > 1
    for bad in ({"ALTOVIZ_MOCK_WEBHOOK_MAX_ATTEMPTS": "0"}, {"ALTOVIZ_MOCK_WEBHOOK_TIMEOUT": "soon"},
                {"ALTOVIZ_MOCK_WEBHOOK_BACKOFF_FACTOR": "0.5"}):
        with pytest.raises(ValueError, match="ALTOVIZ_MOCK_WEBHOOK|webhook"):
            Config.from_env(bad)


def test_the_domain_emits_events_it_never_delivers(tmp_path):
    ctx = Context(Store(None).tenant("t"), reference_data())
    customer = Customers(ctx).create({"companyName": "Émetteur", "email": "e@emetteur.fr"})
    Customers(ctx).update(customer["id"], {**customer, "companyName": "Émetteur SA"})
    Customers(ctx).delete(customer["id"])
    assert [(e.type, e.kind) for e in ctx.events] == [
        ("CustomerCreated", "Customers"), ("ContactCreated", "Contacts"), ("CustomerUpdated", "Customers"),
        ("ContactUpdated", "Contacts"), ("ContactDeleted", "Contacts"), ("CustomerDeleted", "Customers")]
    assert ctx.events[-1].data["companyName"] == "Émetteur SA"  # a deletion carries what was deleted


# --- real server processes --------------------------------------------------------------------------

def cli() -> list[str]:
    script = Path(sys.executable).with_name("altoviz-mock")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mock_server.cli"]


def http(server, key: str | None = KEY) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"X-API-KEY": key} if key else {}, timeout=10, trust_env=False)


@pytest.mark.slow
def test_walkthrough_with_the_builtin_inbox_and_the_trigger_command(server_factory):
    server = server_factory()
    with http(server) as c:
        hook = c.post("/v1/Webhooks", json={"name": "inbox", "url": f"{server.url}/_mock/inbox/demo",
                                            "types": ["InvoiceCreated", "InvoiceUpdated", "CustomerCreated"],
                                            "secretKey": "whsec_demo"})
        assert hook.status_code == 201
        invoice = c.post("/v1/SaleInvoices", json={"customerId": 2, "lines": [
            {"type": "Service", "description": "Conseil", "quantity": 1, "taxExcludedPrice": 100, "vat": {"rate": 20}}]})
        c.post(f"/v1/SaleInvoices/Finalize/{invoice.json()['id']}")
        done = subprocess.run([*cli(), "trigger", "CustomerCreated", "--url", server.url], capture_output=True,
                              text=True, timeout=30, env=server_env())
        assert done.returncode == 0, done.stderr
        assert "CustomerCreated event" in done.stdout and "/_mock/inbox/demo" in done.stdout

        def three_messages():
            messages = c.get("/_mock/inbox/demo").json()
            return messages if len(messages) >= 3 else None

        messages = wait_until(three_messages, what="three messages in the inbox")
        events = [m["json"] for m in messages]
        invoice_events = [e for e in events if e["type"].startswith("Invoice")]
        assert [e["type"] for e in invoice_events] == ["InvoiceCreated", "InvoiceUpdated"]
        assert invoice_events[0]["data"]["isDraft"] and invoice_events[1]["data"]["number"].startswith("FA")
        sample = next(e for e in events if e["type"] == "CustomerCreated")
        assert sample["data"]["id"] == 30  # the latest seeded customer
        for message in messages:
            assert message["contentType"] == "text/plain"
            assert message["headers"]["X-Signature"] == signature("whsec_demo", message["body"].encode("utf-8"))

    bad = subprocess.run([*cli(), "trigger", "CustomerCreated", "--url", server.url, "--api-key", "nope"],
                         capture_output=True, text=True, timeout=30, env=server_env())
    assert bad.returncode == 1 and "401" in bad.stderr
    unknown = subprocess.run([*cli(), "trigger", "InvoicePaid"], capture_output=True, text=True, timeout=30,
                             env=server_env())
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr


@pytest.mark.slow
def test_pending_deliveries_survive_a_crash_and_a_restart(server_factory, tmp_path):
    port = free_port()  # the receiver is down until the last server runs
    env = {"ALTOVIZ_MOCK_WEBHOOK_BACKOFF": "0.2", "ALTOVIZ_MOCK_WEBHOOK_BACKOFF_FACTOR": "1",
           "ALTOVIZ_MOCK_WEBHOOK_MAX_ATTEMPTS": "1000", "ALTOVIZ_MOCK_WEBHOOK_TIMEOUT": "1"}
    data = tmp_path / "restart-data"
    keys = (KEY, "ci-job-7")  # a configured tenant, and an open one (found on disk after a restart)

    def failed_attempts(server, key):
        with http(server, key) as c:
            return [e for e in c.get("/_mock/webhooks/deliveries").json() if e["error"]]

    first = server_factory("--open-tenants", data_dir=data, env=env)
    events = {}
    for key in keys:
        with http(first, key) as c:
            assert c.post("/v1/Webhooks", json={"name": "later", "url": f"http://127.0.0.1:{port}/{key}",
                                                "types": ["CustomerCreated"]}).status_code == 201
            assert c.post("/v1/Customers", json={"companyName": f"Client de {key}"}).status_code == 200
        events[key] = wait_until(lambda: failed_attempts(first, key), what="a failed attempt")[0]["eventId"]
    first.kill()  # kill -9: the pending deliveries are in the journal with the customers
    killed_at = dt.datetime.now(dt.timezone.utc)

    def retried_since_the_kill(server, key):
        attempts = failed_attempts(server, key)
        assert {e["eventId"] for e in attempts} == {events[key]}
        return [e for e in attempts if dt.datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")) > killed_at]

    second = server_factory("--open-tenants", data_dir=data, env=env)
    for key in keys:  # resumed (and still failing): the open tenant too, without any request of its own
        wait_until(lambda: retried_since_the_kill(second, key), what="retries after the restart")
    second.stop()  # graceful, with deliveries waiting for their next retry

    receiver = Receiver(port)
    try:
        server_factory("--open-tenants", data_dir=data, env=env)
        wait_until(lambda: all(receiver.events(f"/{key}") for key in keys), what="the deliveries after the restart")
        for key in keys:
            assert [e["id"] for e in receiver.events(f"/{key}")] == [events[key]]
    finally:
        receiver.close()
