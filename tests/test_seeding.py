"""POST /_mock/seed: a tenant reseeded with the fixture data set of a chosen seed and size."""

from __future__ import annotations

import pytest

from mock_server.app import create_app
from mock_server.config import DEFAULT_API_KEY, MAX_SEED_SIZE, Config

from conftest import services

KINDS = ("Customers", "Contacts", "Suppliers", "Products", "ProductFamilies")


@pytest.fixture
def open_app(tmp_path):
    app = create_app(Config(data_dir=tmp_path / "data", open_tenants=True, validate_responses=True))
    yield app
    services(app).close()


def everything(client) -> dict[str, list]:
    return {kind: client.get(f"/v1/{kind}", params={"PageSize": 1000}).json() for kind in KINDS}


def test_a_fresh_key_seeded_with_defaults_holds_what_the_default_tenant_starts_with(open_app):
    with open_app.test_client(headers={"X-API-KEY": DEFAULT_API_KEY}) as default, \
            open_app.test_client(headers={"X-API-KEY": "ci-job-17"}) as fresh:
        assert everything(fresh)["Customers"] == []
        answer = fresh.post("/_mock/seed")
        assert answer.status_code == 200
        assert answer.json() == {"seed": 42, "size": 30, "documents": {
            "Contacts": 60, "Customers": 30, "ProductFamilies": 5, "Products": 25, "Suppliers": 10}}
        assert everything(fresh) == everything(default)
        # Numbering continues after the seeded documents, as in the default tenant.
        assert fresh.post("/v1/Customers", json={"companyName": "Suite SARL"}).json()["number"] == "C00031"


def test_seed_and_size_choose_the_data_set(client):
    first = client.post("/_mock/seed", json={"seed": 7, "size": 60}).json()
    assert first["documents"]["Customers"] == 60 and first["documents"]["Suppliers"] == 20
    seven = everything(client)
    assert len(seven["Customers"]) == 60
    client.post("/_mock/seed", json={"seed": 8, "size": 60})
    assert everything(client)["Customers"] != seven["Customers"]
    client.post("/_mock/seed", json={"seed": 7, "size": 60})
    assert everything(client) == seven


def test_seeding_replaces_everything_the_tenant_held(client):
    client.post("/v1/Customers", json={"companyName": "Avant SARL", "internalId": "AVANT"})
    client.put("/_mock/clock", json={"now": "2030-01-01T00:00:00Z"})
    client.post("/_mock/seed", json={"size": 5})
    assert client.get("/v1/Customers/GetByInternalId/AVANT").status_code == 404
    assert len(client.get("/v1/Customers").json()) == 5
    assert client.get("/_mock/clock").json()["frozen"] is False


def test_steps_give_the_same_tenant_as_one_call(open_app):
    with open_app.test_client(headers={"X-API-KEY": "whole"}) as whole, \
            open_app.test_client(headers={"X-API-KEY": "steps"}) as steps:
        whole.post("/_mock/seed", json={"seed": 3, "size": 120})
        steps.post("/v1/Customers", json={"companyName": "Effacé SARL"})  # gone with the first step
        start, answers = 0, []
        while not answers or answers[-1]["done"] < answers[-1]["total"]:
            answer = steps.post("/_mock/seed", json={"seed": 3, "size": 120, "start": start, "count": 70})
            assert answer.status_code == 200, answer.text
            answers.append(answer.json())
            start = answers[-1]["done"]
        assert [a["done"] for a in answers] == [70, 140, 210, 270]
        assert answers[-1]["documents"] == whole.post("/_mock/seed", json={"seed": 3, "size": 120}).json()["documents"]
        assert everything(steps) == everything(whole)
        created = [c.post("/v1/Customers", json={"companyName": "Après SARL"}).json()["number"] for c in (whole, steps)]
        assert created == ["C00121", "C00121"]


@pytest.mark.parametrize("body, detail", [
    ({"size": MAX_SEED_SIZE + 1}, '"size" must be an integer from 0 to 700'),
    ({"size": "big"}, '"size" must be an integer'),
    ({"seed": True}, '"seed" must be an integer'),
    ({"start": 0}, 'Give both "start" and "count"'),
    ({"start": 0, "count": 0}, '"count" must be an integer from 1'),
    ({"size": 1, "start": 999, "count": 5}, '"start" is past the'),
])
def test_bad_requests_say_why(client, body, detail):
    response = client.post("/_mock/seed", json=body)
    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_a_key_is_needed(anonymous):
    assert anonymous.post("/_mock/seed").status_code == 401
