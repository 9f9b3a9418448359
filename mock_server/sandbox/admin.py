"""More admin API handlers under /_mock: reset of every tenant, the tenants known, named snapshots of
a tenant's data, and fault injection (see faults.py). Snapshots live in memory (lost on restart).

Also the admin API's pages: its contract and Swagger UI (`admin_pages`, routes of the Flask app of
pages beside the API, `app.pages_app`, not operations of admin.yaml).
"""

from __future__ import annotations

import hmac
import json
import threading
from pathlib import Path

import flask

from ..api._http import http_request, services
from ..contracts import contract_text, load_admin_contract
from ..journal import key_hint
from ..store import replace_file, tenant_dirname
from .controls import ControlError, _tenant, _tenants
from .faults import FaultError


def _known_tenants() -> list[str]:
    """Every tenant once: configured keys, then the others (opened or on disk) by directory."""
    tenants = _tenants()
    found = dict.fromkeys(tenants.config.all_api_keys)
    for directory in sorted({*tenants.store.tenants(), *tenants.store.persisted_tenants()}):
        tenant = tenants.authenticate(directory)
        if tenant is not None:
            found.setdefault(tenant)
    return list(found)


ADMIN_KEY_HEADER = "X-Admin-Key"


def _require_admin_key(action: str) -> None:
    """403 unless the request's X-Admin-Key is the sandbox's admin key (none configured: always)."""
    expected = _tenants().config.admin_key
    if expected is None:
        raise ControlError(403, "Forbidden", f"{action} acts on every tenant: start the sandbox with "
                           f"--admin-key KEY (or ALTOVIZ_MOCK_ADMIN_KEY) and send it as {ADMIN_KEY_HEADER}")
    # A header parameter of admin.yaml: Connexion validates it but passes no header to handlers.
    given = http_request().headers.get(ADMIN_KEY_HEADER, "")
    if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8")):
        raise ControlError(403, "Forbidden", f"{action} needs the sandbox's admin key in {ADMIN_KEY_HEADER}")


def reset(all_: bool):
    """Put the calling tenant (its X-API-KEY) back to its initial state (clock and outbox included,
    request journal emptied); `?all=true` (`all_`): every tenant known to the sandbox (with the admin key)."""
    caller = _tenant()
    if all_:
        _require_admin_key("Resetting every tenant")
    targets = _known_tenants() if all_ else [caller]
    journal = services().journal
    for tenant in targets:
        _tenants().reset(tenant)
        journal.clear(tenant)
    return {"reset": True, "tenants": len(targets)}


def tenants():
    """The tenants known (configured keys, opened or on disk): a key hint and document counts (with
    the admin key). A tenant read back from disk is known by its directory only: its hint is the
    start of that hash."""
    _require_admin_key("The tenants list")
    answer = []
    for tenant in _known_tenants():
        data = _tenants().open(tenant).dump()["data"]
        answer.append({"keyHint": key_hint(tenant),
                       "configured": tenant in _tenants().config.all_api_keys,
                       "documents": {kind: len(docs) for kind, docs in data.items() if docs}})
    return answer


class Snapshots:
    """Named dumps per tenant, as JSON (decoding gives fresh documents at each restore).

    With a data directory they are files beside the tenant's data (`snapshots/<name>.json` in its
    directory, written atomically), so they outlive a restart as the data does; in memory otherwise.
    """

    def __init__(self, data_dir: Path | None = None):
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._lock = threading.Lock()
        self._saved: dict[str, dict[str, str]] = {}

    def _directory(self, tenant: str) -> Path:
        return self.data_dir / tenant_dirname(tenant) / "snapshots"

    def save(self, tenant: str, name: str, dump: dict) -> None:
        text = json.dumps(dump, ensure_ascii=False)
        with self._lock:
            if self.data_dir is None:
                self._saved.setdefault(tenant, {})[name] = text
                return
            directory = self._directory(tenant)
            directory.mkdir(parents=True, exist_ok=True)
            replace_file(directory / f"{name}.json", text.encode("utf-8"))

    def get(self, tenant: str, name: str) -> dict | None:
        with self._lock:
            if self.data_dir is None:
                text = self._saved.get(tenant, {}).get(name)
            else:
                try:
                    text = (self._directory(tenant) / f"{name}.json").read_text(encoding="utf-8")
                except FileNotFoundError:
                    text = None
        return json.loads(text) if text is not None else None

    def names(self, tenant: str) -> list[str]:
        with self._lock:
            if self.data_dir is None:
                return sorted(self._saved.get(tenant, {}))
            return sorted(path.name[:-len(".json")] for path in self._directory(tenant).glob("*.json"))

    def delete(self, tenant: str, name: str) -> bool:
        with self._lock:
            if self.data_dir is None:
                return self._saved.get(tenant, {}).pop(name, None) is not None
            try:
                (self._directory(tenant) / f"{name}.json").unlink()
            except FileNotFoundError:
                return False
            return True


def _snapshots() -> Snapshots:
    return services().snapshots


def _counts(dump: dict) -> dict[str, int]:
    return {kind: len(docs) for kind, docs in dump["data"].items() if docs}


def save_snapshot(name: str):
    """Save the calling tenant's whole data (documents, counters, clock, outbox) under `name`."""
    tenant = _tenant()
    dump = _tenants().open(tenant).dump()
    _snapshots().save(tenant, name, dump)
    return {"name": name, "documents": _counts(dump)}, 201


def list_snapshots():
    """The calling tenant's snapshot names."""
    return _snapshots().names(_tenant())


def restore_snapshot(name: str):
    """Replace the calling tenant's data with a snapshot (ids handed out since are never reused)."""
    tenant = _tenant()
    dump = _snapshots().get(tenant, name)
    if dump is None:
        raise ControlError(404, "Not Found", f"No snapshot {name}")
    # The current next ids are read under the same lock as the load: a create racing the restore
    # cannot take an id the restored data would hand out again.
    _tenants().open(tenant).load(dump["data"], counters=dump.get("counters"), next_ids=dump.get("next_ids"),
                                 keep_next_ids=True)
    return {"name": name, "restored": True, "documents": _counts(dump)}


def delete_snapshot(name: str):
    tenant = _tenant()
    if not _snapshots().delete(tenant, name):
        raise ControlError(404, "Not Found", f"No snapshot {name}")
    return {"deleted": True}


# --- fault injection -------------------------------------------------------------------------------

def add_fault(body: dict):
    """Add a fault rule for the calling tenant's /v1 and /Hello requests (see faults.py): admin.yaml's
    FaultRuleRequest, validated."""
    tenant = _tenant()
    try:
        rule = services().faults.add(tenant, body)
    except FaultError as exc:
        raise ControlError(400, "Bad Request", str(exc)) from None
    return rule, 201


def list_faults():
    return services().faults.list(_tenant())


def delete_fault(id_: int):
    """Remove one rule (`id_`: the path's integer, converted by Connexion)."""
    if not services().faults.delete(_tenant(), id_):
        raise ControlError(404, "Not Found", f"No fault rule {id_}")
    return {"deleted": 1}


def clear_faults():
    return {"deleted": services().faults.clear(_tenant())}


# --- the admin API's own contract and API page ---------------------------------------------------

# Not operations of admin.yaml: pages of the Flask app beside the API (`app.pages_app`, `asgi.Pages`).
admin_pages = flask.Blueprint("mock_admin_pages", __name__, url_prefix="/_mock")


UI_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Altoviz sandbox admin API</title>
<link rel="stylesheet" href="swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "../openapi.json", dom_id: "#swagger-ui", validatorUrl: null,
displayOperationId: true, docExpansion: "list", filter: true, persistAuthorization: true,
tryItOutEnabled: true});</script></body></html>
"""


@admin_pages.get("/openapi.json")
def admin_openapi_json():
    return flask.jsonify(load_admin_contract())


@admin_pages.get("/openapi.yaml")
def admin_openapi_yaml():
    return flask.Response(contract_text("admin.yaml"), mimetype="application/yaml")


@admin_pages.get("/ui/")
def admin_ui():
    """Swagger UI of the admin API (packaged assets only, nothing fetched from the internet)."""
    return flask.Response(UI_PAGE, mimetype="text/html")


@admin_pages.get("/ui/<asset>")
def admin_ui_asset(asset: str):
    """swagger-ui-bundle's packaged assets, for this page and the main API's (mock_server/swagger_ui)."""
    import swagger_ui_bundle
    if asset not in ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"):
        raise ControlError(404, "Not Found", f"No {asset}")
    return flask.send_from_directory(swagger_ui_bundle.swagger_ui_path, asset)
