"""The contract itself: valid OpenAPI, the 93 operations of the published spec, loadable by Connexion and Schemathesis."""

from collections import Counter
from pathlib import Path

import schemathesis
import yaml
from openapi_spec_validator import validate

from mock_server.api.resolver import resolve
from mock_server.app import load_contract

ROOT = Path(__file__).resolve().parent.parent
METHODS = {"get", "post", "put", "delete", "patch"}


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), path, op


def test_contract_is_valid_openapi_and_the_root_file_is_the_packaged_one():
    assert (ROOT / "openapi.yaml").read_text() == (ROOT / "mock_server" / "openapi.yaml").read_text()
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    validate(spec)
    assert spec["openapi"].startswith("3.0.")


def test_contract_has_the_93_operations_of_the_published_spec_with_unique_ids():
    spec = load_contract()
    ops = list(operations(spec))
    assert len(ops) == 93
    ids = Counter(op["operationId"] for _, _, op in ops)
    assert [i for i, n in ids.items() if n > 1] == []
    assert {"GET_Users_GetMe", "GET_Users_WhoAmI", "GET_Customers_List", "POST_SaleInvoices_MarkAsPaid",
            "GET_Colleagues_GetByInternalId", "DELETE_CustomerFamilies_Delete", "PUT_Receipts_Update",
            "GET_BankAccounts_Providers", "POST_SaleCredits_MarkAsRefunded", "POST_SaleQuotes_Send"} <= set(ids)


def test_every_operation_requires_the_api_key_and_documents_401():
    spec = load_contract()
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        **spec["components"]["securitySchemes"]["ApiKey"], "type": "apiKey", "in": "header", "name": "X-API-KEY"}
    assert spec["components"]["securitySchemes"]["Basic"] == {
        **spec["components"]["securitySchemes"]["Basic"], "type": "http", "scheme": "basic"}
    assert spec["components"]["securitySchemes"]["ApiKeyQuery"] == {
        **spec["components"]["securitySchemes"]["ApiKeyQuery"], "type": "apiKey", "in": "query", "name": "apikey"}
    keys = [{"ApiKey": []}, {"Basic": []}, {"ApiKeyQuery": []}]
    assert spec["security"] == keys
    for method, path, op in operations(spec):
        assert op.get("security", spec["security"]) == keys, (method, path)
        assert "401" in op["responses"], (method, path)


def test_contract_loads_in_schemathesis():
    schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml")
    loaded = [schema[path][method].label for method, path, _ in operations(load_contract())]
    assert len(loaded) == 93 and loaded == [f"{method} {path}" for method, path, _ in operations(load_contract())]


def test_every_operation_is_routed_to_a_handler(app):
    spec = load_contract()
    for _, _, op in operations(spec):
        assert callable(resolve(op["operationId"]))
