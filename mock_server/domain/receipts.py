"""Receipts: money received from a customer, linked to the sale documents it settles.

A receipt's `links` ({type, id, amount}) are payments of the documents they name, recorded by the
documents' own payment rule (`SaleDocuments.record_payment`) with a reference to the receipt: an
invoice's balance drops and it is marked paid at zero; a credit is refunded the same way. Changing
a receipt's links or amount re-applies them; deleting the receipt gives the balances back.
"""

from __future__ import annotations

from decimal import Decimal

from .collection import Collection
from .errors import FRENCH_FIELDS, InvalidRequest, Noun
from .parties import Customers
from .sales import SaleCredits, SaleDocuments, SaleInvoices

LINKED = {"Invoice": SaleInvoices, "Credit": SaleCredits}


def _money(value) -> Decimal:
    return Decimal(str(value or 0))


class Receipts(Collection):
    kind = "Receipts"
    label = "Receipt"
    noun = Noun("règlement")
    read_only = ("id", "customerName")
    search_fields = ("reference", "customerName", "customerNumber", "customerInternalId", "internalId", "notes")
    find_fields = ("internalId",)

    def _target(self, link: dict) -> SaleDocuments:
        if link.get("type") == "Commitment":
            raise InvalidRequest("Les liens de type Commitment ne sont pas gérés par le sandbox : liez la facture elle-même.")
        return LINKED[link.get("type") or "Invoice"](self.ctx)

    def _customer(self, doc: dict) -> dict | None:
        for field, key in (("customerId", "id"), ("customerNumber", "number"), ("customerInternalId", "internalId")):
            value = doc.get(field)
            if value in (None, ""):
                continue
            found = ([self.repo.get(Customers.kind, value)] if key == "id"
                     else self.repo.select(Customers.kind, lambda c: str(c.get(key) or "").casefold() == str(value).casefold()))
            if not found or found[0] is None:
                raise InvalidRequest(f"Le client avec {FRENCH_FIELDS.get(key, key)} {value!r} n'existe pas.")
            return found[0]
        return None

    def prepare(self, data: dict, current: dict | None) -> dict:
        doc = dict(data)
        links = []
        for link in doc.get("links") or []:
            target = self._target(link)
            if link.get("id") is None:
                raise InvalidRequest("Chaque lien doit donner l'id du document qu'il règle.")
            if self.repo.get(target.kind, link["id"]) is None:
                raise InvalidRequest(f"{target.noun.The} {link['id']} n'existe pas.")
            amount = link.get("amount")
            if amount is None:  # the whole balance left (counting what this receipt already pays of it)
                amount = float(target.payable(link["id"], current["id"] if current else None))
            links.append({"type": link.get("type") or "Invoice", "id": link["id"], "amount": amount})
        doc["links"] = links
        linked_total = sum((_money(link["amount"]) for link in links), Decimal(0))
        if doc.get("amount") is None:
            doc["amount"] = float(linked_total)
        if _money(doc["amount"]) < 0:
            raise InvalidRequest(f"Le montant d'un règlement ne peut pas être négatif, reçu {doc['amount']}.")
        if linked_total > _money(doc["amount"]):
            raise InvalidRequest(f"Les liens règlent {linked_total}, plus que le montant du règlement {doc['amount']}.")
        customer = self._customer(doc)
        if customer is None and links:  # the customer of the first linked document
            first = self.repo.get(LINKED[links[0]["type"]].kind, links[0]["id"]) or {}
            customer = self.repo.get(Customers.kind, first["customerId"]) if first.get("customerId") is not None else None
        if customer is not None:
            doc.update(customerId=customer["id"], customerNumber=customer.get("number"),
                       customerInternalId=customer.get("internalId"), customerName=customer.get("name"))
        else:
            doc.update(customerId=None, customerName=None)
        doc["date"] = doc.get("date") or self.ctx.today().isoformat()
        doc["status"] = doc.get("status") or "Success"
        return doc

    def _unlink(self, doc: dict) -> None:
        for link in doc.get("links") or []:
            LINKED[link["type"]](self.ctx).remove_receipt(link["id"], doc["id"])

    def after_write(self, doc: dict, previous: dict | None) -> None:
        if previous is not None:
            self._unlink(previous)
        payment = {"date": doc.get("date"), "paymentMethod": doc.get("paymentMethod"), "status": doc.get("status"),
                   "metadata": doc.get("metadata")}
        for link in doc["links"]:
            target = LINKED[link["type"]](self.ctx)
            target.record_payment(target.load(link["id"]), {**payment, "amount": link["amount"]},
                                  reference=doc.get("reference"), receipt_id=doc["id"])

    def before_delete(self, doc: dict) -> None:
        self._unlink(doc)
