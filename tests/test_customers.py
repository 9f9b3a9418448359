"""Customers as an integration uses them: list the seeded ones, create, find, update, delete."""

import unicodedata

import pytest


def plain(text: str) -> str:
    """Lower case without accents: how the sandbox compares text."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()

NEW = {
    "type": "Business",
    "companyName": "Boulangerie Martin SARL",
    "title": "Mme",
    "firstName": "Claire",
    "lastName": "Martin",
    "email": "claire@boulangerie-martin.fr",
    "internalId": "CRM-9001",
    "companyInformations": {"siret": "73282932000074", "vatNumber": "FR44732829320"},
    "billingAddress": {"street": "12 rue de la République", "zipcode": "69002", "city": "Lyon", "countryIso": "fr"},
}


def test_seeded_customers_are_realistic_french_parties(client):
    response = client.get("/v1/Customers")
    assert response.status_code == 200
    customers = response.json()
    assert len(customers) == 30
    assert {c["type"] for c in customers} <= {"Business", "Consumer", "Government"}
    business = next(c for c in customers if c["type"] == "Business" and c["billingAddress"]["countryIso"] == "FR")
    assert business["name"] == business["companyName"]
    assert business["number"].startswith("C") and business["number"][1:].isdigit()
    assert len(business["companyInformations"]["siret"]) == 14
    assert business["billingAddress"]["countryName"] == "France"
    assert business["companyInformations"]["vatNumber"] == "FR" + business["companyInformations"]["vatNumber"][2:4] + business["companyInformations"]["siret"][:9]
    assert "string" not in response.text


def test_create_numbers_the_customer_and_derives_its_read_only_fields(client):
    before = client.get("/v1/Customers").json()
    created = client.post("/v1/Customers", json=NEW)
    assert created.status_code == 200, created.text
    customer = created.json()
    assert customer["id"] > max(c["id"] for c in before)
    assert customer["number"] == f"C{len(before) + 1:05d}"
    assert customer["name"] == "Boulangerie Martin SARL"
    assert customer["active"] is True
    address = customer["billingAddress"]
    assert address["countryIso"] == "FR" and address["countryName"] == "France"
    assert address["inlineAddress"] == "12 rue de la République, 69002 Lyon, France"
    assert client.get(f"/v1/Customers/{customer['id']}").json() == customer


def test_consumer_name_is_the_person(client):
    customer = client.post("/v1/Customers", json={"type": "Consumer", "firstName": "Léa", "lastName": "Roux"}).json()
    assert customer["name"] == "Léa Roux"
    assert customer.get("companyName") is None


def test_find_and_get_by_internal_id(client):
    customer = client.post("/v1/Customers", json=NEW).json()
    assert client.get("/v1/Customers/Find", params={"email": "CLAIRE@boulangerie-martin.fr"}).json() == [customer]
    assert client.get("/v1/Customers/Find", params={"internalId": "CRM-9001"}).json() == [customer]
    assert client.get("/v1/Customers/Find", params={"number": customer["number"]}).json() == [customer]
    assert client.get("/v1/Customers/Find", params={"email": "nobody@example.fr"}).json() == []
    assert client.get("/v1/Customers/GetByInternalId/CRM-9001").json() == customer
    missing = client.get("/v1/Customers/GetByInternalId/nope")
    assert missing.status_code == 404
    assert "nope" in missing.json()["message"]


def test_a_partial_put_replaces_the_customer_and_names_what_it_reset(client):
    # As live (the vendor's "Best practices"): what the body omits takes its default.
    customer = client.post("/v1/Customers", json=NEW).json()
    updated = client.put(f"/v1/Customers/{customer['id']}", json={"phone": "04 78 00 00 00", "companyName": "Martin & Fils"})
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert (body["phone"], body["name"]) == ("04 78 00 00 00", "Martin & Fils")
    assert body["number"] == customer["number"]  # not given: the customer keeps its number
    for reset in ("email", "firstName", "lastName", "internalId", "billingAddress"):
        assert body.get(reset) is None, reset
    named = updated.headers["X-Mock-Warning"].partition("defaults: ")[2].split(", ")
    assert {"email", "firstName", "lastName", "internalId", "billingAddress"} <= set(named)
    assert "phone" not in named and "number" not in named
    assert client.get(f"/v1/Customers/{customer['id']}").json() == body


def test_read_modify_write_changes_only_what_the_client_changed(client):
    customer = client.post("/v1/Customers", json=NEW).json()
    updated = client.put(f"/v1/Customers/{customer['id']}", json={**customer, "phone": "04 78 00 00 00"})
    assert updated.status_code == 200, updated.text
    assert updated.json() == {**customer, "phone": "04 78 00 00 00"}
    assert "X-Mock-Warning" not in updated.headers


def test_read_only_fields_sent_by_the_client_are_ignored(client):
    customer = client.post("/v1/Customers", json={**NEW, "id": 4242, "name": "Forged"}).json()
    assert customer["id"] != 4242
    assert customer["name"] == NEW["companyName"]


def test_delete_then_404(client):
    customer = client.post("/v1/Customers", json=NEW).json()
    assert client.delete(f"/v1/Customers/{customer['id']}").status_code == 200
    assert client.get(f"/v1/Customers/{customer['id']}").status_code == 404
    assert client.delete(f"/v1/Customers/{customer['id']}").status_code == 404
    assert client.get("/v1/Customers/GetByInternalId/CRM-9001").status_code == 404


def test_main_contact_follows_the_customer_and_company_contacts_are_linked(client):
    customer = client.post("/v1/Customers", json=NEW).json()
    colleague = client.post("/v1/Contacts", json={"firstName": "Paul", "lastName": "Durand", "companyName": "boulangerie martin sarl",
                                                 "function": "Comptable", "email": "paul@boulangerie-martin.fr"}).json()
    contacts = client.get(f"/v1/Customers/{customer['id']}/contacts").json()
    assert [(c["displayName"], c["isMain"]) for c in contacts] == [("Claire Martin", True), ("Paul Durand", False)]
    assert contacts[1]["id"] == colleague["id"]

    client.put(f"/v1/Customers/{customer['id']}", json={**customer, "firstName": "Claire-Marie"})
    main = client.get(f"/v1/Customers/{customer['id']}/contacts").json()[0]
    assert main["displayName"] == "Claire-Marie Martin" and main["isMain"]

    client.delete(f"/v1/Customers/{customer['id']}")
    assert client.get(f"/v1/Contacts/{main['id']}").status_code == 404
    assert client.get(f"/v1/Contacts/{colleague['id']}").status_code == 200
    assert client.get(f"/v1/Customers/{customer['id']}/contacts").status_code == 404


@pytest.mark.parametrize("params, expected", [
    ({"PageSize": 7}, 7),
    ({"PageSize": 7, "PageIndex": 5}, 2),
    ({"PageSize": 7, "PageIndex": 6}, 0),
    ({"PageSize": 0}, 30),
])
def test_paging(client, params, expected):
    response = client.get("/v1/Customers", params=params)
    assert response.status_code == 200
    assert len(response.json()) == expected


def test_pages_partition_the_list(client):
    everything = client.get("/v1/Customers").json()
    pages = [client.get("/v1/Customers", params={"PageSize": 8, "PageIndex": i}).json() for i in range(1, 5)]
    assert [c["id"] for page in pages for c in page] == [c["id"] for c in everything]


@pytest.mark.parametrize("order_by", ["name", "-Name", "noSuchField"])
def test_order_by_is_accepted_and_ignored_with_a_warning(client, order_by):
    # Captured live: OrderBy has no effect; the sandbox says so rather than sort where production won't.
    response = client.get("/v1/Customers", params={"OrderBy": order_by})
    assert response.status_code == 200
    assert response.json() == client.get("/v1/Customers").json()
    assert response.headers.get_list("x-mock-warning") == ["OrderBy ignored"]


def test_page_index_below_1_is_400_as_live(client):
    response = client.get("/v1/Customers", params={"PageIndex": -3, "PageSize": 10})
    assert response.status_code == 400
    assert response.json() == {"errors": ["'Page Index' must be greater than or equal to '1'."],
                               "message": "Validation failed"}


def test_full_text_query_is_case_and_accent_insensitive(client):
    client.post("/v1/Customers", json=NEW)
    found = client.get("/v1/Customers", params={"query": "BOULANGERIE lyon"}).json()
    assert [c["companyName"] for c in found] == ["Boulangerie Martin SARL"]
    assert client.get("/v1/Customers", params={"query": "zzz-nothing"}).json() == []
