"""The API page: Swagger UI at /ui/ over the contract at /openapi.json, served from the packaged
swagger-ui-bundle assets, so it works offline and the page fetches nothing from the internet; its
filter box narrows the operations by tag and "Try it out" calls the sandbox the browser reached."""

from __future__ import annotations

import re
import shutil
from urllib.parse import urljoin

import pytest

from mock_server.contracts import load_contract

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The flags of a quiet headless Chromium; the resolver rule keeps Chromium's own services (updates,
# accounts, autofill) from looking up any host but the loopback sandbox.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


def test_the_page_and_its_assets_are_served_locally(anonymous):
    page = anonymous.get("/ui/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.I), "the page names an external URL"
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {name.rsplit("/", 1)[-1] for name in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    for asset in assets:
        response = anonymous.get(urljoin("/ui/", asset))
        assert response.status_code == 200 and response.content, asset
    assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io


def test_the_contract_is_served_for_the_page(anonymous):
    contract = anonymous.get("/openapi.json")
    assert contract.status_code == 200
    spec = contract.json()
    operations = [op["operationId"] for path in spec["paths"].values() for op in path.values()
                  if isinstance(op, dict) and "operationId" in op]
    assert "GET_Customers_List" in operations and len(operations) >= 72
    # "Try it out" calls the sandbox itself, never the live API named in openapi.yaml.
    assert all(not server["url"].startswith("http") for server in spec.get("servers", []))


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed and could not be: `make test` "
                                             "installs it when run as root with apt-get (apt-get install chromium)")
def test_a_browser_shows_filters_and_tries_the_operations(server_factory):
    from playwright.sync_api import sync_playwright

    server = server_factory("--in-memory")
    tags = {tag for path in load_contract()["paths"].values()
            for op in path.values() if isinstance(op, dict) for tag in op.get("tags", [])}
    invoices = {tag for tag in tags if "Invoices" in tag}
    assert len(invoices) >= 2 and len(tags) > len(invoices)
    requested, problems = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, timeout=60_000)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)  # a shared, loaded machine: generous, but bounded
            page.on("request", lambda request: requested.append(request.url))
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(f"{server.url}/ui/")
            page.wait_for_selector('[data-path="/v1/SaleInvoices/Finalize/{id}"]')
            assert set(page.eval_on_selector_all(".opblock-tag", "ts => ts.map(t => t.dataset.tag)")) == tags
            assert page.locator("#operations-Customers-GET_Customers_List").is_visible()

            # The Servers list holds the sandbox, as the browser reached it.
            servers = page.eval_on_selector_all(".servers select option", "os => os.map(o => o.value)")
            assert servers == [server.url]

            # The filter box keeps the tags holding what is typed.
            page.locator("input.operation-filter-input").press_sequentially("Invoices")
            page.wait_for_function("n => document.querySelectorAll('.opblock-tag').length === n", arg=len(invoices))
            assert set(page.eval_on_selector_all(".opblock-tag", "ts => ts.map(t => t.dataset.tag)")) == invoices
            assert page.locator("#operations-Customers-GET_Customers_List").count() == 0

            # "Try it out" calls the selected server: the sandbox itself (no key given here: 401).
            page.locator("input.operation-filter-input").fill("Hello")
            page.click("#operations-Hello-GET_Hello_Get .opblock-summary")
            page.click("#operations-Hello-GET_Hello_Get button.execute")
            page.wait_for_selector("#operations-Hello-GET_Hello_Get .live-responses-table tbody .response-col_status")
            assert page.inner_text("#operations-Hello-GET_Hello_Get .request-url pre").strip() == f"{server.url}/Hello"
            assert page.inner_text("#operations-Hello-GET_Hello_Get .live-responses-table tbody .response-col_status")\
                .strip().startswith("401")
        finally:
            browser.close()

    # Every request the page made went to the sandbox: its scripts, styles, the contract, the call.
    assert f"{server.url}/openapi.json" in requested and f"{server.url}/Hello" in requested
    assert [url for url in requested if not url.startswith(server.url + "/")] == []
    assert [problem for problem in problems if "401" not in problem] == []  # the browser logs the 401
