"""The CRUD rules every resource kind shares: moto's `models.py` backend, one class per kind."""

from __future__ import annotations

import datetime as dt
from typing import Callable, ClassVar, NamedTuple, Protocol
from zoneinfo import ZoneInfo


from . import listing
from .copies import copy_stored
from .errors import Conflict, InvalidRequest, NotFound, Noun
from .reference import ReferenceData


# How the live API's messages name the fields `Find` looks resources up by.
CRITERIA = {"number": "number", "internalId": "internal ID", "email": "email"}


class Repository(Protocol):
    """What the domain needs from the store (implemented by `mock_server.store.TenantStore`)."""

    def transaction(self): ...
    def insert(self, kind: str, doc: dict) -> dict: ...
    def get(self, kind: str, id: int) -> dict | None: ...
    def replace(self, kind: str, id: int, doc: dict) -> dict: ...
    def delete(self, kind: str, id: int) -> bool: ...
    def all(self, kind: str) -> list[dict]: ...
    def scan(self, kind: str) -> list[dict]: ...  # the stored documents, not copies: read-only
    def find(self, kind: str, **equals) -> list[dict]: ...
    def select(self, kind: str, predicate: Callable[[dict], bool]) -> list[dict]: ...
    def next_number(self, sequence: str) -> int: ...


def utcnow() -> dt.datetime:
    """The real clock; the sandbox can substitute its own."""
    return dt.datetime.now(dt.timezone.utc)


class Event(NamedTuple):
    """A change the domain made: a `WebhookType` (e.g. "InvoiceUpdated") about one document.

    `data` is only set for a deletion: the document (its `view`) as it was, since it is gone.
    """

    type: str
    kind: str
    id: int
    data: dict | None = None


class Context:
    """What a collection works with: the tenant's repository, the reference data and the clock.

    `events` collects what the operations made on it changed (`emit`); the domain never delivers
    them: the caller publishes them once the transaction that made them has committed.
    """

    def __init__(self, repo: Repository, reference: ReferenceData, clock: Callable[[], dt.datetime] = utcnow):
        self.repo = repo
        self.reference = reference
        self.clock = clock
        self.events: list[Event] = []
        # What an operation did that the client almost certainly did not mean (e.g. fields a PUT
        # reset): the HTTP layer answers them as X-Mock-Warning headers.
        self.warnings: list[str] = []

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def emit(self, type: str, kind: str, id: int, data: dict | None = None) -> None:
        self.events.append(Event(type, kind, id, data))

    def now_iso(self) -> str:
        return self.clock().astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")

    def today(self) -> dt.date:
        """The seller's calendar day (Settings.general.timezone) by the clock: invoice dates, due dates."""
        zone = (self.reference.settings.get("general") or {}).get("timezone") or "Europe/Paris"
        return self.clock().astimezone(ZoneInfo(zone)).date()


class Collection:
    """A resource kind with list/get/create/update/delete/find; subclasses supply the rules."""

    kind: ClassVar[str]
    label: ClassVar[str]
    # Its French name, for the business-rule messages (French, as live).
    noun: ClassVar[Noun] = Noun("ressource", feminine=True)
    search_fields: ClassVar[tuple[str, ...]] = ()
    read_only: ClassVar[tuple[str, ...]] = ("id",)
    # Fields a client sets only when creating a resource: an update keeps the stored value.
    create_only: ClassVar[tuple[str, ...]] = ()
    # Fields the client may look a resource up by with `Find` (exact, case-insensitive match).
    find_fields: ClassVar[tuple[str, ...]] = ("internalId",)
    # The subject of the kind's `WebhookType`s ("Customer" → CustomerCreated...); None: no events.
    event_name: ClassVar[str | None] = None

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.repo = ctx.repo

    # --- rules subclasses override -------------------------------------------------------
    def prepare(self, data: dict, current: dict | None) -> dict:
        """Turn validated input (merged over `current` on update) into the stored document."""
        return data

    def after_write(self, doc: dict, previous: dict | None) -> None:
        """Keep dependent documents in step after a create (previous None) or update."""

    def before_delete(self, doc: dict) -> None:
        """Refuse or cascade a delete."""

    def view(self, doc: dict) -> dict:
        """The resource as the API returns it (joins, derived fields)."""
        return doc

    def emit(self, change: str, id: int, data: dict | None = None) -> None:
        """Record that document `id` was "Created", "Updated" or "Deleted" (with its last `data`)."""
        if self.event_name:
            self.ctx.emit(f"{self.event_name}{change}", self.kind, id, data)

    # --- operations --------------------------------------------------------------------------
    def list(self, *, query=None, order_by=None, page_index=None, page_size=None, where=None,
             copy: bool = True) -> listing.Page:
        """One page of the kind's documents (as `view` makes them), searched and ordered.

        The stored documents themselves are viewed, filtered and sorted (only read); the page is
        copied, so a list costs O(page) copying, not O(documents stored). `copy=False` returns the
        page uncopied, for a caller that only reads it to build its answer from (the adapters'
        `present`, which makes new objects of everything it returns): it must never change it.
        """
        docs = [self.view(d) for d in self.repo.scan(self.kind)]
        if where is not None:
            docs = [d for d in docs if where(d)]
        found = listing.listing(docs, query=query, fields=self.search_fields, order_by=order_by,
                                page_index=page_index, page_size=page_size)
        return found.of(copy_stored(found)) if copy else found

    def load(self, id: int, *, copy: bool = True) -> dict:
        """The stored document, or NotFound; with `copy=False` the stored document itself, to read
        only (`TenantStore.peek`)."""
        doc = self.repo.get(self.kind, id) if copy else self.repo.peek(self.kind, id)
        if doc is None:
            raise NotFound(self.label, id)
        return doc

    def get(self, id: int) -> dict:
        return self.view(self.load(id))

    def _writable(self, data: dict, current: dict | None = None) -> dict:
        """The fields of client input a create (`current` None) or an update of `current` may set."""
        fixed = self.read_only if current is None else self._fixed_on_update
        return {k: v for k, v in (data or {}).items() if k not in fixed}

    def create(self, data: dict) -> dict:
        with self.repo.transaction():
            doc = self.prepare(self._writable(data), None)
            doc = self.repo.insert(self.kind, doc)
            self.emit("Created", doc["id"])
            self.after_write(doc, None)
        return self.view(doc)

    def update(self, id: int, data: dict) -> dict:
        """`PUT` replaces the whole entity, as live: the document is rebuilt from `data` as a create
        builds it, every writable field the body omits taking its default (null, 0, false, []).
        What a client cannot write is kept: read-only and create-only fields and the sandbox's own
        (`_`-prefixed) ones. The fields that held a value and were reset are named in a warning."""
        with self.repo.transaction():
            current = self.load(id)
            given = self._writable(data, current)
            kept = {k: v for k, v in current.items() if k.startswith("_") or k in self._fixed_on_update}
            doc = self.repo.replace(self.kind, id, self.prepare({**kept, **given}, current))
            self.emit("Updated", id)
            self.after_write(doc, current)
            shown = self.view(doc)
            self._warn_reset(current, given, shown)
        return shown

    @property
    def _fixed_on_update(self) -> tuple[str, ...]:
        return (*self.read_only, *self.create_only)

    def _warn_reset(self, current: dict, given: dict, after: dict) -> None:
        """Warn about the writable fields the body omitted that held a value the `PUT` replaced
        (`after`: the document as the answer shows it)."""
        reset = sorted(k for k, v in self.view(current).items()
                       if not k.startswith("_") and k not in self._fixed_on_update and k not in given
                       and v not in (None, "", [], {}) and after.get(k) != v)
        if reset:
            self.ctx.warn(f"PUT reset omitted fields to their defaults: {', '.join(reset)}")

    def delete(self, id: int) -> dict:
        with self.repo.transaction():
            doc = self.load(id)
            self.before_delete(doc)
            self.repo.delete(self.kind, id)
            gone = self.view(doc)
            self.emit("Deleted", id, gone)
        return gone

    def find(self, **criteria) -> list[dict]:
        """Resources whose fields equal every given criterion (case-insensitive); with none, a 400
        worded as live ("Number or internal ID have to be defined")."""
        wanted = {k: str(v).casefold() for k, v in criteria.items() if v not in (None, "")}
        if not wanted:
            named = " or ".join(CRITERIA.get(field, field) for field in self.find_fields)
            raise InvalidRequest(f"{named[:1].upper()}{named[1:]} have to be defined")
        found = self.repo.select(self.kind, lambda d: all(d.get(k) is not None and str(d[k]).casefold() == v
                                                          for k, v in wanted.items()))
        return [self.view(d) for d in found]

    def resolve(self, given: dict | None) -> int | None:
        """The id of the stored resource a reference names ({id} or {number}); None when none is named."""
        if not given or (given.get("id") is None and not given.get("number")):
            return None
        if given.get("id") is not None:
            if self.repo.get(self.kind, given["id"]) is None:
                raise InvalidRequest(f"{self.noun.The} {given['id']} n'existe pas.")
            return given["id"]
        found = self.find(number=given["number"])
        if not found:
            raise InvalidRequest(f"{self.noun.The} de numéro {given['number']!r} n'existe pas.")
        return found[0]["id"]

    def get_by(self, field: str, value: str) -> dict:
        """The single resource whose `field` equals `value`, or NotFound."""
        found = self.find(**{field: value})
        if not found:
            raise NotFound(self.label, value, field)
        return found[0]

    def next_number(self, prefix: str) -> str:
        """The next number of this kind's gapless per-tenant sequence, e.g. C00042."""
        return f"{prefix}{self.repo.next_number(self.kind):05d}"


class Family(Collection):
    """A kind grouping documents of another kind, which refer to one by `_familyId`
    (`Product.family`, `Customer.family`): a family still in use cannot be deleted (409, as live)."""

    def members(self) -> Collection:
        """The collection of the grouped kind, on this context."""
        raise NotImplementedError

    def before_delete(self, doc: dict) -> None:
        # Nothing is cascaded: the live API refuses, and the client moves the members first.
        if self.repo.find(self.members().kind, _familyId=doc["id"]):
            name = doc.get("label") or doc.get("number") or doc["id"]
            raise Conflict(f"La famille {name} ne peut pas être supprimée car elle a été utilisée.")
