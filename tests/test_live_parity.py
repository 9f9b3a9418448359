"""The sandbox reads requests and answers them as the live API does (shared live-behaviour facts).

Against a real server on loopback (`server_factory`) where the transport matters (paths, keys,
the rate limit), and the in-process `client` for the rest; each test asserts status, headers, body.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import time

import httpx
import pytest

from mock_server.app import create_app, load_contract
from mock_server.config import DEFAULT_API_KEY as KEY, Config, read_config_file
from mock_server.ratelimit import RateLimit, parse

from conftest import services

WARNING = "x-mock-warning"


@pytest.fixture
def server(module_server):
    return module_server


def get(url: str, **kwargs) -> httpx.Response:
    return httpx.get(url, timeout=10, trust_env=False, **kwargs)


# --- requests read as ASP.NET reads them ------------------------------------------------------------

@pytest.mark.parametrize("path, contract_path", [
    ("/v1/vats/", "/v1/Vats"), ("/v1/customers/1", "/v1/Customers/1"), ("/v1/Customers/1/", "/v1/Customers/1"),
    ("/V1/CUSTOMERS/1", "/v1/Customers/1"), ("/v1/customers/1/Contacts/", "/v1/Customers/1/contacts")])
def test_paths_match_in_any_case_and_with_a_trailing_slash(server, path, contract_path):
    response = get(server.url + path, headers={"X-API-KEY": KEY})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert WARNING not in response.headers
    assert response.json() == get(server.url + contract_path, headers={"X-API-KEY": KEY}).json()


@pytest.mark.parametrize("how", ["header-any-case", "basic", "query"])
def test_the_api_key_in_each_of_its_three_forms(server, how):
    kwargs = {"header-any-case": {"headers": {"x-Api-Key": KEY}},
              "basic": {"auth": ("apikey", KEY)},  # curl -u apikey:KEY
              "query": {"params": {"apikey": KEY}}}[how]
    response = get(server.url + "/v1/customers", **kwargs)
    assert response.status_code == 200
    assert len(response.json()) == 30


def test_a_wrong_basic_user_or_key_is_401(server):
    for auth in (("apikey", "wrong"), ("someone", KEY)):
        response = get(server.url + "/v1/Customers", auth=auth)
        assert response.status_code == 401
        assert response.content == b"" and "content-type" not in response.headers


def test_query_names_in_any_case(client):
    assert len(client.get("/v1/Customers?pagesize=3&PAGEINDEX=2").json()) == 3
    assert client.get("/v1/Customers?pagesize=3&pageindex=2").json() == \
        client.get("/v1/Customers", params={"PageSize": 3, "PageIndex": 2}).json()


def test_body_property_names_in_any_case_unknown_ones_dropped_numbers_as_strings(client):
    response = client.post("/v1/Products", json={"Name": "Reliure", "UNITPRICE": "12.5", "colour": "red"})
    assert response.status_code == 200, response.text
    product = response.json()
    assert (product["name"], product["unitPrice"]) == ("Reliure", 12.5)
    assert "colour" not in product
    assert response.headers.get_list(WARNING) == ["unknown property ignored: colour"]


def test_a_line_with_a_field_lines_do_not_have_is_accepted_and_totals_0(client):
    # Captured live: `unitPrice` is not a line field; the line is kept, without a price.
    response = client.post("/v1/SaleInvoices", json={"customerId": 2, "lines": [
        {"description": "Atelier", "quantity": 1, "unitPrice": 300}]})
    assert response.status_code == 200, response.text
    assert response.json()["taxExcludedAmount"] == 0
    assert response.headers.get_list(WARNING) == ["unknown property ignored: lines[0].unitPrice"]


# --- what the n8n node sends -------------------------------------------------------------------------

N8N_LINE = {"type": "Product", "productId": 1, "classificationId": 0, "quantity": 2, "description": ""}
N8N_SERVICE_LINE = {"type": "Service", "productId": 0, "classificationId": 0, "description": "Pose",
                    "quantity": 1, "taxExcludedPrice": 150}


@pytest.mark.parametrize("path", ["/v1/SaleInvoices", "/v1/SaleCredits", "/v1/SaleQuotes"])
def test_n8n_sale_document_creates_succeed_with_warnings(client, path):
    body = {"customerId": 2, "date": "2026-01-01T00:00:00", "lines": [N8N_LINE, N8N_SERVICE_LINE]}
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["date"] == "2026-01-01"
    assert [line["productId"] for line in document["lines"]][1] is None
    assert response.headers.get_list(WARNING) == [
        "date-time read as its date: date", "0 read as no reference: lines[0].classificationId",
        "0 read as no reference: lines[1].productId", "0 read as no reference: lines[1].classificationId"]


def test_n8n_receipt_mark_as_paid_mark_as_refunded_and_list_by_date(client):
    invoice = client.post("/v1/SaleInvoices", json={"customerId": 2, "lines": [N8N_LINE]}).json()
    assert client.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}").status_code == 200
    paid = client.post("/v1/SaleInvoices/MarkAsPaid", json={
        "invoiceId": invoice["id"], "date": "2026-01-01T00:00:00", "amount": "10", "paymentMethod": "Transfer"})
    assert paid.status_code == 200, paid.text
    assert paid.headers.get_list(WARNING) == ["date-time read as its date: date"]

    credit = client.post("/v1/SaleCredits", json={"customerId": 2, "lines": [N8N_LINE]}).json()
    assert client.post(f"/v1/SaleCredits/Finalize/{credit['id']}").status_code == 200
    refunded = client.post("/v1/SaleCredits/MarkAsRefunded", json={"creditId": credit["id"],
                                                                   "date": "2026-01-02T00:00:00"})
    assert refunded.status_code == 200, refunded.text
    assert refunded.headers.get_list(WARNING) == ["date-time read as its date: date"]

    receipt = client.post("/v1/Receipts", json={"customerId": 2, "date": "2026-01-03T00:00:00", "amount": 5})
    assert receipt.status_code == 200, receipt.text
    assert receipt.json()["date"] == "2026-01-03"

    listed = client.get("/v1/SaleInvoices", params={"From": "2020-01-01T00:00:00"})
    assert listed.status_code == 200
    assert listed.json() == client.get("/v1/SaleInvoices", params={"From": "2020-01-01"}).json()
    assert listed.headers.get_list(WARNING) == ["date-time read as its date: From"]


def test_an_integer_id_with_spaces_around_it_is_that_id_with_a_warning(client):
    """`INTEGER` takes " 1" for an integer, as the live API's model binding does: the request is
    routed as /1 (never an unknown route's empty 404), and the answer says what was ignored."""
    plain = client.get("/v1/Customers/1")
    for spaced in ("/v1/Customers/%201", "/v1/Customers/1%20%20", "/v1/Customers/%091"):
        answer = client.get(spaced)
        assert answer.status_code == 200 and answer.json() == plain.json(), (spaced, answer.text)
        assert answer.headers.get_list(WARNING) == ["spaces around an integer ignored: id"]
    invoice = client.post("/v1/SaleInvoices", json={"customerId": 2, "lines": [N8N_LINE]}).json()
    finalized = client.post(f"/v1/SaleInvoices/Finalize/%20{invoice['id']}")
    assert finalized.status_code == 200 and finalized.json()["id"] == invoice["id"] and finalized.json()["number"]
    assert client.get("/v1/Customers/%20").json() == {"errors": [], "message": "The value ' ' is not valid."}
    assert client.get("/v1/Customers/1%201").json() == {"errors": [], "message": "The value '1 1' is not valid."}


def test_an_error_answer_says_what_was_read_before_it_was_refused(client):
    """A 404 or a 400 is rendered outside the layers that read the request: it still names what they
    ignored, so a client that sent `/v1/Customers/%20999999` learns why its id was not found as sent."""
    missing = client.get("/v1/Customers/%20999999")
    assert missing.status_code == 404 and missing.json()["errors"] == []
    assert missing.headers.get_list(WARNING) == ["spaces around an integer ignored: id"]
    # The journal shows what the client saw: the entry of the 404 carries its warning.
    entry = client.get("/_mock/requests", params={"warnings": "true", "status": "404"}).json()["items"][0]
    assert (entry["path"], entry["warnings"]) == ("/v1/Customers/ 999999", ["spaces around an integer ignored: id"])
    count = client.get("/v1/SaleInvoices").headers["x-record-count"]
    refused = client.post("/v1/SaleInvoices", json={"customerId": 999999, "date": "2026-01-01T00:00:00",
                                                    "lines": [{**N8N_LINE, "unitPrice": 3}]})
    assert refused.status_code == 400 and refused.json()["message"] == "Le client 999999 n'existe pas."
    assert sorted(refused.headers.get_list(WARNING)) == [
        "0 read as no reference: lines[0].classificationId", "date-time read as its date: date",
        "unknown property ignored: lines[0].unitPrice"]
    assert client.get("/v1/SaleInvoices").headers["x-record-count"] == count
    # The next answer carries only its own warnings.
    assert client.get("/v1/Customers/1").headers.get_list(WARNING) == []


def test_strict_mode_refuses_what_would_draw_a_warning_and_changes_nothing(tmp_path):
    app = create_app(Config(data_dir=tmp_path, strict=True))
    try:
        with app.test_client(headers={"X-API-KEY": KEY}) as c:
            before = c.get("/v1/Products").json()
            refused = c.post("/v1/Products", json={"name": "Reliure", "colour": "red"})
            assert refused.status_code == 400
            assert refused.json()["errors"] == ["unknown property ignored: colour"]
            assert c.get("/v1/Products").json() == before
            assert c.post("/v1/Products", json={"name": "Reliure"}).status_code == 200
            spaced = c.get("/v1/Customers/%201")
            assert spaced.status_code == 400 and spaced.json()["errors"] == ["spaces around an integer ignored: id"]
    finally:
        services(app).close()


# --- PUT replaces, as live ----------------------------------------------------------------------------

def test_a_credit_put_without_lines_empties_the_credit_and_says_which_fields_it_reset(server):
    # Captured live: a partial PUT resets what it omits; the vendor's advice is read-modify-write.
    with httpx.Client(base_url=server.url, headers={"X-API-KEY": KEY}, trust_env=False, timeout=10) as c:
        credit = c.post("/v1/SaleCredits", json={"customerId": 1, "subject": "Geste commercial", "lines": [
            {"type": "Service", "description": "Remise", "quantity": 1, "taxExcludedPrice": 100, "vat": {"rate": 20}}]})
        assert credit.status_code == 200, credit.text
        credit = credit.json()
        partial = c.put(f"/v1/SaleCredits/{credit['id']}", json={"customerId": 1, "internalNotes": "relu"})
        assert partial.status_code == 200, partial.text
        emptied = partial.json()
        assert (emptied["lines"], emptied["taxIncludedAmount"], emptied["subject"]) == ([], 0, None)
        reset = partial.headers[WARNING].partition("defaults: ")[2].split(", ")
        assert {"lines", "subject"} <= set(reset) and "internalNotes" not in reset
        assert c.get(f"/v1/SaleCredits/{credit['id']}").json() == emptied
        # Read-modify-write keeps everything else, and draws no warning.
        whole = c.put(f"/v1/SaleCredits/{credit['id']}", json={**credit, "internalNotes": "relu"})
        assert whole.status_code == 200 and WARNING not in whole.headers
        assert whole.json() == {**credit, "internalNotes": "relu"}


def test_strict_mode_refuses_a_partial_put_and_keeps_the_entity(tmp_path):
    app = create_app(Config(data_dir=tmp_path, strict=True))
    try:
        with app.test_client(headers={"X-API-KEY": KEY}) as c:
            before = c.get("/v1/Customers/1").json()
            refused = c.put("/v1/Customers/1", json={"companyName": before["companyName"]})
            assert refused.status_code == 400
            assert refused.json()["errors"][0].startswith("PUT reset omitted fields to their defaults: ")
            assert c.get("/v1/Customers/1").json() == before
    finally:
        services(app).close()


# --- the live error surface ---------------------------------------------------------------------------

def test_401_405_and_an_unknown_route_answer_an_empty_body_without_content_type(server):
    answers = [get(server.url + "/v1/Customers"),
               httpx.patch(server.url + "/v1/Customers/1", headers={"X-API-KEY": KEY}, trust_env=False, timeout=10),
               get(server.url + "/v1/NoSuchThing", headers={"X-API-KEY": KEY})]
    assert [a.status_code for a in answers] == [401, 405, 404]
    for answer in answers:
        assert answer.content == b"" and "content-type" not in answer.headers
    assert answers[1].headers["allow"] == "GET, PUT, DELETE"


def test_a_record_404_and_the_400_shapes(client):
    missing = client.get("/v1/Customers/99999")
    assert missing.status_code == 404 and missing.json() == {"errors": [], "message": "Customer with ID 99999 not found."}
    assert client.get("/v1/Customers/abc").json() == {"errors": [], "message": "The value 'abc' is not valid."}
    page = client.get("/v1/Customers", params={"PageIndex": 0})
    assert page.status_code == 400
    assert page.json() == {"errors": ["'Page Index' must be greater than or equal to '1'."], "message": "Validation failed"}
    invalid = client.post("/v1/Customers", json={"type": "Company"})
    assert invalid.status_code == 400 and invalid.json()["message"] == "Validation failed"
    rule = client.post("/v1/Products", json={"name": "Stylo", "vat": {"rate": 7}})
    assert rule.status_code == 400 and rule.json()["errors"] is None and rule.json()["message"]


def test_the_sandbox_controls_keep_problem_details(server):
    response = get(server.url + "/_mock/nothing-here", headers={"X-API-KEY": KEY})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/")
    assert response.json()["status"] == 404


# --- live answers -------------------------------------------------------------------------------------

def test_pdf_url_is_relative_lowercase_and_downloads(server):
    headers = {"X-API-KEY": KEY}
    invoice = httpx.post(server.url + "/v1/SaleInvoices", json={"customerId": 2, "lines": [N8N_LINE]},
                         headers=headers, trust_env=False, timeout=10).json()
    assert invoice["pdfUrl"] == f"/v1/saleinvoices/download/{invoice['id']}"
    pdf = get(server.url + invoice["pdfUrl"], headers=headers)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


# --- the rate limit -----------------------------------------------------------------------------------

def test_serve_enforces_the_live_rate_limit_by_default(server_factory):
    server = server_factory(env={"ALTOVIZ_MOCK_RATE_LIMIT": ""})
    statuses = [get(server.url + "/Hello", headers={"X-API-KEY": KEY}).status_code for _ in range(101)]
    assert statuses == [200] * 100 + [429]


def test_past_the_limit_429_text_plain_with_retry_after_in_milliseconds(server_factory):
    server = server_factory("--rate-limit", "3/3600", "--api-key", "team-b-secret-key")
    statuses = [get(server.url + "/v1/Vats", params={"apikey": KEY}).status_code for _ in range(3)]
    throttled = get(server.url + "/v1/vats", auth=("apikey", KEY))
    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    assert throttled.headers["content-type"].startswith("text/plain")
    assert 0 < int(throttled.headers["retry-after"]) <= 3_600_000
    # The sandbox's own controls never count; another key has its own budget.
    assert get(server.url + "/_mock/health").status_code == 200
    assert get(server.url + "/Hello", headers={"X-API-KEY": "team-b-secret-key"}).status_code == 200


def test_the_window_rolls_on_the_injected_clock():
    now = [1000.0]
    limit = RateLimit(app=None, limit=2, window=60, clock=lambda: now[0])
    assert limit.retry_after(b"k") is None and limit.retry_after(b"k") is None
    now[0] += 47
    assert limit.retry_after(b"k") == 13_000  # the first hit leaves the window in 13 s
    now[0] += 13
    assert limit.retry_after(b"k") is None
    assert limit.retry_after(b"other") is None


@pytest.mark.parametrize("text, rule", [("off", None), ("100/60", (100, 60.0)), ("5", (5, 60.0)), ("10/0.5", (10, 0.5))])
def test_rate_limit_settings(text, rule):
    assert parse(text) == rule


@pytest.mark.parametrize("text", ["fast", "0/60", "10/0", "-1"])
def test_bad_rate_limit_settings_are_refused(text):
    with pytest.raises(ValueError):
        parse(text)


def test_a_warning_naming_an_odd_property_is_a_valid_header(client):
    # A property name may hold any character; its warning must still be a header uvicorn can send.
    answer = client.post("/v1/Customers", json={"companyName": "A", "x\ny\u00e9": 1})
    assert answer.status_code == 200
    warning = answer.headers["X-Mock-Warning"]
    assert warning.isascii() and warning.isprintable() and "x\\ny\\xe9" in warning


# --- against one real server, a fresh (empty) tenant per test ------------------------------------------

_tenants = itertools.count(1)


@pytest.fixture
def api(open_module_server):
    """An HTTP client of the module's server, with a key of its own: an empty tenant of the test's."""
    with httpx.Client(base_url=open_module_server.url, headers={"X-API-KEY": f"parity-tenant-{next(_tenants):03d}"},
                      timeout=10, trust_env=False) as client:
        yield client


def created(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


SERVICE_LINE = {"type": "Service", "description": "Conseil", "quantity": 1, "taxExcludedPrice": 100, "vat": {"rate": 20}}


@pytest.mark.slow
def test_a_record_404_names_the_kind_and_the_id_as_live(api):
    product = created(api.post("/v1/Products", json={"name": "Reliure"}))
    for method, path, message in [
            ("GET", "/v1/customers/99999", "Customer with ID 99999 not found."),
            ("DELETE", "/v1/SaleInvoices/4242", "Invoice with ID 4242 not found."),
            ("GET", "/v1/Customers/GetByInternalId/CRM-404", "Customer with internal ID CRM-404 not found."),
            ("DELETE", "/v1/webhooks?url=http://127.0.0.1:9/gone", "Webhook with URL http://127.0.0.1:9/gone not found."),
            ("DELETE", f"/v1/ProductImages/{product['id']}", f"Product image with product ID {product['id']} not found.")]:
        response = api.request(method, path)
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"errors": [], "message": message}


@pytest.mark.slow
def test_business_rules_answer_in_french_validation_in_english(api):
    customer = created(api.post("/v1/Customers", json={"companyName": "Atelier Brun"}))
    unknown = api.post("/v1/SaleInvoices", json={"customerId": 99999, "lines": [SERVICE_LINE]})
    assert unknown.status_code == 400 and unknown.headers["content-type"] == "application/json"
    assert unknown.json() == {"errors": None, "message": "Le client 99999 n'existe pas."}
    assert api.post("/v1/SaleInvoices", json={"customerId": customer["id"]}).json() == {
        "errors": None, "message": "Une facture doit avoir au moins une ligne."}

    invoice = created(api.post("/v1/SaleInvoices", json={"customerId": customer["id"], "lines": [SERVICE_LINE]}))
    number = created(api.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}"))["number"]
    for path, body, message in [
            (f"/v1/SaleInvoices/Finalize/{invoice['id']}", None, f"La facture {number} est déjà finalisée."),
            ("/v1/SaleInvoices/MarkAsPaid", {"invoiceId": invoice["id"], "amount": 500},
             f"Trop-perçu : 500 dépasse le solde 120.0 de la facture {number}.")]:
        refused = api.post(path, json=body)
        assert refused.status_code == 400, refused.text
        assert refused.json() == {"errors": None, "message": message}
    deleted = api.delete(f"/v1/SaleInvoices/{invoice['id']}")
    assert deleted.status_code == 400 and deleted.json()["message"].startswith(
        f"La facture {number} est finalisée et ne peut pas être supprimée")

    invalid = api.post("/v1/Customers", json={"type": "Company"})
    assert invalid.status_code == 400
    assert invalid.json()["message"] == "Validation failed" and "Company" in invalid.json()["errors"][0]


PAGING = ("x-page-index", "x-page-size", "x-page-count", "x-record-count", "x-page-next", "x-page-prev")


def paging(response: httpx.Response) -> dict[str, str]:
    return {name: response.headers[name] for name in PAGING if name in response.headers}


@pytest.mark.slow
def test_lists_answer_the_live_paging_headers(api):
    for n in range(5):
        created(api.post("/v1/CustomerFamilies", json={"label": f"Famille {n}", "number": f"FC-{n}"}))
    middle = api.get("/v1/customerfamilies", params={"pagesize": 2, "PageIndex": 2, "query": "famille"})
    assert middle.status_code == 200 and [f["number"] for f in middle.json()] == ["FC-2", "FC-3"]
    assert paging(middle) == {
        "x-page-index": "2", "x-page-size": "2", "x-page-count": "3", "x-record-count": "5",
        "x-page-next": "/v1/CustomerFamilies?PageIndex=3&PageSize=2&query=famille",
        "x-page-prev": "/v1/CustomerFamilies?PageIndex=1&PageSize=2&query=famille"}
    # The links lead to the pages they name.
    assert [f["number"] for f in api.get(middle.headers["x-page-next"]).json()] == ["FC-4"]

    first, last = (api.get("/v1/CustomerFamilies", params={"PageSize": 2, "PageIndex": i}) for i in (1, 3))
    assert "x-page-prev" not in first.headers and first.headers["x-page-next"].endswith("PageIndex=2&PageSize=2")
    assert "x-page-next" not in last.headers and last.headers["x-page-prev"].endswith("PageIndex=2&PageSize=2")
    assert paging(api.get("/v1/SaleInvoices")) == {"x-page-index": "1", "x-page-size": "100", "x-page-count": "0",
                                                  "x-record-count": "0"}
    # Find answers every match at once: no paging.
    assert paging(api.get("/v1/CustomerFamilies/Find", params={"number": "FC-1"})) == {}


@pytest.mark.slow
def test_registering_a_webhook_answers_id_0_and_the_list_has_the_real_one(api):
    hook = {"name": "Compta", "url": "http://127.0.0.1:9/hook", "types": ["InvoiceCreated"], "secretKey": "k"}
    api.post("/v1/Webhooks", json={**hook, "name": "Autre", "url": "http://127.0.0.1:9/other"})
    registered = api.post("/v1/webhooks", json=hook)
    assert registered.status_code == 201 and registered.headers["content-type"] == "application/json"
    assert registered.json() == {"id": 0, **hook}
    [listed] = [w for w in api.get("/v1/Webhooks").json() if w["url"] == hook["url"]]
    assert listed == {"id": 2, **hook}
    assert api.delete("/v1/Webhooks", params={"id": listed["id"]}).json() == listed


def contract_properties(name: str) -> list[str]:
    return list(load_contract()["components"]["schemas"][name]["properties"])


@pytest.mark.slow
def test_blank_fields_are_present_with_null(api):
    product = created(api.post("/v1/Products", json={"name": "Nu"}))
    assert list(product) == contract_properties("Product")
    assert (product["vat"], product["unit"], product["family"], product["defaultQuantity"]) == (None, None, None, 0)
    customer = created(api.post("/v1/Customers", json={"companyName": "Sans adresse"}))
    assert list(customer) == contract_properties("Customer") and customer["shippingAddress"] is None
    invoice = created(api.post("/v1/SaleInvoices", json={"customerId": customer["id"], "lines": [
        {"type": "Service", "description": "Pose", "quantity": 1, "taxExcludedPrice": 10}]}))
    assert list(invoice) == contract_properties("Invoice") and "vatMode" in invoice
    [line] = invoice["lines"]
    assert list(line) == contract_properties("SaleDocumentLine")
    assert (line["discount"], line["unit"], line["product"]) == (None, None, None)
    assert api.get(f"/v1/SaleInvoices/{invoice['id']}").json() == invoice


# --- the webhook signature's header --------------------------------------------------------------------

@pytest.mark.slow
def test_the_signature_header_can_be_the_other_name_the_vendor_uses(server_factory):
    server = server_factory("--in-memory", "--webhook-signature-header", "x-altoviz-signature")
    with httpx.Client(base_url=server.url, headers={"X-API-KEY": KEY}, timeout=10, trust_env=False) as c:
        created(c.post("/v1/Webhooks", json={"name": "inbox", "url": f"{server.url}/_mock/inbox/sig",
                                             "types": ["CustomerCreated"], "secretKey": "whsec_demo"}))
        created(c.post("/v1/Customers", json={"companyName": "Signé SARL"}))
        deadline = time.monotonic() + 10
        while not (received := c.get("/_mock/inbox/sig").json()) and time.monotonic() < deadline:
            time.sleep(0.05)
    [delivery] = received
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    expected = hmac.new(b"whsec_demo", delivery["body"].encode("utf-8"), hashlib.sha256).hexdigest()
    assert headers["x-altoviz-signature"] == expected and "x-signature" not in headers


def test_the_signature_header_setting_from_env_and_config_file(tmp_path):
    assert Config().webhook_signature_header == "X-Signature"
    env = {"ALTOVIZ_MOCK_WEBHOOK_SIGNATURE_HEADER": "X-ALTOVIZ-SIGNATURE"}
    assert Config.from_env(env).webhook_signature_header == "X-Altoviz-Signature"
    config_file = tmp_path / "altoviz-mock.toml"
    config_file.write_text('webhook_signature_header = "X-Altoviz-Signature"\n')
    assert read_config_file(config_file) == {"ALTOVIZ_MOCK_WEBHOOK_SIGNATURE_HEADER": "X-Altoviz-Signature"}
    config_file.write_text('webhook_signature_header = "X-Hub-Signature"\n')
    with pytest.raises(ValueError, match="X-Signature or X-Altoviz-Signature"):
        read_config_file(config_file)
