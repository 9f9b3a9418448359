"""The sandbox admin API under /_mock: reset all, tenants, snapshots, fault injection, its own contract."""

import time

import pytest

from mock_server.config import DEFAULT_API_KEY


def test_snapshot_restore_round_trip(client):
    before = client.get("/v1/Customers").json()
    assert client.post("/_mock/snapshots/start").status_code == 201
    assert client.get("/_mock/snapshots").json() == ["start"]
    created = client.post("/v1/Customers", json={"companyName": "Temporaire SARL"}).json()
    client.put("/_mock/clock", json={"now": "2027-01-01T00:00:00Z"})
    restored = client.post("/_mock/snapshots/start/restore")
    assert restored.status_code == 200
    assert client.get("/v1/Customers").json() == before
    assert client.get(f"/v1/Customers/{created['id']}").status_code == 404
    again = client.post("/v1/Customers", json={"companyName": "Nouvelle SARL"}).json()
    assert again["id"] != created["id"]  # ids handed out since the snapshot are not reused
    assert client.delete("/_mock/snapshots/start").status_code == 200
    assert client.post("/_mock/snapshots/start/restore").status_code == 404
    assert client.delete("/_mock/snapshots/start").status_code == 404
    assert client.post("/_mock/snapshots/bad%20name").status_code == 400


def test_snapshots_are_per_tenant(two_teams):
    a, b = two_teams
    a.post("/_mock/snapshots/mine")
    assert b.get("/_mock/snapshots").json() == []
    assert b.post("/_mock/snapshots/mine/restore").status_code == 404


def test_reset_all_resets_every_tenant(two_teams):
    a, b = two_teams
    seeded = len(a.get("/v1/Customers").json())
    a.post("/v1/Customers", json={"companyName": "A SARL"})
    b.post("/v1/Customers", json={"companyName": "B SARL"})
    assert b.post("/_mock/reset?all=true").json()["tenants"] == 2
    assert len(a.get("/v1/Customers").json()) == seeded
    assert len(b.get("/v1/Customers").json()) == seeded
    assert a.post("/_mock/reset?all=maybe").status_code == 400


def test_tenants_list_hides_keys(two_teams):
    a, _b = two_teams
    response = a.get("/_mock/tenants")
    assert response.status_code == 200
    assert "team-b-secret-key" not in response.text and DEFAULT_API_KEY not in response.text
    assert len(response.json()) == 2
    assert all(t["documents"]["Customers"] > 0 for t in response.json())
    assert {t["keyHint"] for t in response.json()} >= {"team…"}


def test_admin_endpoints_need_a_key(anonymous):
    for method, path in (("get", "/_mock/tenants"), ("get", "/_mock/faults"), ("get", "/_mock/snapshots"),
                         ("post", "/_mock/reset?all=true")):
        assert getattr(anonymous, method)(path).status_code == 401


def test_fault_latency(client):
    rule = client.post("/_mock/faults", json={"operationId": "GET_Hello_Get", "latencyMs": 300}).json()
    started = time.monotonic()
    assert client.get("/Hello").status_code == 200
    assert 0.3 <= time.monotonic() - started < 5
    assert client.get("/_mock/faults").json()[0]["id"] == rule["id"]


def test_fault_error_status_and_body(client):
    client.post("/_mock/faults", json={"pathPattern": "/v1/Customers*", "method": "GET", "status": 503,
                                       "body": {"message": "down for maintenance"}})
    response = client.get("/v1/Customers")
    assert response.status_code == 503 and response.json() == {"message": "down for maintenance"}
    assert client.post("/v1/Customers", json={"companyName": "Ok SARL"}).status_code == 200
    assert client.get("/v1/Products").status_code == 200
    assert client.get("/_mock/health").status_code == 200  # never under /_mock


def test_fault_429_with_retry_after(client):
    client.post("/_mock/faults", json={"operationId": "GET_Customers_List", "status": 429, "retryAfter": 7})
    response = client.get("/v1/Customers")
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert response.json()["status"] == 429


def test_fault_probability_is_seeded(client):
    def run():
        client.delete("/_mock/faults")
        client.post("/_mock/faults", json={"pathPattern": "/Hello", "status": 500, "probability": 0.5, "seed": 3})
        return [client.get("/Hello").status_code for _ in range(20)]

    first = run()
    assert set(first) == {200, 500}
    assert run() == first


def test_fault_count_expires(client):
    client.post("/_mock/faults", json={"pathPattern": "/Hello", "status": 502, "count": 2})
    assert [client.get("/Hello").status_code for _ in range(3)] == [502, 502, 200]
    assert client.get("/_mock/faults").json() == []


def test_fault_removal(client):
    one = client.post("/_mock/faults", json={"pathPattern": "/Hello", "status": 500}).json()
    client.post("/_mock/faults", json={"pathPattern": "/v1/*", "status": 500})
    assert client.delete(f"/_mock/faults/{one['id']}").status_code == 200
    assert client.get("/Hello").status_code == 200
    assert client.delete(f"/_mock/faults/{one['id']}").status_code == 404
    assert client.delete("/_mock/faults").json() == {"deleted": 1}
    assert client.get("/v1/Customers").status_code == 200


def test_faults_are_per_tenant(two_teams):
    a, b = two_teams
    a.post("/_mock/faults", json={"pathPattern": "/Hello", "status": 500})
    assert b.get("/Hello").status_code == 200
    assert a.get("/Hello").status_code == 500


@pytest.mark.parametrize("rule", [{}, {"status": 500}, {"pathPattern": "/Hello"},
                                  {"pathPattern": "/Hello", "status": 200},
                                  {"pathPattern": "/Hello", "status": 500, "retryAfter": 3},
                                  {"pathPattern": "/Hello", "status": 500, "probability": 2},
                                  {"pathPattern": "/Hello", "status": 500, "count": 0},
                                  {"pathPattern": "/Hello", "operationId": "GET_Hello_Get", "status": 500}])
def test_invalid_fault_rules(client, rule):
    response = client.post("/_mock/faults", json=rule)
    assert response.status_code == 400 and response.json()["status"] == 400


def test_swagger_ui_of_the_admin_api(anonymous):
    page = anonymous.get("/_mock/ui/")
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text and "../openapi.json" in page.text
    assert anonymous.get("/_mock/ui/swagger-ui-bundle.js").status_code == 200
    spec = anonymous.get("/_mock/openapi.json").json()
    ops = {op["operationId"] for item in spec["paths"].values() for op in item.values()
           if isinstance(op, dict) and "operationId" in op}
    assert {"POST_Mock_AddFault", "GET_Mock_Tenants", "POST_Mock_SaveSnapshot", "GET_Mock_Health"} <= ops
    assert spec["servers"] == [{"url": "/_mock"}]
    assert not any(path.startswith("/v1") for path in spec["paths"])
