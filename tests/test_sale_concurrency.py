"""Sale documents under concurrent requests against a real server: gapless numbers, no lost payment."""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from conftest import ServerProcess

CUSTOMER = 2  # a French business of the seeded data
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
WAIT = 60  # seconds: the most any batch of concurrent requests may take
DRAFT = {
    "customerId": CUSTOMER,
    "subject": "Maintenance",
    "lines": [{"type": "Service", "description": "Forfait", "quantity": 1, "taxExcludedPrice": 120, "vat": {"rate": 20}}],
}
# 1 000,00 TTC exactly: a tax-included price.
THOUSAND = {
    "customerId": CUSTOMER,
    "useTaxIncludedPrices": True,
    "lines": [{"type": "Service", "description": "Audit", "quantity": 1, "taxIncludedPrice": 1000, "vat": {"rate": 20}}],
}


# One server for the module (starting one costs seconds); each test is a tenant of its own, seeded.
KEYS = [f"concurrency-test-{n}" for n in range(10)]
_unused_keys = iter(KEYS)


@dataclass
class Tenant:
    url: str
    key: str


@pytest.fixture(scope="module")
def _server(tmp_path_factory):
    args = [arg for key in KEYS for arg in ("--api-key", key)]
    server = ServerProcess(tmp_path_factory.mktemp("concurrency"), *args)
    try:
        yield server.start()
    finally:
        server.stop()
        server.close()


@pytest.fixture
def server(_server):
    """The module's server, seen with a key of the calling test's own (its own data and numbering)."""
    return Tenant(_server.url, next(_unused_keys))


def http(server: Tenant) -> httpx.Client:
    # trust_env=False: loopback only, never through a proxy of the environment.
    return httpx.Client(base_url=server.url, headers={"X-API-KEY": server.key}, timeout=TIMEOUT, trust_env=False)


def concurrently(server, requests: list[tuple[str, str, dict | None]], *, seed: int) -> list[httpx.Response]:
    """Send `requests` (method, path, json) from one thread each, released together; answers in order."""
    order = list(range(len(requests)))
    random.Random(seed).shuffle(order)  # which thread gets which request: varied, reproducible
    barrier = threading.Barrier(len(requests))
    answers: list[httpx.Response | None] = [None] * len(requests)

    def send(index: int) -> None:
        method, path, body = requests[index]
        with http(server) as client:
            client.get("/_mock/health")  # connect before the barrier: the requests then really race
            barrier.wait(timeout=WAIT)
            answers[index] = client.request(method, path, json=body)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        futures = [pool.submit(send, index) for index in order]
        for future in futures:
            future.result(timeout=WAIT)
    return answers


def freeze(client: httpx.Client, instant: str) -> None:
    response = client.put("/_mock/clock", json={"now": instant, "frozen": True})
    assert response.status_code == 200, response.text


def create(client: httpx.Client, path: str, body: dict) -> dict:
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_fifty_concurrent_finalizes_get_fifty_gapless_numbers(server):
    with http(server) as client:
        # The year comes from the sandbox clock in Paris: 31 Dec 23:30 UTC is already 2027 there.
        freeze(client, "2026-12-31T23:30:00Z")
        drafts = [create(client, "/v1/SaleInvoices", DRAFT)["id"] for _ in range(50)]

    answers = concurrently(server, [("POST", f"/v1/SaleInvoices/Finalize/{i}", None) for i in drafts], seed=1)

    assert [a.status_code for a in answers] == [200] * 50, [a.text for a in answers if a.status_code != 200]
    numbers = [a.json()["number"] for a in answers]
    assert sorted(numbers) == [f"FA2027-{n:05d}" for n in range(1, 51)]
    assert {a.json()["date"] for a in answers} == {"2027-01-01"}
    with http(server) as client:
        stored = client.get("/v1/SaleInvoices", params={"PageSize": 1000}).json()
    assert sorted(i["number"] for i in stored) == sorted(numbers)
    assert not any(i["isDraft"] for i in stored)


def test_concurrent_finalizes_of_one_draft_number_it_once(server):
    with http(server) as client:
        freeze(client, "2026-03-10T10:00:00Z")
        draft, other = (create(client, "/v1/SaleInvoices", DRAFT)["id"] for _ in range(2))

    answers = concurrently(server, [("POST", f"/v1/SaleInvoices/Finalize/{draft}", None)] * 10, seed=2)

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {200: 1, 400: 9}, [a.text for a in answers]
    (winner,) = [a.json() for a in answers if a.status_code == 200]
    assert winner["number"] == "FA2026-00001"
    assert all("déjà finalisée" in a.json()["message"] for a in answers if a.status_code == 400)
    with http(server) as client:
        assert client.get(f"/v1/SaleInvoices/{draft}").json()["number"] == "FA2026-00001"
        # The sequence moved by exactly one.
        assert client.post(f"/v1/SaleInvoices/Finalize/{other}").json()["number"] == "FA2026-00002"


def finalized_thousand(server) -> int:
    with http(server) as client:
        freeze(client, "2026-03-10T10:00:00Z")
        invoice = create(client, "/v1/SaleInvoices", THOUSAND)
        assert invoice["taxIncludedAmount"] == 1000
        response = client.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}")
        assert response.status_code == 200, response.text
        return invoice["id"]


def pay(invoice_id: int, amount: float) -> tuple[str, str, dict]:
    return "POST", "/v1/SaleInvoices/MarkAsPaid", {"invoiceId": invoice_id, "amount": amount, "paymentMethod": "Transfer"}


def test_concurrent_payments_are_all_counted(server):
    invoice_id = finalized_thousand(server)

    answers = concurrently(server, [pay(invoice_id, 50.00)] * 20, seed=3)

    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers if a.status_code != 200]
    # Each payment saw the ones before it: the balances they answered are 950, 900 ... 0, once each.
    assert sorted(a.json()["balance"] for a in answers) == [float(50 * n) for n in range(20)]
    with http(server) as client:
        invoice = client.get(f"/v1/SaleInvoices/{invoice_id}").json()
    assert invoice["balance"] == 0 and invoice["isPaid"] is True
    assert [c["dueAmount"] for c in invoice["commitments"]] == [0]


def test_concurrent_payments_never_overpay(server):
    invoice_id = finalized_thousand(server)

    answers = concurrently(server, [pay(invoice_id, 50.00)] * 30, seed=4)

    statuses = Counter(a.status_code for a in answers)
    assert statuses == {200: 20, 400: 10}, [a.text for a in answers if a.status_code not in (200, 400)]
    # Once the balance is 0 the invoice is paid: a further payment is refused as such (it would overpay).
    for refused in (a for a in answers if a.status_code == 400):
        assert re.search(r"Trop-perçu|déjà payée", refused.json()["message"]), refused.text
    with http(server) as client:
        invoice = client.get(f"/v1/SaleInvoices/{invoice_id}").json()
        assert invoice["balance"] == 0 and invoice["isPaid"] is True

    # Payments that do not divide the total: 22 × 45.00 = 990.00 fit, the 8 others would overpay the 10.00 left.
    other = finalized_thousand(server)
    answers = concurrently(server, [pay(other, 45.00)] * 30, seed=5)
    assert Counter(a.status_code for a in answers) == {200: 22, 400: 8}
    assert all("Trop-perçu" in a.json()["message"] for a in answers if a.status_code == 400)
    with http(server) as client:
        invoice = client.get(f"/v1/SaleInvoices/{other}").json()
    assert invoice["balance"] == 10 and invoice["isPaid"] is False


def test_credits_and_quotes_keep_their_own_sequences(server):
    with http(server) as client:
        freeze(client, "2026-03-10T10:00:00Z")
        invoices = [create(client, "/v1/SaleInvoices", DRAFT)["id"] for _ in range(10)]

    # Credits (drafts, numbered when finalized) and quotes (numbered when created), created together.
    created = concurrently(server, [("POST", "/v1/SaleCredits", DRAFT)] * 10
                           + [("POST", "/v1/SaleQuotes", DRAFT)] * 10, seed=6)
    assert [a.status_code for a in created] == [200] * 20, [a.text for a in created if a.status_code != 200]
    credits = [a.json() for a in created[:10]]
    assert all(c["isDraft"] and c["number"] is None for c in credits)
    assert len({c["id"] for c in credits}) == 10
    assert sorted(a.json()["number"] for a in created[10:]) == [f"DE2026-{n:05d}" for n in range(1, 11)]

    # Then invoices and credits finalized while more quotes are created, all at once.
    mixed = concurrently(server, [("POST", f"/v1/SaleInvoices/Finalize/{i}", None) for i in invoices]
                         + [("POST", f"/v1/SaleCredits/Finalize/{c['id']}", None) for c in credits]
                         + [("POST", "/v1/SaleQuotes", DRAFT)] * 10, seed=7)
    assert [a.status_code for a in mixed] == [200] * 30, [a.text for a in mixed if a.status_code != 200]
    numbers = [a.json()["number"] for a in mixed]
    assert sorted(numbers[:10]) == [f"FA2026-{n:05d}" for n in range(1, 11)]
    assert sorted(numbers[10:20]) == [f"AV2026-{n:05d}" for n in range(1, 11)]
    assert sorted(numbers[20:]) == [f"DE2026-{n:05d}" for n in range(11, 21)]


def test_concurrent_credits_cancel_an_invoice_once(server):
    with http(server) as client:
        freeze(client, "2026-03-10T10:00:00Z")
        invoice = create(client, "/v1/SaleInvoices", DRAFT)["id"]
        assert client.post(f"/v1/SaleInvoices/Finalize/{invoice}").status_code == 200
        credits = [create(client, "/v1/SaleCredits", {"cancelledInvoicetId": invoice})["id"] for _ in range(5)]

    answers = concurrently(server, [("POST", f"/v1/SaleCredits/Finalize/{c}", None) for c in credits], seed=8)

    assert Counter(a.status_code for a in answers) == {200: 1, 400: 4}, [a.text for a in answers]
    (winner,) = [a.json() for a in answers if a.status_code == 200]
    assert winner["number"] == "AV2026-00001"
    assert all("déjà annulée" in a.json()["message"] for a in answers if a.status_code == 400)
    with http(server) as client:
        cancelled = client.get(f"/v1/SaleInvoices/{invoice}").json()
        assert cancelled["isCancelled"] is True
        assert (cancelled["cancellationCreditId"], cancelled["cancellationCreditNumber"]) == (winner["id"], "AV2026-00001")
        # The refused credits stay drafts, and their numbers were not used up.
        assert all(client.get(f"/v1/SaleCredits/{c}").json()["isDraft"] for c in credits if c != winner["id"])
        assert create(client, "/v1/SaleCredits", DRAFT)["number"] is None
        other = create(client, "/v1/SaleCredits", DRAFT)["id"]
        assert client.post(f"/v1/SaleCredits/Finalize/{other}").json()["number"] == "AV2026-00002"
