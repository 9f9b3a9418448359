"""Admin API handlers of webhooks (never under /v1): the delivery log, redelivery, sample events,
and a built-in receiver (`/_mock/inbox/<name>`) a webhook can point at to watch what the sandbox
sends. Connexion serves them from admin.yaml (see admin_api.py)."""

from __future__ import annotations

import base64
import collections
import datetime as dt
import itertools
import json
import re
import threading

import flask

from ..api._http import EXTENSION, as_returned
from ..domain.collection import Event
from ..domain.kinds import TYPES, split_type
from ..events import EVENTS, DeliveryNotFound, NotRedeliverable
from .controls import ControlError, _json, _tenant, _tenants

INBOX_NAME = re.compile(r"^[A-Za-z0-9._~-]{1,100}$")


def _services():
    return flask.current_app.extensions[EXTENSION]


# --- the delivery log ------------------------------------------------------------------------------

MAX_PAGE_SIZE = 1000


def _positive(name: str, default: int, maximum: int | None = None) -> int:
    value = flask.request.args.get(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1 or (maximum is not None and int(value) > maximum):
        bound = f" up to {maximum}" if maximum else ""
        raise ControlError(400, "Bad Request", f'"{name}" must be an integer from 1{bound}')
    return int(value)


def deliveries():
    """The calling tenant's delivery attempts (as retained, see `Dispatcher.prune`), oldest first,
    a page at a time (`page` from 1, `pageSize` up to 1000, default 100; the body stays a list, the
    total is in X-Total-Count); filters: eventId, webhookId, deliveryId."""
    equals = {}
    for name in ("eventId", "webhookId", "deliveryId"):
        value = flask.request.args.get(name)
        if value is not None:
            equals[name] = int(value) if name != "eventId" and value.isdigit() else value
    page, size = _positive("page", 1), _positive("pageSize", 100, MAX_PAGE_SIZE)
    attempts = _services().webhooks.attempts(_tenants().open(_tenant()), **equals)
    response = flask.jsonify(attempts[(page - 1) * size:page * size])
    response.headers["X-Total-Count"] = str(len(attempts))
    return response


def pending():
    """The calling tenant's deliveries not yet delivered nor given up (queued or waiting to be retried)."""
    return flask.jsonify(_services().webhooks.pending(_tenants().open(_tenant())))


def redeliver(ident: str):
    """Send an event (by its id: to each webhook it went to) or one delivery (by its id) again."""
    repo = _tenants().open(_tenant())
    try:
        created = _services().webhooks.redeliver(_tenant(), repo, ident)
    except DeliveryNotFound as exc:
        raise ControlError(404, "Not Found", str(exc)) from None
    except NotRedeliverable as exc:
        raise ControlError(400, "Bad Request", str(exc)) from None
    return {"deliveries": created}, 202


def trigger():
    """{"type": "InvoiceUpdated"}: a sample event of that type to the calling tenant's webhooks.

    Its data is the tenant's latest resource of the kind (as GET returns it), or a made-up one
    (id 0) when it has none; nothing is changed.
    """
    event_type = _json().get("type")
    if event_type not in TYPES:
        raise ControlError(400, "Bad Request", f"type must be one of the WebhookTypes: {', '.join(TYPES)}")
    tenant, services = _tenant(), _services()
    ctx = _tenants().context(tenant, real_clock=services.clock)
    kind, _change = split_type(event_type)
    docs = ctx.repo.all(kind.name)
    data = kind.collection(ctx).view(docs[-1]) if docs else dict(kind.sample)
    created = services.webhooks.emit(tenant, ctx, Event(event_type, kind.name, data["id"], data), as_returned)
    return {"type": event_type, "eventId": created[0]["eventId"] if created else None, "deliveries": created}, 202


# --- the built-in receiver -------------------------------------------------------------------------

class Inbox:
    """What arrived at `/_mock/inbox/<name>`, per name, in memory (the latest `keep` per name)."""

    def __init__(self, keep: int = 1000, names: int = 1000):
        self.keep = keep
        self.names = names
        self._boxes: collections.OrderedDict[str, collections.deque] = collections.OrderedDict()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, name: str, message: dict) -> dict:
        with self._lock:
            box = self._boxes.pop(name, None) or collections.deque(maxlen=self.keep)
            self._boxes[name] = box  # most recently used last
            while len(self._boxes) > self.names:
                self._boxes.popitem(last=False)
            message = {"id": next(self._ids), **message}
            box.append(message)
            return message

    def get(self, name: str) -> list[dict]:
        with self._lock:
            return list(self._boxes.get(name, ()))

    def clear(self, name: str, which=lambda message: True) -> int:
        """Forget the messages of `name` that `which` accepts; how many."""
        with self._lock:
            box = self._boxes.get(name)
            if box is None:
                return 0
            kept = [message for message in box if not which(message)]
            removed = len(box) - len(kept)
            box.clear()
            box.extend(kept)
            if not box:
                del self._boxes[name]
            return removed


def _inbox_name(name: str) -> str:
    if not INBOX_NAME.match(name):
        raise ControlError(400, "Bad Request", "An inbox name is 1 to 100 letters, digits, '.', '_', '~' or '-'")
    return name


def receive(name: str):
    """Record the request (headers, raw body); no key needed, like a public endpoint.

    `?status=NNN` answers that status instead of 200 (to watch retries).
    """
    _inbox_name(name)
    status = flask.request.args.get("status", "200")
    if not status.isdigit() or not 200 <= int(status) <= 599:
        raise ControlError(400, "Bad Request", "status must be an HTTP status between 200 and 599")
    raw = flask.request.get_data(cache=False)
    try:
        text, extra = raw.decode("utf-8"), {}
    except UnicodeDecodeError:
        text, extra = raw.decode("utf-8", "replace"), {"bodyBase64": base64.b64encode(raw).decode("ascii")}
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    message = _services().inbox.add(name, {
        "receivedAt": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "method": flask.request.method, "query": flask.request.query_string.decode("latin-1"),
        "headers": dict(flask.request.headers), "contentType": flask.request.content_type,
        "body": text, "json": parsed, **extra})
    return {"received": True, "id": message["id"]}, int(status)


def _event_id(event: dict):
    """The index key of the tenant's recorded events (`select_by`): their id, the body's "id"."""
    return event.get("eventId")


def _from_tenant():
    """Which inbox messages the calling tenant may see: the deliveries of its own webhooks (the
    body's "id" is an event it recorded); anything else posted there is nobody's to read."""
    repo = _tenants().open(_tenant())

    def delivered_for_tenant(messages: list[dict]) -> set[int]:
        ids = {m["json"]["id"]: m["id"] for m in messages
               if isinstance(m.get("json"), dict) and isinstance(m["json"].get("id"), str)}
        known = {event["eventId"] for event in repo.select_by(EVENTS, _event_id, ids)} if ids else set()
        return {ids[event_id] for event_id in known}

    return delivered_for_tenant


def inbox(name: str):
    """What `/_mock/inbox/<name>` received from the calling tenant's webhooks, oldest first."""
    messages = _services().inbox.get(_inbox_name(name))
    mine = _from_tenant()(messages)
    return flask.jsonify([message for message in messages if message["id"] in mine])


def empty_inbox(name: str):
    """Forget what the calling tenant's webhooks delivered to `/_mock/inbox/<name>`."""
    inbox = _services().inbox
    mine = _from_tenant()(inbox.get(_inbox_name(name)))
    return {"deleted": inbox.clear(name, lambda message: message["id"] in mine)}
