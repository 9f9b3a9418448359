"""Sale documents: invoices and credits (draft → finalized → paid / refunded) and quotes.

Rules the sandbox applies (documented in the README):
- Invoices and credits are created as drafts: `isDraft` true, no number. Only drafts can be
  updated or deleted. Finalizing assigns the next number of a gapless sequence per tenant, kind
  and year (`FA2026-00001`, `AV2026-00001`), fills the date with today (seller's timezone) when
  missing, fixes the payment schedule (`commitments`) from the customer's settlement term.
- Quotes are numbered when created (`DE2026-00001`), status `Pending`, valid for
  Settings.sales.quotes.validityDuration days unless `validityDate` says otherwise.
- A line referring to a product (`productId`, `productNumber` or `productInternalId`) takes the
  product's description, price, unit and VAT unless the line gives its own.
- A finalized invoice is never deleted: a credit created with `cancelledInvoicetId` cancels it
  once finalized (both documents then point at each other).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from . import amounts, settlement
from .catalog import Products
from .collection import Collection
from .errors import FRENCH_FIELDS, InvalidRequest, Noun, WrongState
from .parties import Customers

PRICED_TYPES = (None, "Product", "Service")
COMPUTED = ("grossTaxExcludedAmount", "taxExcludedAmount", "taxAmount", "taxIncludedAmount", "vats",
            "balance", "overdue", "commitments", "pdfUrl", "sentAt")
CUSTOMER_FIELDS = {  # document field ← customer field
    "customerName": "name", "customerNumber": "number", "customerType": "type",
}
# What the document copies from its customer: forgotten when the customer changes.
SNAPSHOT_FIELDS = (*CUSTOMER_FIELDS, "customerSiret", "customerVatNumber", "customerElectronicAddress",
                   "billingAddress", "shippingAddress", "billingContact")
OUTBOX = "Outbox"
TITLES = {"SaleInvoices": "Facture", "SaleCredits": "Avoir", "SaleQuotes": "Devis"}


def _money(value) -> Decimal:
    return Decimal(str(value or 0))


class SaleDocuments(Collection):
    """What invoices, credits and quotes share: customer snapshot, lines, amounts, numbering."""

    number_prefix: ClassVar[str]
    # Whether the document starts as a draft and is numbered by `finalize` (invoices, credits).
    drafts: ClassVar[bool] = True
    search_fields = ("number", "customerName", "customerNumber", "subject", "internalId")
    find_fields = ("number", "internalId")

    # --- building a document from client input --------------------------------------------------
    def prepare(self, data: dict, current: dict | None) -> dict:
        if current is not None and self.drafts and not current.get("isDraft"):
            raise WrongState(f"{self.noun.The} {current.get('number')} est finalisé{self.noun.e} : seul un "
                             "brouillon peut être modifié.")
        doc = {k: v for k, v in data.items() if k not in COMPUTED}
        # What the client leaves blank of the customer's identity is taken from the customer; when
        # an update changes the customer, what the client copied of the former one is forgotten.
        if current is not None and doc.get("customerId") != current.get("customerId"):
            for field in SNAPSHOT_FIELDS:
                if doc.get(field) == current.get(field):
                    doc[field] = None
        self._snapshot_customer(doc)
        doc["region"] = doc.get("region") or "FR"
        doc["lines"] = [self._line(line, i, doc["region"]) for i, line in enumerate(doc.get("lines") or [])]
        self._defaults(doc)
        doc = amounts.compute(doc)
        doc["balance"] = float(self._balance(doc))
        return doc

    def _customer(self, customer_id: int | None) -> dict | None:
        if customer_id is None:
            return None
        customer = self.repo.get(Customers.kind, customer_id)
        if customer is None:
            raise InvalidRequest(f"Le client {customer_id} n'existe pas.")
        return customer

    def _snapshot_customer(self, doc: dict) -> None:
        """Copy the customer's identity onto the document, where the client did not give it."""
        customer = self._customer(doc.get("customerId"))
        if customer is None:
            return
        for field, source in CUSTOMER_FIELDS.items():
            if doc.get(field) is None:
                doc[field] = customer.get(source)
        info = customer.get("companyInformations") or {}
        for field, source in (("customerSiret", "siret"), ("customerVatNumber", "vatNumber"),
                              ("customerElectronicAddress", "electronicAddress")):
            if doc.get(field) is None:
                doc[field] = info.get(source)
        if doc.get("billingAddress") is None and customer.get("billingAddress"):
            doc["billingAddress"] = customer["billingAddress"]
        if doc.get("shippingAddress") is None and customer.get("shippingAddress"):
            doc["shippingAddress"] = customer["shippingAddress"]
        if doc.get("billingContact") is None:
            person = {k: customer.get(k) for k in ("title", "firstName", "lastName", "email", "phone", "cellPhone")}
            if any(person.values()):
                doc["billingContact"] = {**person, "companyName": customer.get("companyName")}

    def _product(self, line: dict) -> dict | None:
        products = Products(self.ctx)
        if line.get("productId") is not None:
            product = self.repo.get(Products.kind, line["productId"])
            if product is None:
                raise InvalidRequest(f"Le produit {line['productId']} n'existe pas.")
            return products.view(product)
        for field, key in (("productNumber", "number"), ("productInternalId", "internalId")):
            if line.get(field):
                found = products.find(**{key: line[field]})
                if not found:
                    raise InvalidRequest(f"Aucun produit n'a {FRENCH_FIELDS[key]} {line[field]!r}.")
                return found[0]
        return None

    def _line(self, given: dict, index: int, region: str) -> dict:
        """A line with its product's defaults, its VAT and unit resolved, and a line id."""
        line = dict(given)
        product = self._product(line)
        # The line's `product` is the catalogue's, never what the client sent: none without one.
        line["product"] = None
        if product is not None:
            line.update(productId=product["id"], productNumber=product.get("number"),
                        productInternalId=product.get("internalId"), product=product)
            if line.get("type") is None:
                line["type"] = product.get("type") if product.get("type") in ("Product", "Service", "Text") else "Product"
            if line.get("description") is None:
                line["description"] = product.get("name")
            if line.get("taxExcludedPrice") is None and line.get("taxIncludedPrice") is None:
                price_field = "taxIncludedPrice" if product.get("isUnitPriceTaxIncluded") else "taxExcludedPrice"
                line[price_field] = product.get("unitPrice")
            line.setdefault("unit", product.get("unit"))
            if line.get("vat") is None:
                line["vat"] = product.get("vat")
            if line.get("purchasePrice") is None:
                line["purchasePrice"] = product.get("purchasePrice")
        if line.get("type") in PRICED_TYPES:
            line["vat"] = self.ctx.reference.resolve_vat(line.get("vat"), region)
            line["unit"] = self.ctx.reference.resolve_unit(line.get("unit"))
            if line.get("quantity") is None:
                line["quantity"] = 1
        if line.get("classificationId") is not None and not any(
                c["id"] == line["classificationId"] for c in self.ctx.reference.classifications):
            raise InvalidRequest(f"La classification {line['classificationId']} n'existe pas ; voir GET /v1/Classifications.")
        line["id"] = index + 1
        return line

    def _defaults(self, doc: dict) -> None:
        settings = self.ctx.reference.settings
        customer = self._customer(doc.get("customerId")) or {}
        options = customer.get("billingOptions") or {}
        if doc.get("useTaxIncludedPrices") is None:
            doc["useTaxIncludedPrices"] = bool(options.get("useTaxIncludedPrices", settings["sales"].get("useTaxIncluded")))
        if doc.get("vatReverseCharge") is None:
            doc["vatReverseCharge"] = bool(options.get("vatReverseCharge") or False)
        if doc.get("liableToVat") is None:
            doc["liableToVat"] = bool(settings["vat"].get("liableToVat", True))
        if doc.get("shippingAmount") is None:
            doc["shippingAmount"] = 0
        if doc.get("vatMode") is None:  # as live documents show it
            doc["vatMode"] = "Auto"
        doc["shippingVat"] = self.ctx.reference.resolve_vat(doc.get("shippingVat"), doc["region"])

    # --- payments ------------------------------------------------------------------------------
    @staticmethod
    def _settled(doc: dict) -> list[dict]:
        return [p for p in doc.get("_payments") or [] if p.get("status", "Success") == "Success"]

    def _paid(self, doc: dict, receipt_id: int | None = None) -> Decimal:
        """What the document's successful payments add up to (only receipt `receipt_id`'s when given)."""
        return sum((_money(p["amount"]) for p in self._settled(doc)
                    if receipt_id is None or p.get("receiptId") == receipt_id), Decimal(0))

    def _balance(self, doc: dict) -> Decimal:
        """The one balance rule: the tax-included total less what the successful payments paid."""
        return _money(doc.get("taxIncludedAmount")) - self._paid(doc)

    # What paying means for the kind, in the messages: "payé" (invoices), "remboursé" (credits), and
    # the excess refused; the flag asking MarkAsPaid / MarkAsRefunded to finalize a draft first.
    settled_word: ClassVar[str] = "payé"
    excess_word: ClassVar[str] = "Trop-perçu"
    finalize_flag: ClassVar[str] = "finalizeInvoice"

    def record_payment(self, doc: dict, payment: dict, *, reference: str | None = None, finalize: bool = False,
                       allow_update: bool = False, receipt_id: int | None = None) -> dict:
        """The one payment rule (MarkAsPaid, MarkAsRefunded, receipt links): record `payment` on the
        finalized document `doc`; the balance drops by the amount (the whole balance when none is
        given), `isPaid` once it reaches zero. Never more than the balance, never on a draft (unless
        `finalize`) nor on a cancelled document. `receipt_id` names the receipt the payment comes from."""
        if doc.get("isCancelled"):
            raise WrongState(f"{self.noun.The} {doc.get('number')} est annulé{self.noun.e} et ne peut pas être "
                             f"{self.settled_word}{self.noun.e}.")
        if doc.get("isDraft"):
            if not finalize:
                raise WrongState(f"{self.noun.The} {doc['id']} est un brouillon : finalisez-{self.noun.it} d'abord"
                                 + ("." if receipt_id is not None else f" ou passez {self.finalize_flag}: true."))
            doc = self._finalize(doc)
        payments = list(doc.get("_payments") or [])
        record = {"date": payment.get("date") or self.ctx.today().isoformat(),
                  "paymentMethod": payment.get("paymentMethod"), "paymentReference": reference,
                  "status": payment.get("status") or "Success", "metadata": payment.get("metadata"),
                  "receiptId": receipt_id}
        if doc.get("isPaid"):
            if not allow_update or not payments:
                raise WrongState(f"{self.noun.The} {doc.get('number')} est déjà {self.settled_word}{self.noun.e}"
                                 + ("." if allow_update or receipt_id is not None
                                    else " (passez allowUpdate: true pour mettre à jour son paiement)."))
            last = payments[-1]
            last.update({k: v for k, v in record.items() if k in ("metadata", "status", "paymentReference") and v is not None})
        else:
            balance = self._balance(doc)
            amount = _money(payment["amount"]) if payment.get("amount") is not None else balance
            if amount <= 0:
                raise InvalidRequest(f"Le montant {self.settled_word} doit être positif, reçu {amount}.")
            if amount > balance:
                raise InvalidRequest(f"{self.excess_word} : {amount} dépasse le solde {balance} "
                                     f"{self.noun.of_the} {doc.get('number')}.")
            payments.append({**record, "amount": float(amount)})
        return self._store_payments({**doc, "_payments": payments})

    def _store_payments(self, doc: dict) -> dict:
        """Store `doc` with its balance and isPaid recomputed from its (successful) payments."""
        balance = self._balance(doc)
        doc["balance"], doc["isPaid"] = float(balance), balance == 0
        doc = self.repo.replace(self.kind, doc["id"], doc)
        self.emit("Updated", doc["id"])
        return doc

    def payable(self, id: int, receipt_id: int | None = None) -> Decimal:
        """What is left to pay on document `id`, not counting what receipt `receipt_id` pays of it."""
        doc = self.load(id)
        return self._balance(doc) + (self._paid(doc, receipt_id) if receipt_id is not None else 0)

    def remove_receipt(self, id: int, receipt_id: int) -> None:
        """Forget the payments receipt `receipt_id` made on document `id` (its balance comes back)."""
        doc = self.repo.get(self.kind, id)
        if doc is None:
            return
        payments = [p for p in doc.get("_payments") or [] if p.get("receiptId") != receipt_id]
        if len(payments) != len(doc.get("_payments") or []):
            self._store_payments({**doc, "_payments": payments})

    def view(self, doc: dict) -> dict:
        """Add what depends on the clock: the payment schedule and the overdue amount."""
        if self.drafts and (doc.get("isDraft") or not doc.get("date")):
            return {**doc, "commitments": [], "overdue": 0}
        issued = dt.date.fromisoformat(doc["date"])
        parts = settlement.schedule(issued, _money(doc.get("taxIncludedAmount")), doc.get("_settlementTerm"))
        remaining = settlement.allocate(parts, self._paid(doc))
        today = self.ctx.today()
        commitments = [{"id": i + 1, "date": due.isoformat(), "amount": float(amount), "dueAmount": float(left),
                        "thirdId": doc.get("customerId")} for i, ((due, amount), left) in enumerate(zip(parts, remaining))]
        overdue = sum((left for (due, _), left in zip(parts, remaining) if due < today), Decimal(0))
        return {**doc, "commitments": commitments, "overdue": float(overdue)}

    # --- lifecycle -----------------------------------------------------------------------------
    def before_delete(self, doc: dict) -> None:
        if self.drafts and not doc.get("isDraft"):
            raise WrongState(f"{self.noun.The} {doc.get('number')} est finalisé{self.noun.e} et ne peut pas être "
                             f"supprimé{self.noun.e}"
                             + (" : annulez-la par un avoir (POST /v1/SaleCredits avec cancelledInvoicetId)."
                                if self.kind == "SaleInvoices" else "."))

    def _next_number(self, date: str) -> str:
        year = date[:4]
        return f"{self.number_prefix}{year}-{self.repo.next_number(f'{self.kind}:{year}'):05d}"

    def _finalize(self, doc: dict) -> dict:
        """The one finalize rule, whoever asks (Finalize, MarkAsPaid/MarkAsRefunded with their finalize
        flag): check the draft, number and date it, fix its settlement term, store it, record the
        event and apply what finalizing changes elsewhere (`after_finalize`). Call it in a transaction."""
        if not doc.get("isDraft"):
            raise WrongState(f"{self.noun.The} {doc.get('number')} est déjà finalisé{self.noun.e}.")
        if doc.get("customerId") is None and not doc.get("customerName"):
            raise WrongState(f"{self.noun.The} {doc['id']} n'a pas de client : renseignez customerId avant de "
                             f"{self.noun.it} finaliser.")
        if not any(line.get("type") in PRICED_TYPES for line in doc.get("lines") or []):
            raise WrongState(f"{self.noun.The} {doc['id']} n'a aucune ligne valorisée : ajoutez une ligne Product ou "
                             f"Service avant de {self.noun.it} finaliser.")
        doc = dict(doc)  # `doc` may be the stored document itself (`finalize`): only its top level changes
        doc["date"] = doc.get("date") or self.ctx.today().isoformat()
        doc["number"] = self._next_number(doc["date"])
        doc["isDraft"] = False
        customer = self.repo.peek(Customers.kind, doc["customerId"]) if doc.get("customerId") is not None else None
        doc["_settlementTerm"] = self._settlement_term(customer)
        doc = self.repo.replace(self.kind, doc["id"], doc)
        self.emit("Updated", doc["id"])
        self.after_finalize(doc)
        return doc

    def _settlement_term(self, customer: dict | None) -> dict | None:
        """The customer's term (billingOptions.settlementTermId), else the B2B or B2C default."""
        sales = self.ctx.reference.settings["sales"]
        terms = [t for t in (sales.get("btoBSettlementTerm"), sales.get("btoCSettlementTerm")) if t]
        wanted = ((customer or {}).get("billingOptions") or {}).get("settlementTermId")
        for term in terms:
            if wanted is not None and term.get("id") == wanted:
                return term
        consumer = (customer or {}).get("type") == "Consumer"
        return sales.get("btoCSettlementTerm" if consumer else "btoBSettlementTerm")

    def finalize(self, id: int) -> dict:
        with self.repo.transaction():
            doc = self._finalize(self.load(id, copy=False))
        return self.view(doc)

    def after_finalize(self, doc: dict) -> None:
        """Hook: what finalizing changes elsewhere (a cancelling credit marks its invoice)."""

    def send(self, id: int, recipients: list[str] | None) -> dict:
        """Record the mail in the outbox and `sentAt`; nothing is really emailed."""
        with self.repo.transaction():
            doc = self.load(id)
            if self.drafts and doc.get("isDraft"):
                raise WrongState(f"{self.noun.The} {id} est un brouillon : finalisez-{self.noun.it} avant de l'envoyer.")
            to = [r.strip() for r in recipients or [] if r and r.strip()]
            if not to:
                to = [e for e in ((doc.get("billingContact") or {}).get("email"),) if e]
            if not to and doc.get("customerId") is not None:
                customer = self.repo.get(Customers.kind, doc["customerId"]) or {}
                to = [customer["email"]] if customer.get("email") else []
            if not to:
                raise InvalidRequest(f"{self.noun.The} {doc.get('number')} : aucun destinataire donné et le client "
                                     "n'a pas d'e-mail.")
            invalid = [r for r in to if "@" not in r or r.startswith("@") or r.endswith("@")]
            if invalid:
                raise InvalidRequest(f"Adresse e-mail invalide : {', '.join(invalid)}.")
            doc["sentAt"] = self.ctx.now_iso()
            doc = self.repo.replace(self.kind, id, doc)
            self.emit("Updated", id)
            company = (self.ctx.reference.settings.get("company") or {}).get("name")
            title = f"{TITLES[self.kind]} {doc.get('number')}"
            self.repo.insert(OUTBOX, {
                "sentAt": doc["sentAt"], "documentKind": self.kind, "documentId": id, "number": doc.get("number"),
                "to": to, "subject": f"{title} – {company}" if company else title,
                "attachment": f"{doc.get('number')}.pdf"})
        return self.view(doc)

    # --- lists ---------------------------------------------------------------------------------
    def list(self, *, date_from=None, date_to=None, customer_id=None, where=None, **kwargs) -> list[dict]:
        date_from = date_from.isoformat() if isinstance(date_from, dt.date) else date_from
        date_to = date_to.isoformat() if isinstance(date_to, dt.date) else date_to

        def keep(doc: dict) -> bool:
            if customer_id is not None and doc.get("customerId") != customer_id:
                return False
            if (date_from or date_to) and not doc.get("date"):
                return False
            if date_from and doc["date"] < date_from or date_to and doc["date"] > date_to:
                return False
            return where is None or where(doc)

        return super().list(where=keep, **kwargs)


class SaleInvoices(SaleDocuments):
    kind = "SaleInvoices"
    label = "Invoice"
    noun = Noun("facture", feminine=True)
    event_name = "Invoice"
    number_prefix = "FA"
    read_only = ("id", "number", "isDraft", "isPaid", "isCancelled", "isProforma", "cancellationCreditId",
                 "cancellationCreditNumber", "replacedBy") + COMPUTED

    def prepare(self, data: dict, current: dict | None) -> dict:
        if current is None and not data.get("lines"):
            # Captured live: an invoice is not created without lines.
            raise InvalidRequest("Une facture doit avoir au moins une ligne.")
        doc = super().prepare(data, current)
        if current is None:
            doc.update(isDraft=True, isPaid=False, isCancelled=False, isProforma=False, number=None)
        return doc

    def status(self, doc: dict) -> str:
        """The `InvoiceStatusFilter` an invoice falls under today (Expired wins over Incoming)."""
        if doc.get("isDraft"):
            return "Draft"
        if doc.get("isPaid"):
            return "Paid"
        return "Expired" if doc.get("overdue", 0) > 0 else "Incoming"

    def list(self, *, status=None, include_cancelled=False, **kwargs) -> list[dict]:
        def keep(doc: dict) -> bool:
            if doc.get("isCancelled") and not include_cancelled:
                return False
            if status == "ToSend":
                return not doc.get("isDraft") and not doc.get("isPaid") and not doc.get("sentAt") and not doc.get("isCancelled")
            return status is None or self.status(doc) == status

        return super().list(where=keep, **kwargs)

    def mark_as_paid(self, payment: dict) -> dict:
        """Record a payment (PayInvoice); the balance drops by the paid amount, isPaid at zero."""
        with self.repo.transaction():
            if payment.get("invoiceId") is None:
                raise InvalidRequest("invoiceId est obligatoire : l'ID de la facture payée.")
            doc = self.record_payment(self.load(payment["invoiceId"]), payment,
                                      reference=payment.get("paymentReference"),
                                      finalize=bool(payment.get("finalizeInvoice")),
                                      allow_update=bool(payment.get("allowUpdate")))
        return self.view(doc)


class SaleCredits(SaleDocuments):
    kind = "SaleCredits"
    label = "Credit"
    noun = Noun("avoir")
    number_prefix = "AV"
    read_only = ("id", "number", "isDraft", "isPaid", "cancelledInvoicetNumber") + COMPUTED
    create_only = ("cancelledInvoicetId",)

    def _cancelling(self, data: dict) -> dict:
        """A new credit's input with `cancelledInvoicetId`: checked, completed from that finalized
        invoice (its customer, lines and totals, where the credit does not give its own)."""
        data = dict(data)
        invoice_id = data["cancelledInvoicetId"]
        invoice = self.repo.get(SaleInvoices.kind, invoice_id)
        if invoice is None:
            raise InvalidRequest(f"La facture {invoice_id} n'existe pas.")
        if invoice.get("isDraft"):
            raise InvalidRequest(f"La facture {invoice_id} est un brouillon : supprimez-la au lieu de l'annuler.")
        if invoice.get("isCancelled"):
            raise InvalidRequest(f"La facture {invoice.get('number')} est déjà annulée.")
        for field in ("customerId", "customerName", "billingAddress", "billingContact", "lines", "globalDiscount",
                      "shippingAmount", "shippingVat", "useTaxIncludedPrices", "vatReverseCharge", "region"):
            if data.get(field) is None and invoice.get(field) is not None:
                data[field] = invoice[field]
        data["lines"] = [{k: v for k, v in line.items() if k not in ("id", "product")} for line in data.get("lines") or []]
        data["cancelledInvoicetNumber"] = invoice.get("number")
        return data

    settled_word = "remboursé"
    excess_word = "Remboursement excessif"
    finalize_flag = "finalizeCredit"

    def prepare(self, data: dict, current: dict | None) -> dict:
        """A credit; created with `cancelledInvoicetId`, it cancels that invoice once finalized."""
        if current is None and data.get("cancelledInvoicetId") is not None:
            data = self._cancelling(data)
        doc = super().prepare(data, current)
        if current is None:
            doc.update(isDraft=True, isPaid=False, number=None)
        return doc

    def mark_as_refunded(self, refund: dict) -> dict:
        """Record a refund of the credit (RefundCredit), the credit's counterpart of MarkAsPaid:
        the balance drops by the refunded amount (all of it by default), isPaid at zero."""
        with self.repo.transaction():
            if refund.get("creditId") is None:
                raise InvalidRequest("creditId est obligatoire : l'ID de l'avoir remboursé.")
            doc = self.record_payment(self.load(refund["creditId"]), refund, reference=refund.get("refundReference"),
                                      finalize=bool(refund.get("finalizeCredit")))
        return self.view(doc)

    def _finalize(self, doc: dict) -> dict:
        # Checked here, in finalize's transaction: several draft credits may name the same invoice,
        # only the first one finalized cancels it.
        invoice_id = doc.get("cancelledInvoicetId") if doc.get("isDraft") else None
        if invoice_id is not None:
            invoice = self.repo.get(SaleInvoices.kind, invoice_id) or {}
            if invoice.get("isCancelled"):
                raise WrongState(f"La facture {invoice.get('number')} est déjà annulée "
                                 f"(par l'avoir {invoice.get('cancellationCreditNumber')}).")
        return super()._finalize(doc)

    def after_finalize(self, doc: dict) -> None:
        invoice_id = doc.get("cancelledInvoicetId")
        if invoice_id is None:
            return
        invoice = self.repo.get(SaleInvoices.kind, invoice_id)
        if invoice is not None:
            self.repo.replace(SaleInvoices.kind, invoice_id, {
                **invoice, "isCancelled": True, "cancellationCreditId": doc["id"],
                "cancellationCreditNumber": doc["number"]})
            SaleInvoices(self.ctx).emit("Updated", invoice_id)


class SaleQuotes(SaleDocuments):
    kind = "SaleQuotes"
    label = "Quote"
    noun = Noun("devis")
    event_name = "Quote"
    number_prefix = "DE"
    drafts = False
    read_only = ("id", "number") + COMPUTED

    def prepare(self, data: dict, current: dict | None) -> dict:
        doc = super().prepare(data, current)
        if current is None:
            doc["date"] = doc.get("date") or self.ctx.today().isoformat()
            doc["number"] = self._next_number(doc["date"])
            doc["status"] = doc.get("status") or "Pending"
            if not doc.get("validityDate"):
                days = (self.ctx.reference.settings["sales"].get("quotes") or {}).get("validityDuration") or 30
                doc["validityDate"] = (dt.date.fromisoformat(doc["date"]) + dt.timedelta(days=days)).isoformat()
        return doc

    def view(self, doc: dict) -> dict:
        return doc

    def send(self, id: int, recipients: list[str] | None) -> dict:
        """Send the quote (outbox, `sentAt`); a pending quote becomes `Sent`."""
        with self.repo.transaction():
            doc = super().send(id, recipients)
            if doc.get("status") in (None, "Pending"):
                doc = self.repo.replace(self.kind, id, {**doc, "status": "Sent"})
        return self.view(doc)

    def before_delete(self, doc: dict) -> None:
        if doc.get("status") == "Invoiced":
            raise WrongState(f"Le devis {doc.get('number')} a été facturé et ne peut pas être supprimé.")

    def list(self, *, status=None, **kwargs) -> list[dict]:
        return super().list(where=(lambda d: d.get("status") == status) if status else None, **kwargs)
