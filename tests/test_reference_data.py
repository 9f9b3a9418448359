"""Reference data as real as the live API's: VAT rates, units, classifications, settings, the user."""

import zoneinfo

import pytest

from mock_server.app import create_app, load_contract
from mock_server.config import Config

from conftest import services

SCHEMAS = load_contract()["components"]["schemas"]


def luhn_ok(digits: str) -> bool:
    """The Luhn check SIREN and SIRET numbers carry."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def french_vat_number(siren: str) -> str:
    """FR + the two-digit key of the SIREN + the SIREN."""
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


# --- VAT rates ---------------------------------------------------------------------------------------------

def test_every_vat_region_has_rates_and_exactly_one_default(client):
    vats = client.get("/v1/Vats").json()
    regions = SCHEMAS["VatRegion"]["enum"]
    assert {v["region"] for v in vats} == set(regions)
    for region in regions:
        defaults = [v for v in vats if v["region"] == region and v["default"]]
        assert len(defaults) == 1, region
    assert len({v["id"] for v in vats}) == len(vats)
    assert all(v["label"] and isinstance(v["rate"], (int, float)) and 0 <= v["rate"] < 100 for v in vats)


def test_french_rates_are_the_legal_ones_with_20_percent_by_default(client):
    france = [v for v in client.get("/v1/Vats").json() if v["region"] == "FR"]
    assert {20, 10, 5.5, 2.1} <= {v["rate"] for v in france}
    assert [v["rate"] for v in france if v["default"]] == [20]
    assert all(v["label"] for v in france)


# --- Units ---------------------------------------------------------------------------------------------------

def test_units_have_codes_and_types_from_the_contract(client):
    units = client.get("/v1/Units").json()
    assert units
    codes = [u["code"] for u in units]
    assert all(codes) and len(set(codes)) == len(codes)
    assert {u["type"] for u in units} <= set(SCHEMAS["UnitType"]["enum"])
    assert all(u["name"] for u in units)
    by_code = {u["code"]: u for u in units}
    assert by_code["h"]["type"] == "Time"
    assert by_code["kg"]["type"] == "Weight"


# --- Classifications -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", SCHEMAS["ClassificationType"]["enum"])
def test_classifications_filter_by_type(client, kind):
    everything = client.get("/v1/Classifications").json()
    filtered = client.get("/v1/Classifications", params={"type": kind})
    assert filtered.status_code == 200
    assert filtered.json() == [c for c in everything if c["type"] == kind]


def test_sale_classifications_are_only_sale_ones(client):
    sales = client.get("/v1/Classifications", params={"type": "Sale"}).json()
    assert sales and all(c["type"] == "Sale" for c in sales)
    assert len(sales) < len(client.get("/v1/Classifications").json())
    assert all(c["accountNumber"] and c["accountNumber"].startswith("7") for c in sales)


def test_an_unknown_classification_type_is_400(client):
    response = client.get("/v1/Classifications", params={"type": "Nope"})
    assert response.status_code == 400
    assert response.json()["message"] == "Validation failed" and "Nope" in response.json()["errors"][0]


# --- Settings ------------------------------------------------------------------------------------------------

def test_settings_answer_every_section(client):
    response = client.get("/v1/Settings")
    assert response.status_code == 200
    settings = response.json()
    assert set(settings) == set(SCHEMAS["Settings"]["properties"])
    assert all(isinstance(settings[section], dict) and settings[section] for section in settings)
    assert "string" not in response.text


def test_settings_describe_a_real_french_company(client):
    settings = client.get("/v1/Settings").json()
    company = settings["company"]
    assert company["name"]
    siret = company["siret"]
    assert len(siret) == 14 and siret.isdigit() and luhn_ok(siret)
    siren = siret[:9]
    assert luhn_ok(siren)
    assert company["vatNumber"] == french_vat_number(siren)
    zoneinfo.ZoneInfo(settings["general"]["timezone"])


@pytest.mark.parametrize("which", ["invoicingAddress", "headOfficeAddress"])
def test_settings_addresses_carry_their_derived_fields(client, which):
    address = client.get("/v1/Settings").json()["company"][which]
    assert address["street"] and address["zipcode"] and address["city"]
    assert address["countryIso"] == "FR" and address["countryName"] == "France"
    locality = f"{address['zipcode']} {address['city']}"
    assert address["inlineAddress"] == f"{address['street']}, {locality}, France"
    assert address["formattedAddress"] == f"{address['street']}\n{locality}\nFRANCE"


# --- The user and the key ----------------------------------------------------------------------------------------

def test_users_me_and_whoami_are_the_same_user(client):
    me = client.get("/v1/Users/me")
    whoami = client.get("/v1/Users/whoami")
    assert me.status_code == whoami.status_code == 200
    assert me.json() == whoami.json()
    user = me.json()
    assert user["userId"] and "@" in user["email"]
    assert user["displayName"] == f"{user['firstName']} {user['lastName']}"


def test_hello_names_the_company(client):
    company = client.get("/v1/Settings").json()["company"]["name"]
    hello = client.get("/Hello")
    assert hello.status_code == 200
    body = hello.json()
    assert body["companyName"] == company
    assert company in body["message"]


def test_the_company_contact_has_its_display_names(client):
    contact = client.get("/v1/Settings").json()["company"]["contact"]
    assert contact["firstName"] and contact["lastName"]
    assert contact["displayName"] == f"{contact['firstName']} {contact['lastName']}"
    assert contact["invertedDisplayName"] == f"{contact['lastName']} {contact['firstName']}"


@pytest.mark.parametrize("key", ["x7", "ab12", "ci-job-9f", "team-b-7f3a9c2e51d84b06"])
def test_hello_never_echoes_a_key_whatever_its_length(tmp_path, key):
    app = create_app(Config(data_dir=tmp_path, open_tenants=True))
    with app.test_client(headers={"X-API-KEY": key}) as c:
        response = c.get("/Hello")
        assert response.status_code == 200
        assert key not in response.text
        assert response.json()["apiKeyName"]
    services(app).store.close()
