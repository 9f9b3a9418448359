"""Live mode (`altoviz-mock contract --base-url`) against local stand-ins of "the live API".

A faithful stand-in (the sandbox itself, as a real server) must be reported clean, in read-only
and in read-write mode; a stand-in that drifts from the contract in one known way (a renamed
field, a changed type, a new enum value, an undocumented status, a removed endpoint, a new
required field or parameter, a changed content type) must be reported, naming the operation, and
nothing else may be. The safety promises are checked on the requests the stand-in received:
GET only unless writes are allowed, ids taken from list answers, writes only on what the run
created, a bounded rate, everything created removed. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

import httpx
import pytest

from contract_tests.live import RunOptions, run_contract
from contract_tests.mock_mode import implemented_operation_ids
from contract_tests.standin import DRIFTS, StandIn, free_port
from mock_server.cli import main
from mock_server.config import DEFAULT_API_KEY

pytestmark = pytest.mark.slow

LISTS = ["Customers", "Contacts", "Suppliers", "Products", "ProductFamilies", "SaleInvoices", "SaleCredits",
         "SaleQuotes", "Webhooks"]


def _operations() -> list[str]:
    """What the sandbox implements: the operations a faithful stand-in answers."""
    return implemented_operation_ids()


def _listing(api: StandIn) -> dict[str, set[int]]:
    with httpx.Client(base_url=api.url, headers={"X-API-KEY": api.api_key}, trust_env=False) as client:
        return {name: {item["id"] for item in client.get(f"/v1/{name}", params={"PageSize": 1000}).json()}
                for name in LISTS}


def _explain(report) -> str:
    return "\n".join(f"{f.operation} {f.check}: {f.detail} (expected {f.expected}; actual {f.actual})"
                     for f in report.findings)


def test_a_faithful_server_is_reported_clean_read_only(server_factory):
    server = server_factory("--in-memory")
    report = run_contract(RunOptions(base_url=server.url, api_key=DEFAULT_API_KEY, operations=_operations()))
    assert report.findings == [], _explain(report)
    assert all(outcome.operation.startswith("GET ") for outcome in report.outcomes)
    passed = [o.operation for o in report.outcomes if o.status == "passed"]
    assert "GET /v1/Customers/{id}" in passed and "GET /v1/Customers/GetByInternalId/{internalId}" in passed
    assert len(passed) >= 30
    assert any("not sent" in note for note in report.notes)


def test_writes_on_a_faithful_server_report_nothing_touch_only_what_the_run_created_and_clean_up():
    with StandIn() as api:
        before = _listing(api)
        report = run_contract(RunOptions(base_url=api.url, api_key=api.api_key, allow_writes=True,
                                         max_examples=3, operations=_operations()))
        after = _listing(api)
    assert report.findings == [], _explain(report)
    assert after == before, "the run left resources behind (or removed seeded ones)"
    assert {method for _, method, _ in api.requests} == {"GET", "POST", "PUT", "DELETE"}
    # Every write addressed by id targets a resource this run created, never a seeded one.
    for _, method, path in api.requests:
        match = re.fullmatch(r"/v1/(\w+)/(?:Finalize/)?(\d+)", path)
        if method != "GET" and match:
            collection = "Products" if match[1] == "ProductImages" else match[1]
            assert int(match[2]) not in before.get(collection, set()), f"{method} {path} touched seeded data"
    cleanup = next(note for note in report.notes if note.startswith("Cleanup"))
    # All removed, but purchase invoices: the API has no delete for them.
    assert set(re.findall(r"(\w+) \d+ \(", cleanup.partition("left in the account:")[2])) <= {"PurchaseInvoices"}
    assert re.match(r"Cleanup: the run created [1-9]\d* resource\(s\)", cleanup)
    assert all(outcome.status != "failed" for outcome in report.outcomes)
    assert {o.operation: o.skipped for o in report.outcomes}["POST /v1/SaleInvoices/Send/{id}"].startswith("never sent")


@pytest.mark.parametrize("name", list(DRIFTS))
def test_each_drift_is_reported_naming_its_operation_and_nothing_else(name):
    drift = DRIFTS[name]
    # A write drift is checked on its resource's operations (the faithful write run covers the rest).
    operations = [op for op in _operations() if not drift.writes or "_Customers_" in op]
    with StandIn(name) as api:
        listed = _listing(api)
        api.requests.clear()
        report = run_contract(RunOptions(base_url=api.url, api_key=api.api_key, allow_writes=drift.writes,
                                         max_examples=3, operations=operations))
    reported = {(f.operation, f.check) for f in report.findings}
    for expected in drift.reported:
        assert expected in reported, f"{name}: {expected} not reported; got:\n{_explain(report)}"
    for finding in report.findings:
        method, path = finding.operation.split(" ", 1)
        assert drift.touches(method, path), f"{name}: unrelated finding {finding.operation} {finding.check}"
        assert finding.detail and finding.curl.startswith("curl ") and api.api_key not in finding.curl
    if drift.writes:
        assert "removed" in next(note for note in report.notes if note.startswith("Cleanup"))
    else:
        _assert_read_only_with_listed_ids(api.requests, listed)


def _assert_read_only_with_listed_ids(requests: list, listed: dict[str, set[int]]) -> None:
    """GET only; an item is addressed only by an id its list answered, after that list was called."""
    assert {method for _, method, _ in requests} == {"GET"}
    first_list = {}
    for index, (_, _, path) in enumerate(requests):
        if re.fullmatch(r"/v1/\w+", path):
            first_list.setdefault(path, index)
        match = re.fullmatch(r"/v1/(\w+)/(?:Download/)?(\d+)(?:/contacts)?", path)
        if match:
            collection = "Products" if match[1] == "ProductImages" else match[1]
            assert int(match[2]) in listed[collection], f"GET {path}: an id no list answered"
            assert first_list.get(f"/v1/{collection}", index) < index, f"GET {path} before its list"
    assert any(re.fullmatch(r"/v1/Customers/GetByInternalId/CRM-\d+", path) for _, _, path in requests)


def test_requests_are_rate_limited():
    with StandIn() as api:
        run_contract(RunOptions(base_url=api.url, api_key=api.api_key, rate_limit="4/s",
                                operations=["GET_Vats_List", "GET_Units_List", "GET_Settings_Get", "GET_Users_GetMe"]))
    times = [t for t, _, _ in api.requests]
    assert len(times) >= 9
    # At most 4 requests in any second. The times are taken where the stand-in receives them, which
    # may lag the client's sending by a scheduling delay on a busy machine: hence the slack per
    # window, and the whole run's length, which one late request cannot shorten.
    assert all(later - earlier >= 0.75 for earlier, later in zip(times, times[4:])), times
    assert times[-1] - times[0] >= (len(times) - 1) // 4 - 0.25, times


def test_contract_command_reports_drift_writes_the_reports_and_honours_a_baseline(tmp_path, capsys):
    ops = ["--operation", "GET_Customers_List", "--operation", "GET_Customers_Get", "--operation", "GET_Vats_List"]
    with StandIn("renamed-field") as api:
        args = ["contract", "--base-url", api.url, "--api-key", api.api_key, "--rate-limit", "none", *ops]
        assert main([*args, "--report", str(tmp_path / "r")]) == 1
        out = capsys.readouterr().out
        assert f"Contract check of {api.url} (read-only: GET only; no rate limit; 5 examples per operation)" in out
        assert re.search(r"\[1/3\] GET /v1/Customers +FAILED +\d+ requests\n"
                         r"    response_schema_conformance: 200 \$\[\*\]: field companyName renamed to company_name", out)
        assert re.search(r"\[3/3\] GET /v1/Customers/\{id\} +FAILED", out)
        assert "3 operations: 1 passed, 2 failed, 0 not tested; 2 new difference(s)" in out

        markdown = (tmp_path / "r" / "contract-report.md").read_text()
        assert "| `response_schema_conformance` | field renamed | 200 $[*]: field companyName renamed to company_name " \
               "| companyName: string or null | company_name: " in markdown
        assert f'curl -X GET -H "X-API-KEY: $ALTOVIZ_API_KEY" {api.url}/v1/Customers' in markdown
        junit = (tmp_path / "r" / "contract-junit.xml").read_text()
        suite = ElementTree.fromstring(junit).find("testsuite")
        assert (suite.get("tests"), suite.get("failures")) == ("3", "2")
        assert api.api_key not in markdown + junit

        baseline = tmp_path / "r" / "contract-baseline.yaml"
        assert main([*args, "--baseline", str(baseline), "--report", str(tmp_path / "r2")]) == 0
        out = capsys.readouterr().out
        assert re.search(r"\[1/3\] GET /v1/Customers +known", out)
        assert "0 new difference(s), 2 known (baseline)" in out
        assert "## Known differences (baseline)" in (tmp_path / "r2" / "contract-report.md").read_text()


def test_contract_command_takes_the_target_from_the_environment(monkeypatch, capsys):
    with StandIn() as api:
        monkeypatch.setenv("ALTOVIZ_BASE_URL", api.url)
        monkeypatch.setenv("ALTOVIZ_API_KEY", api.api_key)
        assert main(["contract", "--operation", "GET_Vats_List", "--rate-limit", "none", "-q"]) == 0
    out = capsys.readouterr().out
    assert f"Contract check of {api.url}" in out and "1 operations: 1 passed" in out


def test_contract_command_says_why_it_cannot_check(monkeypatch, capsys):
    monkeypatch.delenv("ALTOVIZ_API_KEY", raising=False)
    monkeypatch.delenv("ALTOVIZ_BASE_URL", raising=False)
    nobody = f"http://127.0.0.1:{free_port()}"
    assert main(["contract", "--base-url", nobody]) == 2
    assert "--api-key (or ALTOVIZ_API_KEY) is required" in capsys.readouterr().err
    assert main(["contract", "--base-url", nobody, "--api-key", "k"]) == 2
    assert f"cannot reach {nobody}" in capsys.readouterr().err
    assert main(["contract", "--base-url", nobody, "--api-key", "k", "--rate-limit", "fast"]) == 2
    assert "--rate-limit 'fast'" in capsys.readouterr().err


def test_contract_command_without_a_base_url_checks_the_sandbox_in_process(capsys):
    assert main(["contract", "-q", "--max-examples", "1"]) == 0
    out = capsys.readouterr().out
    assert "Contract check of the sandbox, in-process (read-write" in out
    assert "0 new difference(s)" in out
