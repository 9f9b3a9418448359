"""The catalogue as an integration uses it: product families, and products with their VAT, unit
and family given the short ways the README documents, resolved to the reference data."""

import pytest


def error_text(response) -> str:
    """The message of a 400, whichever shape the contract documents for the operation."""
    body = response.json()
    return body.get("message") or body.get("detail") or ""


def vat(client, region: str, rate: float) -> dict:
    """The reference VAT of `region` at `rate`, as `GET /v1/Vats` answers it."""
    return next(v for v in client.get("/v1/Vats").json() if v["region"] == region and v["rate"] == rate)


def default_vat(client, region: str) -> dict:
    return next(v for v in client.get("/v1/Vats").json() if v["region"] == region and v["default"])


def unit(client, code: str) -> dict:
    return next(u for u in client.get("/v1/Units").json() if u["code"] == code)


PRODUCT = {
    "name": "Atelier de reliure",
    "number": "REL-ATL-1J",
    "internalId": "ERP-P-12",
    "type": "Service",
    "description": "Une journée d'initiation à la reliure d'art.",
    "unitPrice": 950,
    "purchasePrice": 120,
}


# --- Product families -------------------------------------------------------------------------------

def test_product_family_round_trip(client):
    before = client.get("/v1/ProductFamilies").json()
    created = client.post("/v1/ProductFamilies", json={"number": "FAM-99", "label": "Reliure", "id": 4242})
    assert created.status_code == 200, created.text
    family = created.json()
    assert family["id"] != 4242 and family["id"] not in {f["id"] for f in before}
    assert (family["number"], family["label"]) == ("FAM-99", "Reliure")
    assert client.get(f"/v1/ProductFamilies/{family['id']}").json() == family
    assert client.get("/v1/ProductFamilies").json() == before + [family]
    assert client.get("/v1/ProductFamilies", params={"query": "reliure"}).json() == [family]


def test_a_family_in_use_is_not_deleted_until_its_products_leave_it(client):
    family = client.post("/v1/ProductFamilies", json={"number": "FAM-99", "label": "Reliure"}).json()
    product = client.post("/v1/Products", json={**PRODUCT, "family": {"id": family["id"]}}).json()
    assert product["family"] == family

    refused = client.delete(f"/v1/ProductFamilies/{family['id']}")
    assert refused.status_code == 409
    assert "La famille Reliure ne peut pas être supprimée car elle a été utilisée." in refused.text
    # Nothing cascaded: the family and its product are as they were.
    assert client.get(f"/v1/ProductFamilies/{family['id']}").json() == family
    assert client.get(f"/v1/Products/{product['id']}").json() == product

    moved = client.put(f"/v1/Products/{product['id']}", json={"family": {}})
    assert moved.status_code == 200, moved.text
    assert client.delete(f"/v1/ProductFamilies/{family['id']}").status_code == 200
    assert client.get(f"/v1/ProductFamilies/{family['id']}").status_code == 404
    assert client.delete(f"/v1/ProductFamilies/{family['id']}").status_code == 404


def test_deleting_a_seeded_family_in_use_changes_nothing(client):
    family = client.get("/v1/ProductFamilies").json()[0]
    members = client.get("/v1/Products", params={"familyId": str(family["id"])}).json()
    assert members, "seeded families have products"
    assert client.delete(f"/v1/ProductFamilies/{family['id']}").status_code == 409
    assert client.get("/v1/Products", params={"familyId": str(family["id"])}).json() == members


# --- Products: VAT, unit, family ---------------------------------------------------------------------

def test_vat_given_by_rate_resolves_to_the_reference_vat(client):
    created = client.post("/v1/Products", json={**PRODUCT, "vat": {"rate": 5.5}})
    assert created.status_code == 200, created.text
    product = created.json()
    assert product["vat"] == vat(client, "FR", 5.5)
    assert product["vat"]["id"] is not None and product["vat"]["label"]
    assert client.get(f"/v1/Products/{product['id']}").json() == product


def test_vat_given_by_id_resolves_to_the_reference_vat(client):
    reduced = vat(client, "FR", 10)
    product = client.post("/v1/Products", json={**PRODUCT, "vat": {"id": reduced["id"]}}).json()
    assert product["vat"] == reduced


def test_vat_given_by_rate_and_region(client):
    product = client.post("/v1/Products", json={**PRODUCT, "vat": {"rate": 13, "region": "Corse"}}).json()
    assert product["vat"] == vat(client, "Corse", 13)


def test_a_product_without_vat_or_unit_has_none_as_live_and_its_lines_take_the_default_vat(client):
    product = client.post("/v1/Products", json=PRODUCT).json()
    assert (product.get("vat"), product.get("unit"), product["defaultQuantity"]) == (None, None, 0)
    assert client.get(f"/v1/Products/{product['id']}").json() == product
    invoice = client.post("/v1/SaleInvoices", json={"customerId": 2, "lines": [{"productId": product["id"]}]})
    assert invoice.status_code == 200, invoice.text
    assert invoice.json()["lines"][0]["vat"] == default_vat(client, "FR")
    assert invoice.json()["lines"][0]["vat"]["rate"] == 20


def test_a_region_alone_gives_that_regions_default_vat(client):
    product = client.post("/v1/Products", json={**PRODUCT, "vat": {"region": "DOM"}}).json()
    assert product["vat"] == default_vat(client, "DOM")


def test_unit_given_by_code_or_id_resolves_to_the_reference_unit(client):
    hour = unit(client, "h")
    by_code = client.post("/v1/Products", json={**PRODUCT, "unit": {"code": "h"}}).json()
    assert by_code["unit"] == hour and hour["type"] == "Time"
    day = unit(client, "j")
    by_id = client.post("/v1/Products", json={**PRODUCT, "number": "REL-2", "unit": {"id": day["id"]}}).json()
    assert by_id["unit"] == day


def test_family_given_by_id_or_number_is_the_familys_current_data(client):
    family = client.get("/v1/ProductFamilies/1").json()
    by_id = client.post("/v1/Products", json={**PRODUCT, "family": {"id": 1}}).json()
    assert by_id["family"] == family
    by_number = client.post("/v1/Products", json={**PRODUCT, "number": "REL-2", "family": {"number": family["number"]}}).json()
    assert by_number["family"] == family
    assert client.get(f"/v1/Products/{by_number['id']}").json()["family"] == family


@pytest.mark.parametrize("field, given, named", [
    ("unit", {"code": "brouette"}, "brouette"),
    ("unit", {"id": 9876}, "9876"),
    ("vat", {"rate": 7.5}, "7.5"),
    ("vat", {"id": 9876}, "9876"),
    ("vat", {"rate": 5.5, "region": "DOM"}, "DOM"),
    ("family", {"id": 9876}, "9876"),
    ("family", {"number": "FAM-XYZ"}, "FAM-XYZ"),
])
def test_unknown_references_are_a_400_that_names_the_bad_value(client, field, given, named):
    before = client.get("/v1/Products").json()
    response = client.post("/v1/Products", json={**PRODUCT, field: given})
    assert response.status_code == 400
    assert named in error_text(response)
    assert client.get("/v1/Products").json() == before

    product = client.get("/v1/Products").json()[0]
    response = client.put(f"/v1/Products/{product['id']}", json={field: given})
    assert response.status_code == 400
    assert named in error_text(response)
    assert client.get(f"/v1/Products/{product['id']}").json() == product


def test_an_unknown_vat_rate_lists_the_known_ones(client):
    response = client.post("/v1/Products", json={**PRODUCT, "vat": {"rate": 7}})
    known = [v["rate"] for v in client.get("/v1/Vats").json() if v["region"] == "FR"]
    assert all(f"{rate:g}" in error_text(response) for rate in known)


# --- Products: list, find, update, delete ----------------------------------------------------------------

def test_list_filters_by_family_id_or_number(client):
    everything = client.get("/v1/Products").json()
    family = client.get("/v1/ProductFamilies/2").json()
    expected = [p["id"] for p in everything if (p.get("family") or {}).get("id") == family["id"]]
    assert expected and len(expected) < len(everything)
    by_id = client.get("/v1/Products", params={"familyId": str(family["id"])}).json()
    assert [p["id"] for p in by_id] == expected
    by_number = client.get("/v1/Products", params={"familyId": family["number"].lower()}).json()
    assert by_number == by_id
    assert client.get("/v1/Products", params={"familyId": "FAM-NONE"}).json() == []
    paged = client.get("/v1/Products", params={"familyId": family["number"], "PageSize": 1, "PageIndex": 2}).json()
    assert [p["id"] for p in paged] == expected[1:2]


def test_list_searches_and_orders_products(client):
    created = client.post("/v1/Products", json=PRODUCT).json()
    assert client.get("/v1/Products", params={"query": "reliure INITIATION"}).json() == [created]


def test_find_products_by_number_and_internal_id(client):
    product = client.post("/v1/Products", json=PRODUCT).json()
    assert client.get("/v1/Products/Find", params={"number": "rel-atl-1j"}).json() == [product]
    assert client.get("/v1/Products/Find", params={"internalId": "ERP-P-12"}).json() == [product]
    assert client.get("/v1/Products/Find", params={"number": "NOPE"}).json() == []
    refused = client.get("/v1/Products/Find")
    assert refused.status_code == 400 and "Number or internal ID have to be defined" in refused.text


def test_a_partial_put_replaces_the_product_omitted_fields_take_their_defaults_and_are_named(client):
    # As live: PUT replaces the whole entity; the vendor's advice is read-modify-write.
    product = client.post("/v1/Products", json={**PRODUCT, "vat": {"rate": 20}, "unit": {"code": "j"}, "family": {"id": 1}}).json()
    updated = client.put(f"/v1/Products/{product['id']}", json={"vat": {"rate": 5.5}, "unitPrice": 990, "imageUrl": "http://x"})
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["vat"] == vat(client, "FR", 5.5)
    assert (body["unitPrice"], body["imageUrl"]) == (990, None)
    for reset in ("name", "number", "internalId", "description", "unit", "family"):
        assert body.get(reset) is None, reset
    assert (body["type"], body["purchasePrice"], body["active"]) == ("Product", 0, True)  # the defaults of a create
    warning = updated.headers["X-Mock-Warning"]
    assert warning.startswith("PUT reset omitted fields to their defaults: ")
    named = set(warning.partition(": ")[2].split(", "))
    assert {"name", "number", "internalId", "description", "unit", "family", "type", "purchasePrice"} <= named
    assert not named & {"vat", "unitPrice", "imageUrl", "id"}
    assert client.get(f"/v1/Products/{product['id']}").json() == body


def test_update_can_move_or_remove_the_family(client):
    product = client.post("/v1/Products", json={**PRODUCT, "family": {"id": 1}}).json()
    moved = client.put(f"/v1/Products/{product['id']}", json={**PRODUCT, "family": {"number": "FAM-03"}}).json()
    assert moved["family"] == client.get("/v1/Products/Find", params={"number": PRODUCT["number"]}).json()[0]["family"]
    assert moved["family"]["number"] == "FAM-03"
    removed = client.put(f"/v1/Products/{product['id']}", json={**PRODUCT, "family": {}})
    assert removed.status_code == 200, removed.text
    assert removed.json().get("family") is None
    assert "X-Mock-Warning" not in removed.headers  # given as empty: nothing omitted


def test_delete_a_product(client):
    product = client.post("/v1/Products", json=PRODUCT).json()
    assert client.delete(f"/v1/Products/{product['id']}").status_code == 200
    assert client.get(f"/v1/Products/{product['id']}").status_code == 404
    assert client.put(f"/v1/Products/{product['id']}", json={"unitPrice": 1}).status_code == 404
    assert client.delete(f"/v1/Products/{product['id']}").status_code == 404
    assert client.get("/v1/Products/Find", params={"number": PRODUCT["number"]}).json() == []


def test_a_product_read_then_written_back_whole_is_unchanged(client):
    # What a client does when it edits an object: GET it, change a field, PUT the whole body.
    product = client.get("/v1/Products/3").json()
    response = client.put("/v1/Products/3", json={**product, "unitPrice": product["unitPrice"] + 10})
    assert response.status_code == 200, response.text
    assert response.json() == {**product, "unitPrice": product["unitPrice"] + 10}
