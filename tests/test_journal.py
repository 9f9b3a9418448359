"""The request journal (mock_server/journal.py): what a client sent and got, per tenant, at
/_mock/requests (filters, paging, count, delete, HAR 1.2), the access log on a real server's
console, `altoviz-mock requests`, and the pytest plugin's `requests()` / `assert_called()`."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jsonschema
import pytest

from mock_server.app import create_app
from mock_server.config import Config
from mock_server.journal import BODY_CAP

from conftest import KEY, TEAM_B, free_port, server_env, services

pytest_plugins = ["pytester"]

# pytester drops the modules a test imported; a second copy of httpcore would not match httpx's exceptions.
httpx.Client(trust_env=False).close()

HAR_SCHEMA = json.loads((Path(__file__).parent / "data" / "har-1.2.schema.json").read_text(encoding="utf-8"))


def entries(client, **params) -> list[dict]:
    answer = client.get("/_mock/requests", params={"pageSize": 500, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_a_request_is_recorded_with_what_was_sent_and_answered(client):
    client.put("/_mock/clock", json={"now": "2026-12-31T09:00:00Z", "frozen": True})
    answer = client.get("/v1/Customers/1?api-version=1.0", headers={"User-Agent": "my-crm/2.1"})
    [entry] = entries(client)
    assert entry["method"] == "GET" and entry["path"] == "/v1/Customers/1" and entry["query"] == "api-version=1.0"
    assert entry["operationId"] == "GET_Customers_Get"
    assert entry["status"] == 200 and json.loads(entry["responseBody"]) == answer.json()
    assert entry["responseHeaders"]["content-type"] == "application/json"
    assert entry["requestHeaders"]["user-agent"] == "my-crm/2.1"
    assert entry["sandboxTime"].startswith("2026-12-31T09:00:00")
    wall = dt.datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
    assert abs(wall - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(hours=1)
    assert entry["durationMs"] >= 0 and entry["refusal"] is None and entry["fault"] is None
    assert entry["warnings"] == [] and entry["nearMisses"] == []
    assert entry["requestBodyTruncated"] is False and entry["responseBodyTruncated"] is False


def test_a_path_in_another_case_is_recorded_with_its_operation(client):
    # The live API reads paths in any case (the live-behaviour layer): the journal names the
    # operation that answered, as sent, without near misses.
    assert client.get("/v1/customers/1").status_code == 200
    [entry] = entries(client)
    assert entry["path"] == "/v1/customers/1" and entry["operationId"] == "GET_Customers_Get"
    assert entry["nearMisses"] == []


def test_an_entry_keeps_the_sandbox_clock_of_its_request(client):
    client.put("/_mock/clock", json={"now": "2026-12-31T09:00:00Z", "frozen": True})
    client.get("/v1/Customers/1")
    client.put("/_mock/clock", json={"now": "2030-06-01T12:00:00Z", "frozen": True})
    client.get("/v1/Customers/2")
    assert [e["sandboxTime"][:19] for e in entries(client)] == ["2030-06-01T12:00:00", "2026-12-31T09:00:00"]
    assert entries(client) == entries(client)  # read again: the same entries


def test_ids_increase_and_the_newest_comes_first(client):
    for customer in (1, 2, 3):
        client.get(f"/v1/Customers/{customer}")
    listed = entries(client)
    assert [e["path"] for e in listed] == ["/v1/Customers/3", "/v1/Customers/2", "/v1/Customers/1"]
    assert [e["id"] for e in listed] == sorted((e["id"] for e in listed), reverse=True)


def test_a_body_is_recorded_and_capped(client):
    client.post("/v1/Customers", json={"companyName": "Boulangerie Martin SARL"})
    entry = entries(client)[0]
    assert json.loads(entry["requestBody"]) == {"companyName": "Boulangerie Martin SARL"}
    assert entry["status"] == 200 and entry["operationId"] == "POST_Customers_Post"
    client.post("/v1/Customers", json={"companyName": "x" * (BODY_CAP * 2)})
    entry = entries(client)[0]
    assert entry["requestBodyTruncated"] is True and len(entry["requestBody"]) == BODY_CAP


def test_api_keys_never_appear_in_an_entry_or_the_har(tmp_path):
    app = create_app(Config(data_dir=tmp_path, api_keys=(TEAM_B,)))
    basic = base64.b64encode(f"{TEAM_B}:".encode()).decode()
    with app.test_client() as c:
        c.get("/v1/Customers/1", headers={"X-API-KEY": TEAM_B})
        c.get("/v1/Customers/1", headers={"Authorization": f"Basic {basic}"})
        c.get(f"/v1/Customers/1?apikey={TEAM_B}")
        listed = c.get("/_mock/requests", headers={"X-API-KEY": TEAM_B}).json()["items"]
        har = c.get("/_mock/requests.har", headers={"X-API-KEY": TEAM_B}).text
    services(app).close()
    recorded = [e for e in listed if e["path"] == "/v1/Customers/1"]
    assert len(recorded) == 3
    assert recorded[2]["requestHeaders"]["X-API-KEY"] == "***"
    assert recorded[1]["requestHeaders"]["Authorization"] == "***"
    assert recorded[0]["query"] == "apikey=***"
    assert TEAM_B not in json.dumps(listed) and TEAM_B not in har and basic not in har


def test_a_refusal_is_recorded_in_the_contracts_words(client):
    answer = client.post("/v1/Customers", json={"companyName": "A", "type": "Alien"})
    assert answer.status_code == 400
    entry = entries(client)[0]
    body = answer.json()
    assert entry["refusal"] == (body.get("message") or body.get("detail"))
    assert entry["operationId"] == "POST_Customers_Post"
    not_found = client.get("/v1/Customers/999999")
    entry = entries(client)[0]
    assert not_found.status_code == 404 and entry["refusal"] and "999999" in entry["refusal"]
    assert entry["nearMisses"] == []  # a missing customer is no near miss of another operation


def test_an_unrouted_request_gets_the_contracts_closest_operations(client):
    assert client.get("/v1/Customer/1").status_code == 404
    entry = entries(client)[0]
    assert entry["operationId"] is None and entry["refusal"]
    assert entry["nearMisses"][0] == {"operationId": "GET_Customers_Get", "method": "GET",
                                      "path": "/v1/Customers/{id}", "differs": "path"}
    assert client.patch("/v1/Customers/1", json={}).status_code == 405
    entry = entries(client)[0]
    assert {m["operationId"] for m in entry["nearMisses"]} <= {
        "GET_Customers_Get", "PUT_Customers_Update", "DELETE_Customers_Delete"}
    assert entry["nearMisses"] and all(m["differs"] == "method" for m in entry["nearMisses"])


def test_the_fault_rule_that_answered_is_recorded(client):
    rule = client.post("/_mock/faults", json={"pathPattern": "/v1/Products*", "status": 503}).json()
    assert client.get("/v1/Products").status_code == 503
    entry = entries(client)[0]
    assert entry["fault"] == str(rule["id"]) and entry["status"] == 503 and entry["refusal"]


def test_mock_and_ui_requests_are_not_recorded(client):
    client.get("/_mock/clock")
    client.get("/_mock/health")
    client.get("/openapi.json")
    client.get("/Hello")
    assert [e["path"] for e in entries(client)] == ["/Hello"]


def test_each_tenant_sees_its_own_requests(two_teams):
    a, b = two_teams
    a.get("/v1/Customers/1")
    b.get("/v1/Products")
    assert [e["path"] for e in entries(a)] == ["/v1/Customers/1"]
    assert [e["path"] for e in entries(b)] == ["/v1/Products"]
    assert entries(b)[0]["id"] == 1  # ids are per tenant


def test_a_request_without_an_accepted_key_goes_to_the_default_tenant(client, anonymous):
    assert anonymous.get("/v1/Customers/1", headers={"X-API-KEY": "not-a-key"}).status_code == 401
    entry = entries(client)[0]
    assert entry["status"] == 401 and entry["requestHeaders"]["X-API-KEY"] == "***" and entry["refusal"]


def test_the_ring_keeps_the_last_n_requests(tmp_path):
    app = create_app(Config(data_dir=tmp_path, journal_size=5))
    with app.test_client(headers={"X-API-KEY": KEY}) as c:
        for customer in range(1, 9):
            c.get(f"/v1/Customers/{customer}")
        page = c.get("/_mock/requests").json()
    services(app).close()
    assert page["total"] == 5
    assert [e["path"] for e in page["items"]] == [f"/v1/Customers/{n}" for n in (8, 7, 6, 5, 4)]
    assert [e["id"] for e in page["items"]] == [8, 7, 6, 5, 4]


def test_the_ring_size_comes_from_the_environment():
    assert Config.from_env({"ALTOVIZ_MOCK_JOURNAL_SIZE": "7"}).journal_size == 7
    assert Config().journal_size == 1000
    with pytest.raises(ValueError):
        Config.from_env({"ALTOVIZ_MOCK_JOURNAL_SIZE": "0"})


def test_a_persisted_journal_outlives_a_restart_and_stays_bounded(tmp_path):
    config = Config(data_dir=tmp_path, journal_size=3, journal_persist=True)
    app = create_app(config)
    with app.test_client(headers={"X-API-KEY": KEY}) as c:
        for customer in range(1, 11):
            c.get(f"/v1/Customers/{customer}")
    services(app).close()
    files = list(tmp_path.glob("*/requests.jsonl"))
    assert len(files) == 1 and len(files[0].read_text().splitlines()) <= 2 * 3
    app = create_app(config)
    with app.test_client(headers={"X-API-KEY": KEY}) as c:
        before = [e["id"] for e in c.get("/_mock/requests").json()["items"]]
        c.get("/v1/Customers/1")
        after = [e["id"] for e in c.get("/_mock/requests").json()["items"]]
    services(app).close()
    assert before == [10, 9, 8] and after == [11, 10, 9]


def test_a_persisted_journal_holds_no_api_key(tmp_path):
    app = create_app(Config(data_dir=tmp_path, journal_persist=True, api_keys=(TEAM_B,)))
    basic = base64.b64encode(f"{TEAM_B}:".encode()).decode()
    with app.test_client() as c:
        c.get("/v1/Customers/1", headers={"X-API-KEY": TEAM_B})
        c.get("/v1/Customers/1", headers={"Authorization": f"Basic {basic}"})
        c.get(f"/v1/Customers/1?apikey={TEAM_B}")
    app.services.close()
    [persisted] = [p for p in tmp_path.glob("*/requests.jsonl") if "/v1/Customers/1" in p.read_text()]
    lines = [json.loads(line) for line in persisted.read_text().splitlines()]
    assert len(lines) == 3 and lines[2]["query"] == "apikey=***"
    assert TEAM_B not in persisted.read_text() and basic not in persisted.read_text()


def test_filters_select_requests(client):
    client.get("/v1/Customers/1")
    client.get("/v1/Customers/999999")
    client.get("/v1/Products")
    client.post("/v1/Customers", json={"type": "Alien"})
    client.get("/v1/Nothing")
    paths = lambda **f: [e["path"] + " " + str(e["status"]) for e in entries(client, **f)]  # noqa: E731
    assert paths(operationId="GET_Customers_Get") == ["/v1/Customers/999999 404", "/v1/Customers/1 200"]
    assert paths(method="post") == ["/v1/Customers 400"]
    assert paths(path="/v1/Customers/*") == ["/v1/Customers/999999 404", "/v1/Customers/1 200"]
    assert paths(status="4xx") == ["/v1/Nothing 404", "/v1/Customers 400", "/v1/Customers/999999 404"]
    assert paths(status="404") == ["/v1/Nothing 404", "/v1/Customers/999999 404"]
    assert paths(status="2xx") == ["/v1/Products 200", "/v1/Customers/1 200"]
    assert paths(refused="true") == paths(status="4xx")
    assert len(paths(refused="false")) == 5
    first = entries(client)[-1]
    assert len(paths(since=str(first["id"]))) == 4
    assert len(paths(after="2000-01-01T00:00:00Z")) == 5 and paths(after="2999-01-01T00:00:00Z") == []
    assert paths(warnings="true") == []  # nothing here answers with an X-Mock-Warning
    for bad in ({"status": "4x"}, {"since": "yesterday"}, {"refused": "maybe"}, {"pageSize": "501"},
                {"page": "0"}, {"pageSize": "ten"}):
        answer = client.get("/_mock/requests", params=bad)
        assert answer.status_code == 400 and answer.json()["detail"], bad


def test_paging_and_count(client):
    for customer in range(1, 8):
        client.get(f"/v1/Customers/{customer}")
    first = client.get("/_mock/requests", params={"pageSize": 3}).json()
    third = client.get("/_mock/requests", params={"pageSize": 3, "page": 3}).json()
    assert first["total"] == 7 and first["page"] == 1 and first["pageSize"] == 3
    assert [e["path"] for e in first["items"]] == [f"/v1/Customers/{n}" for n in (7, 6, 5)]
    assert [e["path"] for e in third["items"]] == ["/v1/Customers/1"]
    assert client.get("/_mock/requests").json()["pageSize"] == 50
    assert client.get("/_mock/requests/count").json() == {"count": 7}
    assert client.get("/_mock/requests/count", params={"path": "/v1/Customers/[12]"}).json() == {"count": 2}


def test_delete_and_reset_empty_the_journal(client):
    client.get("/v1/Customers/1")
    client.get("/v1/Customers/2")
    assert client.delete("/_mock/requests").json() == {"deleted": 2}
    assert client.get("/_mock/requests/count").json() == {"count": 0}
    client.get("/v1/Customers/3")
    assert entries(client)[0]["id"] == 3  # ids are never reused
    assert client.post("/_mock/reset").status_code == 200
    assert client.get("/_mock/requests/count").json() == {"count": 0}


def test_the_har_export_is_valid_har_1_2(client):
    client.get("/v1/Customers/1?api-version=1.0")
    client.post("/v1/Customers", json={"companyName": "Boulangerie Martin SARL"})
    client.get("/v1/Nothing")
    answer = client.get("/_mock/requests.har")
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    har = answer.json()
    jsonschema.validate(har, HAR_SCHEMA, format_checker=jsonschema.FormatChecker())
    log = har["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "altoviz-mock"
    assert [(e["request"]["method"], e["response"]["status"]) for e in log["entries"]] == [
        ("GET", 200), ("POST", 200), ("GET", 404)]  # oldest first, as HAR viewers expect
    get, post, _ = log["entries"]
    assert get["request"]["url"].endswith("/v1/Customers/1?api-version=1.0")
    assert get["request"]["queryString"] == [{"name": "api-version", "value": "1.0"}]
    assert json.loads(post["request"]["postData"]["text"]) == {"companyName": "Boulangerie Martin SARL"}
    assert json.loads(post["response"]["content"]["text"])["companyName"] == "Boulangerie Martin SARL"
    only = client.get("/_mock/requests.har", params={"status": "4xx"}).json()
    assert [e["response"]["status"] for e in only["log"]["entries"]] == [404]


# --- a real server: access log, the `requests` command ------------------------------------------

def _wait_for(predicate, timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")


@pytest.mark.slow
def test_the_console_has_one_access_line_per_request(server_factory):
    server = server_factory("--in-memory")
    headers = {"X-API-KEY": KEY}
    httpx.get(f"{server.url}/v1/Customers/1", headers=headers, trust_env=False)
    httpx.get(f"{server.url}/v1/Customers/999999", headers=headers, trust_env=False)
    httpx.get(f"{server.url}/v1/Customers/1", trust_env=False)
    _wait_for(lambda: "GET /v1/Customers/1 401" in server.stdout, what="the 401's line")
    lines = [line for line in server.stdout.splitlines() if line.startswith("GET /v1/")]
    assert len(lines) == 3
    assert lines[0].startswith("GET /v1/Customers/1 200 ") and "op=GET_Customers_Get" in lines[0]
    assert "tenant=alto…" in lines[0] and not any(KEY in line for line in lines)
    assert lines[1].startswith("GET /v1/Customers/999999 404 ") and "999999" in lines[1].split("op=")[1]
    assert "tenant=-" in lines[2]
    assert "ERROR" not in server.output  # client errors are not server errors


@pytest.mark.slow
def test_the_access_log_in_json(server_factory):
    server = server_factory("--in-memory", "--log-format", "json")
    httpx.get(f"{server.url}/v1/Customers/1", headers={"X-API-KEY": KEY}, trust_env=False)
    httpx.get(f"{server.url}/_mock/requests/count", headers={"X-API-KEY": KEY}, trust_env=False)
    _wait_for(lambda: "/_mock/requests/count" in server.stdout, what="the JSON line")
    records = [json.loads(line) for line in server.stdout.splitlines()
               if line.startswith("{") and "/_mock/health" not in line]
    assert records[0] == {**records[0], "method": "GET", "path": "/v1/Customers/1", "status": 200,
                          "operationId": "GET_Customers_Get", "tenant": "alto…", "reason": None}
    assert records[0]["durationMs"] >= 0


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mock_server.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=server_env({"NO_COLOR": "1"}))


@pytest.mark.slow
def test_the_requests_command_shows_and_follows(server_factory, tmp_path):
    server = server_factory("--in-memory", "--quiet")
    headers = {"X-API-KEY": KEY}
    httpx.get(f"{server.url}/v1/Customers/1", headers=headers, trust_env=False)
    httpx.get(f"{server.url}/v1/Customer/1", headers=headers, trust_env=False)
    shown = _cli("requests", "--url", server.url)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert len(lines) == 2 and "GET /v1/Customers/1 200 GET_Customers_Get" in lines[0]
    assert "GET /v1/Customer/1 404 (no operation)" in lines[1] and "closest: GET /v1/Customers/{id}" in lines[1]
    as_json = _cli("requests", "--url", server.url, "--json", "--status", "4xx")
    assert [json.loads(line)["path"] for line in as_json.stdout.splitlines()] == ["/v1/Customer/1"]

    out = tmp_path / "follow.txt"
    with open(out, "w") as file:
        follow = subprocess.Popen([sys.executable, "-m", "mock_server.cli", "requests", "--url", server.url,
                                   "--follow", "--interval", "0.1", "--operation", "GET_Products_Get"],
                                  stdout=file, stderr=subprocess.STDOUT, env=server_env({"NO_COLOR": "1"}))
    try:
        # Whether they arrive before its first page or while it follows, the command shows them once.
        for product in (1, 2):
            httpx.get(f"{server.url}/v1/Products/{product}", headers=headers, trust_env=False)
        httpx.get(f"{server.url}/v1/Customers/2", headers=headers, trust_env=False)
        _wait_for(lambda: "/v1/Products/2" in out.read_text(), what="the followed request")
    finally:
        follow.terminate()
        follow.wait(timeout=10)
    followed = out.read_text().splitlines()
    assert [line.split()[3] for line in followed if "GET" in line] == ["/v1/Products/1", "/v1/Products/2"]
    assert "/v1/Customers/1" not in server.stdout  # --quiet: no access log


def test_the_requests_command_says_when_no_sandbox_answers():
    result = _cli("requests", "--url", f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 1 and "no sandbox answering" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


PLUGIN_TESTS = '''
import pytest


def test_finalize_is_called_once(altoviz_mock):
    api = altoviz_mock.client
    customer = api.post("/v1/Customers", json={"companyName": "Boulangerie Martin SARL"}).json()
    draft = api.post("/v1/SaleInvoices", json={"customerId": customer["id"], "lines": [
        {"type": "Service", "description": "Pains", "quantity": 3, "taxExcludedPrice": 100, "vat": {"rate": 5.5}}]}).json()
    api.post(f"/v1/SaleInvoices/Finalize/{draft['id']}")
    api.get("/v1/Customer/1")
    altoviz_mock.assert_called("POST_SaleInvoices_Finalize", times=1)
    altoviz_mock.assert_called("POST_Customers_Post", body_contains={"companyName": "Boulangerie Martin SARL"})
    altoviz_mock.assert_called("POST_SaleInvoices_Post", body_contains="Pains")
    refused = altoviz_mock.requests(status="4xx")
    assert [e["path"] for e in refused] == ["/v1/Customer/1"]
    assert [e["operationId"] for e in altoviz_mock.requests()][:3] == [
        "POST_Customers_Post", "POST_SaleInvoices_Post", "POST_SaleInvoices_Finalize"]


def test_each_test_starts_with_an_empty_journal(altoviz_mock):
    assert altoviz_mock.requests() == []


def test_a_missing_call_says_what_was_called(altoviz_mock):
    altoviz_mock.client.get("/v1/Customers/1")
    altoviz_mock.client.get("/v1/Nothing")
    altoviz_mock.assert_called("POST_SaleInvoices_Finalize")
'''


@pytest.mark.slow
def test_the_pytest_plugin_verifies_calls(pytester):
    pytester.makepyfile(test_calls=PLUGIN_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", timeout=180)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*expected POST_SaleInvoices_Finalize to be called at least once, it was called 0 times; "
        "this test sent 2 requests (the last 2):*",
        "*#1 GET /v1/Customers/1 -> 200 GET_Customers_Get*",
        "*#2 GET /v1/Nothing -> 404 (no operation) (*"])
