"""The API page: Swagger UI at /ui/ over the contract at /openapi.json, served from the packaged
swagger-ui-bundle assets, so it works offline and the page fetches nothing from the internet."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from urllib.parse import urljoin

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The flags of a quiet headless Chromium; the resolver rule keeps Chromium's own services (updates,
# accounts, autofill) from looking up any host but the loopback sandbox.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")


def test_the_page_and_its_assets_are_served_locally(anonymous):
    page = anonymous.get("/ui/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.I), "the page names an external URL"
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {"./swagger-ui-bundle.js", "./swagger-ui.css"} <= set(assets)
    for asset in assets:
        response = anonymous.get(urljoin("/ui/", asset))
        assert response.status_code == 200 and response.content, asset
    config = anonymous.get("/ui/swagger-ui-config.json").json()
    assert config["validatorUrl"] is None  # no badge fetched from validator.swagger.io


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
def test_a_browser_shows_the_operations(server_factory, tmp_path):
    server = server_factory("--in-memory")
    netlog = tmp_path / "netlog.json"
    result = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--log-net-log={netlog}",
         "--virtual-time-budget=20000", "--dump-dom", f"{server.url}/ui/"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert "GET_Customers_List" in dom and 'data-path="/v1/Customers"' in dom, dom[:2000]
    assert 'data-path="/v1/SaleInvoices/Finalize/{id}"' in dom

    # Every request the page made went to the sandbox: its scripts, styles, config and the contract.
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    jobs = [event.get("params") or {} for event in log["events"] if event["type"] == start_job]
    page_requests = [job.get("url", "") for job in jobs
                     if job.get("initiator") == server.url or job.get("request_type") == "main frame"]
    assert f"{server.url}/openapi.json" in page_requests
    assert [url for url in page_requests if not url.startswith(server.url + "/")] == []
