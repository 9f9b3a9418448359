"""Handlers of the admin API under /_mock (never under /v1): health, clock, outbox, files; and what
every admin handler shares (the calling tenant, JSON bodies, `ControlError`).

Connexion serves them from `admin.yaml` (see `admin_api.py`): it routes, checks the X-API-KEY
(the same security handler as /v1, auth.py), validates the parameters and bodies against the
contract and passes them as keyword arguments; the handlers check only what a schema cannot say
and word each such refusal (`ControlError`).
"""

from __future__ import annotations

import datetime as dt
import json

from connexion.context import context
from connexion.lifecycle import ConnexionResponse

from .. import __version__
from ..api._http import services
from ..contracts import admin_schema
from ..domain.catalog import Products
from ..domain.purchases import PurchaseInvoices
from ..domain.sales import OUTBOX
from ..files import sniff
from .clock import OutOfRange, TenantClock, parse_instant


class ControlError(Exception):
    """A client error on a control endpoint, answered as ProblemDetails."""

    def __init__(self, status: int, title: str, detail: str):
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def _problem(_request, exc: ControlError):
    """The error handler of `ControlError` (registered by `admin_api.add_admin_api`)."""
    return problem_answer(exc)


def problem_body(exc: ControlError) -> bytes:
    """The ProblemDetails body of a `ControlError` (the admin API's, and its pages')."""
    return json.dumps({"type": "about:blank", "title": exc.title, "status": exc.status, "detail": exc.detail},
                      ensure_ascii=False).encode()


def problem_answer(exc: ControlError) -> ConnexionResponse:
    """The admin API's answer to a `ControlError`."""
    return ConnexionResponse(status_code=exc.status, content_type="application/json", body=problem_body(exc))


def _tenants():
    return services().tenants


def _tenant() -> str:
    """The tenant of the request's X-API-KEY (the controls act on the caller's own data), as
    Connexion's security handler authenticated it before the handler runs (no key: a 401)."""
    return context["user"]


def _clock() -> TenantClock:
    return TenantClock(_tenants().open(_tenant()), real=services().clock)


def health():
    """Liveness without auth: 200 once the app is serving."""
    return {"status": "ok", "version": __version__}


def renders():
    """The calling tenant's PDF renders: running, waiting for a slot, cancelled (client gone)."""
    return services().renders.state(_tenant())


def get_clock():
    """The calling tenant's sandbox time."""
    return _clock().state()


def set_clock(body: dict):
    """{"now": "2026-12-31T09:00:00Z", "frozen": true}; {"now": null} returns to real time (the
    body as admin.yaml describes it, validated)."""
    try:
        now = parse_instant(body["now"]) if body["now"] is not None else None
    except (ValueError, OverflowError):  # an RFC 3339 instant Python has no datetime for (a leap second)
        raise ControlError(400, "Bad Request", f"Not an ISO 8601 instant: {body['now']!r}") from None
    try:
        frozen = body.get("frozen", admin_schema("ClockSetting")["properties"]["frozen"]["default"])
        return _clock().set(now, frozen=frozen)
    except OutOfRange as exc:
        raise ControlError(400, "Bad Request", str(exc)) from None


def advance_clock(body: dict):
    """{"days": 31} (also "hours", "minutes", "seconds"; negative values go back): admin.yaml's
    body, validated (numbers, at least one, nothing else)."""
    try:
        delta = dt.timedelta(**body)
    except OverflowError:
        raise ControlError(400, "Bad Request", str(OutOfRange())) from None
    try:
        return _clock().advance(delta)
    except OutOfRange as exc:
        raise ControlError(400, "Bad Request", str(exc)) from None


def outbox():
    """The mails the calling tenant's Send operations recorded, oldest first (nothing is really sent)."""
    return _tenants().open(_tenant()).all(OUTBOX)


def _image_file(product: dict):
    """The index key of products by their image (`select_by`)."""
    image = product.get("_image")
    return image.get("fileId") if isinstance(image, dict) else None


def _invoice_file(invoice: dict):
    """The index key of purchase invoices by their PDF (`select_by`)."""
    return invoice.get("_fileId")


def file(file_id: str):
    """An uploaded file, by the id in its URL, to the tenant one of whose products (its image) or
    purchase invoices (its PDF) holds it: another tenant's, or one whose owner was deleted, is a 404."""
    repo = _tenants().open(_tenant())
    owned = repo.select_by(Products.kind, _image_file, [file_id]) or \
        repo.select_by(PurchaseInvoices.kind, _invoice_file, [file_id])
    data = services().files.get(file_id) if owned else None
    if data is None:
        raise ControlError(404, "Not Found", f"No file {file_id}")
    return ConnexionResponse(status_code=200, content_type=sniff(data) or "application/octet-stream", body=data)
