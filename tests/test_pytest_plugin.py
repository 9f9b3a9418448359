"""The pytest plugin as a user meets it: a test suite in another folder, using the `altoviz_mock`
fixture of the installed package (entry point `pytest11`), run by pytest in a subprocess."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

pytest_plugins = ["pytester"]

# pytester drops the modules a test imported when the test ends; httpx imports httpcore on its
# first client, and a second copy of httpcore would not match the exceptions httpx catches.
httpx.Client(trust_env=False).close()

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

# A user's test: create a customer, draft an invoice, finalize it (the README shows the same).
USER_TEST = '''
def test_invoice_flow(altoviz_mock):
    api = altoviz_mock.client
    customer = api.post("/v1/Customers", json={"companyName": "Boulangerie Martin SARL"}).json()
    draft = api.post("/v1/SaleInvoices", json={"customerId": customer["id"], "lines": [
        {"type": "Service", "description": "Pains", "quantity": 3, "taxExcludedPrice": 100, "vat": {"rate": 5.5}}]}).json()
    assert draft["isDraft"] and draft["number"] is None
    invoice = api.post(f"/v1/SaleInvoices/Finalize/{draft['id']}").json()
    assert invoice["number"].endswith("-00001") and invoice["taxIncludedAmount"] == 316.5
'''

ISOLATION_TESTS = '''
def test_first_writes(altoviz_mock):
    created = altoviz_mock.client.post("/v1/Customers", json={"companyName": "Isolée SARL"}).json()
    assert created["number"] == "C00031"
    assert altoviz_mock.client.delete("/v1/Customers/1").status_code == 200


def test_second_sees_the_seeded_data_only(altoviz_mock):
    api = altoviz_mock.client
    assert api.get("/v1/Customers", params={"query": "Isolée"}).json() == []
    assert api.get("/v1/Customers/1").status_code == 200
    assert len(api.get("/v1/Customers").json()) == 30
    assert api.post("/v1/Customers", json={"companyName": "Autre SARL"}).json()["number"] == "C00031"
'''

CONTROLS_TESTS = '''
import datetime as dt
import time


def test_reset_puts_the_seeded_data_back(altoviz_mock):
    api = altoviz_mock.client
    created = api.post("/v1/Customers", json={"companyName": "Éphémère SARL"}).json()
    altoviz_mock.reset()
    assert api.get(f"/v1/Customers/{created['id']}").status_code == 404
    assert len(api.get("/v1/Customers").json()) == 30


def test_clock_makes_an_invoice_overdue(altoviz_mock):
    api = altoviz_mock.client
    assert altoviz_mock.set_clock("2026-03-10T10:00:00Z") == dt.datetime(2026, 3, 10, 10, tzinfo=dt.timezone.utc)
    draft = api.post("/v1/SaleInvoices", json={"customerId": 2, "lines": [
        {"type": "Service", "description": "Audit", "quantity": 1, "taxExcludedPrice": 500, "vat": {"rate": 20}}]}).json()
    api.post(f"/v1/SaleInvoices/Finalize/{draft['id']}")
    assert api.get("/v1/SaleInvoices", params={"Status": "Expired"}).json() == []
    assert altoviz_mock.advance(days=90).date() == dt.date(2026, 6, 8)
    assert altoviz_mock.now().date() == dt.date(2026, 6, 8)
    assert [i["id"] for i in api.get("/v1/SaleInvoices", params={"Status": "Expired"}).json()] == [draft["id"]]


def test_clock_and_journal_take_dates_and_naive_datetimes(altoviz_mock):
    # admin.yaml wants RFC 3339 instants; the plugin reads a date as its midnight and naive as UTC.
    assert altoviz_mock.set_clock("2026-03-10") == dt.datetime(2026, 3, 10, tzinfo=dt.timezone.utc)
    assert altoviz_mock.set_clock(dt.datetime(2026, 4, 1, 9)) == dt.datetime(2026, 4, 1, 9, tzinfo=dt.timezone.utc)
    altoviz_mock.client.get("/v1/Customers/1")
    assert [e["path"] for e in altoviz_mock.requests(after=dt.datetime(2000, 1, 1))] == ["/v1/Customers/1"]
    assert altoviz_mock.requests(after=dt.datetime(2999, 1, 1)) == []


def test_webhooks_arrive_in_the_inbox(altoviz_mock):
    import pytest

    probe = altoviz_mock.client.get("/_mock/inbox/probe")
    if probe.status_code == 404:
        pytest.skip("this sandbox has no /_mock/inbox endpoint")
    api = altoviz_mock.client
    hook = api.post("/v1/Webhooks", json={"name": "crm", "url": altoviz_mock.webhook_url("crm"),
                                          "types": ["CustomerCreated"], "secretKey": "s3cret"})
    assert hook.status_code in (200, 201), hook.text
    customer = api.post("/v1/Customers", json={"companyName": "Webhook SARL"}).json()
    deadline = time.monotonic() + 15
    while not altoviz_mock.inbox("crm") and time.monotonic() < deadline:
        time.sleep(0.05)
    received = altoviz_mock.inbox("crm")
    assert len(received) == 1, received
    assert str(customer["id"]) in str(received[0])
'''


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # -p no:cacheprovider: nothing written in the user's folder but the test files.
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly", *args, timeout=180)


def test_a_users_invoice_test_runs_green(pytester):
    pytester.makepyfile(test_invoices=USER_TEST)
    result = run(pytester)
    result.assert_outcomes(passed=1)


def test_the_readme_example_is_this_test():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using the pytest fixture", 1)[1]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert example.strip() == USER_TEST.strip()


def test_two_tests_see_isolated_state(pytester):
    pytester.makepyfile(test_isolation=ISOLATION_TESTS)
    result = run(pytester, "-v")
    result.assert_outcomes(passed=2)


def test_reset_clock_and_inbox(pytester):
    pytester.makepyfile(test_controls=CONTROLS_TESTS)
    result = run(pytester, "-rs")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("errors", 0) == 0, result.stdout.str()
    assert outcomes["passed"] >= 2
    if outcomes.get("skipped"):  # only the inbox part, and only for a sandbox without the endpoint
        result.stdout.fnmatch_lines(["*no /_mock/inbox endpoint*"])


def test_the_url_option_uses_a_running_sandbox(pytester, server_factory):
    server = server_factory("--open-tenants")
    pytester.makepyfile(test_url=f'''
def test_uses_it(altoviz_mock):
    assert altoviz_mock.base_url == "{server.url}"
    assert altoviz_mock.api_key.startswith("pytest-")
    assert len(altoviz_mock.client.get("/v1/Customers").json()) == 30
''')
    result = run(pytester, f"--altoviz-mock-url={server.url}")
    result.assert_outcomes(passed=1)


def test_a_sandbox_without_open_tenants_needs_a_key(pytester, server_factory):
    server = server_factory("--api-key", "ci-key")
    pytester.makepyfile(test_closed='''
def test_it(altoviz_mock):
    altoviz_mock.client.post("/v1/Customers", json={"companyName": "Par clé SARL"})
''')
    pytester.makeini(f"[pytest]\naltoviz_mock_url = {server.url}\n")
    refused = run(pytester)
    refused.assert_outcomes(errors=1)
    refused.stdout.fnmatch_lines(["*does not accept new API keys*--altoviz-mock-api-key*"])

    result = run(pytester, "--altoviz-mock-api-key=ci-key")
    result.assert_outcomes(passed=1)
