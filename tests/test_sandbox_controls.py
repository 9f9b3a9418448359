"""The sandbox controls a CI job uses between tests: health without auth, reset of its own tenant."""

import pytest

from mock_server.app import create_app
from mock_server.config import DEFAULT_API_KEY, Config

from conftest import services


def test_health_answers_without_a_key(anonymous):
    response = anonymous.get("/_mock/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_reset_puts_the_tenant_back_to_its_seeded_state(client):
    seeded = {kind: client.get(f"/v1/{kind}").json() for kind in ("Customers", "Suppliers", "Contacts", "Products", "ProductFamilies")}
    first = client.post("/v1/Customers", json={"companyName": "Éphémère SARL", "internalId": "TMP-1"}).json()
    assert first["number"] == f"C{len(seeded['Customers']) + 1:05d}"
    victim = seeded["Customers"][0]
    assert client.delete(f"/v1/Customers/{victim['id']}").status_code == 200
    client.put(f"/v1/Suppliers/{seeded['Suppliers'][0]['id']}", json={"name": "Renommé SAS"})
    client.delete(f"/v1/ProductFamilies/{seeded['ProductFamilies'][0]['id']}")

    response = client.post("/_mock/reset")
    assert response.status_code == 200

    assert client.get(f"/v1/Customers/{first['id']}").status_code == 404
    assert client.get("/v1/Customers/GetByInternalId/TMP-1").status_code == 404
    assert client.get(f"/v1/Customers/{victim['id']}").json() == victim
    for kind, before in seeded.items():
        assert client.get(f"/v1/{kind}").json() == before, kind
    again = client.post("/v1/Customers", json={"companyName": "Éphémère SARL"}).json()
    assert again["number"] == first["number"] == "C00031"


def test_reset_leaves_the_other_tenants_alone(two_teams):
    a, b = two_teams
    kept = b.post("/v1/Customers", json={"companyName": "Chez B"}).json()
    b.delete("/v1/Customers/1")
    a.post("/v1/Customers", json={"companyName": "Chez A"})

    assert a.post("/_mock/reset").status_code == 200

    assert b.get(f"/v1/Customers/{kept['id']}").json() == kept
    assert b.get("/v1/Customers/1").status_code == 404
    assert a.get("/v1/Customers", params={"query": "Chez A"}).json() == []
    # And the other way round.
    assert b.post("/_mock/reset").status_code == 200
    assert b.get(f"/v1/Customers/{kept['id']}").status_code == 404
    assert b.get("/v1/Customers/1").status_code == 200


@pytest.mark.parametrize("headers, says", [({}, "missing"), ({"X-API-KEY": "not-a-key"}, "valid API key")])
def test_reset_needs_a_valid_key(app, client, headers, says):
    created = client.post("/v1/Customers", json={"companyName": "Toujours là"}).json()
    with app.test_client(headers=headers) as other:
        response = other.post("/_mock/reset")
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == 401 and says in body["detail"]
    assert client.get(f"/v1/Customers/{created['id']}").status_code == 200


def test_reset_of_an_open_tenant_empties_it(tmp_path):
    app = create_app(Config(data_dir=tmp_path, open_tenants=True))
    with app.test_client(headers={"X-API-KEY": "ci-job-42"}) as c:
        c.post("/v1/Customers", json={"companyName": "Job 42"})
        c.post("/v1/ProductFamilies", json={"label": "Temporaire"})
        assert c.post("/_mock/reset").status_code == 200
        assert c.get("/v1/Customers").json() == []
        assert c.get("/v1/Contacts").json() == []
        assert c.get("/v1/ProductFamilies").json() == []
        assert c.post("/v1/Customers", json={"companyName": "Job 42 bis"}).json()["number"] == "C00001"
    with app.test_client(headers={"X-API-KEY": DEFAULT_API_KEY}) as seeded:
        assert len(seeded.get("/v1/Customers").json()) == 30
    services(app).store.close()


def test_a_reset_survives_a_restart(tmp_path):
    config = Config(data_dir=tmp_path)
    app = create_app(config)
    with app.test_client(headers={"X-API-KEY": DEFAULT_API_KEY}) as c:
        created = c.post("/v1/Customers", json={"companyName": "Avant reset"}).json()
        c.post("/_mock/reset")
    services(app).store.close()

    restarted = create_app(config)
    with restarted.test_client(headers={"X-API-KEY": DEFAULT_API_KEY}) as c:
        assert c.get(f"/v1/Customers/{created['id']}").status_code == 404
        assert c.post("/v1/Customers", json={"companyName": "Après"}).json()["number"] == created["number"]
    services(restarted).store.close()
