"""The operations the published spec has beyond the documentation page: colleagues, customer
families, receipts settling invoices, bank providers, credit refunds and quote sending."""

import pytest

CUSTOMER = 2  # a French business of the seeded data
LINES = [{"type": "Service", "description": "Audit", "quantity": 1, "taxExcludedPrice": 1000, "vat": {"rate": 20}}]


@pytest.fixture
def frozen(client):
    assert client.put("/_mock/clock", json={"now": "2026-03-10T10:00:00Z"}).status_code == 200
    return client


def finalized(client, kind: str) -> dict:
    draft = client.post(f"/v1/{kind}", json={"customerId": CUSTOMER, "lines": LINES})
    assert draft.status_code == 200, draft.text
    done = client.post(f"/v1/{kind}/Finalize/{draft.json()['id']}")
    assert done.status_code == 200, done.text
    assert done.json()["taxIncludedAmount"] == 1200
    return done.json()


# --- colleagues ---------------------------------------------------------------------------------
def test_colleagues_crud_and_find(client):
    created = client.post("/v1/Colleagues", json={"firstName": "Inès", "lastName": "Garnier", "email": "ines@atelier.fr",
                                                  "internalId": "HR-7", "isPartner": True})
    assert created.status_code == 200, created.text
    colleague = created.json()
    assert colleague["name"] == "Inès Garnier" and colleague["number"].startswith("COL")
    assert colleague["isPartner"] is True and colleague["initialPartnerBalance"] == 0
    id_ = colleague["id"]
    assert client.get(f"/v1/Colleagues/{id_}").json() == colleague
    assert client.get("/v1/Colleagues/GetByInternalId/hr-7").json()["id"] == id_
    assert [c["id"] for c in client.get("/v1/Colleagues/Find", params={"email": "INES@atelier.fr"}).json()] == [id_]
    assert client.get("/v1/Colleagues/Find", params={"number": colleague["number"]}).json()[0]["id"] == id_
    refused = client.get("/v1/Colleagues/Find")
    assert refused.status_code == 400 and "Email or internal ID or number have to be defined" in refused.text
    assert [c["id"] for c in client.get("/v1/Colleagues", params={"query": "garnier"}).json()] == [id_]
    updated = client.put(f"/v1/Colleagues/{id_}", json={**colleague, "phone": "+33 1 23 45 67 89", "lastName": "Moreau"}).json()
    assert updated["phone"] == "+33 1 23 45 67 89" and updated["name"] == "Inès Moreau"
    assert updated["number"] == colleague["number"] and updated["email"] == "ines@atelier.fr"
    assert client.delete(f"/v1/Colleagues/{id_}").status_code == 200
    assert client.get(f"/v1/Colleagues/{id_}").status_code == 404
    assert client.get("/v1/Colleagues/GetByInternalId/HR-7").status_code == 404


# --- customer families --------------------------------------------------------------------------
def test_customer_families_crud_and_find(client):
    family = client.post("/v1/CustomerFamilies", json={"number": "GROS", "label": "Grands comptes", "internalId": "F1"})
    assert family.status_code == 200, family.text
    id_ = family.json()["id"]
    assert client.get(f"/v1/CustomerFamilies/{id_}").json() == {"id": id_, "number": "GROS", "label": "Grands comptes",
                                                                "internalId": "F1"}
    assert [f["id"] for f in client.get("/v1/CustomerFamilies/Find", params={"number": "gros"}).json()] == [id_]
    assert [f["id"] for f in client.get("/v1/CustomerFamilies/Find", params={"internalId": "F1"}).json()] == [id_]
    assert [f["id"] for f in client.get("/v1/CustomerFamilies", params={"query": "comptes"}).json()] == [id_]
    assert client.delete(f"/v1/CustomerFamilies/{id_}").status_code == 200
    assert client.get(f"/v1/CustomerFamilies/{id_}").status_code == 404


def test_customers_reference_their_family_and_lose_it_when_it_is_deleted(client):
    family = client.post("/v1/CustomerFamilies", json={"number": "PME", "label": "PME"}).json()
    by_number = client.post("/v1/Customers", json={"companyName": "Boulangerie Dupain", "family": {"number": "pme"},
                                                   "billingOptions": {"useTaxIncludedPrices": True, "colleagueId": 1}})
    assert by_number.status_code == 200, by_number.text
    customer = by_number.json()
    assert customer["family"] == family and customer["active"] is True
    assert {k: v for k, v in customer["billingOptions"].items() if v is not None} == {"useTaxIncludedPrices": True,
                                                                                   "colleagueId": 1}
    assert client.get(f"/v1/Customers/{customer['id']}").json()["family"] == family
    # Kept by a read-modify-write, replaced or removed when the body changes it, and removed when a
    # (partial) PUT omits it: PUT replaces, as live.
    customer = client.put(f"/v1/Customers/{customer['id']}", json={**customer, "active": False}).json()
    assert customer["family"] == family
    other = client.post("/v1/CustomerFamilies", json={"number": "ETI", "label": "ETI"}).json()
    moved = client.put(f"/v1/Customers/{customer['id']}", json={**customer, "family": {"id": other["id"]}}).json()
    assert moved["family"] == other and moved["active"] is False
    assert client.put(f"/v1/Customers/{customer['id']}", json={**customer, "family": None}).json().get("family") is None
    assert client.put(f"/v1/Customers/{customer['id']}", json=moved).json()["family"] == other
    assert client.put(f"/v1/Customers/{customer['id']}", json={"companyName": "Boulangerie Dupain"}).json().get("family") is None
    # Unknown families are refused.
    for unknown in ({"id": 999}, {"number": "NOPE"}):
        refused = client.post("/v1/Customers", json={"companyName": "X", "family": unknown})
        assert refused.status_code == 400 and "famille" in refused.text
    # A family in use is not deleted (409, in French as live), and nothing is cascaded.
    client.put(f"/v1/Customers/{customer['id']}", json={"family": {"id": other["id"]}})
    refused = client.delete(f"/v1/CustomerFamilies/{other['id']}")
    assert refused.status_code == 409 and "ne peut pas être supprimée car elle a été utilisée" in refused.text
    assert client.get(f"/v1/Customers/{customer['id']}").json()["family"] == other


def test_contact_function_and_service_are_stored(client):
    contact = client.post("/v1/Contacts", json={"firstName": "Léa", "lastName": "Roux", "function": "DAF",
                                                "service": "Comptabilité"}).json()
    assert client.get(f"/v1/Contacts/{contact['id']}").json()["function"] == "DAF"
    assert contact["service"] == "Comptabilité"


# --- receipts -----------------------------------------------------------------------------------
def test_receipts_lower_invoice_balances_mark_them_paid_and_give_them_back(frozen):
    first, second = finalized(frozen, "SaleInvoices"), finalized(frozen, "SaleInvoices")
    created = frozen.post("/v1/Receipts", json={
        "amount": 1500, "paymentMethod": "Transfer", "reference": "VIR-2026-031", "internalId": "R1",
        "links": [{"type": "Invoice", "id": first["id"]}, {"type": "Invoice", "id": second["id"], "amount": 300}]})
    assert created.status_code == 200, created.text
    receipt = created.json()
    assert receipt["links"] == [{"type": "Invoice", "id": first["id"], "amount": 1200},
                                {"type": "Invoice", "id": second["id"], "amount": 300}]
    assert receipt["customerId"] == CUSTOMER and receipt["customerName"] and receipt["date"] == "2026-03-10"
    assert receipt["status"] == "Success"
    paid = frozen.get(f"/v1/SaleInvoices/{first['id']}").json()
    assert paid["isPaid"] is True and paid["balance"] == 0
    partly = frozen.get(f"/v1/SaleInvoices/{second['id']}").json()
    assert partly["isPaid"] is False and partly["balance"] == 900
    assert frozen.get(f"/v1/Receipts/{receipt['id']}").json() == receipt
    assert [r["id"] for r in frozen.get("/v1/Receipts/Find", params={"internalId": "r1"}).json()] == [receipt["id"]]
    assert [r["id"] for r in frozen.get("/v1/Receipts", params={"query": "VIR-2026"}).json()] == [receipt["id"]]

    # Updating re-applies the links: the first invoice is no longer settled, the second is, fully.
    updated = frozen.put(f"/v1/Receipts/{receipt['id']}", json={"links": [{"type": "Invoice", "id": second["id"]}]})
    assert updated.status_code == 200, updated.text
    assert updated.json()["links"] == [{"type": "Invoice", "id": second["id"], "amount": 1200}]
    assert frozen.get(f"/v1/SaleInvoices/{first['id']}").json()["balance"] == 1200
    assert frozen.get(f"/v1/SaleInvoices/{second['id']}").json()["isPaid"] is True

    # Deleting the receipt gives the balance back.
    assert frozen.delete(f"/v1/Receipts/{receipt['id']}").status_code == 200
    restored = frozen.get(f"/v1/SaleInvoices/{second['id']}").json()
    assert restored["isPaid"] is False and restored["balance"] == 1200
    assert frozen.get(f"/v1/Receipts/{receipt['id']}").status_code == 404


def test_receipts_and_mark_as_paid_share_one_payment_rule(frozen):
    invoice = finalized(frozen, "SaleInvoices")
    assert frozen.post("/v1/SaleInvoices/MarkAsPaid", json={"invoiceId": invoice["id"], "amount": 1000}).status_code == 200
    over = frozen.post("/v1/Receipts", json={"links": [{"type": "Invoice", "id": invoice["id"], "amount": 500}]})
    assert over.status_code == 400 and "Trop-perçu" in over.text
    rest = frozen.post("/v1/Receipts", json={"links": [{"type": "Invoice", "id": invoice["id"]}]}).json()
    assert rest["amount"] == 200 and rest["links"][0]["amount"] == 200
    assert frozen.get(f"/v1/SaleInvoices/{invoice['id']}").json()["isPaid"] is True
    # Deleting the receipt removes its payment only; the MarkAsPaid payment stays.
    frozen.delete(f"/v1/Receipts/{rest['id']}")
    assert frozen.get(f"/v1/SaleInvoices/{invoice['id']}").json()["balance"] == 200


@pytest.mark.parametrize("body, word", [
    ({"links": [{"type": "Invoice", "id": 9999}]}, "n'existe pas"),
    ({"amount": 100, "links": [{"type": "Invoice", "id": "INVOICE"}]}, "plus que le montant du règlement"),
    ({"links": [{"type": "Commitment", "id": 1}]}, "Commitment"),
    ({"customerId": 9999, "amount": 10}, "n'existe pas"),
    ({"amount": -5}, "négatif"),
])
def test_receipts_refuse_what_cannot_be_settled(frozen, body, word):
    invoice = finalized(frozen, "SaleInvoices")
    for link in body.get("links", []):
        if link["id"] == "INVOICE":
            link["id"] = invoice["id"]
    refused = frozen.post("/v1/Receipts", json=body)
    assert refused.status_code == 400 and word in refused.text, refused.text
    assert frozen.get(f"/v1/SaleInvoices/{invoice['id']}").json()["balance"] == 1200


def test_a_receipt_cannot_settle_a_draft(frozen):
    draft = frozen.post("/v1/SaleInvoices", json={"customerId": CUSTOMER, "lines": LINES}).json()
    refused = frozen.post("/v1/Receipts", json={"links": [{"type": "Invoice", "id": draft["id"]}]})
    assert refused.status_code == 400 and "brouillon" in refused.json()["message"]
    assert frozen.get("/v1/Receipts").json() == []


# --- credits refunded ---------------------------------------------------------------------------
def test_mark_as_refunded_partial_then_full_and_never_more(frozen):
    credit = finalized(frozen, "SaleCredits")
    partial = frozen.post("/v1/SaleCredits/MarkAsRefunded", json={"creditId": credit["id"], "amount": 200,
                                                                   "paymentMethod": "Transfer", "refundReference": "RB-1"})
    assert partial.status_code == 200, partial.text
    assert partial.json()["balance"] == 1000 and partial.json()["isPaid"] is False
    over = frozen.post("/v1/SaleCredits/MarkAsRefunded", json={"creditId": credit["id"], "amount": 1000.01})
    assert over.status_code == 400 and "Remboursement excessif" in over.json()["message"]
    full = frozen.post("/v1/SaleCredits/MarkAsRefunded", json={"creditId": credit["id"]})
    assert full.status_code == 200 and full.json()["balance"] == 0 and full.json()["isPaid"] is True
    again = frozen.post("/v1/SaleCredits/MarkAsRefunded", json={"creditId": credit["id"], "amount": 1})
    assert again.status_code == 400 and "déjà remboursé" in again.json()["message"]


def test_mark_as_refunded_refuses_a_draft_unless_asked_to_finalize_it(frozen):
    draft = frozen.post("/v1/SaleCredits", json={"customerId": CUSTOMER, "lines": LINES}).json()
    refused = frozen.post("/v1/SaleCredits/MarkAsRefunded", json={"creditId": draft["id"]})
    assert refused.status_code == 400 and "brouillon" in refused.json()["message"]
    assert frozen.get(f"/v1/SaleCredits/{draft['id']}").json()["isDraft"] is True
    done = frozen.post("/v1/SaleCredits/MarkAsRefunded", json={"creditId": draft["id"], "finalizeCredit": True}).json()
    assert done["isDraft"] is False and done["number"].startswith("AV2026-") and done["isPaid"] is True
    assert frozen.post("/v1/SaleCredits/MarkAsRefunded", json={"creditId": 9999}).status_code == 404


def test_a_receipt_can_refund_a_credit(frozen):
    credit = finalized(frozen, "SaleCredits")
    frozen.post("/v1/Receipts", json={"links": [{"type": "Credit", "id": credit["id"], "amount": 200}]})
    assert frozen.get(f"/v1/SaleCredits/{credit['id']}").json()["balance"] == 1000


# --- quotes sent --------------------------------------------------------------------------------
def test_sending_a_quote_records_it_in_the_outbox_and_marks_it_sent(frozen):
    quote = frozen.post("/v1/SaleQuotes", json={"customerId": CUSTOMER, "lines": LINES}).json()
    assert quote["status"] == "Pending"
    sent = frozen.post(f"/v1/SaleQuotes/Send/{quote['id']}", json=["achats@client.fr"])
    assert sent.status_code == 200, sent.text
    stored = frozen.get(f"/v1/SaleQuotes/{quote['id']}").json()
    assert stored["status"] == "Sent" and stored["sentAt"].startswith("2026-03-10")
    mail = frozen.get("/_mock/outbox").json()[-1]
    assert mail["to"] == ["achats@client.fr"] and mail["number"] == quote["number"]
    assert mail["documentKind"] == "SaleQuotes" and quote["number"] in mail["subject"]
    assert frozen.post("/v1/SaleQuotes/Send/9999", json=[]).status_code == 404
    bad = frozen.post(f"/v1/SaleQuotes/Send/{quote['id']}", json=["not-an-email"])
    assert bad.status_code == 400


# --- bank providers -----------------------------------------------------------------------------
def test_bank_providers_are_searchable(client):
    everything = client.get("/v1/BankAccounts/Providers").json()
    names = {p["name"] for p in everything}
    assert {"BNP Paribas", "Société Générale", "Crédit Agricole", "LCL", "Qonto", "Shine", "N26", "Revolut"} <= names
    assert all(p["id"] and p["countryCodes"] and p["logoUri"].startswith("https://") for p in everything)
    assert [p["name"] for p in client.get("/v1/BankAccounts/Providers", params={"query": "societe"}).json()] \
        == ["Société Générale"]
    credit = {p["name"] for p in client.get("/v1/BankAccounts/Providers", params={"query": "CRÉDIT"}).json()}
    assert {"Crédit Agricole", "Crédit Mutuel", "Crédit du Nord"} <= credit and "LCL" not in credit
    assert client.get("/v1/BankAccounts/Providers", params={"query": "zzz"}).json() == []
