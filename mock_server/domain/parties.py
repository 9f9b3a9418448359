"""Customers, suppliers and their contacts.

A party (customer or supplier) has contacts: its main contact, kept in step with the party's own
person fields (title, names, email, phones), and the contacts created through `/v1/Contacts`
whose `companyName` equals the party's company name (case-insensitive; customers first).
"""

from __future__ import annotations

from typing import ClassVar

from .addresses import normalize_address
from .collection import Collection, Family
from .errors import Noun, WrongState

PERSON_FIELDS = ("title", "firstName", "lastName", "email", "phone", "cellPhone")
CONTACT_SEARCH = ("displayName", "companyName", "email", "phone", "cellPhone", "internalId", "function", "service")


def _folded(value) -> str | None:
    return value.casefold() if isinstance(value, str) and value else None


# Keys of the store's indexes (TenantStore.select_by): who is named what, who works for whom.
def customer_company(doc: dict) -> str | None:
    return _folded(doc.get("companyName"))


def supplier_name(doc: dict) -> str | None:
    return _folded(doc.get("name"))


def contact_company(doc: dict) -> str | None:
    """The company name of a contact that is not a party's main contact."""
    return None if doc.get("_isMain") else _folded(doc.get("companyName"))


def contact_party(doc: dict) -> tuple[str, int] | None:
    """(kind, id) of the party a contact belongs to."""
    kind = doc.get("_thirdKind")
    return None if kind is None else (kind, doc.get("_thirdId"))


EMPLOYERS = (("Customers", customer_company), ("Suppliers", supplier_name))


def person_name(doc: dict) -> str | None:
    """"Firstname Lastname", or whichever half exists."""
    return " ".join(p for p in (doc.get("firstName"), doc.get("lastName")) if p) or None


class Contacts(Collection):
    """Contacts (people), optionally linked to the customer or supplier they work for."""

    kind = "Contacts"
    label = "Contact"
    noun = Noun("contact")
    event_name = "Contact"
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
        wanted = _folded(company_name)
        if wanted is None:
            return None, None
        for kind, key in EMPLOYERS:
            found = self.repo.select_by(kind, key, (wanted,))
            if found:
                return kind, found[0]["id"]
        return None, None

    def of_party(self, kind: str, party_id: int) -> list[dict]:
        """A party's contacts as `ThirdContact`s, main contact first."""
        docs = self.repo.select_by(self.kind, contact_party, ((kind, party_id),))
        docs.sort(key=lambda d: (not d.get("_isMain"), d["id"]))
        return [{**self.view(d), "isMain": bool(d.get("_isMain"))} for d in docs]

    def sync_main(self, kind: str, party: dict, company_name: str | None, *, new: bool = False) -> None:
        """Create, update or remove the party's main contact from its own person fields.

        A `new` party has none yet (ids are never reused): no need to look for it among all contacts."""
        mains = [] if new else [d for d in self.repo.select_by(self.kind, contact_party, ((kind, party["id"]),))
                                if d.get("_isMain")]
        fields = {key: party.get(key) for key in PERSON_FIELDS}
        if not any(fields.values()):
            for doc in mains:
                self.repo.delete(self.kind, doc["id"])
                self.emit("Deleted", doc["id"], self.view(doc))
            return
        data = {**fields, "companyName": company_name, "_thirdKind": kind, "_thirdId": party["id"], "_isMain": True}
        if mains:
            main = mains[0]
            updated = self.prepare({**main, **data}, main)
            if updated != main:
                self.repo.replace(self.kind, main["id"], updated)
                self.emit("Updated", main["id"])
        else:
            self.emit("Created", self.repo.insert(self.kind, self.prepare(data, None))["id"])

    def relink(self, company_names) -> None:
        """Attach the contacts of these company names to the party bearing the name now (customers
        first), so that who works where does not depend on which was created first."""
        wanted = {_folded(name) for name in company_names} - {None}
        if not wanted:
            return
        for doc in self.repo.select_by(self.kind, contact_company, wanted):
            employer = self._employer(doc.get("companyName"))
            if employer != (doc.get("_thirdKind"), doc.get("_thirdId")):
                self.repo.replace(self.kind, doc["id"], {**doc, "_thirdKind": employer[0], "_thirdId": employer[1]})

    def release(self, kind: str, party_id: int) -> None:
        """Forget a deleted party: drop its main contact, unlink the others."""
        for doc in self.repo.select_by(self.kind, contact_party, ((kind, party_id),)):
            if doc.get("_isMain"):
                self.repo.delete(self.kind, doc["id"])
                self.emit("Deleted", doc["id"], self.view(doc))
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
        contacts.sync_main(self.kind, doc, doc.get(self.company_field), new=previous is None)
        before = (previous or {}).get(self.company_field)
        if previous is None or before != doc.get(self.company_field):
            contacts.relink((before, doc.get(self.company_field)))

    def before_delete(self, doc: dict) -> None:
        Contacts(self.ctx).release(self.kind, doc["id"])

    def contacts(self, id: int) -> list[dict]:
        self.load(id)
        return Contacts(self.ctx).of_party(self.kind, id)


class CustomerFamilies(Family):
    """Families grouping customers (`Customer.family`)."""

    kind = "CustomerFamilies"
    label = "Customer family"
    noun = Noun("famille de clients", feminine=True)
    search_fields = ("label", "number", "internalId")
    find_fields = ("number", "internalId")

    def members(self) -> Collection:
        return Customers(self.ctx)


class Customers(Party):
    """Customers: businesses, consumers and public bodies the seller invoices."""

    kind = "Customers"
    label = "Customer"
    noun = Noun("client")
    event_name = "Customer"
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
                raise WrongState(f"Le client {doc.get('number')} a des documents de vente finalisés et ne peut pas être "
                                 "supprimé ; passez active à false à la place.")
        super().before_delete(doc)

    def prepare(self, data: dict, current: dict | None) -> dict:
        doc = super().prepare(data, current)
        doc["_familyId"] = CustomerFamilies(self.ctx).resolve(doc.get("family"))
        doc.pop("family", None)
        if not doc.get("type"):
            doc["type"] = "Business" if doc.get("companyName") else "Consumer"
        if doc.get("active") is None:
            doc["active"] = True
        if doc["type"] == "Consumer":
            doc["name"] = person_name(doc) or doc.get("companyName")
        else:
            doc["name"] = doc.get("companyName") or person_name(doc)
        return doc


    def view(self, doc: dict) -> dict:
        family_id = doc.get("_familyId")
        family = self.repo.get(CustomerFamilies.kind, family_id) if family_id is not None else None
        return {**doc, "family": family} if family else doc


class Suppliers(Party):
    """Suppliers the seller buys from (purchase invoices refer to them)."""

    kind = "Suppliers"
    label = "Supplier"
    noun = Noun("fournisseur")
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


class Colleagues(Collection):
    """The seller's colleagues (salespeople, partners); customers' billing options may name one."""

    kind = "Colleagues"
    label = "Colleague"
    noun = Noun("collaborateur")
    number_prefix = "COL"
    search_fields = ("name", "firstName", "lastName", "email", "number", "internalId", "phone", "cellPhone")
    find_fields = ("email", "internalId", "number")

    def prepare(self, data: dict, current: dict | None) -> dict:
        doc = dict(data)
        doc["number"] = doc.get("number") or (current or {}).get("number") or self.next_number(self.number_prefix)
        doc["name"] = person_name(doc) or doc.get("name") or doc.get("email")
        if doc.get("isPartner") is None:
            doc["isPartner"] = False
        if doc.get("initialPartnerBalance") is None:
            doc["initialPartnerBalance"] = 0
        return doc
