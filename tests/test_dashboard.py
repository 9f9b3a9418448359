"""The sandbox dashboard at /_mock/dashboard/: one tenant at a time behind its API key, French formats,
data escaped, and the whole story in Debian's chromium driven by Playwright against a real server."""

from __future__ import annotations

import hashlib
import hmac
import re
import shutil

from pathlib import Path

import httpx
import pytest

import mock_server.dashboard as dashboard_package
from mock_server.contracts import load_admin_contract, load_contract
from mock_server.dashboard import COOKIE, journal_available
from mock_server.dashboard.formats import date, datetime, money, percent, quantity
from mock_server.dashboard.tenant_view import PAGE_SIZE

from conftest import KEY

XSS = "<script>alert(1)</script>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# A quiet headless Chromium that looks up no host but the loopback sandbox.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
PAGES = {"": "Vue d'ensemble", "customers": "Clients", "suppliers": "Fournisseurs", "products": "Produits",
         "invoices": "Factures", "credits": "Avoirs", "quotes": "Devis", "deliveries": "Livraisons des webhooks",
         "outbox": "Courriels envoyés", "journal": "Journal des requêtes", "controls": "Contrôles du bac à sable"}


def test_amounts_and_dates_are_written_as_fr_fr_writes_them():
    # Intl.NumberFormat("fr-FR", {style: "currency", currency: "EUR"}): U+202F groups, U+00A0 before €.
    assert money(1809.69) == "1\u202f809,69\u00a0€"
    assert money(-1234567.005) == "-1\u202f234\u202f567,01\u00a0€"
    assert money(0) == "0,00\u00a0€" and money(None) == ""
    assert quantity(3.0) == "3" and quantity(2.5) == "2,5" and percent(5.5) == "5,5\u202f%"
    assert date("2026-12-01") == "01/12/2026"
    # Instants in the seller's time zone (Paris, UTC+1 in winter).
    assert datetime("2026-12-01T23:30:00Z") == "02/12/2026 00:30"


def _login(anonymous, key=KEY):
    return anonymous.post("/_mock/dashboard/login", data={"key": key}, follow_redirects=False)


def test_nothing_is_shown_without_an_accepted_key(anonymous):
    for path in ("/_mock/dashboard/", "/_mock/dashboard/invoices", "/_mock/dashboard/controls"):
        answer = anonymous.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/_mock/dashboard/login")
    refused = _login(anonymous, "not-a-key")
    assert refused.status_code == 401 and COOKIE not in refused.headers.get("set-cookie", "")
    assert anonymous.get("/_mock/dashboard/", follow_redirects=False).status_code == 303

    accepted = _login(anonymous)
    assert accepted.status_code == 303
    cookie = accepted.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/_mock/dashboard" in cookie
    page = anonymous.get("/_mock/dashboard/")
    assert page.status_code == 200 and "Vue d&#39;ensemble" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_the_login_leads_only_to_a_dashboard_page(anonymous):
    inside = anonymous.post("/_mock/dashboard/login", data={"key": KEY, "next": "/_mock/dashboard/outbox"},
                            follow_redirects=False)
    assert inside.headers["location"] == "/_mock/dashboard/outbox"
    outside = anonymous.post("/_mock/dashboard/login", data={"key": KEY, "next": "https://example.org/"},
                             follow_redirects=False)
    assert outside.headers["location"] == "/_mock/dashboard/"


def test_stored_names_are_text_never_markup(client, anonymous):
    created = client.post("/v1/Customers", json={"type": "Business", "companyName": XSS, "email": "x@exemple.fr"})
    assert created.status_code == 200, created.text
    _login(anonymous)
    html = anonymous.get("/_mock/dashboard/customers", params={"query": "alert"}).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and XSS not in html


def test_stored_texts_are_text_on_every_page_that_shows_them(client, anonymous):
    customer = client.post("/v1/Customers", json={"type": "Business", "companyName": XSS, "email": "x@exemple.fr"}).json()
    invoice = client.post("/v1/SaleInvoices", json={"customerId": customer["id"], "subject": XSS, "lines": [
        {"description": XSS, "quantity": 1, "taxExcludedPrice": 10, "vat": {"rate": 20}}]}).json()
    assert client.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}").status_code == 200
    assert client.post(f"/v1/SaleInvoices/Send/{invoice['id']}", json=["x@exemple.fr"]).status_code == 200
    _login(anonymous)
    for path in ("invoices", f"invoices/{invoice['id']}", "outbox", ""):
        html = anonymous.get(f"/_mock/dashboard/{path}").text
        assert XSS not in html and "<script>alert" not in html, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in anonymous.get(f"/_mock/dashboard/invoices/{invoice['id']}").text


def test_a_cancelled_invoice_shows_the_credit_that_cancels_it(client, anonymous):
    customer = client.post("/v1/Customers", json={"type": "Business", "companyName": "Annulée SARL"}).json()
    invoice = client.post("/v1/SaleInvoices", json={"customerId": customer["id"], "lines": [
        {"description": "Conseil", "quantity": 3, "taxExcludedPrice": 603.23, "vat": {"rate": 20}}]}).json()
    assert client.post(f"/v1/SaleInvoices/Finalize/{invoice['id']}").status_code == 200
    credit = client.post("/v1/SaleCredits", json={"cancelledInvoicetId": invoice["id"]}).json()
    credit = client.post(f"/v1/SaleCredits/Finalize/{credit['id']}").json()
    _login(anonymous)
    html = anonymous.get(f"/_mock/dashboard/invoices/{invoice['id']}").text
    assert 'id="invoice-status">annulée</span>' in html
    assert f"l'avoir {credit['number']} du {date(credit['date'])} (2\u202f171,63\u00a0€)" in html
    assert "Finaliser" not in html and "Marquer comme payée" not in html
    # The list shows cancelled invoices too (IncludeCancelled), badged.
    listed = anonymous.get("/_mock/dashboard/invoices").text
    assert re.search(rf'<tr data-id="{invoice["id"]}">.*?annulée', listed, re.S)


def test_lists_page_through_the_api_search(client, anonymous):
    for n in range(PAGE_SIZE + 1):
        assert client.post("/v1/Customers", json={"type": "Business", "companyName": f"Paginee {n:02d}"}).status_code == 200
    _login(anonymous)
    first = anonymous.get("/_mock/dashboard/customers", params={"query": "Paginee"}).text
    second = anonymous.get("/_mock/dashboard/customers", params={"query": "Paginee", "PageIndex": 2}).text
    assert first.count("<td>Paginee ") == PAGE_SIZE and second.count("<td>Paginee ") == 1
    assert 'rel="next"' in first and 'rel="prev"' not in first
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert "Rien ne correspond" in anonymous.get("/_mock/dashboard/customers", params={"query": "zzz-absent"}).text


def test_the_controls_show_the_snapshots_the_admin_api_lists(client, anonymous):
    assert client.post("/_mock/snapshots/avant-essai").status_code == 201
    _login(anonymous)
    html = anonymous.get("/_mock/dashboard/controls").text
    assert client.get("/_mock/snapshots").json() == ["avant-essai"]
    assert 'hx-post="/_mock/snapshots/avant-essai/restore"' in html


def _segments(path: str) -> list[str | None]:
    """A path's segments, None for a parameter (`{id}`, or a Jinja expression of a template)."""
    path = re.sub(r"\{\{.*?\}\}", "{}", path)
    return [None if re.fullmatch(r"\{\w*\}", part) else part for part in path.strip("/").split("/")]


def test_every_request_of_the_pages_is_a_documented_operation():
    """The pages' actions and PDFs go through the operations of openapi.yaml and admin.yaml (under
    /_mock), never through a route of the dashboard's own: every hx-get/post/put/delete and
    data-pdf-src of the templates is one of them (`url_for` ones are the dashboard's pages, redrawn)."""
    documented = []
    for spec, prefix in ((load_contract(), ""), (load_admin_contract(), "/_mock")):
        for path, item in spec["paths"].items():
            documented += [(method, _segments(prefix + path)) for method in item if method in ("get", "post", "put", "delete")]
    calls = set()
    for template in (Path(dashboard_package.__file__).parent / "templates" / "dashboard").glob("*.html"):
        text = template.read_text(encoding="utf-8")
        calls |= {(m, url) for m, url in re.findall(r'hx-(get|post|put|delete|patch)="([^"]+)"', text)
                  if not url.startswith("{{ url_for")}
        calls |= {("get", url) for url in re.findall(r'data-pdf-src="([^"]+)"', text)}
    assert len(calls) >= 15

    def known(method: str, url: str) -> bool:
        wanted = _segments(url)
        return any(m == method and len(path) == len(wanted) and all(a is None or b is None or a == b
                                                                    for a, b in zip(path, wanted))
                   for m, path in documented)
    assert sorted(call for call in calls if not known(*call)) == []


def test_the_pages_fetch_nothing_from_the_internet(anonymous):
    _login(anonymous)
    for path in PAGES:
        html = anonymous.get(f"/_mock/dashboard/{path}").text
        assert not re.search(r"(src|href)=\"(https?:)?//", html), path
    script = anonymous.get("/_mock/dashboard/static/htmx.min.js")
    assert script.status_code == 200 and script.text.startswith("/*! htmx 2.")
    assert "Zero-Clause BSD" in anonymous.get("/_mock/dashboard/static/htmx.LICENSE").text


def _wait_text(page, selector: str, text: str, timeout: float = 30_000):
    """Until `selector`'s text holds `text` and htmx has settled what it swapped in (a bounded
    Playwright wait, no sleep): new content is wired up (its buttons' hx-post...) when it settles,
    after it shows, and its class htmx-added goes then."""
    page.wait_for_function("([s, t]) => { const e = document.querySelector(s); return e && e.textContent.includes(t)"
                           " && !document.querySelector('.htmx-added, .htmx-settling, .htmx-swapping'); }",
                           arg=[selector, text], timeout=timeout)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed and could not be: `make test` "
                                             "installs it when run as root with apt-get (apt-get install chromium)")
def test_a_browser_follows_an_invoice_from_draft_to_overdue(server_factory):
    from playwright.sync_api import sync_playwright

    server = server_factory("--in-memory")
    api = httpx.Client(base_url=server.url, headers={"X-API-KEY": KEY}, timeout=10, trust_env=False)
    hook = api.post("/v1/Webhooks", json={"name": "Inbox du tableau de bord", "url": f"{server.url}/_mock/inbox/dash",
                                          "types": ["InvoiceCreated", "InvoiceUpdated"], "secretKey": "s3cret"})
    assert hook.status_code == 201, hook.text
    customer = api.post("/v1/Customers", json={"type": "Business", "companyName": XSS, "email": "compta@exemple.fr"})
    assert customer.status_code == 200, customer.text

    problems, dialogs = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
            page.set_default_timeout(30_000)  # a shared, loaded machine: generous, but bounded
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            # hx-confirm asks with window.confirm: answered yes in the page, each question recorded (a
            # native dialog's accept raced its own closing on a loaded machine: "No dialog is
            # showing"). Any other dialog is recorded too (an alert would be XSS) and dismissed.
            page.expose_function("recordConfirm", lambda question: dialogs.append(("confirm", question)))
            page.add_init_script("window.confirm = (question) => { window.recordConfirm(question); return true; };")
            page.on("dialog", lambda dialog: (dialogs.append((dialog.type, dialog.message)), dialog.dismiss()))

            page.goto(f"{server.url}/_mock/dashboard/")
            assert "/_mock/dashboard/login" in page.url
            page.fill("input[name=key]", KEY)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server.url}/_mock/dashboard/")
            for path, title in PAGES.items():
                page.goto(f"{server.url}/_mock/dashboard/{path}")
                assert page.inner_text("h1") == title
                # Usable at 1280 px: the page never scrolls sideways.
                assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), path
            # Keyboard focus is visible: the first Tab lands on the skip link, outlined.
            page.keyboard.press("Tab")
            focused = page.evaluate("() => { const e = document.activeElement, s = getComputedStyle(e);"
                                    " return [e.className, s.outlineStyle, parseFloat(s.outlineWidth)]; }")
            assert focused[0] == "skip" and focused[1] != "none" and focused[2] >= 2

            # An invoice created through the API shows up, its customer's name as text.
            invoice = api.post("/v1/SaleInvoices", json={
                "customerId": customer.json()["id"], "subject": "Refonte du site",
                "lines": [{"description": "Conseil", "quantity": 3, "taxExcludedPrice": 603.23, "vat": {"rate": 20}}]})
            assert invoice.status_code == 200, invoice.text
            invoice_id = invoice.json()["id"]
            page.goto(f"{server.url}/_mock/dashboard/invoices")
            row = page.locator(f"tr[data-id='{invoice_id}']")
            assert XSS in row.inner_text() and "Brouillon" in row.inner_text() and "2\u202f171,63\u00a0€" in row.inner_text()

            # Finalize and pay it from its page: the buttons call the documented /v1 operations.
            row.locator("a").click()
            _wait_text(page, "#invoice-status", "brouillon")
            assert "1\u202f809,69\u00a0€" in page.inner_text("#main") and XSS in page.inner_text("#main")
            page.click("text=Finaliser")
            _wait_text(page, "#invoice-status", "finalisée")
            number = page.inner_text("#doc-title").split()[0]
            assert re.fullmatch(r"FA\d{4}-\d+", number)
            # Its date as 01/12/2026 (the API's `date`, written the French way).
            assert f"Date\n{date(api.get(f'/v1/SaleInvoices/{invoice_id}').json()['date'])}" in page.inner_text("#main")
            page.click("text=Marquer comme payée")
            _wait_text(page, "#invoice-status", "payée")
            assert page.inner_text("#invoice-balance") == "0,00\u00a0€"
            assert "2\u202f171,63\u00a0€" in page.inner_text("#payments")
            # Its PDF, loaded with the key, shows inline.
            page.wait_for_function("() => document.querySelector('iframe.pdf').src.startsWith('blob:')")

            # The webhook deliveries to the sandbox's inbox, with payload and signature.
            received = api.get("/_mock/inbox/dash").json()
            assert received, "no delivery reached the inbox"
            page.goto(f"{server.url}/_mock/dashboard/deliveries")
            _wait_text(page, "#attempts", "livrée")
            page.locator("#attempts details").first.click()
            signatures = page.locator("#attempts code.sig").all_inner_texts()
            bodies = [m["body"] for m in api.get("/_mock/inbox/dash").json()]
            assert {hmac.new(b"s3cret", b.encode("utf-8"), hashlib.sha256).hexdigest() for b in bodies} & set(signatures)
            attempts_before = page.locator("#attempts tr[data-delivery]").count()
            page.locator("#attempts details").first.click()  # closed again: the list refreshes itself
            page.locator("#attempts button", has_text="Renvoyer").first.click()
            page.wait_for_function(f"() => document.querySelectorAll('#attempts tr[data-delivery]').length > {attempts_before}")

            # Send it: the outbox shows the mail, its recipient and the attached PDF.
            assert api.post(f"/v1/SaleInvoices/Send/{invoice_id}", json=["compta@exemple.fr"]).status_code == 200
            page.goto(f"{server.url}/_mock/dashboard/outbox")
            mail = page.locator("tr[data-mail]").first
            assert "compta@exemple.fr" in mail.inner_text() and f"{number}.pdf" in mail.inner_text()
            page.locator("#main summary", has_text=f"{number}.pdf").click()
            page.wait_for_function("() => document.querySelector('#main iframe.pdf').src.startsWith('blob:')")

            # A second invoice, finalized and unpaid, is overdue once the clock passes its due date.
            second = api.post("/v1/SaleInvoices", json={"customerId": customer.json()["id"], "lines": [
                {"description": "Maintenance", "quantity": 1, "taxExcludedPrice": 100, "vat": {"rate": 20}}]}).json()
            assert api.post(f"/v1/SaleInvoices/Finalize/{second['id']}").status_code == 200
            page.goto(f"{server.url}/_mock/dashboard/controls")
            page.fill("#advance-form input[name=days]", "90")
            page.click("#advance-clock")
            _wait_text(page, "#toast", "Horloge avancée")
            page.goto(f"{server.url}/_mock/dashboard/invoices")
            assert "en retard" in page.locator(f"tr[data-id='{second['id']}']").inner_text()
            assert "payée" in page.locator(f"tr[data-id='{invoice_id}']").inner_text()

            # Fault rules: added, shown, cleared, all through /_mock/faults.
            page.goto(f"{server.url}/_mock/dashboard/controls")
            page.fill("#fault-form input[name=pathPattern]", "/v1/Products*")
            page.fill("#fault-form input[name=status]", "503")
            page.click("#add-fault")
            _wait_text(page, "#main", "/v1/Products*")
            assert [rule["status"] for rule in api.get("/_mock/faults").json()] == [503]
            page.click("#clear-faults")
            _wait_text(page, "#main", "Aucune panne")
            assert api.get("/_mock/faults").json() == []

            # Snapshot, reset, restore: the tenant's invoices go and come back.
            page.click("#save-snapshot")
            _wait_text(page, "#main", "avant-essai")
            page.click("#reset")
            _wait_text(page, "#toast", "remis à zéro")
            assert api.get(f"/v1/SaleInvoices/{invoice_id}").status_code == 404
            page.click("text=Restaurer")
            _wait_text(page, "#toast", "Instantané restauré")
            assert api.get(f"/v1/SaleInvoices/{invoice_id}").json()["number"] == number

            # The request journal: its rows when the sandbox has one, a plain notice otherwise.
            page.goto(f"{server.url}/_mock/dashboard/journal")
            if journal_available():
                _wait_text(page, "#journal-table", "/v1/SaleInvoices")
                # Live: requests made while the page is open show up without reloading it, a refusal
                # and a warning highlighted, a stored text drawn as text.
                page.evaluate("() => { window.stillTheSamePage = true; }")
                assert api.get("/v1/SaleInvoices/987654").status_code == 404
                warned = api.post("/v1/Customers", json={"type": "Business", "companyName": "Averti", "colour": "bleu"})
                assert warned.status_code == 200 and warned.headers["X-Mock-Warning"]
                assert api.get("/v1/Customers", params={"query": XSS}).status_code == 200
                page.locator("#journal-table tr.refused", has_text="/v1/SaleInvoices/987654").wait_for()
                page.locator("#journal-table tr.warned", has_text="POST").wait_for()
                _wait_text(page, "#journal-table", XSS)  # the answer's names, in the row's details
                assert page.evaluate("() => window.stillTheSamePage") is True
                # The filters ask GET /_mock/requests again: refusals only.
                page.select_option("#journal-filters select[name=refused]", "true")
                page.wait_for_function("() => { const rows = document.querySelectorAll('#journal-table tbody tr');"
                                       " return rows.length > 0 && [...rows].every(r => r.classList.contains('refused')); }")
                assert "/v1/SaleInvoices/987654" in page.inner_text("#journal-table")
                # The overview's last requests come from the same journal.
                page.goto(f"{server.url}/_mock/dashboard/")
                _wait_text(page, "#last-requests", "/v1/Customers")
                assert page.evaluate("() => { const w = document.querySelector('#last-requests').parentElement;"
                                     " return w.scrollWidth <= w.clientWidth; }"), "the last requests do not fit"
            else:
                assert "Journal non disponible" in page.inner_text("#main")
        finally:
            browser.close()
    assert [d for d in dialogs if d[0] != "confirm"] == []
    # Each action asked first: finalize, pay, redeliver, advance the clock, add and clear the faults,
    # snapshot, reset, restore.
    confirms = [message for _, message in dialogs]
    assert len(confirms) == 9, confirms
    assert [m.split()[0] for m in confirms] == ["Finaliser", "Enregistrer", "Renvoyer", "Avancer", "Ajouter", "Retirer",
                                                "Enregistrer", "Remettre", "Remplacer"]
    assert problems == []
