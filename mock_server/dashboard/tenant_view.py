"""What the dashboard's pages show of one tenant, read in-process as the handlers of the documented
GET operations read it (the same domain collections, store tables and sandbox services).

Reads only: every change a page makes is a request of the browser to a documented `/_mock` or `/v1`
operation (see templates/dashboard/*.html). Reading in-process rather than over HTTP keeps the
dashboard's own reads out of the tenant's request journal and rate limit, and needs no second
request while the server answers the first.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.catalog import Products
from ..domain.parties import Customers, Suppliers
from ..domain.sales import OUTBOX, SaleCredits, SaleInvoices, SaleQuotes
from ..domain.webhooks import Webhooks
from ..events import EVENTS, delivery_signature
from ..sandbox.clock import TenantClock

# The kinds an overview counts, in the order it shows them, with their French names.
COUNTED = (("Customers", "Clients"), ("Suppliers", "Fournisseurs"), ("Contacts", "Contacts"),
           ("Products", "Produits"), ("SaleInvoices", "Factures"), ("SaleCredits", "Avoirs"),
           ("SaleQuotes", "Devis"), ("Receipts", "Encaissements"), ("PurchaseInvoices", "Factures d'achat"),
           ("Webhooks", "Webhooks"))

# The lists the dashboard pages through: kind → (collection, the contract's schema, French title).
LISTS = {"customers": (Customers, "Customer", "Clients"), "suppliers": (Suppliers, "Supplier", "Fournisseurs"),
         "products": (Products, "Product", "Produits"), "invoices": (SaleInvoices, "Invoice", "Factures"),
         "credits": (SaleCredits, "Credit", "Avoirs"), "quotes": (SaleQuotes, "Quote", "Devis")}
SALE_LISTS = ("invoices", "credits", "quotes")
PAGE_SIZE = 20

# An invoice's status by the sandbox clock (SaleInvoices.status) → the badge's French word and colour.
INVOICE_BADGES = {"Draft": ("brouillon", "draft"), "Incoming": ("finalisée", "final"), "ToSend": ("finalisée", "final"),
                  "Paid": ("payée", "paid"), "Expired": ("en retard", "late")}
CANCELLED_BADGE = ("annulée", "cancelled")
QUOTE_BADGES = {"Pending": ("en attente", "final"), "Sent": ("envoyé", "final"), "Accepted": ("accepté", "paid"),
                "Refused": ("refusé", "late"), "Closed": ("clos", "cancelled"), "Invoiced": ("facturé", "paid")}


@dataclass
class Page:
    """One page of a list: its rows, where it is, and whether there is a next one."""

    rows: list[dict]
    index: int
    size: int
    has_next: bool


class TenantView:
    """One tenant's data for the pages, on the tenant's sandbox clock."""

    def __init__(self, services, tenant: str):
        self.services = services
        self.tenant = tenant
        self.ctx = services.tenants.context(tenant, real_clock=services.clock)
        self.repo = self.ctx.repo

    # --- overview -------------------------------------------------------------------------------
    def counts(self) -> list[tuple[str, str, int]]:
        return [(kind, label, self.repo.count(kind)) for kind, label in COUNTED]

    def clock(self) -> dict:
        return TenantClock(self.repo, real=self.services.clock).state()

    def fault_rules(self) -> list[dict]:
        return self.services.faults.list(self.tenant)

    def webhooks(self) -> list[dict]:
        return Webhooks(self.ctx).list()

    def snapshots(self) -> list[str]:
        return self.services.snapshots.names(self.tenant)

    # --- lists and documents -------------------------------------------------------------------
    def page(self, name: str, query: str | None, index: int) -> Page:
        """A page of one of `LISTS`, searched as the API's `query` searches (sale documents: all of
        them, cancelled ones included)."""
        collection, schema, _ = LISTS[name]
        found = collection(self.ctx)
        criteria = {"include_cancelled": True} if collection is SaleInvoices else {}
        rows = found.list(query=query, page_index=index, page_size=PAGE_SIZE, **criteria)
        # The first row after this page, if any (a one-row page at its offset).
        after = found.list(query=query, page_index=index * PAGE_SIZE + 1, page_size=1, **criteria)
        shaped = [{**self.services.presenter.shape(schema, row), "_badge": self.badge(name, row)} for row in rows]
        return Page(shaped, index, PAGE_SIZE, bool(after))

    def badge(self, name: str, doc: dict) -> tuple[str, str] | None:
        """The status badge (French word, colour) of a sale document, None for other kinds."""
        if name == "invoices":
            return CANCELLED_BADGE if doc.get("isCancelled") else INVOICE_BADGES[SaleInvoices(self.ctx).status(doc)]
        if name == "credits":
            if doc.get("isDraft"):
                return "brouillon", "draft"
            return ("remboursé", "paid") if doc.get("isPaid") else ("finalisé", "final")
        if name == "quotes":
            return QUOTE_BADGES.get(doc.get("status"), (doc.get("status") or "—", "draft"))
        return None

    def invoice(self, id: int) -> dict:
        """An invoice as the API answers it, with its badge, payments and cancelling credit."""
        doc = SaleInvoices(self.ctx).get(id)
        shaped = self.services.presenter.shape("Invoice", doc)
        credit = None
        if doc.get("cancellationCreditId") is not None:
            credit = self.repo.get(SaleCredits.kind, doc["cancellationCreditId"])
        return {**shaped, "_badge": self.badge("invoices", doc), "_payments": list(doc.get("_payments") or []),
                "_credit": credit}

    # --- webhooks and mails --------------------------------------------------------------------
    def deliveries(self) -> list[dict]:
        """Every delivery attempt, newest first, with the payload sent, the signature it carried (in
        the header in force) and its delivery faults (`fault`)."""
        events = {e["eventId"]: e for e in self.repo.all(EVENTS)}
        hooks = {w["id"]: w for w in self.repo.all(Webhooks.kind)}
        shown = []
        for attempt in reversed(self.services.webhooks.attempts(self.repo)):
            body = (events.get(attempt.get("eventId")) or {}).get("body")
            signature = attempt.get("signature")
            if "signature" not in attempt and body is not None:  # an attempt stored by an older version
                secret = (hooks.get(attempt.get("webhookId")) or {}).get("secretKey")
                signature = delivery_signature(secret, body.encode("utf-8"), attempt["fault"])
            shown.append({**attempt, "payload": body, "signature": signature})
        return shown

    def outbox(self) -> list[dict]:
        """The mails Send recorded, newest first."""
        return list(reversed(self.repo.all(OUTBOX)))
