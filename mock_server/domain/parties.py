"""Customers, suppliers and their contacts.

A party (customer or supplier) has contacts: its main contact, kept in step with the party's own
person fields (title, names, email, phones), and the contacts created through `/v1/Contacts`
whose `companyName` equals the party's company name (case-insensitive; customers first).
"""

from __future__ import annotations

from typing import ClassVar

from .addresses import normalize_address
from .collection import Collection
from .errors import WrongState

PERSON_FIELDS = ("title", "firstName", "lastName", "email", "phone", "cellPhone")
CONTACT_SEARCH = ("displayName", "companyName", "email", "phone", "cellPhone", "internalId", "function", "service")


def person_name(doc: dict) -> str | None:
    """"Firstname Lastname", or whichever half exists."""
    return " ".join(p for p in (doc.get("firstName"), doc.get("lastName")) if p) or None


class Contacts(Collection):
    """Contacts (people), optionally linked to the customer or supplier they work for."""

    kind = "Contacts"
    label = "Contact"
    search_fields = CONTACT_SEARCH
    read_only = ("id", "displayName", "invertedDisplayName", "isMain")
    find_fields = ("email", "internalId")

    def prepare(self, data: dict, current: dict | None) -> dict:
        doc = dict(data)
        doc["displayName"] = person_name(doc) or doc.get("companyName") or doc.get("email")
        inverted = " ".join(p for p in (doc.get("lastName"), doc.get("firstName")) if p)
        doc["invertedDisplayName"] = inverted or doc["displayName"]
        if not doc.get("_isMain"):
            doc["_thirdKind"], doc["_thirdId"] = self._employer(doc.get("companyName"))
        return doc

    def _employer(self, company_name: str | None) -> tuple[str | None, int | None]:
        """The party whose company name is `company_name`: customers first, then suppliers."""
        if not company_name:
            return None, None
        wanted = company_name.casefold()
        for kind, field in (("Customers", "companyName"), ("Suppliers", "name")):
            for party in self.repo.all(kind):
                if (party.get(field) or "").casefold() == wanted:
                    return kind, party["id"]
        return None, None

    def of_party(self, kind: str, party_id: int) -> list[dict]:
        """A party's contacts as `ThirdContact`s, main contact first."""
        docs = [d for d in self.repo.all(self.kind) if d.get("_thirdKind") == kind and d.get("_thirdId") == party_id]
        docs.sort(key=lambda d: (not d.get("_isMain"), d["id"]))
        return [{**self.view(d), "isMain": bool(d.get("_isMain"))} for d in docs]

    def sync_main(self, kind: str, party: dict, company_name: str | None) -> None:
        """Create, update or remove the party's main contact from its own person fields."""
        mains = [d for d in self.repo.find(self.kind, _thirdKind=kind, _thirdId=party["id"]) if d.get("_isMain")]
        fields = {key: party.get(key) for key in PERSON_FIELDS}
        if not any(fields.values()):
            for doc in mains:
                self.repo.delete(self.kind, doc["id"])
            return
        data = {**fields, "companyName": company_name, "_thirdKind": kind, "_thirdId": party["id"], "_isMain": True}
        if mains:
            main = mains[0]
            self.repo.replace(self.kind, main["id"], self.prepare({**main, **data}, main))
        else:
            self.repo.insert(self.kind, self.prepare(data, None))

    def relink(self, company_names) -> None:
        """Attach the contacts of these company names to the party bearing the name now (customers
        first), so that who works where does not depend on which was created first."""
        wanted = {name.casefold() for name in company_names if name}
        for doc in self.repo.all(self.kind):
            if doc.get("_isMain") or (doc.get("companyName") or "").casefold() not in wanted:
                continue
            employer = self._employer(doc.get("companyName"))
            if employer != (doc.get("_thirdKind"), doc.get("_thirdId")):
                self.repo.replace(self.kind, doc["id"], {**doc, "_thirdKind": employer[0], "_thirdId": employer[1]})

    def release(self, kind: str, party_id: int) -> None:
        """Forget a deleted party: drop its main contact, unlink the others."""
        for doc in self.repo.find(self.kind, _thirdKind=kind, _thirdId=party_id):
            if doc.get("_isMain"):
                self.repo.delete(self.kind, doc["id"])
            else:
                self.repo.replace(self.kind, doc["id"], {**doc, "_thirdKind": None, "_thirdId": None})


class Party(Collection):
    """What customers and suppliers share: numbering, addresses, main contact."""

    number_prefix: ClassVar[str]
    company_field: ClassVar[str]
    address_fields: ClassVar[tuple[str, ...]]

    def prepare(self, data: dict, current: dict | None) -> dict:
        doc = dict(data)
        for key in self.address_fields:
            if key in doc:
                doc[key] = normalize_address(doc[key])
        doc["number"] = doc.get("number") or (current or {}).get("number") or self.next_number(self.number_prefix)
        return doc

    def after_write(self, doc: dict, previous: dict | None) -> None:
        contacts = Contacts(self.ctx)
        contacts.sync_main(self.kind, doc, doc.get(self.company_field))
        before = (previous or {}).get(self.company_field)
        if previous is None or before != doc.get(self.company_field):
            contacts.relink((before, doc.get(self.company_field)))

    def before_delete(self, doc: dict) -> None:
        Contacts(self.ctx).release(self.kind, doc["id"])

    def contacts(self, id: int) -> list[dict]:
        self.load(id)
        return Contacts(self.ctx).of_party(self.kind, id)


class Customers(Party):
    """Customers: businesses, consumers and public bodies the seller invoices."""

    kind = "Customers"
    label = "Customer"
    number_prefix = "C"
    company_field = "companyName"
    address_fields = ("billingAddress", "shippingAddress")
    read_only = ("id", "name")
    search_fields = ("name", "companyName", "firstName", "lastName", "email", "number", "internalId",
                     "phone", "cellPhone", "billingAddress.city", "billingAddress.zipcode",
                     "companyInformations.siret", "companyInformations.vatNumber")
    find_fields = ("email", "internalId", "number")

    def before_delete(self, doc: dict) -> None:
        # Issued documents keep their customer: French law wants invoices traceable to who was billed.
        for kind in ("SaleInvoices", "SaleCredits"):
            if any(not d.get("isDraft") for d in self.repo.find(kind, customerId=doc["id"])):
                raise WrongState(f"Customer {doc.get('number')} has finalized sale documents and cannot be deleted; "
                                 "set active to false instead")
        super().before_delete(doc)

    def prepare(self, data: dict, current: dict | None) -> dict:
        doc = super().prepare(data, current)
        if not doc.get("type"):
            doc["type"] = "Business" if doc.get("companyName") else "Consumer"
        if doc.get("active") is None:
            doc["active"] = True
        if doc["type"] == "Consumer":
            doc["name"] = person_name(doc) or doc.get("companyName")
        else:
            doc["name"] = doc.get("companyName") or person_name(doc)
        return doc


class Suppliers(Party):
    """Suppliers the seller buys from (purchase invoices refer to them)."""

    kind = "Suppliers"
    label = "Supplier"
    number_prefix = "F"
    company_field = "name"
    address_fields = ("address",)
    read_only = ("id", "createdAt", "createdById", "updatedAt", "updatedById")
    search_fields = ("name", "firstName", "lastName", "email", "number", "internalId", "phone", "cellPhone",
                     "address.city", "address.zipcode", "companyInformations.siret")
    find_fields = ("email", "internalId", "number")

    def prepare(self, data: dict, current: dict | None) -> dict:
        doc = super().prepare(data, current)
        doc["name"] = doc.get("name") or person_name(doc)
        user_id = self.ctx.reference.user.get("userId")
        now = self.ctx.now_iso()
        if current is None:
            doc["createdAt"], doc["createdById"] = now, user_id
        else:
            doc["createdAt"], doc["createdById"] = current.get("createdAt"), current.get("createdById")
        doc["updatedAt"], doc["updatedById"] = now, user_id
        return doc
