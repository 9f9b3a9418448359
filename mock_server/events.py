"""Webhook events: from the changes the domain emitted to signed HTTP deliveries, off the request path.

1. A write runs in one transaction with `Dispatcher.publish`: for each event the domain emitted
   (`Context.events`) that one of the tenant's webhooks subscribes to, the event (its id, type and
   body, the resource as GET returns it) and one pending delivery per subscribed webhook are stored
   with the change itself: committed with it, or not at all.
2. The new deliveries are queued to worker threads as they are recorded. A worker reads a delivery
   under the tenant's lock before sending it, so it only ever sends a committed one (a rolled-back
   one is gone, or has another `uid`, and is dropped).
3. A delivery is an HTTP POST, `Content-Type: text/plain`, body `{"id", "type", "data"}`, with
   `X-Signature` (or the header `webhook_signature_header` names) = hex HMAC-SHA256 of the body
   under the webhook's `secretKey` when it has one.
   Every attempt is logged in the tenant's store. A non-2xx answer, a refused connection or a
   timeout is retried after `backoff × factor^(attempt-1)` seconds (capped), up to
   `max_attempts` attempts in all. The timeout bounds the whole attempt (connecting, sending,
   the answer's status and headers), not each read: a receiver dripping its answer byte by byte
   is cut off at the deadline. A delivery that cannot be sent at all (its stored event unreadable,
   its URL unusable) is marked failed at once, with the reason in the delivery log.
4. Deliveries of one resource to one webhook go out one at a time, in the order the changes were
   committed (a retried one holds back the later ones until it succeeds or gives up).
5. Workers are shared fairly by tenants: due deliveries are taken round-robin by tenant, and one
   tenant never has more than `workers - 1` attempts in flight, so slow receivers of one tenant
   always leave a worker for the others.
6. Pending deliveries are stored: after a restart, `resume` queues them again.
7. Delivery faults, to test a receiver's robustness (`FAULTS`), asked for by a sandbox trigger or
   set on a webhook (`WEBHOOK_FAULTS`, stored with the tenant's data), are decided when the
   delivery is recorded and stored on it (`faults`), so a retry or a restart keeps them; each
   attempt they change names them in the delivery log (`fault`):
   - `duplicate`: a second delivery of the same event (same event id, same body) right after the
     first one, in the same lane; the second one is the marked copy.
   - `bad-signature`: every attempt carries an `X-Signature` (64 hex digits, as a right one) that
     does not verify under the webhook's secret.
   - `delay`: the first attempt waits that many seconds (in the queue: no worker waits).
   - `out-of-order`: a batch of deliveries to one webhook goes out newest first, one at a time
     (each after the previous one is done with, retries included), in a lane of its own instead
     of the resources' lanes. A trigger's batch is the events it sends; a webhook's batch is the
     deliveries recorded within `outOfOrderWindow` seconds of the first one, which all wait
     until that window is over.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import socket
import threading
import time
import secrets
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from . import __version__
from .config import Config
from .domain.collection import Context, Event
from .domain.errors import NotFound
from .domain.kinds import KINDS
from .domain.webhooks import Webhooks

log = logging.getLogger(__name__)

EVENTS = "WebhookEvents"  # {eventId, type, kind, resourceId, body, createdAt}
DELIVERIES = "WebhookDeliveries"  # {uid, eventId, event, webhookId, url, type, resource, state, attempts, ...}
ATTEMPTS = "WebhookAttempts"  # one per HTTP attempt: the delivery log
WEBHOOK_FAULTS = "WebhookFaults"  # {webhookId, duplicate, badSignature, delay, outOfOrder, outOfOrderWindow}

DUPLICATE, BAD_SIGNATURE, DELAY, OUT_OF_ORDER = "duplicate", "bad-signature", "delay", "out-of-order"
FAULTS = {"duplicate": DUPLICATE, "badSignature": BAD_SIGNATURE, "delay": DELAY, "outOfOrder": OUT_OF_ORDER}
"""The delivery faults: the field that asks for each (a trigger's, a webhook's setting) → its name in the log."""

Present = Callable[[str, dict], dict]  # (kind, document view) → the resource as GET returns it


EVENT_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def new_event_id() -> str:
    """An event id as the live API's look (`evt_9tafmf170u6fs6c0cla6h8otz`): `evt_` and 25 random
    base36 characters."""
    return "evt_" + "".join(secrets.choice(EVENT_ID_ALPHABET) for _ in range(25))


def sign(secret: str, body: bytes) -> str:
    """The signature of a delivery (its `X-Signature` header): hex HMAC-SHA256 of the raw body under
    the webhook's secret."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def wrong_signature(secret: str | None, body: bytes) -> str:
    """The `X-Signature` of a `bad-signature` delivery: shaped like `sign`'s, under another key."""
    return sign(f"bad-signature:{secret or ''}", body)


def delivery_signature(secret: str | None, body: bytes, faults) -> str | None:
    """The `X-Signature` a delivery of `body` carries under the webhook's secret: `wrong_signature`'s
    for a `bad-signature` delivery (`faults`: its fault names), `sign`'s otherwise, none without a
    secret (the dispatcher sends it, the dashboard shows it)."""
    if BAD_SIGNATURE in (faults or ()):
        return wrong_signature(secret, body)
    return sign(secret, body) if secret else None


def effective_faults(webhook: dict | None, trigger: dict | None) -> dict:
    """The faults of a delivery: the webhook's setting and the trigger's fields, either one asking
    (the trigger's `delay` wins over the webhook's)."""
    webhook, trigger = webhook or {}, trigger or {}
    merged = {name: bool(webhook.get(name) or trigger.get(name)) for name in ("duplicate", "badSignature")}
    merged["delay"] = trigger["delay"] if trigger.get("delay") is not None else webhook.get("delay") or 0
    merged["outOfOrder"] = "trigger" if trigger.get("outOfOrder") else "window" if webhook.get("outOfOrder") else None
    merged["outOfOrderWindow"] = webhook.get("outOfOrderWindow") or 0
    return merged


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DeliveryNotFound(LookupError):
    """No event or delivery of the tenant with that id."""


class NotRedeliverable(ValueError):
    """The event's webhooks were all unregistered since."""


def public_delivery(doc: dict) -> dict:
    """A delivery as the sandbox controls show it."""
    return {"id": doc["id"], "eventId": doc["eventId"], "type": doc["type"], "webhookId": doc["webhookId"],
            "url": doc["url"], "resource": doc["resource"], "state": doc["state"], "attempts": doc["attempts"],
            "nextAttemptAt": doc.get("nextAttemptAt"), "createdAt": doc["createdAt"],
            "faults": doc.get("faults") or []}


@dataclass
class _Job:
    """A queued delivery: the store id and `uid` of its document in the tenant's store."""

    tenant: str
    id: int
    uid: str
    lane: tuple  # (tenant, webhook id, resource or out-of-order batch): deliveries sent one after the other
    rank: int  # the order in the lane: the store id (commit order), its opposite in an out-of-order batch
    not_before: float  # time.monotonic()


class Dispatcher:
    """Records webhook events with the writes that cause them, and delivers them with worker threads.

    `open_tenant(id)` gives a tenant's store. The workers start with the first queued delivery;
    `close()` stops them (a delivery in flight then stays pending, and is sent again after a restart).
    """

    def __init__(self, config: Config, open_tenant: Callable[[str], object]):
        self.open_tenant = open_tenant
        self.max_attempts = config.webhook_max_attempts
        self.backoff = config.webhook_backoff
        self.factor = config.webhook_backoff_factor
        self.backoff_max = config.webhook_backoff_max
        self.timeout = config.webhook_timeout
        self.workers = config.webhook_workers
        self.signature_header = config.webhook_signature_header
        self.log_keep = config.webhook_log_keep
        self._cond = threading.Condition()
        self._lanes: dict[tuple, list[_Job]] = {}  # per lane, its pending jobs by store id: [0] is next
        self._busy: set[tuple] = set()  # lanes whose first job is being attempted
        self._heap: list[tuple[float, int, tuple]] = []  # (due, seq, lane) of lanes waiting for their time
        self._entry: dict[tuple, int] = {}  # lane → seq of its live entry (older ones are stale)
        self._ready: dict[str, deque[tuple[int, tuple]]] = {}  # per tenant, its due lanes (seq, lane), oldest first
        self._turns: deque[str] = deque()  # tenants with due lanes, the next one to serve first
        self._active: Counter[str] = Counter()  # attempts in flight per tenant
        self.per_tenant = max(1, self.workers - 1)  # attempts one tenant may have in flight
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._client: httpx.Client | None = None

    # --- recording (inside the caller's transaction) -----------------------------------------------
    def publish(self, tenant: str, ctx: Context, present: Present) -> list[dict]:
        """Record (and queue) the deliveries of the events emitted on `ctx`, which it forgets.

        Call it inside the transaction of the write that emitted them, last: the resources are
        read as that write leaves them. Several events of one type about one resource count once.
        """
        events = list(dict.fromkeys((e.type, e.kind, e.id) for e in ctx.events))
        gone = {(e.type, e.kind, e.id): e.data for e in ctx.events if e.data is not None}
        ctx.events.clear()
        if not events:
            return []
        with ctx.repo.transaction():
            webhooks = Webhooks(ctx).list()
            if not webhooks:
                return []
            found = []
            for key in events:
                event_type, kind, doc_id = key
                targets = [w for w in webhooks if event_type in (w.get("types") or ())]
                if not targets:
                    continue
                data = gone.get(key)
                if data is None:
                    try:
                        data = KINDS[kind].collection(ctx).get(doc_id)
                    except NotFound:  # created and deleted by the same write
                        continue
                found.append((Event(event_type, kind, doc_id), present(kind, data), targets))
            return self._record(tenant, ctx.repo, found)

    def _record(self, tenant: str, repo, events: list[tuple[Event, dict, list[dict]]],
                faults: dict | None = None) -> list[dict]:
        """Store the events and their deliveries (with the faults asked by `faults`, a trigger's
        fields, or by the webhooks' settings), and queue them."""
        now = _now()
        deliveries = []
        with repo.transaction():
            settings = {doc["webhookId"]: doc for doc in repo.scan(WEBHOOK_FAULTS)} if repo.count(WEBHOOK_FAULTS) else {}
            batches: dict[int, tuple[str, dt.datetime]] = {}  # per webhook, this record's out-of-order batch
            for event, data, targets in events:
                event_id = new_event_id()
                body = json.dumps({"id": event_id, "type": event.type, "data": data},
                                  ensure_ascii=False, separators=(",", ":"))
                stored = repo.insert(EVENTS, {"eventId": event_id, "type": event.type, "kind": event.kind,
                                              "resourceId": event.id, "body": body, "createdAt": _iso(now)})
                for webhook in targets:
                    chosen = effective_faults(settings.get(webhook["id"]), faults)
                    deliveries.extend(self._faulted(repo, stored, webhook, chosen, now, batches))
            self._queue(tenant, deliveries)
        return [public_delivery(d) for d in deliveries]

    def _faulted(self, repo, event: dict, webhook: dict, chosen: dict, now: dt.datetime,
                 batches: dict[int, tuple[str, dt.datetime]]) -> list[dict]:
        """The deliveries of one event to one webhook with the faults `chosen` (effective_faults)."""
        names, extra = [], {}
        if chosen["outOfOrder"]:
            names.append(OUT_OF_ORDER)
            if webhook["id"] not in batches:
                batches[webhook["id"]] = self._open_batch(repo, webhook["id"], chosen, now)
            batch, ends = batches[webhook["id"]]
            extra = {"batch": batch, "batchEnds": _iso(ends)}
        else:
            ends = now
        if chosen["badSignature"]:
            names.append(BAD_SIGNATURE)
        if chosen["delay"]:
            names.append(DELAY)
        due = _iso(ends + dt.timedelta(seconds=chosen["delay"]))
        first = self._new_delivery(repo, event, webhook, _iso(now), due=due, faults=names, **extra)
        if not chosen["duplicate"]:
            return [first]
        return [first, self._new_delivery(repo, event, webhook, _iso(now), due=due, faults=[*names, DUPLICATE],
                                          **extra)]

    @staticmethod
    def _open_batch(repo, webhook_id: int, chosen: dict, now: dt.datetime) -> tuple[str, dt.datetime]:
        """The out-of-order batch a new delivery to the webhook joins, and when it closes: a trigger's
        own (closed at once); else the webhook's batch still open, or a new one open for its window."""
        if chosen["outOfOrder"] == "window":
            for doc in reversed(repo.find(DELIVERIES, webhookId=webhook_id)):
                if doc.get("batch") and doc.get("batchEnds"):
                    ends = dt.datetime.fromisoformat(doc["batchEnds"].replace("Z", "+00:00"))
                    if ends > now and doc["batch"].startswith("window-"):
                        return doc["batch"], ends
                    break
            return f"window-{uuid.uuid4().hex}", now + dt.timedelta(seconds=chosen["outOfOrderWindow"])
        return f"trigger-{uuid.uuid4().hex}", now

    @staticmethod
    def _new_delivery(repo, event: dict, webhook: dict, now: str, due: str | None = None, faults=(),
                      **extra) -> dict:
        return repo.insert(DELIVERIES, {
            "uid": uuid.uuid4().hex, "eventId": event["eventId"], "event": event["id"], "webhookId": webhook["id"],
            "url": webhook["url"], "type": event["type"], "resource": f"{event['kind']}:{event['resourceId']}",
            "state": "pending", "attempts": 0, "nextAttemptAt": due or now, "createdAt": now,
            "faults": list(faults), **extra})

    def emit(self, tenant: str, repo, events: list[tuple[Event, dict]],
             faults: dict | None = None) -> list[list[dict]]:
        """Record events whose payload `data` is given (a sandbox trigger), to the webhooks that
        subscribe to their types, with the delivery faults `faults` asks for (`effective_faults`);
        the deliveries of each event (none when no webhook subscribes to its type)."""
        with repo.transaction():
            webhooks = repo.all(Webhooks.kind)
            found = [(event, data, [w for w in webhooks if event.type in (w.get("types") or ())])
                     for event, data in events]
            created = self._record(tenant, repo, [f for f in found if f[2]], faults)
        by_event: dict[str, list[dict]] = {}
        for delivery in created:
            by_event.setdefault(delivery["eventId"], []).append(delivery)
        recorded = iter(by_event.values())
        return [next(recorded) if targets else [] for _event, _data, targets in found]

    def redeliver(self, tenant: str, repo, ident: str) -> list[dict]:
        """Send an event again (to the webhooks it went to) or a delivery, as new deliveries."""
        with repo.transaction():
            if ident.isdigit():
                original = repo.get(DELIVERIES, int(ident))
                originals = [original] if original else []
            else:
                originals = repo.find(DELIVERIES, eventId=ident)
            if not originals:
                raise DeliveryNotFound(f"No webhook event or delivery {ident!r} in this tenant")
            event = repo.get(EVENTS, originals[0]["event"])
            targets = [repo.get(Webhooks.kind, webhook_id)
                       for webhook_id in dict.fromkeys(d["webhookId"] for d in originals)]
            targets = [w for w in targets if w is not None]
            if event is None or not targets:
                raise NotRedeliverable(f"The webhook of {ident!r} was unregistered: there is nowhere to send it")
            now = _iso(_now())
            deliveries = [self._new_delivery(repo, event, webhook, now) for webhook in targets]
            self._queue(tenant, deliveries)
        return [public_delivery(d) for d in deliveries]

    @staticmethod
    def cancel(repo, webhook_ids: list[int]) -> None:
        """Give up the pending deliveries to these (unregistered) webhooks, and forget their faults."""
        with repo.transaction():
            for webhook_id in webhook_ids:
                for doc in repo.find(WEBHOOK_FAULTS, webhookId=webhook_id):
                    repo.delete(WEBHOOK_FAULTS, doc["id"])
                for doc in repo.find(DELIVERIES, webhookId=webhook_id, state="pending"):
                    repo.replace(DELIVERIES, doc["id"], {**doc, "state": "cancelled", "nextAttemptAt": None})

    @staticmethod
    def prune(repo, keep: int) -> None:
        """Retention, at write: the tenant's `keep` latest attempts and finished deliveries stay
        (pending deliveries always do), older ones go (inside the caller's transaction)."""
        if repo.count(ATTEMPTS) > keep:
            for doc in repo.scan(ATTEMPTS)[:repo.count(ATTEMPTS) - keep]:
                repo.delete(ATTEMPTS, doc["id"])
        if repo.count(DELIVERIES) > keep:
            finished = [doc["id"] for doc in repo.scan(DELIVERIES) if doc.get("state") != "pending"]
            for doc_id in finished[:max(0, len(finished) - keep)]:
                repo.delete(DELIVERIES, doc_id)

    @staticmethod
    def attempts(repo, **equals) -> list[dict]:
        """The delivery log of a tenant, oldest first (optionally only the entries equal to `equals`)."""
        return [{"id": a["id"], "fault": None, **a}
                for a in (repo.find(ATTEMPTS, **equals) if equals else repo.all(ATTEMPTS))]

    @staticmethod
    def pending(repo) -> list[dict]:
        return [public_delivery(d) for d in repo.find(DELIVERIES, state="pending")]

    def resume(self, tenants: Iterable[str]) -> int:
        """Queue the pending deliveries stored by the tenants (after a restart); how many."""
        count = 0
        for tenant in tenants:
            if self._stopping:
                break
            try:
                repo = self.open_tenant(tenant)
                with repo.transaction():  # nothing new is recorded for the tenant meanwhile
                    pending = repo.find(DELIVERIES, state="pending")
                    self._queue(tenant, pending)
            except Exception:  # noqa: BLE001 - one unreadable tenant must not stop the others
                log.exception("could not resume the webhook deliveries of a tenant")
                continue
            count += len(pending)
        if count:
            log.info("resumed %d pending webhook deliveries", count)
        return count

    def resume_in_background(self, tenants: list[str]) -> threading.Thread | None:
        """`resume` in a thread (opening tenants not opened yet reads their data from disk)."""
        if not tenants or not self.workers:
            return None
        thread = threading.Thread(target=self.resume, args=(tenants,), name="webhook-resume", daemon=True)
        thread.start()
        self._threads.append(thread)
        return thread

    # --- queueing ------------------------------------------------------------------------------------
    def _queue(self, tenant: str, deliveries: list[dict]) -> None:
        if not self.workers or not deliveries:
            return
        now_wall, now = _now(), time.monotonic()
        with self._cond:
            if self._stopping:
                return
            self._start()
            for doc in deliveries:
                wait = 0.0
                if doc.get("nextAttemptAt"):
                    try:
                        due = dt.datetime.fromisoformat(doc["nextAttemptAt"].replace("Z", "+00:00"))
                        wait = max(0.0, (due - now_wall).total_seconds())
                    except ValueError:
                        pass
                batch = doc.get("batch")  # an out-of-order batch: a lane of its own, newest first
                lane = (tenant, doc["webhookId"], f"batch:{batch}" if batch else doc["resource"])
                job = _Job(tenant, doc["id"], doc["uid"], lane, -doc["id"] if batch else doc["id"], now + wait)
                jobs = self._lanes.setdefault(lane, [])
                # By rank, i.e. commit order (a resumed delivery may be queued after a newer one) or its
                # reverse; never ahead of the job being attempted.
                position = bisect.bisect_right(jobs, job.rank, lo=1 if lane in self._busy else 0,
                                               key=lambda j: j.rank)
                jobs.insert(position, job)
                if position == 0:
                    self._schedule(lane, job.not_before)

    def _schedule(self, lane: tuple, due: float) -> None:
        seq = next(self._seq)
        self._entry[lane] = seq
        heapq.heappush(self._heap, (due, seq, lane))
        self._cond.notify()

    def _start(self) -> None:
        if self._client is None:
            # No kept-alive connections: every attempt connects anew, so its deadline (see `_post`)
            # covers the socket it uses from the start.
            self._client = httpx.Client(timeout=httpx.Timeout(self.timeout), trust_env=False, follow_redirects=False,
                                        limits=httpx.Limits(max_keepalive_connections=0),
                                        headers={"User-Agent": f"altoviz-mock/{__version__} webhooks"})
            for i in range(self.workers):
                thread = threading.Thread(target=self._work, name=f"webhook-worker-{i}", daemon=True)
                thread.start()
                self._threads.append(thread)

    # --- workers -------------------------------------------------------------------------------------
    def _next_lane(self) -> tuple | None:
        """Wait for a due lane of a tenant under its share of the workers (holding the condition),
        tenants taking turns; None when stopping."""
        while not self._stopping:
            now = time.monotonic()
            while self._heap and self._heap[0][0] <= now:  # due: to its tenant's ready lanes
                _due, seq, lane = heapq.heappop(self._heap)
                if self._entry.get(lane) == seq:
                    if lane[0] not in self._ready:
                        self._ready[lane[0]] = deque()
                        self._turns.append(lane[0])
                    self._ready[lane[0]].append((seq, lane))
            for _ in range(len(self._turns)):
                tenant = self._turns[0]
                self._turns.rotate(-1)  # served or not, the next tenant comes first next time
                if self._active[tenant] >= self.per_tenant:
                    continue
                ready = self._ready[tenant]
                while ready and self._entry.get(ready[0][1]) != ready[0][0]:
                    ready.popleft()  # rescheduled since: its live entry is elsewhere
                lane = ready.popleft()[1] if ready else None
                if not ready:
                    del self._ready[tenant]
                    self._turns.remove(tenant)
                if lane is not None:
                    del self._entry[lane]
                    return lane
            self._cond.wait(self._heap[0][0] - now if self._heap else None)
        return None

    def _work(self) -> None:
        while True:
            with self._cond:
                lane = self._next_lane()
                if lane is None:
                    return
                self._busy.add(lane)
                self._active[lane[0]] += 1
                job = self._lanes[lane][0]
            try:
                retry_in = self._attempt(job)
            except Exception as exc:  # noqa: BLE001 - a worker never dies
                retry_in = None
                if not self._stopping:  # (stopping: it stays pending in the store, sent after the restart)
                    log.exception("webhook delivery %s cannot be sent", job.id)
                    self._give_up(job, f"cannot be sent: {type(exc).__name__}: {exc}")
            with self._cond:
                self._busy.discard(lane)
                self._active[lane[0]] -= 1
                if not self._active[lane[0]]:
                    del self._active[lane[0]]
                self._cond.notify_all()  # a tenant that was at its share may have a due lane
                jobs = self._lanes[lane]
                if retry_in is None:
                    jobs.pop(0)
                    if jobs:
                        self._schedule(lane, jobs[0].not_before)
                    else:
                        del self._lanes[lane]
                else:
                    self._schedule(lane, time.monotonic() + retry_in)

    def _give_up(self, job: _Job, reason: str) -> None:
        """Mark a delivery that cannot be sent failed, with the reason in the delivery log."""
        try:
            repo = self.open_tenant(job.tenant)
            with repo.transaction():
                delivery = self._current(repo, job)
                if delivery is None:
                    return
                now = _iso(_now())
                repo.insert(ATTEMPTS, {
                    "deliveryId": job.id, "eventId": delivery["eventId"], "type": delivery["type"],
                    "webhookId": delivery["webhookId"], "url": delivery["url"], "resource": delivery["resource"],
                    "attempt": delivery["attempts"] + 1, "statusCode": None, "durationMs": 0.0, "error": reason,
                    "result": "failed", "nextAttemptAt": None, "fault": delivery.get("faults") or None,
                    "timestamp": now})
                repo.replace(DELIVERIES, job.id, {**delivery, "state": "failed", "attempts": delivery["attempts"] + 1,
                                                  "nextAttemptAt": None})
        except Exception:  # noqa: BLE001 - the tenant's store itself fails: nothing more can be recorded
            log.exception("could not mark webhook delivery %s failed", job.id)

    def _post(self, url: str, body: bytes, headers: dict) -> int:
        """POST the delivery; its status code. `self.timeout` bounds the whole attempt: httpx's
        timeouts are per operation (a receiver sending a byte every few seconds never trips
        them), so at the deadline a timer shuts the attempt's socket down, which ends any read
        or write blocked on it. The socket is known from httpx's `trace` extension."""
        lock = threading.Lock()
        sockets: list[socket.socket] = []
        expired = False

        def cut(sock: socket.socket) -> None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed

        def expire() -> None:
            nonlocal expired
            with lock:
                expired = True
                for sock in sockets:
                    cut(sock)

        def trace(event: str, info: dict) -> None:
            if event == "connection.connect_tcp.complete" and info.get("return_value") is not None:
                sock = info["return_value"].get_extra_info("socket")
                if sock is not None:
                    with lock:
                        sockets.append(sock)
                        if expired:
                            cut(sock)

        timer = threading.Timer(self.timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            with self._client.stream("POST", url, content=body, headers=headers,
                                     extensions={"trace": trace}) as response:
                return response.status_code
        except httpx.TransportError as exc:
            if expired:
                raise httpx.TimeoutException(f"no answer within {self.timeout:g} s") from exc
            raise
        finally:
            timer.cancel()

    def _delay(self, attempt: int) -> float:
        """Seconds before the attempt after attempt number `attempt` (1-based)."""
        return min(self.backoff * self.factor ** (attempt - 1), self.backoff_max)

    def _current(self, repo, job: _Job) -> dict | None:
        delivery = repo.get(DELIVERIES, job.id)
        if delivery is None or delivery.get("uid") != job.uid or delivery.get("state") != "pending":
            return None  # delivered, cancelled, or gone with a reset / a rolled-back write
        return delivery

    def _attempt(self, job: _Job) -> float | None:
        """One attempt at a delivery; seconds before the next one, or None when it is done with."""
        repo = self.open_tenant(job.tenant)
        with repo.transaction():
            delivery = self._current(repo, job)
            if delivery is None:
                return None
            webhook = repo.get(Webhooks.kind, delivery["webhookId"])
            event = repo.get(EVENTS, delivery["event"])
            if webhook is None or event is None:  # unregistered since
                repo.replace(DELIVERIES, job.id, {**delivery, "state": "cancelled", "nextAttemptAt": None})
                return None
        body = event["body"].encode("utf-8")
        headers = {"Content-Type": "text/plain"}
        faults = delivery.get("faults") or []
        signature = delivery_signature(webhook.get("secretKey"), body, faults)
        if signature is not None:
            headers[self.signature_header] = signature
        status, error = None, None
        started = time.perf_counter()
        try:
            status = self._post(webhook["url"], body, headers)
        except httpx.TimeoutException as exc:
            error = f"timeout after {self.timeout:g} s ({type(exc).__name__})"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # noqa: BLE001 - e.g. a URL httpx cannot send to
            error = f"{type(exc).__name__}: {exc}"
        duration = round((time.perf_counter() - started) * 1000, 1)
        if status is not None and not 200 <= status < 300:
            error = f"HTTP {status}"
        attempt = delivery["attempts"] + 1
        marks = [name for name in faults if name != DELAY or attempt == 1] or None
        now = _now()
        if error is None:
            state, retry_in = "delivered", None
        elif attempt >= self.max_attempts:
            state, retry_in = "failed", None
        else:
            state, retry_in = "pending", self._delay(attempt)
        next_at = _iso(now + dt.timedelta(seconds=retry_in)) if retry_in is not None else None
        with repo.transaction():
            current = self._current(repo, job)
            if current is None:
                return None
            repo.insert(ATTEMPTS, {
                "deliveryId": job.id, "eventId": delivery["eventId"], "type": delivery["type"],
                "webhookId": webhook["id"], "url": webhook["url"], "resource": delivery["resource"],
                "attempt": attempt, "statusCode": status, "durationMs": duration, "error": error,
                "result": {"pending": "retrying"}.get(state, state), "nextAttemptAt": next_at,
                "fault": marks, "signature": signature, "timestamp": _iso(now)})
            repo.replace(DELIVERIES, job.id, {**current, "state": state, "attempts": attempt,
                                              "nextAttemptAt": next_at, "url": webhook["url"]})
            self.prune(repo, self.log_keep)
        if error is not None:
            log.info("webhook delivery %s to %s: attempt %d failed (%s)", job.id, webhook["url"], attempt, error)
        return retry_in

    # --- life cycle ------------------------------------------------------------------------------------
    def idle(self) -> bool:
        """True when nothing is queued or in flight."""
        with self._cond:
            return not self._lanes

    def close(self) -> None:
        """Stop the workers, waiting at most 2 s for the attempts in flight: one that does not end
        by then is not logged, and its delivery (still pending in the store) goes out again after
        the next start (at least once: receivers deduplicate on the event id)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + min(self.timeout + 0.5, 2.0)
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self._client is not None:
            self._client.close()
