"""The invoice lifecycle as an integration drives it: draft → finalize → pay → PDF → send, and cancel."""

import io

import pytest
from pypdf import PdfReader

# Customer 2 of the seeded data: a French business (customer 1 is Belgian, billed with reverse charge).
CUSTOMER = 2
DRAFT = {
    "customerId": CUSTOMER,
    "subject": "Refonte du site vitrine",
    "lines": [
        {"type": "Service", "description": "Maquettes graphiques", "quantity": 3, "taxExcludedPrice": 450, "vat": {"rate": 20}},
        {"type": "Product", "description": "Brochures A5 (250 ex.)", "quantity": 2, "taxExcludedPrice": 89.9, "vat": {"rate": 5.5}},
        {"type": "Text", "description": "Livraison sous 15 jours"},
    ],
}


@pytest.fixture
def frozen(client):
    """The tenant's clock frozen on a known day."""
    assert client.put("/_mock/clock", json={"now": "2026-03-10T10:00:00Z"}).status_code == 200
    return client


def pdf_text(response) -> str:
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages).replace("\u00a0", " ")


def test_a_new_invoice_is_a_numberless_draft_with_computed_amounts(frozen):
    invoice = frozen.post("/v1/SaleInvoices", json=DRAFT)
    assert invoice.status_code == 200, invoice.text
    body = invoice.json()
    assert body["isDraft"] is True and body["number"] is None and body["isPaid"] is False
    # 3 × 450 = 1350 at 20 % → 270; 2 × 89.90 = 179.80 at 5.5 % → 9.889 → 9.89
    assert body["taxExcludedAmount"] == 1529.80
    assert body["taxAmount"] == 279.89
    assert body["taxIncludedAmount"] == 1809.69
    assert body["balance"] == 1809.69
    assert {(v["vat"]["rate"], v["vatAmount"]) for v in body["vats"]} == {(20, 270.0), (5.5, 9.89)}
    assert body["customerName"] and body["billingAddress"]["city"]
    assert body["pdfUrl"] == f"/v1/saleinvoices/download/{body['id']}"


def test_drafts_can_be_updated_and_deleted_but_finalized_invoices_cannot(frozen):
    draft = frozen.post("/v1/SaleInvoices", json=DRAFT).json()
    updated = frozen.put(f"/v1/SaleInvoices/{draft['id']}", json={**draft, "subject": "Refonte v2"}).json()
    assert updated["subject"] == "Refonte v2" and updated["taxIncludedAmount"] == draft["taxIncludedAmount"]
    assert [line["description"] for line in updated["lines"]] == [line["description"] for line in draft["lines"]]
    finalized = frozen.post(f"/v1/SaleInvoices/Finalize/{draft['id']}").json()
    for response in (frozen.put(f"/v1/SaleInvoices/{draft['id']}", json={"subject": "x"}),
                     frozen.delete(f"/v1/SaleInvoices/{draft['id']}")):
        assert response.status_code == 400
        assert finalized["number"] in response.json()["message"]
    other = frozen.post("/v1/SaleInvoices", json=DRAFT).json()
    assert frozen.delete(f"/v1/SaleInvoices/{other['id']}").status_code == 200
    assert frozen.get(f"/v1/SaleInvoices/{other['id']}").status_code == 404


def test_a_put_without_lines_empties_the_draft_as_live(frozen):
    draft = frozen.post("/v1/SaleInvoices", json=DRAFT).json()
    response = frozen.put(f"/v1/SaleInvoices/{draft['id']}", json={"customerId": CUSTOMER, "subject": "Refonte v2"})
    assert response.status_code == 200, response.text
    emptied = response.json()
    assert emptied["lines"] == [] and emptied["taxIncludedAmount"] == 0
    assert emptied["customerName"] == draft["customerName"]  # blank: taken from the customer again
    assert "lines" in response.headers["X-Mock-Warning"].partition("defaults: ")[2].split(", ")


def test_finalize_numbers_gaplessly_dates_and_schedules_payment(frozen):
    first = frozen.post("/v1/SaleInvoices", json=DRAFT).json()
    deleted = frozen.post("/v1/SaleInvoices", json=DRAFT).json()
    second = frozen.post("/v1/SaleInvoices", json=DRAFT).json()
    frozen.delete(f"/v1/SaleInvoices/{deleted['id']}")
    a = frozen.post(f"/v1/SaleInvoices/Finalize/{second['id']}").json()
    b = frozen.post(f"/v1/SaleInvoices/Finalize/{first['id']}").json()
    assert (a["number"], b["number"]) == ("FA2026-00001", "FA2026-00002")
    assert a["isDraft"] is False and a["date"] == "2026-03-10"
    # Business customer: the B2B term of the settings, 30 days net.
    assert [(c["date"], c["amount"], c["dueAmount"]) for c in a["commitments"]] == [("2026-04-09", 1809.69, 1809.69)]
    again = frozen.post(f"/v1/SaleInvoices/Finalize/{second['id']}")
    assert again.status_code == 400 and "déjà finalisée" in again.json()["message"]


def test_an_invoice_without_lines_is_refused_and_one_without_a_priced_line_is_not_finalized(frozen):
    refused = frozen.post("/v1/SaleInvoices", json={"customerId": CUSTOMER})
    assert refused.status_code == 400  # as live
    assert refused.json() == {"errors": None, "message": "Une facture doit avoir au moins une ligne."}
    draft = frozen.post("/v1/SaleInvoices", json={"customerId": CUSTOMER, "lines": [
        {"type": "Text", "description": "Conditions particulières"}]}).json()
    response = frozen.post(f"/v1/SaleInvoices/Finalize/{draft['id']}")
    assert response.status_code == 400 and "ligne valorisée" in response.json()["message"]


def test_partial_then_full_payment(frozen):
    invoice = frozen.post("/v1/SaleInvoices", json=DRAFT).json()
    frozen.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}")
    partial = frozen.post("/v1/SaleInvoices/MarkAsPaid", json={"invoiceId": invoice["id"], "amount": 1000, "paymentMethod": "Transfer"})
    assert partial.status_code == 200, partial.text
    assert partial.json()["balance"] == 809.69 and partial.json()["isPaid"] is False
    over = frozen.post("/v1/SaleInvoices/MarkAsPaid", json={"invoiceId": invoice["id"], "amount": 900})
    assert over.status_code == 400 and "Trop-perçu" in over.json()["message"]
    rest = frozen.post("/v1/SaleInvoices/MarkAsPaid", json={"invoiceId": invoice["id"]}).json()
    assert rest["balance"] == 0 and rest["isPaid"] is True
    assert frozen.post("/v1/SaleInvoices/MarkAsPaid", json={"invoiceId": invoice["id"]}).status_code == 400
    assert [i["id"] for i in frozen.get("/v1/SaleInvoices", params={"Status": "Paid"}).json()] == [invoice["id"]]


def test_paying_a_draft_needs_finalize_invoice(frozen):
    draft = frozen.post("/v1/SaleInvoices", json=DRAFT).json()
    refused = frozen.post("/v1/SaleInvoices/MarkAsPaid", json={"invoiceId": draft["id"]})
    assert refused.status_code == 400 and "finalizeInvoice" in refused.json()["message"]
    paid = frozen.post("/v1/SaleInvoices/MarkAsPaid", json={"invoiceId": draft["id"], "finalizeInvoice": True}).json()
    assert paid["isPaid"] and paid["number"] == "FA2026-00001"
    assert frozen.post("/v1/SaleInvoices/MarkAsPaid", json={"invoiceId": 99999}).status_code == 404


def test_expired_follows_the_sandbox_clock(frozen):
    invoice = frozen.post("/v1/SaleInvoices", json=DRAFT).json()
    frozen.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}")
    assert [i["id"] for i in frozen.get("/v1/SaleInvoices", params={"Status": "Incoming"}).json()] == [invoice["id"]]
    assert frozen.get("/v1/SaleInvoices", params={"Status": "Expired"}).json() == []
    assert frozen.post("/_mock/clock/advance", json={"days": 31}).json()["now"].startswith("2026-04-10")
    expired = frozen.get("/v1/SaleInvoices", params={"Status": "Expired"}).json()
    assert [i["id"] for i in expired] == [invoice["id"]] and expired[0]["overdue"] == 1809.69
    assert frozen.get("/v1/SaleInvoices", params={"Status": "Draft"}).json() == []


def test_list_filters_by_customer_and_dates(frozen):
    mine = frozen.post("/v1/SaleInvoices", json=DRAFT).json()
    frozen.post("/v1/SaleInvoices", json={**DRAFT, "customerId": 3, "date": "2026-01-15"})
    assert [i["id"] for i in frozen.get("/v1/SaleInvoices", params={"CustomerId": CUSTOMER}).json()] == [mine["id"]]
    dated = frozen.get("/v1/SaleInvoices", params={"From": "2026-01-01", "To": "2026-01-31"}).json()
    assert [i["customerId"] for i in dated] == [3]
    assert frozen.get("/v1/SaleInvoices/Find", params={"internalId": "nope"}).json() == []


def test_pdf_carries_number_customer_and_total(frozen):
    invoice = frozen.post("/v1/SaleInvoices", json=DRAFT).json()
    draft_text = pdf_text(frozen.get(f"/v1/SaleInvoices/Download/{invoice['id']}"))
    assert "BROUILLON" in draft_text
    finalized = frozen.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}").json()
    text = pdf_text(frozen.get(finalized["pdfUrl"]))
    assert finalized["number"] in text
    assert finalized["customerName"] in text
    assert "1 809,69" in text
    assert frozen.get("/v1/SaleInvoices/Download/99999").status_code == 404


def test_send_records_the_mail_in_the_outbox(frozen):
    invoice = frozen.post("/v1/SaleInvoices", json=DRAFT).json()
    assert frozen.post(f"/v1/SaleInvoices/Send/{invoice['id']}", json=["compta@client.fr"]).status_code == 400
    finalized = frozen.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}").json()
    sent = frozen.post(f"/v1/SaleInvoices/Send/{invoice['id']}", json=["compta@client.fr", "dg@client.fr"])
    assert sent.status_code == 200
    assert frozen.get(f"/v1/SaleInvoices/{invoice['id']}").json()["sentAt"].startswith("2026-03-10T10:00:00")
    mails = frozen.get("/_mock/outbox").json()
    assert [(m["to"], m["attachment"]) for m in mails] == [(["compta@client.fr", "dg@client.fr"], f"{finalized['number']}.pdf")]
    assert finalized["number"] in mails[0]["subject"]
    assert frozen.post(f"/v1/SaleInvoices/Send/{invoice['id']}", json=["not-an-address"]).status_code == 400


def test_a_credit_cancels_a_finalized_invoice(frozen):
    invoice = frozen.post("/v1/SaleInvoices", json=DRAFT).json()
    invoice = frozen.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}").json()
    credit = frozen.post("/v1/SaleCredits", json={"cancelledInvoicetId": invoice["id"]}).json()
    assert credit["isDraft"] and credit["taxIncludedAmount"] == invoice["taxIncludedAmount"]
    assert credit["cancelledInvoicetNumber"] == invoice["number"]
    credit = frozen.post(f"/v1/SaleCredits/Finalize/{credit['id']}").json()
    assert credit["number"] == "AV2026-00001"
    cancelled = frozen.get(f"/v1/SaleInvoices/{invoice['id']}").json()
    assert cancelled["isCancelled"] and cancelled["cancellationCreditNumber"] == "AV2026-00001"
    assert frozen.get("/v1/SaleInvoices").json() == []
    assert [i["id"] for i in frozen.get("/v1/SaleInvoices", params={"IncludeCancelled": True}).json()] == [invoice["id"]]
    assert frozen.post("/v1/SaleInvoices/MarkAsPaid", json={"invoiceId": invoice["id"]}).status_code == 400
    assert "AV2026-00001" in pdf_text(frozen.get(f"/v1/SaleCredits/Download/{credit['id']}"))


def test_quotes_are_numbered_at_once_with_a_validity_date(frozen):
    quote = frozen.post("/v1/SaleQuotes", json={**DRAFT, "deposit": {"type": "Percent", "value": 30}})
    assert quote.status_code == 200, quote.text
    body = quote.json()
    assert body["number"] == "DE2026-00001" and body["status"] == "Pending"
    assert body["date"] == "2026-03-10" and body["validityDate"] == "2026-04-09"
    assert "DE2026-00001" in pdf_text(frozen.get(f"/v1/SaleQuotes/Download/{body['id']}"))
    assert [q["id"] for q in frozen.get("/v1/SaleQuotes", params={"Status.Status.Status": "Pending"}).json()] == [body["id"]]
    assert frozen.get("/v1/SaleQuotes", params={"Status.Status.Status": "Accepted"}).json() == []
    deleted = frozen.delete(f"/v1/SaleQuotes/{body['id']}")
    assert deleted.status_code == 200 and deleted.json()["number"] == "DE2026-00001"


def test_product_lines_take_the_product_price_unit_and_vat(frozen):
    product = frozen.get("/v1/Products/1").json()
    invoice = frozen.post("/v1/SaleInvoices", json={"customerId": CUSTOMER, "lines": [{"productId": 1, "quantity": 2}]}).json()
    line = invoice["lines"][0]
    assert line["description"] == product["name"]
    assert line["taxExcludedPrice"] == product["unitPrice"]
    assert line["vat"]["rate"] == product["vat"]["rate"]
    assert invoice["taxExcludedAmount"] == round(2 * product["unitPrice"], 2)
    assert frozen.post("/v1/SaleInvoices", json={"customerId": CUSTOMER, "lines": [{"productId": 9999}]}).status_code == 400
    assert frozen.post("/v1/SaleInvoices", json={"customerId": 9999}).status_code == 400


def test_a_customer_with_finalized_invoices_cannot_be_deleted(frozen):
    invoice = frozen.post("/v1/SaleInvoices", json=DRAFT).json()
    frozen.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}")
    refused = frozen.delete(f"/v1/Customers/{CUSTOMER}")
    assert refused.status_code == 400 and "active" in refused.json()["message"]


def test_reverse_charge_customers_are_billed_without_vat(frozen):
    invoice = frozen.post("/v1/SaleInvoices", json={**DRAFT, "customerId": 1}).json()
    assert invoice["vatReverseCharge"] is True
    assert invoice["taxAmount"] == 0 and invoice["taxIncludedAmount"] == invoice["taxExcludedAmount"] == 1529.80


def test_invoices_credits_and_quotes_are_found_by_number_and_find_needs_a_criterion(frozen):
    invoice = frozen.post("/v1/SaleInvoices", json={**DRAFT, "internalId": "ERP-F-1"}).json()
    invoice = frozen.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}").json()
    credit = frozen.post("/v1/SaleCredits", json={"cancelledInvoicetId": invoice["id"]}).json()
    credit = frozen.post(f"/v1/SaleCredits/Finalize/{credit['id']}").json()
    quote = frozen.post("/v1/SaleQuotes", json=DRAFT).json()
    for kind, doc in (("SaleInvoices", invoice), ("SaleCredits", credit), ("SaleQuotes", quote)):
        found = frozen.get(f"/v1/{kind}/Find", params={"number": doc["number"].lower()})
        assert found.status_code == 200, found.text
        assert [d["id"] for d in found.json()] == [doc["id"]], kind
        assert frozen.get(f"/v1/{kind}/Find", params={"number": "XX2026-99999"}).json() == []
        refused = frozen.get(f"/v1/{kind}/Find")
        assert refused.status_code == 400 and "Number or internal ID have to be defined" in refused.text, kind
    both = frozen.get("/v1/SaleInvoices/Find", params={"number": invoice["number"], "internalId": "erp-f-1"})
    assert [d["id"] for d in both.json()] == [invoice["id"]]
