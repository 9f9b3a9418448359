"""The sandbox admin API under /_mock: reset all, tenants, snapshots, fault injection, its own contract."""

import pytest

from mock_server.auth import INVALID_KEY, MISSING_KEY

from mock_server.app import create_app
from mock_server.config import DEFAULT_API_KEY, Config

from conftest import services


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


@pytest.mark.parametrize("on_disk", [True, False])
def test_snapshots_live_as_long_as_the_data(tmp_path, on_disk):
    """On disk they outlive a restart, as the data does; an in-memory sandbox keeps them in memory."""
    config = Config(data_dir=tmp_path / "data" if on_disk else None, validate_responses=True)
    first = create_app(config)
    with first.test_client(headers={"X-API-KEY": DEFAULT_API_KEY}) as client:
        assert client.post("/_mock/snapshots/before.demo").status_code == 201
        client.delete("/v1/Customers/1")
    services(first).close()
    second = create_app(config)
    try:
        with second.test_client(headers={"X-API-KEY": DEFAULT_API_KEY}) as client:
            if not on_disk:
                assert client.get("/_mock/snapshots").json() == []
                return
            assert client.get("/_mock/snapshots").json() == ["before.demo"]
            assert client.get("/v1/Customers/1").status_code == 404
            assert client.post("/_mock/snapshots/before.demo/restore").status_code == 200
            assert client.get("/v1/Customers/1").json()["id"] == 1
            assert client.delete("/_mock/snapshots/before.demo").status_code == 200
            assert client.get("/_mock/snapshots").json() == []
    finally:
        services(second).close()


ADMIN = {"X-Admin-Key": "admin-secret-of-the-test"}


@pytest.fixture
def two_teams_admin(tmp_path):
    """Two configured tenants (a, b) on an app started with an admin key."""
    app = create_app(Config(data_dir=tmp_path, api_keys=("team-b-secret-key",), validate_responses=True,
                            admin_key=ADMIN["X-Admin-Key"]))
    with app.test_client(headers={"X-API-KEY": DEFAULT_API_KEY}) as a, \
            app.test_client(headers={"X-API-KEY": "team-b-secret-key"}) as b:
        yield a, b
    services(app).close()


def test_controls_across_tenants_need_the_admin_key(two_teams, two_teams_admin):
    a, _b = two_teams  # no admin key configured: refused whatever is sent
    for response in (a.post("/_mock/reset?all=true"), a.get("/_mock/tenants", headers=ADMIN)):
        assert response.status_code == 403
        assert "--admin-key" in response.json()["detail"]
    a, b = two_teams_admin
    created = b.post("/v1/Customers", json={"companyName": "B SARL"}).json()
    for headers in ({}, {"X-Admin-Key": "team-b-secret-key"}, {"X-Admin-Key": ""}):
        assert a.post("/_mock/reset?all=true", headers=headers).status_code == 403
        assert a.get("/_mock/tenants", headers=headers).status_code == 403
    assert b.get(f"/v1/Customers/{created['id']}").status_code == 200  # nothing was reset
    assert a.post("/_mock/reset", headers={}).json()["tenants"] == 1  # one's own tenant: no admin key


def test_reset_all_resets_every_tenant(two_teams_admin):
    a, b = two_teams_admin
    seeded = len(a.get("/v1/Customers").json())
    a.post("/v1/Customers", json={"companyName": "A SARL"})
    b.post("/v1/Customers", json={"companyName": "B SARL"})
    assert b.post("/_mock/reset?all=true", headers=ADMIN).json()["tenants"] == 2
    assert len(a.get("/v1/Customers").json()) == seeded
    assert len(b.get("/v1/Customers").json()) == seeded
    assert a.post("/_mock/reset?all=maybe").status_code == 400


def test_tenants_list_hides_keys(two_teams_admin):
    a, _b = two_teams_admin
    response = a.get("/_mock/tenants", headers=ADMIN)
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
    assert client.get("/Hello").status_code == 200
    # The request journal says the answer waited the rule's latency (a lower bound: the wait is at
    # least that long, however busy the machine).
    entry = next(e for e in client.get("/_mock/requests").json()["items"] if e["path"] == "/Hello")
    assert entry["durationMs"] >= 300
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


# --- served by Connexion from admin.yaml -------------------------------------------------------------

@pytest.mark.parametrize("method, path, allow", [("patch", "/_mock/faults", "GET, POST, DELETE"),
                                                 ("put", "/_mock/snapshots/start", "POST, DELETE"),
                                                 ("delete", "/_mock/health", "GET"),
                                                 ("get", "/_mock/faults/1", "DELETE"),
                                                 ("put", "/_mock/inbox/demo", "POST, GET, DELETE")])
def test_a_method_a_path_does_not_have_is_a_405_with_allow(client, method, path, allow):
    response = client.request(method.upper(), path)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert response.json()["status"] == 405 and response.json()["instance"] == path


@pytest.mark.fresh_app  # adds a middleware: only to an app that served nothing yet
def test_connexion_routes_the_admin_operations(app):
    from connexion.middleware import MiddlewarePosition

    from mock_server.app import pages_app

    seen = []

    class Routed:  # what Connexion's router put in the scope, seen just before the handler
        def __init__(self, asgi):
            self.asgi = asgi

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                seen.append(scope.get("extensions", {}).get("connexion_routing", {}).get("operation_id"))
            await self.asgi(scope, receive, send)

    app.add_middleware(Routed, position=MiddlewarePosition.BEFORE_CONTEXT)
    with app.test_client(headers={"X-API-KEY": DEFAULT_API_KEY}) as c:
        c.get("/_mock/health")
        c.post("/_mock/snapshots/start")
        c.delete("/_mock/faults/7")
    assert seen == ["GET_Mock_Health", "POST_Mock_SaveSnapshot", "DELETE_Mock_DeleteFault"]
    # Under /_mock, the Flask app beside the API holds the pages (contract, Swagger UI, the
    # dashboard) only: no operation of admin.yaml is a page.
    blueprints = {rule.endpoint.split(".")[0] for rule in pages_app(app.services).url_map.iter_rules()
                  if rule.rule.startswith("/_mock/")}
    assert blueprints == {"mock_admin_pages", "mock_dashboard"}


def test_every_admin_operation_has_its_handler_and_the_contract_is_valid():
    from openapi_spec_validator import validate

    from mock_server.contracts import load_admin_contract
    from mock_server.sandbox.admin_api import HANDLERS

    spec = load_admin_contract()
    validate(spec)
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()
           if isinstance(op, dict) and "operationId" in op]
    assert len(ids) == 32 and sorted(ids) == sorted(HANDLERS)


def test_the_admin_api_checks_keys_as_v1_does(anonymous):
    # The same security handler refuses both; /v1 answers as the live API does (an empty body),
    # /_mock words the refusal as a ProblemDetails.
    for headers, detail in (({}, MISSING_KEY), ({"X-API-KEY": "not-a-key"}, INVALID_KEY)):
        admin = anonymous.get("/_mock/faults", headers=headers)
        v1 = anonymous.get("/v1/Customers", headers=headers)
        assert admin.status_code == v1.status_code == 401
        assert admin.json()["detail"] == detail and v1.content == b""


@pytest.mark.parametrize(("change", "body"), [
    ("put", {"now": "9999-12-31T00:00:00Z"}),
    ("put", {"now": "1999-12-31T23:59:59Z"}),
    ("put", {"now": "2101-01-01T00:00:00Z", "frozen": False}),
    ("advance", {"days": 365 * 200}),
    ("advance", {"days": -365 * 100}),
    ("advance", {"days": 10 ** 12}),
])
def test_the_clock_stays_in_its_documented_range(client, change, body):
    assert client.put("/_mock/clock", json={"now": "2099-06-30T12:00:00Z"}).status_code == 200

    if change == "put":
        response = client.put("/_mock/clock", json=body)
    else:
        response = client.post("/_mock/clock/advance", json=body)

    assert response.status_code == 400
    assert "between 2000-01-01T00:00:00Z and 2100-12-31T23:59:59Z" in response.text
    assert client.get("/_mock/clock").json()["now"].startswith("2099-06-30T12:00:00")  # unchanged
    assert client.get("/v1/SaleInvoices").status_code == 200


def test_the_ends_of_the_clock_range_still_work(client):
    for instant in ("2000-01-01T00:00:00Z", "2100-12-31T23:59:59Z"):
        assert client.put("/_mock/clock", json={"now": instant}).status_code == 200
        assert client.get("/_mock/clock").json()["now"].startswith(instant[:19])
        assert client.get("/v1/SaleInvoices").status_code == 200
        assert client.get("/v1/SaleQuotes").status_code == 200


# --- the admin API validated by Connexion from admin.yaml, refusals in the sandbox's words ---------

@pytest.mark.parametrize(("method", "path", "options", "detail"), [
    ("post", "/_mock/seed", {"json": {"size": 701}}, '"size" must be an integer from 0 to 700'),
    ("post", "/_mock/seed", {"json": {"start": -1, "count": 5}}, '"start" must be an integer at least 0'),
    ("post", "/_mock/seed", {"json": [1]}, "Expected a JSON object body"),
    ("put", "/_mock/clock", {"json": {"frozen": True}}, 'Give "now" (an ISO 8601 instant, or null for real time)'),
    ("put", "/_mock/clock", {"json": {"now": "tomorrow"}}, '"now" must be an ISO 8601 instant'),
    ("put", "/_mock/clock", {"json": {"now": None, "frozen": "yes"}}, '"frozen" must be true or false'),
    ("post", "/_mock/clock/advance", {"json": {}}, 'Give at least one of "days", "hours", "minutes", "seconds"'),
    ("post", "/_mock/clock/advance", {"json": {"days": 1, "weeks": 1}}, "Unknown fields: weeks"),
    ("post", "/_mock/clock/advance", {"json": {"days": True}}, '"days" must be a number'),
    ("post", "/_mock/reset", {"params": {"all": "maybe"}}, '"all" must be true or false'),
    ("post", "/_mock/snapshots/a%20b", {}, "\"name\" must be 1 to 100 letters, digits, '.', '_', '~' or '-'"),
    ("post", "/_mock/webhooks/trigger", {"json": {"type": "CustomerCreated", "id": 2**31}},
     '"id" must be an integer from 0 to 2147483647'),
    ("post", "/_mock/webhooks/trigger", {"json": {"type": "CustomerCreated", "delay": 601}},
     '"delay" must be a number from 0 to 600'),
    ("post", "/_mock/webhooks/trigger", {"json": {"type": "CustomerCreated", "colour": "red"}}, "Unknown fields: colour"),
    ("get", "/_mock/webhooks/deliveries", {"params": {"pageSize": 1001}}, '"pageSize" must be an integer from 1 to 1000'),
    ("get", "/_mock/requests", {"params": {"status": "4x"}}, '"status" must be a status (404) or a class (4xx)'),
    ("get", "/_mock/requests/count", {"params": {"refused": "maybe"}}, '"refused" must be true or false'),
    ("get", "/_mock/requests.har", {"params": {"page": 0}}, '"page" must be an integer from 1 to 999999999'),
    ("post", "/_mock/inbox/box", {"params": {"status": 100}}, '"status" must be an integer from 200 to 599'),
    ("post", "/_mock/faults", {"json": {"operationId": "", "status": 503}},
     '"operationId" must be a string of 1 to 300 characters'),
    ("post", "/_mock/faults", {"json": {"pathPattern": "/v1/Vats", "status": 503, "probability": 1.5}},
     '"probability" must be a number from 0 to 1'),
    ("put", "/_mock/webhooks/1/faults", {"json": {"outOfOrderWindow": 0}}, '"outOfOrderWindow" must be a number from 0.1 to 60'),
    ("delete", "/_mock/faults/0", {}, '"id" must be an integer at least 1'),
])
def test_admin_yaml_refusals_are_worded_from_the_schema(client, method, path, options, detail):
    response = client.request(method.upper(), path, **options)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["detail"] == detail and problem["status"] == 400 and problem["title"] == "Bad Request"


def test_every_event_type_is_one_of_the_trigger_types(client):
    from mock_server.contracts import load_admin_contract, load_contract
    from mock_server.domain.kinds import TYPES

    # admin.yaml names the event types a trigger takes: the Altoviz contract's, in its order.
    names = load_admin_contract()["components"]["schemas"]["WebhookType"]["enum"]
    assert names == load_contract()["components"]["schemas"]["WebhookType"]["enum"] and set(names) == set(TYPES)
    for event_type in TYPES:
        assert client.post("/_mock/webhooks/trigger", json={"type": event_type}).status_code == 202, event_type
    refused = client.post("/_mock/webhooks/trigger", json={"type": ["CustomerCreated", "CustomerRenamed"]})
    assert refused.status_code == 400
    assert refused.json()["detail"] == f'"type" must be one of {", ".join(names)}, or a list of 1 to 20 of them'


def test_the_seed_bounds_of_admin_yaml_are_the_clis():
    from mock_server.config import MAX_SEED_SIZE, MAX_SEED_STEP
    from mock_server.contracts import load_admin_contract

    body = load_admin_contract()["paths"]["/seed"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["size"]["maximum"] == MAX_SEED_SIZE
    assert body["properties"]["count"]["maximum"] == MAX_SEED_STEP
