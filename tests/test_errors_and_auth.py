"""401 without a valid key, 400 for invalid input, 404 for unknown ids: bodies as the live API answers them."""

import pytest

from mock_server.config import Config
from mock_server.app import create_app

from conftest import services

ERROR_KEYS = {"errors", "message"}


def test_missing_key_is_401_with_an_empty_body(anonymous):
    response = anonymous.get("/v1/Customers")
    assert response.status_code == 401
    assert "content-type" not in response.headers
    assert response.content == b""


@pytest.mark.parametrize("path", ["/v1/Customers", "/Hello", "/v1/Vats", "/v1/Settings", "/v1/Users/me", "/v1/Products/1"])
def test_unknown_key_is_401(anonymous, path):
    response = anonymous.get(path, headers={"X-API-KEY": "not-a-key"})
    assert response.status_code == 401
    assert response.content == b"" and "content-type" not in response.headers


def test_hello_with_the_default_key(client):
    body = client.get("/Hello").json()
    assert body["companyName"] and "sandbox" in body["message"].lower()
    assert "altoviz-sandbox-key" not in str(body)


def test_invalid_query_parameter_is_400(client):
    response = client.get("/v1/Customers", params={"PageIndex": "abc"})
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Validation failed" and "abc" in body["errors"][0]
    assert "Traceback" not in response.text


def test_invalid_body_on_create_is_400_in_the_vendor_error_shape(client):
    response = client.post("/v1/Customers", json={"type": "Company"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"message", "errors"}
    assert body["message"] == "Validation failed" and "Company" in body["errors"][0]


def test_unknown_property_is_ignored_with_a_warning(client):
    response = client.post("/v1/Customers", json={"companyName": "X", "favouriteColour": "blue"})
    assert response.status_code == 200
    assert "favouriteColour" not in response.json()
    assert response.headers["x-mock-warning"] == "unknown property ignored: favouriteColour"


def test_malformed_json_is_400_and_nothing_is_stored(client):
    before = len(client.get("/v1/Customers").json())
    response = client.post("/v1/Customers", content=b'{"companyName": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert len(client.get("/v1/Customers").json()) == before


def test_invalid_body_on_update_is_400_validation_failed(client):
    response = client.put("/v1/Customers/1", json={"active": "maybe"})
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "Validation failed" and "maybe" in body["errors"][0]


@pytest.mark.parametrize("path", ["/v1/Customers/99999", "/v1/Contacts/99999", "/v1/Suppliers/99999",
                                  "/v1/Products/99999", "/v1/ProductFamilies/99999", "/v1/Customers/99999/contacts",
                                  "/v1/Suppliers/99999/contacts", "/v1/Suppliers/GetByInternalId/none"])
def test_unknown_id_is_404_in_the_vendor_error_shape(client, path):
    response = client.get(path)
    assert response.status_code == 404
    body = response.json()
    assert set(body) == ERROR_KEYS and body["errors"] == []
    assert ("none" if path.endswith("none") else "99999") in body["message"]


def test_semantic_error_is_400_with_a_message_that_says_why(client):
    response = client.post("/v1/Products", json={"name": "Stylo", "vat": {"rate": 7}})
    assert response.status_code == 400
    assert "7" in response.json()["message"] and "20" in response.json()["message"]


def test_unexpected_failure_is_a_500_problem_without_stack_trace(app, client, monkeypatch):
    from mock_server.domain import parties

    def boom(self, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(parties.Customers, "list", boom)
    response = client.get("/v1/Customers")
    assert response.status_code == 500
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_tenants_are_isolated(tmp_path):
    app = create_app(Config(data_dir=tmp_path, api_keys=("team-b",), validate_responses=True))
    with app.test_client(headers={"X-API-KEY": "altoviz-sandbox-key"}) as a, \
            app.test_client(headers={"X-API-KEY": "team-b"}) as b:
        created = a.post("/v1/Customers", json={"companyName": "Seulement chez A"}).json()
        assert b.get(f"/v1/Customers/{created['id']}").status_code == 404
        assert b.get("/v1/Customers", params={"query": "Seulement"}).json() == []
        # Same seeded start, separate numbering.
        from_b = b.post("/v1/Customers", json={"companyName": "Chez B"}).json()
        assert from_b["id"] == created["id"] and from_b["number"] == created["number"]
        assert a.get(f"/v1/Customers/{created['id']}").json()["companyName"] == "Seulement chez A"
    services(app).store.close()


def test_open_tenants_accept_any_key_as_a_fresh_empty_tenant(tmp_path):
    app = create_app(Config(data_dir=tmp_path, open_tenants=True))
    with app.test_client(headers={"X-API-KEY": "ci-job-17"}) as c:
        assert c.get("/v1/Customers").json() == []
        assert c.post("/v1/Customers", json={"companyName": "Job 17"}).json()["number"] == "C00001"
        assert len(c.get("/v1/Vats").json()) > 5
    with app.test_client(headers={"X-API-KEY": "altoviz-sandbox-key"}) as c:
        assert len(c.get("/v1/Customers").json()) == 30
    services(app).store.close()
