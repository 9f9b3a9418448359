"""The sandbox dashboard: server-rendered pages under /_mock/dashboard/ showing one tenant at a time.

The tenant is chosen by its API key, asked by a login form and kept in a cookie (HttpOnly,
SameSite=Strict, scoped to the dashboard's path); nothing but the login form is shown without an
accepted key. Pages are Jinja templates (autoescaped: stored names and payloads are data, never
markup) over `TenantView`'s in-process reads; live parts and actions use the vendored htmx, whose
requests go to the documented `/_mock` and `/v1` operations with the key in `hx-headers`. No asset
comes from the internet and there is no build step.

`dashboard` is a plain Flask blueprint (not operations of a contract) of the Flask app of pages
beside the API (`app.pages_app`, reached through `asgi.Pages`), with the admin API's pages.
"""

from __future__ import annotations

import json

import flask

from ..api._http import EXTENSION
from ..domain.errors import NotFound
from ..journal import key_hint
from ..contracts import load_admin_contract
from . import formats
from .tenant_view import LISTS, SALE_LISTS, TenantView

BASE_PATH = "/_mock/dashboard"
COOKIE = "altoviz_mock_dashboard_key"
# The pages of the navigation: endpoint → French title.
NAVIGATION = (("overview", "Vue d'ensemble"), ("customers", "Clients"), ("suppliers", "Fournisseurs"),
              ("products", "Produits"), ("invoices", "Factures"), ("credits", "Avoirs"), ("quotes", "Devis"),
              ("deliveries", "Webhooks"), ("outbox", "Courriels"), ("journal", "Journal"), ("controls", "Contrôles"))

dashboard = flask.Blueprint("mock_dashboard", __name__, url_prefix=BASE_PATH,
                            template_folder="templates", static_folder="static", static_url_path="/static")


@dashboard.app_template_filter("pretty_json")
def pretty_json(value) -> str:
    """A JSON text or value, indented for a <pre> (the text as it is when it is not JSON)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, ensure_ascii=False, indent=2)


for _name, _filter in formats.FILTERS.items():
    dashboard.add_app_template_filter(_filter, _name)


def _services():
    return flask.current_app.extensions[EXTENSION]


def _key() -> str | None:
    """The cookie's API key when the sandbox still accepts it."""
    key = flask.request.cookies.get(COOKIE)
    return key if key and _services().tenants.authenticate(key) is not None else None


def journal_available() -> bool:
    """Whether this sandbox documents `GET /_mock/requests` (the request journal) in admin.yaml."""
    return "get" in (load_admin_contract().get("paths", {}).get("/requests") or {})


@dashboard.before_request
def _require_key():
    """Every page but the login form and the static files needs an accepted key."""
    if flask.request.endpoint in (f"{dashboard.name}.login", f"{dashboard.name}.static"):
        return None
    key = _key()
    if key is None:
        return flask.redirect(flask.url_for(".login", next=flask.request.full_path.rstrip("?")), code=303)
    flask.g.dashboard_key = key
    flask.g.tenant_view = TenantView(_services(), _services().tenants.authenticate(key))
    return None


@dashboard.after_request
def _headers(response: flask.Response) -> flask.Response:
    # The pages hold a tenant's data: never cached, never framed by another site.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def _render(template: str, **values):
    view: TenantView = flask.g.tenant_view
    return flask.render_template(f"dashboard/{template}", navigation=NAVIGATION, key=flask.g.dashboard_key,
                                 key_hint=key_hint(flask.g.dashboard_key), clock=view.clock(), **values)


def _next_page(target: str) -> str:
    """A redirect target inside the dashboard only (never another site)."""
    return target if target.startswith(BASE_PATH + "/") and not target.startswith("//") else flask.url_for(".overview")


@dashboard.route("/login", methods=["GET", "POST"])
def login():
    """The key form; an accepted key is kept in the cookie and leads to the page asked for."""
    target = _next_page(flask.request.values.get("next", ""))
    error = None
    if flask.request.method == "POST":
        key = (flask.request.form.get("key") or "").strip()
        if key and _services().tenants.authenticate(key) is not None:
            response = flask.redirect(target, code=303)
            response.set_cookie(COOKIE, key, httponly=True, samesite="Strict", path=BASE_PATH,
                                secure=flask.request.scheme == "https")
            return response
        error = "Cette clé d'API n'est pas acceptée par le bac à sable."
    status = 401 if error else 200
    return flask.render_template("dashboard/login.html", error=error, next=target), status


@dashboard.post("/logout")
def logout():
    response = flask.redirect(flask.url_for(".login"), code=303)
    response.delete_cookie(COOKIE, path=BASE_PATH)
    return response


@dashboard.get("/")
def overview():
    view: TenantView = flask.g.tenant_view
    return _render("overview.html", counts=view.counts(), faults=view.fault_rules(), webhooks=view.webhooks(),
                   journal=journal_available())


def _page_index() -> int:
    try:
        return max(1, int(flask.request.args.get("PageIndex", "1")))
    except ValueError:
        return 1


def _list(name: str):
    query = (flask.request.args.get("query") or "").strip() or None
    page = flask.g.tenant_view.page(name, query, _page_index())
    return _render("list.html", name=name, title=LISTS[name][2], page=page, query=query or "",
                   sale=name in SALE_LISTS)


for _name in LISTS:
    dashboard.add_url_rule(f"/{_name}", _name, lambda _name=_name: _list(_name))


@dashboard.get("/invoices/<int:id>")
def invoice(id: int):
    try:
        document = flask.g.tenant_view.invoice(id)
    except NotFound:
        return _render("missing.html", what=f"La facture {id} n'existe pas dans ce bac à sable."), 404
    return _render("invoice.html", invoice=document)


@dashboard.get("/deliveries")
def deliveries():
    view: TenantView = flask.g.tenant_view
    return _render("deliveries.html", attempts=view.deliveries(), webhooks=view.webhooks(),
                   signature_header=_services().config.webhook_signature_header)


@dashboard.get("/outbox")
def outbox():
    return _render("outbox.html", mails=flask.g.tenant_view.outbox())


@dashboard.get("/journal")
def journal():
    return _render("journal.html", journal=journal_available())


@dashboard.get("/controls")
def controls():
    view: TenantView = flask.g.tenant_view
    return _render("controls.html", faults=view.fault_rules(), snapshots=view.snapshots())
