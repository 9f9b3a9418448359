"""Seed and reference data: determinism, valid identifiers, vendor field names and enum values."""

import hashlib
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from altoviz_mock_fixtures import CLASSIFICATIONS, DEFAULT_SEED, UNITS, VATS, build_dataset, current_user, settings
from altoviz_mock_fixtures.reference import make_siret, siren_checksum_ok, vat_number_for_siren

REPO_ROOT = Path(__file__).resolve().parents[1]

# Enum values copied from the vendor's published spec (components.schemas).
ENUMS = {
    "VatRegion": {"FR", "EU", "IE", "DOM", "Corse", "Monaco"},
    "UnitType": {"Time", "Weight", "Area", "Volume", "Dimension", "Other"},
    "ClassificationType": {"Sale", "Expense", "Other"},
    "MicroBusinessDeclarationTypes": {"Products", "Services", "OtherServices", "Renting", "Cipav"},
    "CustomerType": {"Business", "Consumer", "Government"},
    "ProductType": {"Product", "Service", "Text"},
    "PaymentMethod": {"Transfer", "Order", "Check", "Cash", "Card", "Bill", "Usec", "Other"},
    "UserProfile": {"Admin", "Standard", "Accountant", "Support", "Api", "Unknown"},
    "UserStatus": {"Inactive", "InvitationSent", "Active", "Unknown"},
    "VatMode": {"Auto", "Debit", "Collection"},
    "VatDeclarationPeriodicity": {"Monthly", "Quarterly", "Annually"},
    "DelayType": {"Days", "Months"},
    "ConditionType": {"Net", "EndMonth"},
    "CompanyInfoLinkProvider": {"Pappers", "Infogreffe", "Manageo", "Verif"},
    "ContactNameDisplay": {"LastNameFirstName", "FirstNameLastName"},
    "IPLinkProvider": {"IPInfo", "DBIP", "IPData", "IPGeolocation"},
    "MapLinkProvider": {"GoogleMaps", "BingMaps", "OpenStreetMap"},
}

# Properties a client may send (vendor schema minus readOnly ones).
ADDRESS = {"street", "zipcode", "city", "countryIso"}
COMPANY_INFO = {"effectiveElectronicAddress", "electronicAddress", "siret", "vatNumber"}
BILLING_OPTIONS = {
    "allowed", "bankAccountId", "buyerReference", "colleagueId", "discount", "initialCommitmentAmount",
    "initialCommitmentDate", "initialCommitmentStatus", "paymentMethod", "sendDocumentAsAttachment",
    "settlementTermId", "useTaxIncludedPrices", "vatReverseCharge", "vendorReference",
}
CUSTOMER = {
    "active", "billingAddress", "billingOptions", "cellPhone", "companyInformations", "companyName", "email",
    "family", "firstName", "internalId", "internalNotes", "lastName", "phone", "shippingAddress", "title", "type",
}  # "number" is writable but the server assigns it
SUPPLIER = {
    "address", "cellPhone", "companyInformations", "defaultPaymentMethod", "email", "firstName", "internalId",
    "internalNotes", "lastName", "name", "phone", "title",
}
CONTACT = {"cellPhone", "companyName", "email", "firstName", "function", "internalId", "lastName", "phone", "service", "title"}
PRODUCT = {
    "active", "defaultQuantity", "description", "family", "internalId", "internalNotes", "isUnitPriceTaxIncluded",
    "name", "number", "purchasePrice", "type", "unit", "unitPrice", "vat",
}
CONTACT_FIELDS = {"cellPhone", "companyName", "email", "firstName", "function", "lastName", "phone", "service", "title"}
EMAIL_BASE = {"defaultAttachments", "defaultBccEmails", "defaultCcEmails", "defaultContentTemplate", "defaultObjectTemplate"}
CLASSIFICATION_DTO = {
    "accountNumber", "defaultVat", "defaultVatId", "description", "id", "isProduct", "isService", "label",
    "metadatas", "microBusinessDeclarationType", "type",
}
SETTLEMENT_TERM = {"conditions", "id", "isCustom", "name"}

# Every object in Settings, by path, with all the properties of its vendor *Dto.
SETTINGS_SHAPE = {
    "": {"accounting", "company", "emailing", "general", "sales", "socials", "vat"},
    "accounting": {
        "accountNumberLength", "customerAccountFormat", "customerCollectiveAccount",
        "expensesImportVatReverseAccountNumber", "expensesJournalCode", "expensesSubcontractingVatReverseAccountNumber",
        "feesAccountingAccountNumber", "generateCustomerAccount", "generateSupplierAccount", "miscJournalCode",
        "salesDepositAccountingAccountNumber", "salesJournalCode", "salesShippingAccountNumber",
        "salesVatCollectionAccountingAccountNumber", "supplierAccountFormat", "supplierCollectiveAccount",
        "uncertainAccountNumberRoot",
    },
    "company": {
        "ape", "businessName", "capital", "cgaMember", "contact", "electronicAddress", "emailLogoUri", "guarantees",
        "headOfficeAddress", "invoicingAddress", "isMicroBusiness", "legalMentions", "legalStatus", "logoUri",
        "mediator", "name", "registrationNumber", "reportLogoUri", "siret", "summary", "urlCompanyName",
        "useInvoicingAddressAsHeadOfficeAddress", "vatNumber", "website",
    },
    "company.contact": CONTACT_FIELDS,
    "company.headOfficeAddress": ADDRESS,
    "company.invoicingAddress": ADDRESS,
    "emailing": {"credits", "homecareServices", "invoices", "quotes", "reminders", "style"},
    "emailing.invoices": EMAIL_BASE | {"includeDocumentAttachment", "showAmount"},
    "emailing.quotes": EMAIL_BASE | {"includeDocumentAttachment", "showAmount"},
    "emailing.credits": EMAIL_BASE | {"includeDocumentAttachment", "showAmount"},
    "emailing.reminders": EMAIL_BASE | {"includeDocumentAttachment"},
    "emailing.homecareServices": EMAIL_BASE,
    "emailing.style": {"backgroundColor", "foreColor", "headerBackgroundColor", "headerForeColor"},
    "general": {"companyInfoLinkProvider", "contactDisplayFormat", "ipLinkProvider", "mapLinkProvider", "timezone"},
    "sales": {
        "allowInlineDate", "btoBSettlementTerm", "btoBSettlementTermId", "btoCSettlementTerm", "btoCSettlementTermId",
        "credits", "defaultProductClassification", "defaultServiceClassification", "defaultShippingClassification",
        "generalTermsFile", "generalTermsFileId", "invoices", "mainActivity", "marginRate", "paymentMethod", "quotes",
        "useTaxIncluded", "vatReverseCharge",
    },
    "sales.btoBSettlementTerm": SETTLEMENT_TERM,
    "sales.btoBSettlementTerm.conditions[]": {"dayOfMonth", "delay", "delayType", "id", "percent", "type"},
    "sales.btoCSettlementTerm": SETTLEMENT_TERM,
    "sales.btoCSettlementTerm.conditions[]": {"dayOfMonth", "delay", "delayType", "id", "percent", "type"},
    "sales.credits": {"validityDuration"},
    "sales.defaultProductClassification": CLASSIFICATION_DTO,
    "sales.defaultProductClassification.defaultVat": {"default", "id", "rate", "region"},
    "sales.defaultServiceClassification": CLASSIFICATION_DTO,
    "sales.defaultServiceClassification.defaultVat": {"default", "id", "rate", "region"},
    "sales.defaultShippingClassification": CLASSIFICATION_DTO,
    "sales.defaultShippingClassification.defaultVat": {"default", "id", "rate", "region"},
    "sales.generalTermsFile": {
        "description", "externalLinkHash", "fileName", "folderId", "id", "metadatas", "size", "system", "uploadedAt",
    },
    "sales.invoices": {
        "collectionCosts", "earlyFinalizationDuration", "latePaymentPenalty", "substractDepositFromTaxExcludedAmount",
    },
    "sales.quotes": {"depositDefaultValue", "validityDuration"},
    "socials": {"facebook", "instagram", "linkedIn", "pinterest", "twitter", "youtube"},
    "vat": {"liableToVat", "nonLiableTextToPrint", "vatMode", "vatPeriod"},
}
# Free-form string maps (metadatas) are values, not Dto objects.
SETTINGS_MAPS = {
    "sales.defaultProductClassification.metadatas", "sales.defaultServiceClassification.metadatas",
    "sales.defaultShippingClassification.metadatas", "sales.generalTermsFile.metadatas",
}
SETTINGS_NULLS_ALLOWED = {
    "sales.btoBSettlementTerm.conditions[].dayOfMonth", "sales.btoCSettlementTerm.conditions[].dayOfMonth",
    "sales.generalTermsFile.folderId", "sales.generalTermsFile.externalLinkHash",
}

PLACEHOLDER = re.compile(r"\b(string|lorem|ipsum|foo|bar|baz|test|todo|tbd|xxx|example)\b", re.IGNORECASE)
EMAIL = re.compile(r"^[a-z0-9][a-z0-9.\-]*@[a-z0-9\-]+(\.[a-z0-9\-]+)+$")


@pytest.fixture(scope="module")
def data() -> dict[str, list[dict]]:
    return build_dataset()


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def assert_french_company(siret: str, vat_number: str | None) -> None:
    assert re.fullmatch(r"\d{14}", siret), siret
    assert luhn_ok(siret[:9]), f"SIREN key of {siret}"
    assert luhn_ok(siret), f"SIRET key of {siret}"
    if vat_number is not None:
        siren = int(siret[:9])
        assert vat_number == f"FR{(12 + 3 * (siren % 97)) % 97:02d}{siret[:9]}"


def assert_eu_vat_number(vat_number: str, country: str) -> None:
    assert vat_number.startswith(country)
    body = vat_number[2:]
    if country == "BE":
        assert re.fullmatch(r"[01]\d{9}", body)
        assert int(body[8:]) == 97 - int(body[:8]) % 97
    elif country == "DE":
        assert re.fullmatch(r"\d{9}", body)
        product = 10
        for char in body[:8]:
            product = (2 * ((int(char) + product) % 10 or 10)) % 11
        assert int(body[8]) == (11 - product) % 10
    else:
        assert re.fullmatch(r"[A-HJNPQRSUVW]\d{7}\d", body)
        odd = sum(sum(divmod(2 * int(d), 10)) for d in body[1:8:2])
        even = sum(int(d) for d in body[2:8:2])
        assert int(body[8]) == (10 - (odd + even) % 10) % 10


def walk(value, path=""):
    """Yield (path, value) for every node, lists marked with []."""
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from walk(child, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for child in value:
            yield from walk(child, f"{path}[]")


def strings(value):
    return [node for _, node in walk(value) if isinstance(node, str)]


# --- determinism -----------------------------------------------------------------------------


def test_same_seed_gives_identical_output(data):
    assert json.dumps(build_dataset(DEFAULT_SEED)) == json.dumps(data)


def test_different_seeds_differ(data):
    other = build_dataset(DEFAULT_SEED + 1)
    for resource in ("Products", "Customers", "Suppliers", "Contacts"):
        assert other[resource] != data[resource], resource


def test_output_does_not_depend_on_hash_seed(data):
    script = (
        "import hashlib, json; from altoviz_mock_fixtures import build_dataset; "
        "print(hashlib.sha256(json.dumps(build_dataset()).encode()).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == hashlib.sha256(json.dumps(data).encode()).hexdigest()


def test_default_counts(data):
    assert {resource: len(items) for resource, items in data.items()} == {
        "ProductFamilies": 5, "Products": 25, "Customers": 30, "Suppliers": 10, "Contacts": 20,
    }


def test_counts_are_parameters():
    small = build_dataset(7, customers=4, suppliers=2, product_families=2, products=3, contacts=2)
    assert [len(small[k]) for k in ("ProductFamilies", "Products", "Customers", "Suppliers", "Contacts")] == [2, 3, 4, 2, 2]
    with pytest.raises(ValueError):
        build_dataset(customers=-1)
    with pytest.raises(ValueError):
        build_dataset(customers=0, contacts=1)


# --- identifiers -----------------------------------------------------------------------------


def test_identifier_helpers_match_published_numbers():
    assert vat_number_for_siren("303265045") == "FR40303265045"
    assert vat_number_for_siren("404833048") == "FR83404833048"
    assert siren_checksum_ok("542051180")
    assert not siren_checksum_ok("542051181")
    assert not siren_checksum_ok("54205118")
    for nic in ("0001", "0273"):
        siret = make_siret("303265045", nic)
        assert siret.startswith("303265045" + nic) and len(siret) == 14 and luhn_ok(siret)


def test_french_companies_have_valid_siret_and_vat_number(data):
    for customer in data["Customers"]:
        if customer["type"] != "Consumer" and customer["billingAddress"]["countryIso"] == "FR":
            info = customer["companyInformations"]
            assert_french_company(info["siret"], info["vatNumber"])
    for supplier in data["Suppliers"]:
        info = supplier["companyInformations"]
        assert info["vatNumber"] is not None
        assert_french_company(info["siret"], info["vatNumber"])
    company = settings()["company"]
    assert_french_company(company["siret"], company["vatNumber"])


def test_foreign_customers_have_their_country_vat_number(data):
    foreign = [c for c in data["Customers"] if c["billingAddress"]["countryIso"] != "FR"]
    assert {c["billingAddress"]["countryIso"] for c in foreign} == {"BE", "DE", "ES"}
    for customer in foreign:
        assert customer["type"] == "Business"
        assert customer["companyInformations"]["siret"] is None
        assert_eu_vat_number(customer["companyInformations"]["vatNumber"], customer["billingAddress"]["countryIso"])
        assert customer["billingOptions"]["vatReverseCharge"] is True


def test_public_customers_have_public_sirens(data):
    public = [c for c in data["Customers"] if c["type"] == "Government"]
    assert public
    for customer in public:
        assert customer["companyInformations"]["siret"][0] in "12"
        assert customer["billingOptions"]["buyerReference"]


# --- shapes and enums ------------------------------------------------------------------------


def test_customers_are_post_bodies(data):
    for customer in data["Customers"]:
        assert set(customer) <= CUSTOMER, set(customer) - CUSTOMER
        assert customer["type"] in ENUMS["CustomerType"]
        assert set(customer["billingAddress"]) == ADDRESS
        assert set(customer["billingOptions"]) <= BILLING_OPTIONS
        assert customer["billingOptions"]["paymentMethod"] in ENUMS["PaymentMethod"]
        assert re.fullmatch(r"CRM-\d{5}", customer["internalId"])
        if customer["type"] == "Consumer":
            assert "companyName" not in customer and "companyInformations" not in customer
        else:
            assert customer["companyName"]
            assert set(customer["companyInformations"]) <= COMPANY_INFO
        assert customer["title"] in {"M.", "Mme"}


def test_customer_mix(data):
    types = [c["type"] for c in data["Customers"]]
    assert 0.55 <= types.count("Business") / len(types) <= 0.75
    assert 0.2 <= types.count("Consumer") / len(types) <= 0.4
    assert 1 <= types.count("Government") <= 3


def test_business_emails_use_the_company_domain(data):
    for customer in data["Customers"]:
        if customer["type"] == "Business":
            first_word = customer["companyName"].split()[0]
            ascii_word = unicodedata.normalize("NFKD", first_word).encode("ascii", "ignore").decode().lower()
            assert customer["email"].split("@")[1].startswith(ascii_word), customer["email"]


def test_suppliers_are_post_bodies(data):
    for supplier in data["Suppliers"]:
        assert set(supplier) <= SUPPLIER, set(supplier) - SUPPLIER
        assert set(supplier["address"]) == ADDRESS
        assert set(supplier["companyInformations"]) <= COMPANY_INFO
        assert supplier["defaultPaymentMethod"] in ENUMS["PaymentMethod"]
        assert re.fullmatch(r"SUP-\d{4}", supplier["internalId"])


def test_contacts_work_at_business_customers(data):
    domains = {c["companyName"]: c["email"].split("@")[1] for c in data["Customers"] if c["type"] == "Business"}
    for contact in data["Contacts"]:
        assert set(contact) <= CONTACT, set(contact) - CONTACT
        assert contact["companyName"] in domains
        assert contact["email"].endswith("@" + domains[contact["companyName"]])
        assert contact["function"] and contact["service"]


def test_company_names_are_unique(data):
    names = [c["companyName"] for c in data["Customers"] if c["type"] == "Business"]
    assert len(names) == len(set(names))


def test_products_are_post_bodies(data):
    unit_codes = {unit["code"] for unit in UNITS}
    families = len(data["ProductFamilies"])
    for product in data["Products"]:
        assert set(product) <= PRODUCT, set(product) - PRODUCT
        assert product["type"] in ENUMS["ProductType"]
        assert product["vat"] == {"rate": product["vat"]["rate"], "region": "FR"}
        assert product["vat"]["rate"] in {20, 10, 5.5}
        assert set(product["unit"]) == {"code"} and product["unit"]["code"] in unit_codes
        assert set(product["family"]) == {"id"} and 1 <= product["family"]["id"] <= families
        assert product["unitPrice"] > 0 and round(product["unitPrice"], 2) == product["unitPrice"]
        assert 0 <= product["purchasePrice"] < product["unitPrice"]
        assert product["isUnitPriceTaxIncluded"] is False and product["active"] is True
    assert {p["family"]["id"] for p in data["Products"]} == set(range(1, families + 1))
    assert len({p["number"] for p in data["Products"]}) == len(data["Products"])


def test_product_families(data):
    for index, family in enumerate(data["ProductFamilies"], start=1):
        assert family == {"label": family["label"], "number": f"FAM-{index:02d}"}


def test_emails_are_unique_and_well_formed(data):
    emails = [item["email"] for resource in ("Customers", "Suppliers", "Contacts") for item in data[resource]]
    assert len(emails) == len(set(emails))
    for email in emails:
        assert EMAIL.match(email), email


def test_no_placeholder_strings(data):
    texts = strings(data) + strings(settings()) + strings(CLASSIFICATIONS) + strings(UNITS) + strings(VATS)
    for text in texts:
        assert text.strip(), "empty string"
        assert not PLACEHOLDER.search(text), text


# --- reference data --------------------------------------------------------------------------


def test_vat_rates_per_region():
    rates = {}
    for vat in VATS:
        assert vat["region"] in ENUMS["VatRegion"]
        rates.setdefault(vat["region"], set()).add(vat["rate"])
    assert rates == {
        "FR": {20, 10, 5.5, 2.1, 0},
        "Monaco": {20, 10, 5.5, 2.1, 0},
        "Corse": {20, 13, 10, 2.1, 0.9, 0},
        "DOM": {8.5, 2.1, 1.75, 1.05, 0},
        "EU": {0},
        "IE": {0},
    }


def test_each_vat_region_has_exactly_one_default():
    for region in ENUMS["VatRegion"]:
        defaults = [vat for vat in VATS if vat["region"] == region and vat["default"]]
        assert len(defaults) == 1, region
    assert {(v["region"], v["rate"]) for v in VATS if v["default"]} >= {("FR", 20), ("DOM", 8.5)}
    assert [vat["id"] for vat in VATS] == list(range(1, len(VATS) + 1))


def test_units():
    assert len({unit["code"] for unit in UNITS}) == len(UNITS)
    assert [unit["id"] for unit in UNITS] == list(range(1, len(UNITS) + 1))
    for unit in UNITS:
        assert set(unit) == {"id", "code", "name", "type", "conversion", "decimals"}
        assert unit["type"] in ENUMS["UnitType"]
        assert unit["conversion"] > 0 and unit["decimals"] >= 0
    by_code = {unit["code"]: unit for unit in UNITS}
    assert by_code["min"]["conversion"] * 60 == pytest.approx(by_code["h"]["conversion"])
    # Each type has a base unit the others convert to.
    assert {u["type"] for u in UNITS if u["conversion"] == 1} == ENUMS["UnitType"]


def test_classifications():
    assert len(CLASSIFICATIONS) >= 12
    assert {c["type"] for c in CLASSIFICATIONS} == ENUMS["ClassificationType"]
    for item in CLASSIFICATIONS:
        assert re.fullmatch(r"[1-7]\d{5}", item["accountNumber"])
        assert item["type"] in ENUMS["ClassificationType"]
        assert item["microBusinessDeclarationType"] in ENUMS["MicroBusinessDeclarationTypes"]
        assert item["defaultVat"] in VATS
        if item["type"] == "Sale":
            assert item["accountNumber"].startswith("7") and item["isProduct"] != item["isService"]
        else:
            assert not item["isProduct"] and not item["isService"]
    accounts = {c["accountNumber"] for c in CLASSIFICATIONS}
    assert {"706000", "707000", "701000", "708500", "606400", "613200", "625100", "626000", "622600"} <= accounts


def test_settings_cover_every_property():
    seen = set()
    for path, node in walk(settings()):
        if isinstance(node, dict) and path not in SETTINGS_MAPS:
            assert path in SETTINGS_SHAPE, f"unexpected object at {path!r}"
            assert set(node) == SETTINGS_SHAPE[path], (path, set(node) ^ SETTINGS_SHAPE[path])
            seen.add(path)
        if node is None:
            assert path in SETTINGS_NULLS_ALLOWED, f"{path} is null"
    assert seen == set(SETTINGS_SHAPE)


def test_settings_values():
    data = settings()
    assert data["general"]["timezone"] == "Europe/Paris"
    assert data["general"]["companyInfoLinkProvider"] in ENUMS["CompanyInfoLinkProvider"]
    assert data["general"]["contactDisplayFormat"] in ENUMS["ContactNameDisplay"]
    assert data["general"]["ipLinkProvider"] in ENUMS["IPLinkProvider"]
    assert data["general"]["mapLinkProvider"] in ENUMS["MapLinkProvider"]
    assert data["vat"] == {**data["vat"], "liableToVat": True, "vatMode": "Debit", "vatPeriod": "Monthly"}
    assert data["vat"]["vatMode"] in ENUMS["VatMode"] and data["vat"]["vatPeriod"] in ENUMS["VatDeclarationPeriodicity"]
    sales = data["sales"]
    assert sales["mainActivity"] in ENUMS["ProductType"] and sales["paymentMethod"] in ENUMS["PaymentMethod"]
    for key, delay in (("btoBSettlementTerm", 30), ("btoCSettlementTerm", 0)):
        term = sales[key]
        assert sales[key + "Id"] == term["id"]
        [condition] = term["conditions"]
        assert (condition["delay"], condition["percent"]) == (delay, 100)
        assert condition["delayType"] in ENUMS["DelayType"] and condition["type"] in ENUMS["ConditionType"]
    for key in ("defaultProductClassification", "defaultServiceClassification", "defaultShippingClassification"):
        dto = sales[key]
        assert dto["defaultVatId"] == dto["defaultVat"]["id"]
        assert dto["type"] == "Sale" and dto["microBusinessDeclarationType"] in ENUMS["MicroBusinessDeclarationTypes"]
    assert sales["generalTermsFileId"] == sales["generalTermsFile"]["id"]
    accounting = data["accounting"]
    assert (accounting["salesJournalCode"], accounting["expensesJournalCode"], accounting["miscJournalCode"]) == ("VE", "AC", "OD")
    company = data["company"]
    assert company["invoicingAddress"]["countryIso"] == "FR"
    assert re.fullmatch(r"\d{4}[A-Z]", company["ape"])
    assert company["siret"][:9] in company["registrationNumber"].replace(" ", "")
    for email in [company["contact"]["email"], *data["emailing"]["invoices"]["defaultBccEmails"]]:
        assert EMAIL.match(email)


def test_settings_are_fresh_copies():
    first = settings()
    first["company"]["name"] = "changed"
    assert settings()["company"]["name"] != "changed"


def test_current_user():
    user = current_user()
    assert set(user) == {"displayName", "email", "firstName", "lastName", "phone", "profile", "status", "userId"}
    assert user["profile"] in ENUMS["UserProfile"] and user["status"] in ENUMS["UserStatus"]
    assert (user["profile"], user["status"]) == ("Admin", "Active")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", user["userId"])
    assert user["displayName"] == f"{user['firstName']} {user['lastName']}"
    assert current_user() == user


def test_the_installed_distribution_does_not_shadow_pypis_fixtures_package(tmp_path):
    from importlib.metadata import distribution

    import altoviz_mock_fixtures

    top_level = distribution("altoviz-mock").read_text("top_level.txt").split()
    assert "fixtures" not in top_level and "altoviz_mock_fixtures" in top_level
    assert Path(altoviz_mock_fixtures.__file__).resolve().parent == REPO_ROOT / "fixtures"
    # Outside the checkout, the project's interpreter finds no top-level `fixtures` of ours.
    probe = subprocess.run([sys.executable, "-c", "import importlib.util; print(importlib.util.find_spec('fixtures'))"],
                           cwd=tmp_path, capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "None"
