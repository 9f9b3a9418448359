"""`make screenshots`: a PNG per dashboard page in docs/dashboard/, taken by Debian's chromium (driven
by Playwright) from a sandbox started here in memory, with an invoice story played through the API."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from mock_server.config import DEFAULT_API_KEY as KEY

OUT = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
PAGES = ["overview", "customers", "products", "invoices", "invoice", "deliveries", "outbox", "journal", "controls"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def story(api: httpx.Client, url: str) -> int:
    """A webhook to the sandbox's inbox, three finalized invoices (one partly paid, one sent) and a draft, 45 days
    on the clock (overdue), a fault rule and a snapshot; the partly paid invoice's id."""
    api.post("/v1/Webhooks", json={"name": "Mon application", "url": f"{url}/_mock/inbox/mon-app",
                                   "types": ["InvoiceCreated", "InvoiceUpdated"], "secretKey": "s3cret"}).raise_for_status()
    ids = []
    # French customers of the seeded data (VAT charged: the first is Belgian, reverse-charged).
    for customer, lines in ((2, [("Conseil en identité visuelle", 3, 603.23), ("Charte graphique", 1, 2100)]),
                            (3, [("Maintenance du site (mois)", 2, 180)]), (6, [("Création de logo", 1, 735)])):
        body = {"customerId": customer, "subject": lines[0][0],
                "lines": [{"description": d, "quantity": q, "taxExcludedPrice": p, "vat": {"rate": 20}} for d, q, p in lines]}
        invoice = api.post("/v1/SaleInvoices", json=body).json()
        api.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}").raise_for_status()
        ids.append(invoice["id"])
    api.post("/v1/SaleInvoices/MarkAsPaid", json={"invoiceId": ids[0], "amount": 2000}).raise_for_status()
    api.post(f"/v1/SaleInvoices/Send/{ids[1]}", json=["compta@exemple.fr"]).raise_for_status()
    api.post("/v1/SaleInvoices", json={"customerId": 4, "lines": [
        {"description": "Atelier", "quantity": 1, "taxExcludedPrice": 450, "vat": {"rate": 20}}]}).raise_for_status()
    api.post("/_mock/clock/advance", json={"days": 45}).raise_for_status()
    api.post("/_mock/faults", json={"pathPattern": "/v1/Products*", "status": 503, "count": 3}).raise_for_status()
    api.post("/_mock/snapshots/avant-essai").raise_for_status()
    return ids[0]


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("Debian's chromium is needed (make chromium, or apt-get install chromium)", file=sys.stderr)
        return 1
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "mock_server.cli", "serve", "--in-memory", "--port", str(port)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        api = httpx.Client(base_url=url, headers={"X-API-KEY": KEY}, timeout=10, trust_env=False)
        deadline = time.monotonic() + 20
        while True:
            try:
                api.get("/_mock/health").raise_for_status()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        paid = story(api, url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=ARGS, timeout=60_000)
            page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="fr-FR")
            page.set_default_timeout(15_000)
            page.goto(f"{url}/_mock/dashboard/login")
            page.screenshot(path=str(OUT / "login.png"))
            print("docs/dashboard/login.png")
            page.fill("input[name=key]", KEY)
            page.click("button[type=submit]")
            page.wait_for_url(f"{url}/_mock/dashboard/")
            # Until the webhook deliveries have been attempted (bounded by the page's timeout).
            page.goto(f"{url}/_mock/dashboard/deliveries")
            page.wait_for_selector("#attempts tr[data-delivery]")
            for name in PAGES:
                path = {"overview": "", "invoice": f"invoices/{paid}"}.get(name, name)
                page.goto(f"{url}/_mock/dashboard/{path}")
                if name == "deliveries":
                    page.locator("#attempts details").first.click()
                # What the page loads after it opens: the request journal's rows, the PDF.
                if name in ("overview", "journal"):
                    table = "last-requests" if name == "overview" else "journal-table"
                    page.wait_for_selector(f"#{table} tbody tr")
                if name == "invoice":
                    page.wait_for_function("() => document.querySelector('iframe.pdf').src.startsWith('blob:')")
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=name != "invoice")
                print(f"docs/dashboard/{name}.png")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
