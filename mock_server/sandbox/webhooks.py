"""Admin API handlers of webhooks (never under /v1): the delivery log, redelivery, sample events
(aimed at a resource, with field overrides and delivery faults), the webhooks' delivery faults,
and a built-in receiver (`/_mock/inbox/<name>`) a webhook can point at to watch what the sandbox
sends. Connexion serves them from admin.yaml (see admin_api.py), validating their parameters and
bodies: the handlers get them as keyword arguments and check only what a schema cannot say."""

from __future__ import annotations

import base64
import collections
import copy
import datetime as dt
import itertools
import json
import threading

from ..api._http import as_returned, http_request, request_body, services
from ..domain.collection import Event
from ..domain.errors import NotFound
from ..domain.kinds import split_type
from ..domain.webhooks import Webhooks
from ..events import EVENTS, WEBHOOK_FAULTS, DeliveryNotFound, NotRedeliverable
from ..contracts import admin_schema
from .controls import ControlError, _tenant, _tenants


def _services():
    return services()


# --- the delivery log ------------------------------------------------------------------------------

def deliveries(page: int, page_size: int, event_id: str | None = None, webhook_id: str | None = None,
               delivery_id: str | None = None):
    """The calling tenant's delivery attempts (as retained, see `Dispatcher.prune`), oldest first,
    a page at a time (`page` from 1, `pageSize` up to 1000, default 100; the body stays a list, the
    total is in X-Total-Count); filters: eventId, webhookId, deliveryId."""
    equals = {}
    for name, value in (("eventId", event_id), ("webhookId", webhook_id), ("deliveryId", delivery_id)):
        if value is not None:  # the ids of webhooks and deliveries are numbers: another text matches none
            equals[name] = int(value) if name != "eventId" and value.isdigit() else value
    attempts = _services().webhooks.attempts(_tenants().open(_tenant()), **equals)
    return attempts[(page - 1) * page_size:page * page_size], 200, {"X-Total-Count": str(len(attempts))}


def pending():
    """The calling tenant's deliveries not yet delivered nor given up (queued or waiting to be retried)."""
    return _services().webhooks.pending(_tenants().open(_tenant()))


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


# --- sample events and delivery faults ------------------------------------------------------------

TRIGGER_FAULTS = ("duplicate", "outOfOrder", "badSignature", "delay")


def _fault_fields() -> dict:
    """admin.yaml's `DeliveryFaults`: the one description of the faults' fields and bounds."""
    return admin_schema("DeliveryFaults")["properties"]


def _faults_of(body: dict, names) -> dict:
    """The delivery-fault fields `names` given in `body` (validated; null is the same as absent)."""
    return {name: body[name] for name in names if body.get(name) is not None}


def _override(payload: dict, overrides: dict) -> dict:
    """`payload` (an event: id, type, data) with `overrides` ({"data.customerName": value}) applied."""
    for path, value in overrides.items():
        names = path.split(".")
        if len(names) < 2 or names[0] != "data" or not all(names):
            raise ControlError(400, "Bad Request",
                               f'"set": {path!r} is not a dotted path into the event\'s data (e.g. data.customerName)')
        where = payload
        for depth, name in enumerate(names):
            last = depth == len(names) - 1
            if isinstance(where, list):
                if not name.isdigit() or int(name) >= len(where):
                    raise ControlError(400, "Bad Request",
                                       f'"set": {path!r}: {".".join(names[:depth])} has no item {name}')
                key = int(name)
            elif isinstance(where, dict):
                key = name
            else:
                raise ControlError(400, "Bad Request",
                                   f'"set": {path!r}: {".".join(names[:depth])} is not an object or a list')
            if last:
                where[key] = value
            else:
                if isinstance(where, dict) and where.get(key) is None:
                    where[key] = {}  # a missing (or null) object on the way
                where = where[key]
    return payload


def _subject(ctx, kind, resource_id: int | None) -> dict:
    """A trigger's resource (a document view): `resource_id`'s (0: the made-up one), else the latest
    of the kind, else the made-up one."""
    if resource_id == 0:
        return dict(kind.sample)
    if resource_id is not None:
        try:
            return kind.collection(ctx).get(resource_id)
        except NotFound:
            raise ControlError(404, "Not Found", f"No {kind.subject} {resource_id} in this tenant") from None
    docs = ctx.repo.all(kind.name)
    return kind.collection(ctx).view(docs[-1]) if docs else dict(kind.sample)


def trigger(body: dict):
    """{"type": "InvoiceUpdated"} (or a list of types), "id", "set" and delivery faults: admin.yaml's
    body, validated. Sample events to the calling tenant's webhooks; nothing is changed."""
    types = [body["type"]] if isinstance(body["type"], str) else body["type"]
    resource_id = body.get("id")
    overrides = body.get("set") or {}
    faults = _faults_of(body, TRIGGER_FAULTS)
    tenant, services = _tenant(), _services()
    ctx = _tenants().context(tenant, real_clock=services.clock)
    events = []
    for event_type in types:
        kind, _change = split_type(event_type)
        data = _subject(ctx, kind, resource_id)
        payload = _override({"data": as_returned(kind.name, data)}, copy.deepcopy(overrides))
        events.append((Event(event_type, kind.name, data["id"]), payload["data"]))
    per_event = services.webhooks.emit(tenant, ctx.repo, events, faults)
    answered = [{"type": event_type, "eventId": created[0]["eventId"] if created else None}
                for event_type, created in zip(types, per_event)]
    return {"type": types[0], "eventId": answered[0]["eventId"], "events": answered,
            "deliveries": [d for created in per_event for d in created]}, 202


def _webhook_faults_view(webhook_id: int, doc: dict | None) -> dict:
    doc = doc or {}
    return {"webhookId": webhook_id, "duplicate": bool(doc.get("duplicate")),
            "badSignature": bool(doc.get("badSignature")), "delay": doc.get("delay") or 0,
            "outOfOrder": bool(doc.get("outOfOrder")),
            "outOfOrderWindow": doc.get("outOfOrderWindow") or _fault_fields()["outOfOrderWindow"]["default"]}


def _webhook_faults(repo, webhook_id: int) -> list[dict]:
    """The stored setting of one of the tenant's webhooks (none or one document); 404 if no such webhook."""
    if repo.get(Webhooks.kind, webhook_id) is None:
        raise ControlError(404, "Not Found", f"No webhook {webhook_id} in this tenant")
    return repo.find(WEBHOOK_FAULTS, webhookId=webhook_id)


def get_webhook_faults(webhook_id: int):
    """The delivery faults of one of the calling tenant's webhooks (all off by default)."""
    found = _webhook_faults(_tenants().open(_tenant()), webhook_id)
    return _webhook_faults_view(webhook_id, found[0] if found else None)


def set_webhook_faults(webhook_id: int, body: dict):
    """Replace the webhook's delivery faults (admin.yaml's DeliveryFaults, validated; absent fields are off)."""
    view = _webhook_faults_view(webhook_id, _faults_of(body, _fault_fields()))
    repo = _tenants().open(_tenant())
    with repo.transaction():
        for doc in _webhook_faults(repo, webhook_id):
            repo.delete(WEBHOOK_FAULTS, doc["id"])
        if any(view[name] for name in TRIGGER_FAULTS):
            repo.insert(WEBHOOK_FAULTS, dict(view))
    return view


def clear_webhook_faults(webhook_id: int):
    """Turn the webhook's delivery faults off."""
    repo = _tenants().open(_tenant())
    with repo.transaction():
        for doc in _webhook_faults(repo, webhook_id):
            repo.delete(WEBHOOK_FAULTS, doc["id"])
    return _webhook_faults_view(webhook_id, None)


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

    def is_empty(self) -> bool:
        """True when no inbox holds a message."""
        with self._lock:
            return not self._boxes

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


def _header_dict(headers) -> dict[str, str]:
    """Request headers by their usual spelling (`X-Signature`, `Content-Type`)."""
    return {name.title(): value for name, value in headers.items()}


def receive(name: str, status: int):
    """Record the request (headers, raw body: any media type, kept as sent); no key needed, like a
    public endpoint.

    `?status=NNN` answers that status instead of 200 (to watch retries).
    """
    request, raw = http_request(), request_body()
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
        "method": request.method, "query": request.url.query,
        "headers": _header_dict(request.headers), "contentType": request.headers.get("content-type"),
        "body": text, "json": parsed, **extra})
    return {"received": True, "id": message["id"]}, status


def _event_id(event: dict):
    """The index key of the tenant's recorded events (`select_by`): their id, the body's "id"."""
    return event.get("eventId")


def _from_tenant():
    """Which inbox messages the calling tenant may see: the deliveries of its own webhooks (the
    body's "id" is an event it recorded); anything else posted there is nobody's to read."""
    repo = _tenants().open(_tenant())

    def delivered_for_tenant(messages: list[dict]) -> set[int]:
        ids: dict[str, list[int]] = {}  # event id → the messages carrying it (a redelivery, a duplicate: several)
        for m in messages:
            if isinstance(m.get("json"), dict) and isinstance(m["json"].get("id"), str):
                ids.setdefault(m["json"]["id"], []).append(m["id"])
        known = {event["eventId"] for event in repo.select_by(EVENTS, _event_id, ids)} if ids else set()
        return {message_id for event_id in known for message_id in ids[event_id]}

    return delivered_for_tenant


def inbox(name: str):
    """What `/_mock/inbox/<name>` received from the calling tenant's webhooks, oldest first."""
    messages = _services().inbox.get(name)
    mine = _from_tenant()(messages)
    return [message for message in messages if message["id"] in mine]


def empty_inbox(name: str):
    """Forget what the calling tenant's webhooks delivered to `/_mock/inbox/<name>`."""
    inbox = _services().inbox
    mine = _from_tenant()(inbox.get(name))
    return {"deleted": inbox.clear(name, lambda message: message["id"] in mine)}
