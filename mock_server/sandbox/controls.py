"""Sandbox-only endpoints under /_mock (never under /v1): health and reset."""

from __future__ import annotations

import flask

from .. import __version__
from ..api._http import EXTENSION

controls = flask.Blueprint("mock_controls", __name__, url_prefix="/_mock")


def _problem(status: int, title: str, detail: str):
    return flask.jsonify({"type": "about:blank", "title": title, "status": status, "detail": detail}), status


@controls.get("/health")
def health():
    """Liveness without auth: 200 once the app is serving."""
    return {"status": "ok", "version": __version__}


@controls.post("/reset")
def reset():
    """Put the calling tenant (its X-API-KEY) back to its initial state."""
    tenants = flask.current_app.extensions[EXTENSION].tenants
    key = flask.request.headers.get("X-API-KEY")
    if not key:
        return _problem(401, "Unauthorized", "The X-API-KEY header is missing")
    tenant = tenants.authenticate(key)
    if tenant is None:
        return _problem(401, "Unauthorized", "The X-API-KEY header does not hold a valid API key")
    tenants.reset(tenant)
    return {"reset": True}
