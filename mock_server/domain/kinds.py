"""The one registry of resource kinds. For each kind: its collection (the domain rules, and the
subject of its `WebhookType`s, `event_name`), the contract schema its answers and webhook payloads
are shaped as, the URLs its answers carry (made per request by the HTTP adapters, never stored),
and the made-up resource a sandbox-triggered event carries when the tenant has none of the kind.

Whatever enumerates kinds (the webhook types, which kinds emit events, the samples, which answers
link a PDF or an image) is derived from `KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import ProductFamilies, Products
from .collection import Collection
from .parties import Colleagues, Contacts, CustomerFamilies, Customers, Suppliers
from .purchases import PurchaseInvoices
from .receipts import Receipts
from .sales import SaleCredits, SaleInvoices, SaleQuotes

PDF_URL = "pdfUrl"
IMAGE_URL = "imageUrl"


@dataclass(frozen=True)
class Kind:
    collection: type[Collection]
    schema: str
    urls: tuple[str, ...] = ()  # PDF_URL, IMAGE_URL
    sample: dict | None = None  # id 0: made up; every kind with events has one

    @property
    def name(self) -> str:
        return self.collection.kind

    @property
    def subject(self) -> str | None:
        """"Invoice" for InvoiceCreated...; None for a kind without webhook events."""
        return self.collection.event_name


_EXAMPLE = "Exemple SARL"
KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind(Customers, "Customer", sample={
        "id": 0, "number": "C00000", "type": "Business", "name": _EXAMPLE, "companyName": _EXAMPLE,
        "firstName": "Claire", "lastName": "Martin", "email": "claire.martin@exemple.fr", "active": True,
        "billingAddress": {"street": "1 rue de l'Exemple", "zipcode": "75001", "city": "Paris", "countryIso": "FR"}}),
    Kind(Contacts, "Contact", sample={
        "id": 0, "firstName": "Claire", "lastName": "Martin", "displayName": "Claire Martin",
        "invertedDisplayName": "Martin Claire", "companyName": _EXAMPLE, "email": "claire.martin@exemple.fr"}),
    Kind(CustomerFamilies, "CustomerFamily"),
    Kind(Suppliers, "Supplier"),
    Kind(Colleagues, "Colleague"),
    Kind(ProductFamilies, "ProductFamily"),
    Kind(Products, "Product", urls=(IMAGE_URL,), sample={
        "id": 0, "number": "EXEMPLE-1", "name": "Prestation d'exemple", "type": "Service", "unitPrice": 100,
        "purchasePrice": 0, "defaultQuantity": 1, "isUnitPriceTaxIncluded": False, "active": True}),
    Kind(SaleInvoices, "Invoice", urls=(PDF_URL,), sample={
        "id": 0, "number": None, "isDraft": True, "isPaid": False, "isCancelled": False, "customerName": _EXAMPLE,
        "subject": "Facture d'exemple", "lines": [], "taxExcludedAmount": 0, "taxAmount": 0,
        "taxIncludedAmount": 0, "balance": 0}),
    Kind(SaleCredits, "Credit", urls=(PDF_URL,)),
    Kind(SaleQuotes, "Quote", urls=(PDF_URL,), sample={
        "id": 0, "number": "DE0000-00000", "status": "Pending", "customerName": _EXAMPLE,
        "subject": "Devis d'exemple", "lines": [], "taxExcludedAmount": 0, "taxAmount": 0, "taxIncludedAmount": 0}),
    Kind(Receipts, "Receipt"),
    Kind(PurchaseInvoices, "PurchaseInvoice", urls=(PDF_URL,)),
)}

CHANGES = ("Created", "Updated", "Deleted")
# The kinds whose changes are webhook events, by kind and by event subject ("Invoice").
EVENT_KINDS: dict[str, Kind] = {name: k for name, k in KINDS.items() if k.subject}
SUBJECTS: dict[str, Kind] = {k.subject: k for k in EVENT_KINDS.values()}
# Every `WebhookType` ("<Subject><Change>"): the contract's enum, as a set (its order is the vendor's).
TYPES: tuple[str, ...] = tuple(f"{k.subject}{change}" for k in EVENT_KINDS.values() for change in CHANGES)


def split_type(event_type: str) -> tuple[Kind, str]:
    """"InvoiceUpdated" → (the SaleInvoices kind, "Updated"); ValueError for anything else."""
    for change in CHANGES:
        subject = event_type[:-len(change)]
        if event_type.endswith(change) and subject in SUBJECTS:
            return SUBJECTS[subject], change
    raise ValueError(f"not a webhook type: {event_type!r}")
