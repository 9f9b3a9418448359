"""The one request path: one tenant's slowness never stalls another (real server, loopback).

Fault latency is awaited on the event loop (sandbox/faults.py) and Flask runs in a2wsgi's thread
pool, so while tenant A's slowed requests wait, tenant B and /_mock/health are answered at their
normal cost. Asserted with counts and ordering, never with wall-clock durations: B's requests all
complete before any of A's slowed ones, which a stalled event loop would make impossible.
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import KEY

OTHER_KEY = "tenant-b-key"
SLOWED = 6  # tenant A's concurrent clients
LATENCY_MS = 3000
WAIT = 60.0  # the bound of every wait of the test, far above any answer


def http(url: str, key: str) -> httpx.Client:
    # trust_env=False: loopback only, never through a proxy of the environment.
    return httpx.Client(base_url=url, headers={"X-API-KEY": key}, timeout=WAIT, trust_env=False)


def fired(client: httpx.Client) -> int:
    return sum(rule["fired"] for rule in client.get("/_mock/faults").json())


@pytest.mark.slow
def test_a_latency_rule_on_tenant_a_leaves_tenant_b_and_health_answering(server_factory):
    server = server_factory("--api-key", OTHER_KEY)
    order = itertools.count()
    lock = threading.Lock()
    done: list[tuple[int, str, int]] = []  # (completion rank, who, status)

    def finished(who: str, status: int) -> None:
        with lock:
            done.append((next(order), who, status))

    with http(server.url, KEY) as a, http(server.url, OTHER_KEY) as b:
        assert b.get("/v1/Customers/1").status_code == 200  # B's tenant is open and warm
        rule = a.post("/_mock/faults", json={"operationId": "GET_Hello_Get", "latencyMs": LATENCY_MS})
        assert rule.status_code == 201, rule.text

        def slowed(_):
            with http(server.url, KEY) as client:
                finished("A", client.get("/Hello").status_code)

        with ThreadPoolExecutor(max_workers=SLOWED) as pool:
            futures = [pool.submit(slowed, n) for n in range(SLOWED)]
            # Every one of A's requests has reached the rule (it counts its firings): all in flight.
            deadline = time.monotonic() + WAIT
            while fired(a) < SLOWED:
                assert time.monotonic() < deadline, "tenant A's requests never reached the server"
                time.sleep(0.02)
            with lock:
                assert done == [], "a slowed request answered before its latency"
            timings = []
            for n in range(10):
                started = time.perf_counter()
                finished("B", b.get("/v1/Customers/1").status_code)
                timings.append(time.perf_counter() - started)
                finished("health", b.get("/_mock/health").status_code)
                # B's own /Hello: the rule is A's, B keeps its normal path.
                finished("B", b.get("/Hello").status_code)
            for future in futures:
                future.result(timeout=WAIT)
        assert fired(a) == SLOWED  # B's /Hello never fired A's rule

    timings.sort()
    # Printed, not asserted (a shared machine's load would make any duration bound flaky).
    print(f"tenant B GET /v1/Customers/1 under A's latency: p50 {timings[len(timings) // 2] * 1000:.1f} ms, "
          f"max {timings[-1] * 1000:.1f} ms")
    assert all(status == 200 for _, _, status in done), done
    whose = [who for _, who, _ in sorted(done)]
    assert whose.count("A") == SLOWED and whose.count("B") == 20 and whose.count("health") == 10
    # Every answer to B and to health came before the first of A's slowed ones.
    assert set(whose[:30]) == {"B", "health"}, whose


# --- request bodies and heads, parsed once and strictly, on /v1 and /_mock alike -------------------

REFUSED_BODIES = {
    "lone surrogate": (b'{"companyName": "A\\ud800"}', "lone UTF-16 surrogate"),
    "huge integer": (b'{"companyName": "A", "x": ' + b"7" * 5000 + b"}", "more than 4300 digits"),
    "deep nesting": (b'{"companyName": "A", "x": ' + b"[" * 65 + b"]" * 65 + b"}", "more than 64 levels"),
}


@pytest.mark.parametrize("path", ["/v1/Customers", "/_mock/faults"])
@pytest.mark.parametrize("kind", sorted(REFUSED_BODIES))
def test_a_body_json_cannot_hold_is_a_400_and_stores_nothing(client, path, kind):
    body, words = REFUSED_BODIES[kind]
    before = len(client.get("/v1/Customers").json()), client.get("/_mock/faults").json()
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    answer = response.json()
    # /_mock words it as a ProblemDetails; /v1 as the live API, "Validation failed" and its errors.
    assert words in (answer["detail"] if "detail" in answer else " ".join(answer["errors"]))
    assert (len(client.get("/v1/Customers").json()), client.get("/_mock/faults").json()) == before


def test_a_paired_surrogate_escape_is_ordinary_text(client):
    response = client.post("/v1/Customers", content='{"companyName": "Atelier \\ud83c\\udfa8"}'.encode(),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["companyName"] == "Atelier \U0001F3A8"


@pytest.mark.parametrize("path, operation, message", [
    ("/v1/Colleagues/GetByInternalId/a%0Ab", "GET_Colleagues_GetByInternalId", "Colleague with internal ID a\nb not found."),
    ("/v1/Customers/GetByInternalId/a%0A", "GET_Customers_GetByInternalId", "Customer with internal ID a\n not found."),
])
def test_a_newline_in_a_path_segment_is_routed_to_its_operation(module_server, path, operation, message):
    # ASP.NET matches a segment whatever it holds: the contract's JSON 404 of the operation, not an
    # unrouted request's empty one (Starlette's `path` stopped at the newline, canonical.py).
    with http(module_server.url, KEY) as client:
        answer = client.get(path)
        assert answer.status_code == 404 and answer.headers["content-type"].startswith("application/json")
        assert answer.json() == {"errors": [], "message": message}
        recorded = client.get("/_mock/requests", params={"pageSize": 1}).json()["items"][0]
    assert (recorded["operationId"], recorded["status"]) == (operation, 404)


@pytest.mark.parametrize("content_type", ["Application/JSON; charset=UTF-8", "APPLICATION/JSON"])
def test_json_media_types_are_case_insensitive_everywhere(client, content_type):
    headers = {"Content-Type": content_type}
    created = client.post("/v1/Customers", content=b'{"companyName": "Casse Libre"}', headers=headers)
    assert created.status_code == 200, created.text
    assert client.get(f"/v1/Customers/{created.json()['id']}").json()["companyName"] == "Casse Libre"
    rule = client.post("/_mock/faults", content=b'{"pathPattern": "/v1/Vats", "status": 503}', headers=headers)
    assert rule.status_code == 201, rule.text
    assert client.get("/v1/Vats").status_code == 503


@pytest.mark.parametrize("host", ["attacker.example/x?", "a b", "evil.example@127.0.0.1", "127.0.0.1:80x"])
def test_a_malformed_host_never_reaches_an_answer(client, host):
    for path in ("/Hello", "/v1/Products", "/_mock/health"):
        response = client.get(path, headers={"Host": host})
        assert response.status_code == 400, (path, response.text)
        assert host not in response.text


def test_a_well_formed_host_names_the_urls_of_the_answers(client):
    hello = client.get("/Hello", headers={"Host": "sandbox.test:8123"})
    assert hello.status_code == 200
    assert hello.json()["url"] == "http://sandbox.test:8123"


# --- fault rules: admin.yaml's FaultRuleRequest is their one description -----------------------------

def test_a_fault_rule_is_checked_against_admin_yaml(client):
    from mock_server.contracts import load_admin_contract

    fields = load_admin_contract()["components"]["schemas"]["FaultRuleRequest"]["properties"]
    for method in fields["method"]["enum"]:
        added = client.post("/_mock/faults", json={"pathPattern": "/v1/Vats", "method": method, "status": 503})
        assert added.status_code == 201, added.text
        assert added.json()["method"] == method
    # The schema's enum is upper-case: a lower-case method is not one of them.
    refused = client.post("/_mock/faults", json={"pathPattern": "/v1/Vats", "method": "get", "status": 503})
    assert refused.status_code == 400
    assert refused.json()["detail"] == '"method" must be one of ' + ", ".join(fields["method"]["enum"])
    too_slow = fields["latencyMs"]["maximum"] + 1
    refused = client.post("/_mock/faults", json={"pathPattern": "/v1/Vats", "latencyMs": too_slow})
    assert refused.json()["detail"] == f'"latencyMs" must be an integer from 0 to {too_slow - 1}'
    refused = client.post("/_mock/faults", json={"pathPattern": "/v1/Vats", "status": 503, "colour": "red"})
    assert refused.json()["detail"] == "Unknown fields: colour"


def test_the_controls_take_their_defaults_and_bounds_from_the_contract_parsed_once(client, monkeypatch):
    """admin.yaml is parsed once, for Connexion and for the handlers' defaults and bounds alike (a
    rule's `probability`, the clock's `frozen`): serving the controls and the rules reads no file."""
    import mock_server.contracts as contracts

    monkeypatch.setattr(contracts, "contract_text", lambda *a: pytest.fail(f"contract read again: {a}"))
    added = client.post("/_mock/faults", json={"pathPattern": "/v1/Vats", "status": 503})
    assert added.status_code == 201 and added.json()["probability"] == 1, added.text
    assert client.get("/v1/Customers/1").status_code == 200  # the rule matches no Customers request
    assert client.get("/v1/Vats").status_code == 503
    assert client.put("/_mock/clock", json={"now": "2027-01-01T00:00:00Z"}).json()["frozen"] is True


# --- answers: a JSON-only operation's plain answer is sent as Connexion would send it ------------

def test_a_plain_json_answer_is_what_connexion_would_send(client):
    """The handlers of JSON-only operations hand Connexion a ready response (api/resolver.py,
    `json_answer`): a client sees what Connexion's own decorator wrote before, byte for byte."""
    from mock_server.api.resolver import json_only
    from mock_server.app import OrJSONifier
    from mock_server.contracts import load_contract

    plain = json_only(load_contract())
    assert {"GET_Customers_Get", "POST_SaleInvoices_Finalize"} <= plain
    # The PDF downloads answer application/pdf as well: Connexion keeps choosing their answers.
    assert not {"GET_SaleInvoices_Download", "GET_SaleQuotes_Download"} & plain
    for answer in (client.get("/v1/Customers/1"), client.get("/v1/Customers", params={"PageSize": 2}),
                   client.post("/v1/Customers", json={"companyName": "Réponse Nette"})):
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        assert answer.content == OrJSONifier().dumps(answer.json())  # compact, a newline at the end
        assert int(answer.headers["content-length"]) == len(answer.content)
    # A list answer comes with its paging headers (a tuple for Connexion to build): they are kept.
    listed = client.get("/v1/Customers", params={"PageSize": 2})
    assert listed.headers["X-Page-Size"] == "2" and int(listed.headers["X-Record-Count"]) >= 2
