"""Reliability: concurrent writers, hostile input, authentication and tenant isolation.

What tests/test_server_process.py (50 clients creating and updating customers, adding contacts)
and tests/test_sale_concurrency.py (racing finalizes, payments, credits of sale documents) already
cover is not repeated: here, 50 writers mixing every numbered kind on one tenant, and writers of
several tenants at once; bad input of every sort, each answered with a documented 4xx that leaves
the store untouched; 401 on every operation of the contract; and no operation of one tenant that
reads or changes another's data. Webhook receivers that hang are tests/test_webhooks.py's.
"""

from __future__ import annotations

import io
import json
import re
import struct
import threading
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import yaml
from connexion.json_schema import Draft4ResponseValidator

from mock_server.app import create_app, load_contract
from mock_server.asgi import MAX_JSON_BODY
from mock_server.config import DEFAULT_API_KEY, Config

from conftest import services

KEY = DEFAULT_API_KEY
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
WAIT = 90  # seconds: the most a batch of concurrent writers may take
SPEC = load_contract()
METHODS = ("get", "post", "put", "patch", "delete")
INVOICE = {"customerId": 2, "subject": "Maintenance",
           "lines": [{"type": "Service", "description": "Forfait", "quantity": 2, "taxExcludedPrice": 120,
                      "vat": {"rate": 20}}]}


# --- helpers ----------------------------------------------------------------------------------------

def operations() -> list[tuple[str, str, str, dict]]:
    """(METHOD, path template, operationId, operation) of every operation of the contract."""
    return [(method.upper(), path, op["operationId"], op)
            for path, item in SPEC["paths"].items() for method, op in item.items() if method in METHODS]


def request_body(op: dict) -> dict | None:
    body = op.get("requestBody")
    if body and "$ref" in body:
        body = SPEC["components"]["requestBodies"][body["$ref"].rsplit("/", 1)[-1]]
    return body


def is_multipart(op: dict) -> bool:
    return "multipart/form-data" in (request_body(op) or {}).get("content", {})


def template_of(method: str, path: str) -> tuple[str, dict]:
    """The contract's (path template, operation) a concrete request addresses (fewest parameters wins)."""
    candidates = []
    for template, item in SPEC["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in item:
            candidates.append((template.count("{"), template, item[method.lower()]))
    assert candidates, f"{method} {path} is not in the contract"
    _, template, op = min(candidates, key=lambda c: c[0])
    return template, op


def documented_schema(op: dict, status: int) -> dict | None:
    """The JSON schema the contract documents for `status` of `op` (None: documented without a body)."""
    responses = op["responses"]
    assert str(status) in responses, f"{op['operationId']} answers {status}, which the contract does not document"
    response = responses[str(status)]
    if "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return response.get("content", {}).get("application/json", {}).get("schema")


def assert_documented(response: httpx.Response, method: str, path: str) -> None:
    """The answer's status is documented for the operation, and its JSON body has the documented shape."""
    _, op = template_of(method, path.split("?")[0])
    schema = documented_schema(op, response.status_code)
    if schema is None:
        return
    assert response.headers["content-type"].startswith("application/json"), response.headers
    # Connexion's response validator: it reads OpenAPI's `nullable` as the sandbox's checks do.
    validator = Draft4ResponseValidator({**schema, "components": SPEC["components"]})
    errors = [e.message for e in validator.iter_errors(response.json())]
    assert not errors, (op["operationId"], response.status_code, errors, response.text)
    assert "Traceback" not in response.text


def tenant_state(app, key: str = KEY) -> str:
    """Everything a tenant holds, as comparable text."""
    return json.dumps(services(app).tenants.open(key).dump(), sort_keys=True)


def png() -> bytes:
    """A valid 1×1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# --- 1. concurrent writers --------------------------------------------------------------------------

def http(url: str, key: str = KEY) -> httpx.Client:
    # trust_env=False: loopback only, never through a proxy of the environment.
    return httpx.Client(base_url=url, headers={"X-API-KEY": key}, timeout=TIMEOUT, trust_env=False)


def race(url: str, jobs: list, key_of=lambda i: KEY) -> list:
    """Run jobs[i](client) from one thread each, all released at once; their results, in order."""
    barrier = threading.Barrier(len(jobs))

    def run(index: int):
        with http(url, key_of(index)) as client:
            client.get("/_mock/health")  # connected before the barrier: the writes really race
            barrier.wait(timeout=WAIT)
            return jobs[index](client)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(run, i) for i in range(len(jobs))]
        return [future.result(timeout=WAIT) for future in futures]


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, (response.request.method, response.request.url.path, response.text)
    return response.json()


def all_of(client: httpx.Client, path: str) -> list[dict]:
    documents = []
    for page in range(1, 100):
        batch = ok(client.get(path, params={"PageSize": 1000, "PageIndex": page}))
        documents += batch
        if len(batch) < 1000:
            return documents
    raise AssertionError("more pages than expected")


def gapless(numbers: list[str], prefix: str) -> None:
    """The numbers are `prefix` + 1..N, each once."""
    assert len(numbers) == len(set(numbers)), Counter(numbers).most_common(3)
    values = sorted(int(re.fullmatch(rf"{re.escape(prefix)}(\d+)", n).group(1)) for n in numbers)
    assert values == list(range(1, len(values) + 1)), values[:10]


def mixed_writer(i: int, customers: dict[int, dict]):
    """One writer's mix: a supplier, a product, an invoice finalized, a quote, a credit finalized,
    and a PUT of a shared customer (as `customers` holds it) with a field of its own changed."""

    def job(c: httpx.Client) -> dict:
        done = {"supplier": ok(c.post("/v1/Suppliers", json={"name": f"Fournisseur {i:02d} SARL",
                                                              "internalId": f"SUP-{i:02d}"})),
                "product": ok(c.post("/v1/Products", json={"name": f"Produit {i:02d}", "number": f"P-{i:02d}",
                                                           "unitPrice": 10 + i, "vat": {"rate": 20}}))}
        draft = ok(c.post("/v1/SaleInvoices", json={**INVOICE, "internalId": f"INV-{i:02d}"}))
        done["invoice"] = ok(c.post(f"/v1/SaleInvoices/Finalize/{draft['id']}"))
        done["quote"] = ok(c.post("/v1/SaleQuotes", json={"customerId": 2, "internalId": f"QUO-{i:02d}",
                                                         "lines": INVOICE["lines"]}))
        credit = ok(c.post("/v1/SaleCredits", json={"customerId": 2, "internalId": f"CRE-{i:02d}",
                                                    "lines": INVOICE["lines"]}))
        done["credit"] = ok(c.post(f"/v1/SaleCredits/Finalize/{credit['id']}"))
        target, field = 1 + i % 10, ("phone", "cellPhone", "email", "internalNotes", "lastName")[i // 10]
        value = f"value-{i:02d}" if field != "email" else f"w{i:02d}@exemple.fr"
        answered = ok(c.put(f"/v1/Customers/{target}", json={**customers[target], field: value}))
        assert answered[field] == value
        done["customer_update"] = (target, answered)
        return done

    return job


@pytest.mark.slow
def test_fifty_writers_mixing_every_numbered_kind_lose_nothing_and_number_gaplessly(server_factory):
    server = server_factory()
    with http(server.url) as c:
        before = {kind: len(all_of(c, f"/v1/{kind}")) for kind in ("Suppliers", "Products")}
        assert ok(c.get("/v1/SaleInvoices")) == [] and ok(c.get("/v1/SaleQuotes")) == []
        customers = {n: ok(c.get(f"/v1/Customers/{n}")) for n in range(1, 11)}

    results = race(server.url, [mixed_writer(i, customers) for i in range(50)])

    with http(server.url) as c:
        for kind, path, number_prefix in (("supplier", "/v1/Suppliers", "F"), ("product", "/v1/Products", None),
                                          ("invoice", "/v1/SaleInvoices", "FA"), ("quote", "/v1/SaleQuotes", "DE"),
                                          ("credit", "/v1/SaleCredits", "AV")):
            acknowledged = [r[kind] for r in results]
            stored = {doc["id"]: doc for doc in all_of(c, path)}
            ids = [doc["id"] for doc in acknowledged]
            assert len(set(ids)) == 50, f"{kind}: duplicate ids {Counter(ids).most_common(3)}"
            for doc in acknowledged:  # every acknowledged write is stored as answered
                assert doc["id"] in stored, (kind, doc["id"])
                assert stored[doc["id"]]["number"] == doc["number"], (kind, doc["id"])
            if number_prefix == "F":
                assert len(stored) == before["Suppliers"] + 50
                gapless([d["number"] for d in stored.values()], "F")
            elif number_prefix:
                year = acknowledged[0]["number"][len(number_prefix):len(number_prefix) + 4]
                gapless([d["number"] for d in stored.values()], f"{number_prefix}{year}-")
            else:
                assert len(stored) == before["Products"] + 50
        # 50 PUTs, five on each of ten customers, each changing one field of the same body: each
        # customer is exactly one of its five (PUT replaces: the last writer wins whole, never a mix).
        answers: dict[int, list[dict]] = {}
        for r in results:
            target, answered = r["customer_update"]
            answers.setdefault(target, []).append(answered)
        for target, answered in answers.items():
            customer = ok(c.get(f"/v1/Customers/{target}"))
            assert len(answered) == 5 and answered.count(customer) == 1, (target, customer)


@pytest.mark.slow
def test_writers_of_ten_tenants_at_once_keep_their_own_ids_and_numbers(server_factory):
    server = server_factory("--open-tenants")
    keys = [f"reliability-tenant-{n}" for n in range(10)]

    def job(i: int):
        def run(c: httpx.Client) -> list[dict]:
            customer = ok(c.post("/v1/Customers", json={"companyName": f"Client {i:02d}", "internalId": f"W{i:02d}"}))
            out = [customer]
            for _ in range(2):
                draft = ok(c.post("/v1/SaleInvoices", json={**INVOICE, "customerId": customer["id"]}))
                out.append(ok(c.post(f"/v1/SaleInvoices/Finalize/{draft['id']}")))
            return out
        return run

    results = race(server.url, [job(i) for i in range(50)], key_of=lambda i: keys[i % 10])
    for n, key in enumerate(keys):
        with http(server.url, key) as c:
            customers = all_of(c, "/v1/Customers")
            invoices = all_of(c, "/v1/SaleInvoices")
        mine = [r for i, r in enumerate(results) if i % 10 == n]
        # Each tenant saw exactly its own five writers' documents, numbered from 1 of its own.
        assert sorted(x["internalId"] for x in customers) == sorted(r[0]["internalId"] for r in mine)
        assert sorted(x["id"] for x in customers) == [1, 2, 3, 4, 5]
        gapless([x["number"] for x in customers], "C")
        assert sorted(x["id"] for x in invoices) == list(range(1, 11))
        year = invoices[0]["number"][2:6]
        gapless([x["number"] for x in invoices], f"FA{year}-")
        assert {x["customerId"] for x in invoices} == {x["id"] for x in customers}


# --- 2. bad input: a documented 4xx, nothing stored ---------------------------------------------------

JSON = {"Content-Type": "application/json"}


def deep_array(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def deep_object(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def nested_note(depth: int) -> bytes:
    """A customer whose free-form-looking field nests `depth` levels."""
    return b'{"companyName": "X", "internalNotes": ' + deep_array(depth) + b"}"


def line(**overrides) -> dict:
    return {**INVOICE["lines"][0], **overrides}


BAD_INPUT = [
    # (label, method, path, raw body or JSON value, headers, expected status)
    ("malformed JSON", "POST", "/v1/Customers", b'{"companyName": ', JSON, 400),
    ("malformed JSON on update", "PUT", "/v1/Customers/1", b'{"phone": "01"', JSON, 400),
    ("trailing garbage", "POST", "/v1/SaleInvoices", b'{"customerId": 2} x', JSON, 400),
    ("text/plain body", "POST", "/v1/Customers", b'{"companyName": "X"}', {"Content-Type": "text/plain"}, 415),
    ("XML body", "PUT", "/v1/Products/1", b"<product/>", {"Content-Type": "application/xml"}, 415),
    ("form body", "POST", "/v1/SaleInvoices", b"customerId=2", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ("JSON to an upload", "POST", "/v1/ProductImages/1", b"{}", JSON, 415),
    ("body over the limit", "POST", "/v1/Customers",
     json.dumps({"companyName": "X", "internalNotes": "x" * (MAX_JSON_BODY + 10)}).encode(), JSON, 413),
    ("body over the limit on update", "PUT", "/v1/SaleInvoices/1",
     json.dumps({"notes": "é" * MAX_JSON_BODY}).encode(), JSON, 413),
    ("array nested 100,000 deep", "POST", "/v1/Customers", deep_array(100_000), JSON, 400),
    ("object nested 50,000 deep", "PUT", "/v1/Customers/1", deep_object(50_000), JSON, 400),
    ("field nested 65 deep", "POST", "/v1/Customers", nested_note(65), JSON, 400),
    ("invalid UTF-8", "POST", "/v1/Customers", b'{"companyName": "Caf\xe9 \xff"}', JSON, 400),
    ("UTF-16 body", "POST", "/v1/Customers", '{"companyName": "X"}'.encode("utf-16"), JSON, 400),
    ("path id beyond int32", "GET", "/v1/Customers/2147483648", None, {}, 400),
    ("path id beyond int64", "PUT", "/v1/Customers/99999999999999999999", {"phone": "01"}, {}, 400),
    ("finalize id beyond int32", "POST", "/v1/SaleInvoices/Finalize/2147483648", None, {}, 400),
    ("delete id beyond int32", "DELETE", "/v1/Products/-2147483649", None, {}, 400),
    ("body id beyond int32", "POST", "/v1/SaleInvoices", {**INVOICE, "customerId": 2**31}, {}, 400),
    ("body id beyond int64", "POST", "/v1/SaleInvoices/MarkAsPaid", {"invoiceId": 2**64}, {}, 400),
    ("product id beyond int32 in a line", "POST", "/v1/SaleInvoices",
     {**INVOICE, "lines": [line(productId=2**31)]}, {}, 400),
    ("negative price", "POST", "/v1/SaleInvoices", {**INVOICE, "lines": [line(taxExcludedPrice=-10)]}, {}, 400),
    ("negative product price", "POST", "/v1/Products", {"name": "Stylo", "unitPrice": -1, "vat": {"rate": 20}}, {}, 400),
    ("absurd quantity", "POST", "/v1/SaleInvoices", {**INVOICE, "lines": [line(quantity=1e308)]}, {}, 400),
    ("absurd negative quantity", "POST", "/v1/SaleInvoices", {**INVOICE, "lines": [line(quantity=-1e308)]}, {}, 400),
    ("absurd price", "PUT", "/v1/SaleInvoices/1", {"lines": [line(taxExcludedPrice=1e308)]}, {}, 400),
    ("absurd product price", "POST", "/v1/Products", {"name": "Or", "unitPrice": 1e308, "vat": {"rate": 20}}, {}, 400),
    ("overflowing literal", "POST", "/v1/SaleInvoices",
     b'{"customerId": 2, "lines": [{"quantity": 1e400, "taxExcludedPrice": 1, "vat": {"rate": 20}}]}', JSON, 400),
    ("NaN quantity", "POST", "/v1/SaleInvoices",
     b'{"customerId": 2, "lines": [{"quantity": NaN, "taxExcludedPrice": 1, "vat": {"rate": 20}}]}', JSON, 400),
    ("Infinity price", "POST", "/v1/SaleInvoices",
     b'{"customerId": 2, "lines": [{"quantity": 1, "taxExcludedPrice": Infinity, "vat": {"rate": 20}}]}', JSON, 400),
    ("-Infinity discount", "PUT", "/v1/SaleInvoices/1",
     b'{"lines": [{"quantity": 1, "taxExcludedPrice": 1, "discount": -Infinity, "vat": {"rate": 20}}]}', JSON, 400),
    ("NaN product price", "PUT", "/v1/Products/1", b'{"unitPrice": NaN}', JSON, 400),
    ("NaN payment", "POST", "/v1/SaleInvoices/MarkAsPaid", b'{"invoiceId": 2, "amount": NaN}', JSON, 400),
    ("absurd payment", "POST", "/v1/SaleInvoices/MarkAsPaid", {"invoiceId": 2, "amount": 1e308}, {}, 400),
    ("unknown customer type", "POST", "/v1/Customers", {"type": "Alien", "companyName": "X"}, {}, 400),
    ("unknown product type", "PUT", "/v1/Products/1", {"type": "Magic"}, {}, 400),
    ("unknown line type", "POST", "/v1/SaleInvoices", {**INVOICE, "lines": [line(type="Gift")]}, {}, 400),
    ("unknown payment method", "POST", "/v1/SaleInvoices/MarkAsPaid", {"invoiceId": 2, "paymentMethod": "Barter"}, {}, 400),
    ("unknown status filter", "GET", "/v1/SaleInvoices?Status=Lost", None, {}, 400),
    ("February 30th", "POST", "/v1/SaleInvoices", {**INVOICE, "date": "2026-02-30"}, {}, 400),
    ("February 29th of 2026", "PUT", "/v1/SaleInvoices/1", {"date": "2026-02-29"}, {}, 400),
    ("month 13", "POST", "/v1/SaleCredits", {"customerId": 2, "date": "2026-13-01"}, {}, 400),
    ("date filter February 30th", "GET", "/v1/SaleInvoices?From=2026-02-30", None, {}, 400),
    ("payment date February 30th", "POST", "/v1/SaleInvoices/MarkAsPaid", {"invoiceId": 2, "date": "2026-02-30"}, {}, 400),
    ("null body where an object is expected", "POST", "/v1/Customers", b"null", JSON, 400),
    ("array body where an object is expected", "PUT", "/v1/Customers/1", b"[]", JSON, 400),
]


@pytest.fixture
def seeded(app, client):
    """The app with a draft (invoice 1) and a finalized invoice (2) besides the seeded data."""
    ok(client.post("/v1/SaleInvoices", json=INVOICE))
    ok(client.post("/v1/SaleInvoices", json=INVOICE))
    ok(client.post("/v1/SaleInvoices/Finalize/2"))
    return app


@pytest.mark.parametrize("label, method, path, body, headers, status", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_is_a_documented_4xx_and_changes_nothing(seeded, client, label, method, path, body, headers, status):
    before = tenant_state(seeded)
    kwargs = {"headers": headers}
    if isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = body
    response = client.request(method, path, **kwargs)
    assert response.status_code == status, (label, response.status_code, response.text[:500])
    assert_documented(response, method, path)
    assert tenant_state(seeded) == before, f"{label}: the store changed"


def test_negative_quantities_are_allowed_as_documented(client):
    """docs/amounts.md: negative quantities are returns (credit lines); only their absurd sizes are refused."""
    created = ok(client.post("/v1/SaleInvoices", json={**INVOICE, "lines": [line(quantity=-2)]}))
    assert created["taxExcludedAmount"] == -240


def test_a_chunked_body_over_the_limit_is_413_without_a_content_length(seeded, client):
    before = tenant_state(seeded)
    piece = b" " * 65536

    def chunks():
        yield b'{"companyName": "X", "internalNotes": "'
        for _ in range(MAX_JSON_BODY // len(piece) + 2):
            yield piece
        yield b'"}'

    response = client.post("/v1/Customers", content=chunks(), headers=JSON)
    assert response.status_code == 413, response.text[:300]
    assert_documented(response, "POST", "/v1/Customers")
    assert tenant_state(seeded) == before


def test_a_body_just_under_the_limit_is_accepted(client):
    notes = "x" * (MAX_JSON_BODY - 100)
    created = ok(client.post("/v1/Customers", json={"companyName": "Gros dossier", "internalNotes": notes}))
    assert len(created["internalNotes"]) == len(notes)


@pytest.mark.slow
def test_the_limits_hold_over_a_real_socket(server_factory):
    """413 announced by Content-Length and counted on a chunked upload; 415; and the server lives on."""
    server = server_factory()
    with http(server.url) as c:
        big = c.post("/v1/Customers", content=b"{" + b" " * (MAX_JSON_BODY + 1) + b"}", headers=JSON)
        assert big.status_code == 413, big.text[:300]
        assert_documented(big, "POST", "/v1/Customers")

        def chunks():
            for _ in range(40):
                yield b" " * 65536

        chunked = c.post("/v1/Customers", content=chunks(), headers=JSON)
        assert chunked.status_code == 413, chunked.text[:300]
        wrong = c.post("/v1/Customers", content=b'{"companyName": "X"}', headers={"Content-Type": "text/plain"})
        assert wrong.status_code == 415 and "application/json" in wrong.json()["detail"]
        assert_documented(wrong, "POST", "/v1/Customers")
        deep = c.post("/v1/Customers", content=deep_array(200_000), headers=JSON)
        assert deep.status_code == 400
        assert len(all_of(c, "/v1/Customers")) == 30
    assert "Traceback" not in server.stderr


# --- 3. authentication on every operation --------------------------------------------------------------

def concrete(path: str, values: dict[str, object] | None = None) -> str:
    """A URL of a path template: ids 1 (or `values`), strings "x"."""
    def fill(match: re.Match) -> str:
        name = match.group(1)
        return str((values or {}).get(name, "x" if name.lower().endswith("internalid") else 1))
    return re.sub(r"\{([^}]+)\}", fill, path)


def send(client, method: str, path: str, op: dict, body=None, **kwargs) -> httpx.Response:
    if is_multipart(op):
        file = ("facture.pdf", PDF, "application/pdf") if "PurchaseInvoices" in path else ("logo.png", png(), "image/png")
        return client.request(method, path, files={"file": file}, **kwargs)
    if request_body(op) is not None:
        return client.request(method, path, json={} if body is None else body, **kwargs)
    return client.request(method, path, **kwargs)


OPERATIONS = operations()


@pytest.mark.parametrize("method, path, op_id, op", OPERATIONS, ids=[o[2] for o in OPERATIONS])
def test_every_operation_refuses_a_missing_or_wrong_key(app, anonymous, method, path, op_id, op):
    before = tenant_state(app)
    assert op.get("security", SPEC.get("security")), f"{op_id} is documented without security"
    for headers in ({}, {"X-API-KEY": "not-a-key"}, {"X-API-KEY": ""}, {"X-API-KEY": KEY.upper()}):
        response = send(anonymous, method, concrete(path), op, headers=headers)
        assert response.status_code == 401, (op_id, headers, response.status_code, response.text[:300])
        assert_documented(response, method, concrete(path))
        assert response.content == b"" and "content-type" not in response.headers
    assert tenant_state(app) == before


@pytest.mark.parametrize("method, path, op_id, op", [o for o in operations() if request_body(o[3])],
                         ids=[o[2] for o in operations() if request_body(o[3])])
def test_every_operation_taking_a_body_documents_413_and_415(method, path, op_id, op):
    """The sandbox answers them on any body-taking operation (asgi.BodyLimit, Connexion's media check)."""
    assert {"413", "415"} <= set(op["responses"]), f"{op_id}: document 413 and 415 (see BodyTooLarge, UnsupportedMediaType)"


def test_the_operation_list_is_the_contracts():
    assert len(OPERATIONS) >= 72
    assert len({o[2] for o in OPERATIONS}) == len(OPERATIONS)


# --- 4. tenant isolation -------------------------------------------------------------------------------

SECRET = "SECRET-OF-TENANT-A-7f3c"  # in A's lookup keys (internalId, number): B asks for them
HIDDEN = "HIDDEN-A-9d1e"  # in every document of A, never in a request of B: must never reach B


def populate(client) -> dict[str, int]:
    """One document of every kind in tenant A, each carrying HIDDEN; their ids by path parameter."""
    customer = ok(client.post("/v1/Customers", json={
        "type": "Business", "companyName": f"{SECRET} {HIDDEN} SARL", "email": "a@secret-a.fr", "internalId": f"{SECRET}-C"}))
    contact = ok(client.post("/v1/Contacts", json={"firstName": HIDDEN, "lastName": "A", "internalId": f"{SECRET}-K",
                                                   "companyName": f"{SECRET} {HIDDEN} SARL"}))
    supplier = ok(client.post("/v1/Suppliers", json={"name": f"{SECRET} {HIDDEN} Fournisseur", "internalId": f"{SECRET}-S"}))
    family = ok(client.post("/v1/ProductFamilies", json={"label": f"{HIDDEN} famille", "number": f"{SECRET}-F"}))
    product = ok(client.post("/v1/Products", json={"name": f"{SECRET} {HIDDEN} produit", "number": f"{SECRET}-P",
                                                   "internalId": f"{SECRET}-P", "unitPrice": 10, "vat": {"rate": 20},
                                                   "family": {"id": family["id"]}}))
    ok(client.post(f"/v1/ProductImages/{product['id']}", files={"file": ("a.png", png(), "image/png")}))
    lines = [{"type": "Service", "description": HIDDEN, "quantity": 1, "taxExcludedPrice": 100, "vat": {"rate": 20}}]
    draft = ok(client.post("/v1/SaleInvoices", json={"customerId": customer["id"], "subject": HIDDEN,
                                                     "internalId": f"{SECRET}-I", "lines": lines}))
    final = ok(client.post("/v1/SaleInvoices", json={"customerId": customer["id"], "subject": HIDDEN, "lines": lines}))
    ok(client.post(f"/v1/SaleInvoices/Finalize/{final['id']}"))
    credit = ok(client.post("/v1/SaleCredits", json={"customerId": customer["id"], "subject": HIDDEN,
                                                     "internalId": f"{SECRET}-A", "lines": lines}))
    quote = ok(client.post("/v1/SaleQuotes", json={"customerId": customer["id"], "subject": HIDDEN,
                                                   "internalId": f"{SECRET}-Q", "lines": lines}))
    purchase = ok(client.post("/v1/PurchaseInvoices/file", files={"file": ("a.pdf", PDF, "application/pdf")}))
    return {"customer": customer["id"], "contact": contact["id"], "supplier": supplier["id"], "family": family["id"],
            "product": product["id"], "draft": draft["id"], "final": final["id"], "credit": credit["id"],
            "quote": quote["id"], "purchase": purchase["id"]}


def foreign_values(path: str, ids: dict[str, int]) -> dict[str, object]:
    """Path parameters naming tenant A's documents, for the resource the path addresses."""
    resource = path.split("/")[2] if path.startswith("/v1/") else ""
    id_of = {"Customers": ids["customer"], "Contacts": ids["contact"], "Suppliers": ids["supplier"],
             "Products": ids["product"], "ProductFamilies": ids["family"], "ProductImages": ids["product"],
             "SaleInvoices": ids["final"] if "Finalize" not in path else ids["draft"], "SaleCredits": ids["credit"],
             "SaleQuotes": ids["quote"], "PurchaseInvoices": ids["purchase"]}.get(resource, 1)
    return {"id": id_of, "productId": ids["product"], "customerId": ids["customer"], "supplierId": ids["supplier"],
            "internalId": f"{SECRET}-" + {"Customers": "C", "Suppliers": "S", "Contacts": "K", "Products": "P"}.get(resource, "I")}


def foreign_body(op_id: str, ids: dict[str, int]):
    """A body naming tenant A's documents where the operation takes references."""
    return {
        "POST_SaleInvoices_Post": {"customerId": ids["customer"]},
        "POST_SaleCredits_Post": {"customerId": ids["customer"], "cancelledInvoicetId": ids["final"]},
        "POST_SaleQuotes_Post": {"customerId": ids["customer"]},
        "POST_SaleInvoices_MarkAsPaid": {"invoiceId": ids["final"], "amount": 1},
        "POST_SaleInvoices_Send": ["b@secret-b.fr"],
        "POST_SaleCredits_Send": ["b@secret-b.fr"],
        "PUT_SaleInvoices_Put": {"subject": "written by B"},
        "PUT_Customers_Update": {"companyName": "written by B"},
        "POST_Products_Post": {"name": "B", "family": {"id": ids["family"]}, "vat": {"rate": 20}},
    }.get(op_id)


def query_for(op: dict, ids: dict[str, int]) -> dict[str, object]:
    """Query parameters naming tenant A's data (finds and filters)."""
    params = {}
    for parameter in op.get("parameters", []):
        if "$ref" in parameter:
            parameter = SPEC["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[-1]]
        if parameter.get("in") != "query":
            continue
        name = parameter["name"]
        lowered = name.lower()
        if lowered in ("email",):
            params[name] = "a@secret-a.fr"
        elif lowered in ("internalid", "number", "query"):
            params[name] = f"{SECRET}-C" if lowered != "query" else SECRET
        elif lowered.endswith("customerid"):
            params[name] = ids["customer"]
    return params


def test_no_operation_of_one_tenant_reads_or_changes_another_tenants_data(tmp_path):
    app = create_app(Config(data_dir=tmp_path / "data", open_tenants=True))
    svc = services(app)
    try:
        with app.test_client(headers={"X-API-KEY": "tenant-a"}) as a, \
                app.test_client(headers={"X-API-KEY": "tenant-b"}) as b:
            ids = populate(a)
            state_a = tenant_state(app, "tenant-a")
            files_a = sorted(p.name for p in (tmp_path / "data").rglob("*") if p.is_file())
            answered = Counter()
            for method, path, op_id, op in OPERATIONS:
                url = concrete(path, foreign_values(path, ids))
                response = send(b, method, url, op, body=foreign_body(op_id, ids), params=query_for(op, ids))
                answered[response.status_code] += 1
                assert response.status_code < 500, (op_id, response.text[:300])
                assert HIDDEN.encode() not in response.content, f"{op_id} showed tenant A's data to tenant B"
            # Sandbox controls with B's key act on B only.
            assert b.post("/_mock/reset").status_code == 200
            assert b.put("/_mock/clock", json={"now": "2030-01-01T00:00:00Z", "frozen": True}).status_code == 200
            assert HIDDEN not in b.get("/_mock/outbox").text
            assert tenant_state(app, "tenant-a") == state_a, "tenant B's calls changed tenant A's data"
            # A's own view is intact, file downloads included.
            assert ok(a.get(f"/v1/Customers/{ids['customer']}"))["companyName"] == f"{SECRET} {HIDDEN} SARL"
            assert a.get(f"/v1/PurchaseInvoices/Download/{ids['purchase']}").content == PDF
            assert a.get("/_mock/clock").json()["frozen"] is False
            assert answered[404] >= 20, answered
        # Files of A (uploads) are still all there.
        assert set(files_a) <= {p.name for p in (tmp_path / "data").rglob("*") if p.is_file()}
    finally:
        svc.close()
