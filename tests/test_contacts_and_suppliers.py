"""Contacts and suppliers as an integration uses them: create, find, list, update, delete, and the
contacts of a supplier (its main contact and the people working for it)."""

import datetime as dt
import unicodedata

import pytest

from conftest import services


def plain(text: str) -> str:
    """Lower case without accents: how the sandbox compares text."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


class FakeClock:
    """The sandbox's clock, moved by the test: audit timestamps become predictable."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock(app):
    fake = FakeClock(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone.utc))
    services(app).clock = fake
    return fake


CONTACT = {
    "title": "M.",
    "firstName": "Étienne",
    "lastName": "Garnier",
    "companyName": "Reliure Garnier & Fils",
    "function": "Responsable achats",
    "service": "Achats",
    "email": "etienne.garnier@reliure-garnier.fr",
    "phone": "04 72 10 20 30",
    "cellPhone": "06 12 34 56 78",
    "internalId": "CRM-C-77",
}

SUPPLIER = {
    "name": "Papeterie Lumière SAS",
    "title": "Mme",
    "firstName": "Inès",
    "lastName": "Faure",
    "email": "ines.faure@papeterie-lumiere.fr",
    "phone": "04 78 55 66 77",
    "internalId": "ERP-SUP-501",
    "address": {"street": "3 quai Saint-Antoine", "zipcode": "69002", "city": "Lyon", "countryIso": "fr"},
    "companyInformations": {"siret": "73282932000074", "vatNumber": "FR44732829320"},
    "defaultPaymentMethod": "Transfer",
}


# --- Contacts -------------------------------------------------------------------------------------

def test_contact_round_trip_derives_its_display_names(client):
    created = client.post("/v1/Contacts", json=CONTACT)
    assert created.status_code == 200, created.text
    contact = created.json()
    assert contact["displayName"] == "Étienne Garnier"
    assert contact["invertedDisplayName"] == "Garnier Étienne"
    assert {k: contact[k] for k in CONTACT} == CONTACT
    assert client.get(f"/v1/Contacts/{contact['id']}").json() == contact


@pytest.mark.parametrize("given, display, inverted", [
    ({"lastName": "Garnier"}, "Garnier", "Garnier"),
    ({"firstName": "Étienne"}, "Étienne", "Étienne"),
    ({"companyName": "Reliure Garnier & Fils"}, "Reliure Garnier & Fils", "Reliure Garnier & Fils"),
    ({"email": "contact@reliure-garnier.fr"}, "contact@reliure-garnier.fr", "contact@reliure-garnier.fr"),
])
def test_a_contact_without_a_full_name_is_displayed_by_what_it_has(client, given, display, inverted):
    contact = client.post("/v1/Contacts", json=given).json()
    assert (contact["displayName"], contact["invertedDisplayName"]) == (display, inverted)


def test_read_only_contact_fields_sent_by_the_client_are_ignored(client):
    forged = {**CONTACT, "id": 4242, "displayName": "Forged", "invertedDisplayName": "Forged too"}
    contact = client.post("/v1/Contacts", json=forged).json()
    assert contact["id"] != 4242
    assert contact["displayName"] == "Étienne Garnier" and contact["invertedDisplayName"] == "Garnier Étienne"

    updated = client.put(f"/v1/Contacts/{contact['id']}",
                         json={**contact, "id": 1, "displayName": "Forged", "lastName": "Garnier-Roux"})
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["id"] == contact["id"]
    assert body["displayName"] == "Étienne Garnier-Roux" and body["invertedDisplayName"] == "Garnier-Roux Étienne"
    # The seeded contact 1 was not touched by the forged id.
    assert client.get("/v1/Contacts/1").json()["displayName"] != "Étienne Garnier-Roux"


def test_contact_read_modify_write_changes_only_what_the_client_changed(client):
    contact = client.post("/v1/Contacts", json=CONTACT).json()
    updated = client.put(f"/v1/Contacts/{contact['id']}", json={**contact, "function": "Directeur", "cellPhone": None}).json()
    assert updated["function"] == "Directeur"
    assert updated["cellPhone"] is None
    assert {k: updated[k] for k in ("email", "phone", "internalId", "companyName", "displayName")} == \
        {k: contact[k] for k in ("email", "phone", "internalId", "companyName", "displayName")}
    assert client.get(f"/v1/Contacts/{contact['id']}").json() == updated


def test_find_contacts_by_email_case_insensitively_and_by_internal_id(client):
    contact = client.post("/v1/Contacts", json=CONTACT).json()
    assert client.get("/v1/Contacts/Find", params={"email": CONTACT["email"].upper()}).json() == [contact]
    assert client.get("/v1/Contacts/Find", params={"internalId": "crm-c-77"}).json() == [contact]
    assert client.get("/v1/Contacts/Find", params={"email": CONTACT["email"], "internalId": "CRM-C-77"}).json() == [contact]
    assert client.get("/v1/Contacts/Find", params={"email": CONTACT["email"], "internalId": "other"}).json() == []
    assert client.get("/v1/Contacts/Find", params={"email": "nobody@example.fr"}).json() == []
    refused = client.get("/v1/Contacts/Find")
    assert refused.status_code == 400 and "Email or internal ID have to be defined" in refused.text


def test_contact_list_searches_pages_and_orders(client):
    everything = client.get("/v1/Contacts").json()
    assert everything, "the sandbox is seeded with contacts"
    created = client.post("/v1/Contacts", json=CONTACT).json()
    assert len(client.get("/v1/Contacts").json()) == len(everything) + 1

    assert client.get("/v1/Contacts", params={"query": "garnier RELIURE"}).json() == [created]
    assert client.get("/v1/Contacts", params={"query": "etienne achats"}).json() == [created]
    assert client.get("/v1/Contacts", params={"query": "garnier zzz-nothing"}).json() == []

    everything = client.get("/v1/Contacts").json()
    size = 7
    pages = [client.get("/v1/Contacts", params={"PageSize": size, "PageIndex": i}).json()
             for i in range(1, len(everything) // size + 3)]
    assert all(len(p) == size for p in pages[:len(everything) // size])
    assert pages[-1] == []
    assert [c["id"] for p in pages for c in p] == [c["id"] for c in everything]

    # OrderBy is accepted and ignored, as live.
    assert client.get("/v1/Contacts", params={"OrderBy": "lastName"}).json() == everything


def test_delete_a_contact_then_it_is_gone(client):
    contact = client.post("/v1/Contacts", json=CONTACT).json()
    assert client.delete(f"/v1/Contacts/{contact['id']}").status_code == 200
    assert client.get(f"/v1/Contacts/{contact['id']}").status_code == 404
    assert client.put(f"/v1/Contacts/{contact['id']}", json={"function": "x"}).status_code == 404
    assert client.delete(f"/v1/Contacts/{contact['id']}").status_code == 404
    assert client.get("/v1/Contacts/Find", params={"internalId": "CRM-C-77"}).json() == []


# --- Suppliers ------------------------------------------------------------------------------------

def test_seeded_suppliers_are_numbered_without_gaps(client):
    suppliers = client.get("/v1/Suppliers").json()
    assert len(suppliers) == 10
    assert sorted(s["number"] for s in suppliers) == [f"F{i:05d}" for i in range(1, 11)]


def test_create_numbers_the_supplier_after_the_seeded_ones_without_gaps(client):
    seeded = len(client.get("/v1/Suppliers").json())
    first = client.post("/v1/Suppliers", json=SUPPLIER)
    assert first.status_code == 200, first.text
    assert first.json()["number"] == f"F{seeded + 1:05d}"
    # A number given by the client is kept and does not use up the sequence.
    own = client.post("/v1/Suppliers", json={"name": "Numéroté Ailleurs SARL", "number": "EXT-1"}).json()
    assert own["number"] == "EXT-1"
    second = client.post("/v1/Suppliers", json={"name": "Cartonnages Durand SA"}).json()
    assert second["number"] == f"F{seeded + 2:05d}"


def test_create_derives_the_address_and_records_who_and_when(client, clock):
    me = client.get("/v1/Users/me").json()
    supplier = client.post("/v1/Suppliers", json={**SUPPLIER, "createdAt": "2000-01-01T00:00:00Z", "id": 4242}).json()
    assert supplier["id"] != 4242
    assert supplier["name"] == "Papeterie Lumière SAS"
    assert supplier["address"]["countryIso"] == "FR" and supplier["address"]["countryName"] == "France"
    assert supplier["address"]["inlineAddress"] == "3 quai Saint-Antoine, 69002 Lyon, France"
    assert supplier["createdAt"] == supplier["updatedAt"] == "2026-03-02T10:00:00Z"
    assert supplier["createdById"] == supplier["updatedById"] == me["userId"]
    assert client.get(f"/v1/Suppliers/{supplier['id']}").json() == supplier


def test_read_modify_write_moves_updated_at_and_keeps_created_at(client, clock):
    supplier = client.post("/v1/Suppliers", json=SUPPLIER).json()
    clock.now += dt.timedelta(hours=1, minutes=30)
    updated = client.put(f"/v1/Suppliers/{supplier['id']}",
                         json={**supplier, "phone": "04 00 00 00 00", "internalNotes": None, "createdAt": "2000-01-01T00:00:00Z"})
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["phone"] == "04 00 00 00 00"
    assert body["internalNotes"] is None
    assert body["createdAt"] == "2026-03-02T10:00:00Z"
    assert body["updatedAt"] == "2026-03-02T11:30:00Z"
    assert body["number"] == supplier["number"]
    for kept in ("name", "email", "internalId", "address", "companyInformations", "defaultPaymentMethod"):
        assert body[kept] == supplier[kept], kept
    assert client.get(f"/v1/Suppliers/{supplier['id']}").json() == body


def test_a_supplier_without_a_company_name_is_named_after_its_person(client):
    supplier = client.post("/v1/Suppliers", json={"firstName": "Hugo", "lastName": "Perrin", "email": "hugo@perrin.fr"}).json()
    assert supplier["name"] == "Hugo Perrin"


def test_find_suppliers_by_email_and_internal_id(client):
    supplier = client.post("/v1/Suppliers", json=SUPPLIER).json()
    assert client.get("/v1/Suppliers/Find", params={"email": "INES.FAURE@papeterie-lumiere.fr"}).json() == [supplier]
    assert client.get("/v1/Suppliers/Find", params={"internalId": "erp-sup-501"}).json() == [supplier]
    assert client.get("/v1/Suppliers/Find", params={"email": "nobody@example.fr"}).json() == []
    refused = client.get("/v1/Suppliers/Find")
    assert refused.status_code == 400 and "Email or internal ID or number have to be defined" in refused.text


def test_find_a_seeded_supplier_by_its_own_fields(client):
    seeded = client.get("/v1/Suppliers").json()[3]
    assert client.get("/v1/Suppliers/Find", params={"email": seeded["email"]}).json() == [seeded]
    assert client.get("/v1/Suppliers/Find", params={"internalId": seeded["internalId"]}).json() == [seeded]
    assert client.get("/v1/Suppliers", params={"query": seeded["number"]}).json() == [seeded]


def test_get_supplier_by_internal_id(client):
    supplier = client.post("/v1/Suppliers", json=SUPPLIER).json()
    assert client.get("/v1/Suppliers/GetByInternalId/ERP-SUP-501").json() == supplier
    missing = client.get("/v1/Suppliers/GetByInternalId/ERP-SUP-404")
    assert missing.status_code == 404
    assert missing.json()["errors"] == [] and "ERP-SUP-404" in missing.json()["message"]


def test_supplier_list_searches_and_orders(client):
    client.post("/v1/Suppliers", json=SUPPLIER)
    found = client.get("/v1/Suppliers", params={"query": "papeterie LUMIERE lyon"}).json()
    assert [s["name"] for s in found] == ["Papeterie Lumière SAS"]
    assert client.get("/v1/Suppliers", params={"OrderBy": "name desc"}).json() == client.get("/v1/Suppliers").json()
    assert len(client.get("/v1/Suppliers", params={"PageSize": 4, "PageIndex": 3}).json()) == 3


def test_delete_a_supplier(client):
    supplier = client.post("/v1/Suppliers", json=SUPPLIER).json()
    assert client.delete(f"/v1/Suppliers/{supplier['id']}").status_code == 200
    assert client.get(f"/v1/Suppliers/{supplier['id']}").status_code == 404
    assert client.put(f"/v1/Suppliers/{supplier['id']}", json={"phone": "x"}).status_code == 404
    assert client.delete(f"/v1/Suppliers/{supplier['id']}").status_code == 404
    assert client.get("/v1/Suppliers/GetByInternalId/ERP-SUP-501").status_code == 404
    assert client.get("/v1/Suppliers/Find", params={"email": SUPPLIER["email"]}).json() == []


def test_supplier_contacts_are_its_main_contact_and_the_people_of_the_company(client):
    supplier = client.post("/v1/Suppliers", json=SUPPLIER).json()
    colleague = client.post("/v1/Contacts", json={"firstName": "Marc", "lastName": "Blanc", "companyName": "PAPETERIE LUMIÈRE SAS",
                                                 "function": "Commercial", "email": "marc.blanc@papeterie-lumiere.fr"}).json()
    stranger = client.post("/v1/Contacts", json={"firstName": "Zoé", "lastName": "Noir", "companyName": "Papeterie Ombre SAS"}).json()

    contacts = client.get(f"/v1/Suppliers/{supplier['id']}/contacts")
    assert contacts.status_code == 200, contacts.text
    contacts = contacts.json()
    assert [(c["displayName"], c["isMain"]) for c in contacts] == [("Inès Faure", True), ("Marc Blanc", False)]
    main = contacts[0]
    assert {k: main[k] for k in ("title", "firstName", "lastName", "email", "phone")} == \
        {k: SUPPLIER[k] for k in ("title", "firstName", "lastName", "email", "phone")}
    assert main["companyName"] == SUPPLIER["name"]
    assert contacts[1]["id"] == colleague["id"] and contacts[1]["function"] == "Commercial"
    assert stranger["id"] not in {c["id"] for c in contacts}
    # The main contact is a contact like the others.
    assert client.get(f"/v1/Contacts/{main['id']}").json()["displayName"] == "Inès Faure"


def test_main_contact_follows_the_supplier(client):
    supplier = client.post("/v1/Suppliers", json=SUPPLIER).json()
    client.put(f"/v1/Suppliers/{supplier['id']}", json={**supplier, "firstName": "Inès-Marie", "name": "Papeterie Lumière & Co"})
    main = client.get(f"/v1/Suppliers/{supplier['id']}/contacts").json()[0]
    assert main["isMain"] and main["displayName"] == "Inès-Marie Faure"
    assert main["companyName"] == "Papeterie Lumière & Co"

    # Without any person field left, the supplier has no main contact any more.
    nobody = {k: None for k in ("title", "firstName", "lastName", "email", "phone", "cellPhone")}
    client.put(f"/v1/Suppliers/{supplier['id']}", json={**supplier, **nobody})
    assert client.get(f"/v1/Suppliers/{supplier['id']}/contacts").json() == []
    assert client.get(f"/v1/Contacts/{main['id']}").status_code == 404


def test_deleting_a_supplier_removes_its_main_contact_and_keeps_the_others(client):
    supplier = client.post("/v1/Suppliers", json=SUPPLIER).json()
    colleague = client.post("/v1/Contacts", json={"firstName": "Marc", "lastName": "Blanc", "companyName": SUPPLIER["name"]}).json()
    main = client.get(f"/v1/Suppliers/{supplier['id']}/contacts").json()[0]
    client.delete(f"/v1/Suppliers/{supplier['id']}")
    assert client.get(f"/v1/Contacts/{main['id']}").status_code == 404
    assert client.get(f"/v1/Contacts/{colleague['id']}").json()["companyName"] == SUPPLIER["name"]
    assert client.get(f"/v1/Suppliers/{supplier['id']}/contacts").status_code == 404


def test_seeded_suppliers_have_their_main_contact(client):
    for supplier in client.get("/v1/Suppliers").json():
        contacts = client.get(f"/v1/Suppliers/{supplier['id']}/contacts").json()
        main = [c for c in contacts if c["isMain"]]
        assert len(main) == 1 and main[0]["email"] == supplier["email"], supplier["number"]


def test_contacts_entered_before_their_supplier_are_listed_once_it_exists(client):
    early = client.post("/v1/Contacts", json={"firstName": "Marc", "lastName": "Blanc", "companyName": SUPPLIER["name"]}).json()
    supplier = client.post("/v1/Suppliers", json=SUPPLIER).json()
    contacts = client.get(f"/v1/Suppliers/{supplier['id']}/contacts").json()
    assert [(c["displayName"], c["isMain"]) for c in contacts] == [("Inès Faure", True), ("Marc Blanc", False)]
    assert contacts[1]["id"] == early["id"]


def test_renaming_a_supplier_lists_the_people_of_its_new_name(client):
    supplier = client.post("/v1/Suppliers", json=SUPPLIER).json()
    old_colleague = client.post("/v1/Contacts", json={"lastName": "Blanc", "companyName": SUPPLIER["name"]}).json()
    new_colleague = client.post("/v1/Contacts", json={"lastName": "Rouge", "companyName": "Papeterie Soleil SAS"}).json()
    client.put(f"/v1/Suppliers/{supplier['id']}", json={**supplier, "name": "Papeterie Soleil SAS"})
    contacts = client.get(f"/v1/Suppliers/{supplier['id']}/contacts").json()
    assert [(c["id"], c["isMain"]) for c in contacts] == [(contacts[0]["id"], True), (new_colleague["id"], False)]
    assert old_colleague["id"] not in {c["id"] for c in contacts}


def test_a_company_that_is_both_customer_and_supplier_lists_its_people_as_the_customers(client):
    # The documented priority: a contact of a company that is a customer and a supplier is the customer's.
    supplier = client.post("/v1/Suppliers", json=SUPPLIER).json()
    colleague = client.post("/v1/Contacts", json={"lastName": "Blanc", "companyName": SUPPLIER["name"]}).json()
    customer = client.post("/v1/Customers", json={"companyName": SUPPLIER["name"]}).json()
    assert [c["id"] for c in client.get(f"/v1/Customers/{customer['id']}/contacts").json()] == [colleague["id"]]
    assert colleague["id"] not in {c["id"] for c in client.get(f"/v1/Suppliers/{supplier['id']}/contacts").json()}


@pytest.mark.parametrize("kind", ["Suppliers", "Contacts"])
def test_a_resource_read_then_written_back_whole_is_unchanged(client, clock, kind):
    # What a client does when it edits an object: GET it, change a field, PUT the whole body.
    seeded = client.get(f"/v1/{kind}/2").json()
    response = client.put(f"/v1/{kind}/2", json={**seeded, "phone": "01 02 03 04 05"})
    assert response.status_code == 200, response.text
    expected = {**seeded, "phone": "01 02 03 04 05"}
    if kind == "Suppliers":
        expected["updatedAt"] = "2026-03-02T10:00:00Z"
    assert response.json() == expected
