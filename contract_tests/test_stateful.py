"""Stateful contract tests: the contract's OpenAPI links, followed by Schemathesis and by hand.

- `test_state_machine_follows_the_contract_links`: Schemathesis builds a state machine from the
  links of `openapi.yaml` (no inferred ones) and runs bounded scenarios against the in-process
  sandbox, every check on, with the mock mode's fixed seed: zero failures. Each scenario opens
  with a customer and a priced draft invoice created through the links (random bodies rarely
  make a valid invoice), so the invoice links (update, finalize, pay, send, download, cancel by
  credit) have something to work on.
- The other tests walk the documented flows link by link (customer → draft invoice → update →
  finalize → pay → download, cancelling by credit, quotes, catalog, contacts and suppliers), so
  the suite does not depend on which chains the state machine happens to draw. Each step
  evaluates the link's own runtime expressions on the previous response, calls the target
  operation in-process and validates the answer against the contract with every check.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from typing import Any

import hypothesis
import pytest
from hypothesis.stateful import Bundle, initialize, multiple
from pypdf import PdfReader
from schemathesis.core import NOT_SET
from schemathesis.core.result import Ok
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput, Transition
from schemathesis.specs.openapi.checks import ensure_resource_availability
from schemathesis.specs.openapi.stateful.links import OpenApiLink

from mock_server.config import DEFAULT_API_KEY

from .mock_mode import implemented_operation_ids, mock_schema

# Scenarios per run and steps per scenario (the initial customer and invoice not counted).
SCENARIOS = 100
STEPS_PER_SCENARIO = 20
AUTH = {"X-API-KEY": DEFAULT_API_KEY}

CUSTOMER = {"type": "Business", "companyName": "Boulangerie Martin SARL", "firstName": "Claire",
            "lastName": "Martin", "email": "claire@boulangerie-martin.fr",
            "billingAddress": {"street": "12 rue de la République", "zipcode": "69002", "city": "Lyon",
                               "countryIso": "FR"}}
LINES = [  # the README's example: HT 1 529.80, VAT 279.89, TTC 1 809.69
    {"type": "Service", "description": "Maquettes graphiques", "quantity": 3, "taxExcludedPrice": 450,
     "vat": {"rate": 20}},
    {"type": "Product", "description": "Brochures A5", "quantity": 2, "taxExcludedPrice": 89.90,
     "vat": {"rate": 5.5}},
]
DRAFT_INVOICE = {"subject": "Refonte du site vitrine", "lines": LINES}


@pytest.fixture(scope="module")
def stateful_schema(tmp_path_factory):
    schema, app = mock_schema(tmp_path_factory.mktemp("stateful-data"), max_examples=SCENARIOS,
                              max_steps=STEPS_PER_SCENARIO)
    yield schema.include(operation_id=implemented_operation_ids())
    app.app.extensions["altoviz_mock"].close()


# ------------------------------------------------------------------------------- following links
def contract_link(output: StepOutput, name: str) -> OpenApiLink:
    """The link `name` of the contract on the response in `output` (its status' response object)."""
    operation = output.case.operation
    status = str(output.response.status_code)
    response = operation.responses.get(status)
    assert response is not None, f"{operation.label} documents no {status} response"
    links = dict(response.iter_links())
    assert name in links, f"{operation.label} {status} has no link {name} (it has {sorted(links)})"
    return OpenApiLink(name, status, links[name], operation)


def linked_case(output: StepOutput, name: str, *, body: Any = NOT_SET, query: dict | None = None):
    """The request the link `name` describes after `output`: its expressions evaluated on the
    response, `body` (the client's own fields) under the link's body fields."""
    link = contract_link(output, name)
    transition = link.extract(output)
    values: dict[str, dict[str, Any]] = {}
    for container, parameters in transition.parameters.items():
        for parameter, extracted in parameters.items():
            assert isinstance(extracted.value, Ok), (name, parameter, extracted.value)
            values.setdefault(container, {})[parameter] = extracted.value.ok()
    if transition.request_body is not None:
        assert isinstance(transition.request_body.value, Ok), (name, transition.request_body.value)
        linked = transition.request_body.value.ok()
        body = {**(body if isinstance(body, dict) else {}), **linked}
    case = link.target.Case(
        path_parameters=values.get("path_parameters"), query={**values.get("query", {}), **(query or {})} or None,
        headers=dict(AUTH), body=body)
    return case, transition


def call(case) -> StepOutput:
    """Call in-process and validate the answer against the contract, every check on."""
    return StepOutput(case.call_and_validate(), case)


def create(schema, operation_id: str, body: Any) -> StepOutput:
    return call(schema.find_operation_by_id(operation_id).Case(headers=dict(AUTH), body=body))


def follow(output: StepOutput, name: str, *, body: Any = NOT_SET, query: dict | None = None,
           status: int = 200) -> StepOutput:
    """Follow the link `name` from `output`; the answer must have `status`."""
    case, _ = linked_case(output, name, body=body, query=query)
    result = call(case)
    assert result.response.status_code == status, (name, result.response.status_code, result.response.text)
    return result


def pdf_text(output: StepOutput) -> str:
    assert output.response.headers["content-type"][0].startswith("application/pdf")
    assert output.response.content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(output.response.content)).pages)


# ------------------------------------------------------------------------------- state machine
# The vendor's paths put the action before the id (`/v1/SaleInvoices/Download/{id}`) or the id in
# the body (`MarkAsPaid`'s `invoiceId`), which Schemathesis' `ensure_resource_availability` does not
# read: it takes the 404 of a document deleted by `DELETE /v1/SaleInvoices/{id}`, or of a payment
# whose generated `invoiceId` is not the linked one, for "created resource not found". This is
# that check, told which document such an operation addresses.
ACTION_PATH = re.compile(r"(/v1/Sale\w+)/(?:Download|Finalize|Send)/\{id\}")
MARK_AS_PAID = "/v1/SaleInvoices/MarkAsPaid"


def addressed_document(case) -> str | None:
    """The URL of the sale document an action operation acts on, e.g. `/v1/SaleInvoices/7`."""
    match = ACTION_PATH.fullmatch(case.operation.path)
    if match and case.path_parameters and "id" in case.path_parameters:
        return f"{match[1]}/{case.path_parameters['id']}"
    if case.operation.path == MARK_AS_PAID and isinstance(case.body, dict):
        return f"/v1/SaleInvoices/{case.body.get('invoiceId')}"
    return None


def deleted_earlier(recorder, case, url: str) -> bool:
    for prior in recorder.find_all_cases():
        if prior.id == case.id or prior.operation.method.upper() != "DELETE" or prior.formatted_path != url:
            continue
        response = recorder.find_response(case_id=prior.id)
        if response is not None and 200 <= response.status_code < 300:
            return True
    return False


def pays_the_linked_invoice(ctx, case) -> bool:
    parent = ctx.internals.find_parent(case_id=case.id)
    response = ctx.internals.find_response(case_id=parent.id) if parent is not None else None
    try:
        return response is not None and response.json().get("id") == case.body.get("invoiceId")
    except (ValueError, AttributeError):
        return False


def ensure_resource_availability_of_actions(ctx, response, case):
    url = addressed_document(case)
    if url is not None and response.status_code == 404:
        recorder = ctx.internals.recorder
        if recorder is not None and deleted_earlier(recorder, case, url):
            return None
        if case.operation.path == MARK_AS_PAID and not pays_the_linked_invoice(ctx, case):
            return None
    return ensure_resource_availability(ctx, response, case)


def test_state_machine_follows_the_contract_links(stateful_schema):
    config = stateful_schema.config
    followed: Counter[str] = Counter()

    sandbox = stateful_schema.app.test_client(headers=AUTH)  # for /_mock/reset

    class Workflow(stateful_schema.as_state_machine()):
        def setup(self):
            # Every scenario starts from the seeded tenant: the same draws make the same calls and
            # get the same answers, as Hypothesis expects when it replays a scenario.
            assert sandbox.post("/_mock/reset").status_code == 200

        def _root(self, case) -> StepOutput:
            step = StepInput.initial(case)
            self.recorder.record_case(case=case)
            self.control.record_step(step, self.recorder)
            return self._step(step)

        def _follow(self, output: StepOutput, name: str, body: Any) -> StepOutput:
            case, transition = linked_case(output, name, body=body)
            step = StepInput(case=case, transition=transition, applied_parameters=[])
            self.recorder.record_case(parent_id=transition.parent_id, transition=transition, case=case,
                                      is_transition_applied=True)
            self.control.record_step(step, self.recorder)
            return self._step(step)

        @initialize(target=Bundle("catch_all"))
        def a_customer_with_a_draft_invoice(self):
            customer = self._root(stateful_schema.find_operation_by_id("POST_Customers_Post").Case(
                headers=dict(AUTH), body=CUSTOMER))
            invoice = self._follow(customer, "CreateInvoiceForCustomer", DRAFT_INVOICE)
            assert (customer.response.status_code, invoice.response.status_code) == (200, 200)
            return multiple(customer, invoice)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response, additional_checks=[*(additional_checks or []), ensure_resource_availability_of_actions],
                excluded_checks=[ensure_resource_availability], transport_kwargs=kwargs or None,
                recorder=self.recorder)

        def step(self, input: StepInput) -> StepOutput:
            transition: Transition | None = input.transition
            output = super().step(input)
            followed[f"{transition.id if transition else input.case.operation.label} "
                     f"{output.response.status_code}"] += 1
            return output

    # Generation only, as Schemathesis' own state machine default (`DEFAULT_STATE_MACHINE_SETTINGS`):
    # a failure is reported as found, with the request to reproduce it.
    settings = hypothesis.settings(
        config.get_hypothesis_settings(phase="stateful", apply_ci_profile=False),
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    with sandbox:
        hypothesis.seed(config.seed)(Workflow).run(settings=settings)
    # The scenarios went past their first step through the invoice links.
    assert any(" FinalizeInvoice -> " in key and key.endswith(" 200") for key in followed), followed


# ------------------------------------------------------------------------------- flows by hand
def test_customer_draft_invoice_update_finalize_pay_download(stateful_schema):
    customer = create(stateful_schema, "POST_Customers_Post", CUSTOMER)
    assert customer.response.status_code == 200
    customer_id = customer.response.json()["id"]
    assert re.fullmatch(r"C\d{5}", customer.response.json()["number"])

    draft = follow(customer, "CreateInvoiceForCustomer", body={"subject": "Refonte", "lines": LINES[:1]})
    invoice = draft.response.json()
    assert invoice["customerId"] == customer_id and invoice["customerName"] == "Boulangerie Martin SARL"
    assert invoice["isDraft"] is True and invoice["number"] is None
    assert invoice["taxIncludedAmount"] == 1620.0

    updated = follow(draft, "UpdateInvoice", body={**invoice, "subject": "Refonte du site vitrine", "lines": LINES})
    invoice = updated.response.json()
    assert invoice["subject"] == "Refonte du site vitrine" and invoice["isDraft"] is True
    assert (invoice["taxExcludedAmount"], invoice["taxAmount"], invoice["taxIncludedAmount"]) == (1529.8, 279.89, 1809.69)

    finalized = follow(updated, "FinalizeInvoice")
    invoice = finalized.response.json()
    assert invoice["isDraft"] is False and re.fullmatch(r"FA\d{4}-\d{5}", invoice["number"])
    assert invoice["date"] and invoice["commitments"] and invoice["balance"] == 1809.69
    follow(finalized, "UpdateInvoice", body={"subject": "Trop tard"}, status=400)
    follow(finalized, "DeleteInvoice", status=400)
    follow(finalized, "FinalizeInvoice", status=400)

    partly = follow(finalized, "PayInvoice", body={"amount": 1000, "paymentMethod": "Transfer"})
    assert (partly.response.json()["balance"], partly.response.json()["isPaid"]) == (809.69, False)
    paid = follow(partly, "PayInvoice", body={"paymentMethod": "Transfer"})  # the amount defaults to the balance
    assert (paid.response.json()["balance"], paid.response.json()["isPaid"]) == (0, True)
    follow(paid, "PayInvoice", body={"amount": 1}, status=400)  # already paid

    assert follow(paid, "GetInvoice").response.json()["isPaid"] is True
    assert follow(paid, "GetInvoiceCustomer").response.json()["id"] == customer_id
    text = pdf_text(follow(paid, "DownloadInvoice"))
    assert invoice["number"] in text and "Total TTC 1\xa0809,69\xa0€" in text

    follow(paid, "SendInvoice", body=["compta@boulangerie-martin.fr"])
    # A customer with finalized invoices is kept.
    follow(customer, "DeleteCustomer", status=400)


def test_draft_rules_pay_with_finalize_and_delete(stateful_schema):
    customer = create(stateful_schema, "POST_Customers_Post", CUSTOMER)
    draft = follow(customer, "CreateInvoiceForCustomer", body=DRAFT_INVOICE)
    follow(draft, "PayInvoice", body={"amount": 10}, status=400)  # a draft is not paid…
    no_invoice = create(stateful_schema, "POST_SaleInvoices_MarkAsPaid", {"amount": 10})
    assert no_invoice.response.status_code == 400, no_invoice.response.text  # (was a 404 "id None")
    follow(draft, "SendInvoice", body=[], status=400)  # …nor sent
    paid = follow(draft, "PayInvoice", body={"finalizeInvoice": True})  # …unless finalized first
    assert paid.response.json()["isPaid"] is True and paid.response.json()["number"].startswith("FA")

    other = follow(customer, "CreateInvoiceForCustomer", body=DRAFT_INVOICE)
    assert other.response.json()["id"] != draft.response.json()["id"]
    deleted = follow(other, "DeleteInvoice")
    assert deleted.response.json()["id"] == other.response.json()["id"]
    follow(deleted, "GetInvoice", status=404)
    follow(deleted, "FinalizeInvoice", status=404)


def test_cancel_an_invoice_with_a_credit(stateful_schema):
    customer = create(stateful_schema, "POST_Customers_Post", CUSTOMER)
    draft = follow(customer, "CreateInvoiceForCustomer", body=DRAFT_INVOICE)
    follow(draft, "CancelInvoice", status=400)  # a draft is deleted, not cancelled
    finalized = follow(draft, "FinalizeInvoice")
    invoice = finalized.response.json()

    credit_draft = follow(finalized, "CancelInvoice")
    credit = credit_draft.response.json()
    assert credit["isDraft"] is True and credit["number"] is None
    assert (credit["cancelledInvoicetId"], credit["cancelledInvoicetNumber"]) == (invoice["id"], invoice["number"])
    assert credit["customerId"] == customer.response.json()["id"]
    assert credit["taxIncludedAmount"] == invoice["taxIncludedAmount"] == 1809.69
    # Not cancelled until the credit is finalized.
    assert follow(credit_draft, "GetCancelledInvoice").response.json()["isCancelled"] is False

    credit_final = follow(credit_draft, "FinalizeCredit")
    credit = credit_final.response.json()
    assert credit["isDraft"] is False and re.fullmatch(r"AV\d{4}-\d{5}", credit["number"])
    cancelled = follow(credit_final, "GetCancelledInvoice").response.json()
    assert cancelled["isCancelled"] is True
    assert (cancelled["cancellationCreditId"], cancelled["cancellationCreditNumber"]) == (credit["id"], credit["number"])
    follow(finalized, "PayInvoice", body={"amount": 10}, status=400)  # a cancelled invoice is not paid
    follow(finalized, "CancelInvoice", status=400)  # nor cancelled twice
    follow(credit_final, "DeleteCredit", status=400)

    assert credit["number"] in pdf_text(follow(credit_final, "DownloadCredit"))
    follow(credit_final, "SendCredit", body=[])  # to the customer's email
    assert follow(credit_final, "GetCredit").response.json()["sentAt"]


def test_quote_create_get_download_delete(stateful_schema):
    customer = create(stateful_schema, "POST_Customers_Post", CUSTOMER)
    created = follow(customer, "CreateQuoteForCustomer", body={"subject": "Devis refonte", "lines": LINES})
    quote = created.response.json()
    assert re.fullmatch(r"DE\d{4}-\d{5}", quote["number"]) and quote["status"] == "Pending"
    assert quote["customerId"] == customer.response.json()["id"] and quote["taxIncludedAmount"] == 1809.69

    assert follow(created, "GetQuote").response.json()["number"] == quote["number"]
    assert quote["number"] in pdf_text(follow(created, "DownloadQuote"))
    deleted = follow(created, "DeleteQuote")
    assert deleted.response.json()["id"] == quote["id"]
    follow(created, "GetQuote", status=404)
    follow(created, "DownloadQuote", status=404)


def test_product_family_and_product_crud(stateful_schema):
    family = create(stateful_schema, "POST_ProductFamilies_Post", {"number": "FAM-STATEFUL", "label": "Ateliers"})
    assert family.response.status_code == 200
    family_id = family.response.json()["id"]
    assert follow(family, "GetProductFamily").response.json()["label"] == "Ateliers"

    product = create(stateful_schema, "POST_Products_Post", {
        "name": "Atelier de formation", "number": "FOR-ATL-STATEFUL", "type": "Service", "unitPrice": 950,
        "vat": {"rate": 20}, "unit": {"code": "j"}, "family": {"id": family_id}})
    assert product.response.status_code == 200
    product_id = product.response.json()["id"]
    listed = call(stateful_schema.find_operation_by_id("GET_Products_List").Case(
        headers=dict(AUTH), query={"familyId": str(family_id)}))
    assert product_id in [p["id"] for p in listed.response.json()]

    assert follow(product, "GetProduct").response.json()["name"] == "Atelier de formation"
    updated = follow(product, "UpdateProduct", body={**product.response.json(), "unitPrice": 990})
    assert updated.response.json()["unitPrice"] == 990 and updated.response.json()["name"] == "Atelier de formation"
    image = follow(updated, "GetProductImage").response.json()
    assert image["id"] == product_id and image.get("imageUrl") is None

    # As live: a family still used is not deleted (409), nothing is cascaded; once unused it goes.
    follow(family, "DeleteProductFamily", status=409)
    assert follow(product, "GetProduct").response.json()["family"]["id"] == family_id
    follow(product, "DeleteProduct")
    follow(product, "GetProduct", status=404)
    follow(product, "GetProductImage", status=404)
    follow(family, "DeleteProductFamily")
    follow(family, "GetProductFamily", status=404)


def test_contact_crud(stateful_schema):
    contact = create(stateful_schema, "POST_Contacts_Post", {
        "firstName": "Luc", "lastName": "Moreau", "email": "luc.moreau@example.fr", "function": "Comptable"})
    assert contact.response.status_code == 200
    assert follow(contact, "GetContact").response.json()["lastName"] == "Moreau"
    updated = follow(contact, "UpdateContact", body={**contact.response.json(), "phone": "04 78 00 00 00"})
    assert updated.response.json()["phone"] == "04 78 00 00 00" and updated.response.json()["firstName"] == "Luc"
    follow(updated, "DeleteContact")
    follow(contact, "GetContact", status=404)
    follow(contact, "UpdateContact", body={"phone": "01"}, status=404)


def test_customer_and_supplier_crud_with_their_contacts(stateful_schema):
    customer = create(stateful_schema, "POST_Customers_Post", CUSTOMER)
    contacts = follow(customer, "GetCustomerContacts").response.json()
    assert [(c["isMain"], c["email"]) for c in contacts] == [(True, "claire@boulangerie-martin.fr")]
    updated = follow(customer, "UpdateCustomer", body={**customer.response.json(), "phone": "04 78 00 00 00"})
    assert updated.response.json()["phone"] == "04 78 00 00 00"
    assert follow(updated, "GetCustomer").response.json()["companyName"] == "Boulangerie Martin SARL"
    follow(customer, "DeleteCustomer")  # no finalized document: deleted
    follow(customer, "GetCustomer", status=404)
    follow(customer, "GetCustomerContacts", status=404)

    supplier = create(stateful_schema, "POST_Suppliers_Post", {
        "name": "Papeterie Durand", "firstName": "Marc", "lastName": "Durand", "email": "marc@papeterie-durand.fr"})
    assert supplier.response.status_code == 200
    assert re.fullmatch(r"F\d{5}", supplier.response.json()["number"])
    assert follow(supplier, "GetSupplier").response.json()["name"] == "Papeterie Durand"
    assert [c["email"] for c in follow(supplier, "GetSupplierContacts").response.json()] == ["marc@papeterie-durand.fr"]
    assert follow(supplier, "UpdateSupplier", body={"phone": "01 02 03 04 05"}).response.json()["phone"] == "01 02 03 04 05"
    follow(supplier, "DeleteSupplier")
    follow(supplier, "GetSupplier", status=404)


# ------------------------------------------------------------------------------- found by the state machine
@pytest.mark.parametrize("path", ["/v1/PurchaseInvoices/file", "/v1/ProductImages/1"])
def test_a_malformed_multipart_body_is_a_400(stateful_schema, path):
    # A part header starting with `[`: the form parser refuses it; the sandbox answered 500.
    body = b'--b\r\nContent-Disposition: form-data; name="file"\r\n[x: y\r\n\r\ndata\r\n--b--\r\n'
    with stateful_schema.app.test_client(headers=AUTH) as client:
        response = client.post(path, content=body, headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 400, response.text
    assert "multipart/form-data body is malformed" in response.text
