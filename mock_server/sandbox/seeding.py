"""`POST /_mock/seed`: reseed the calling tenant with a fixture data set of a chosen seed and size.

`{"seed": 7, "size": 300}` replaces everything the tenant holds (documents, clock, outbox, webhooks,
as a reset does) with the data set `altoviz_mock_fixtures.build_dataset` makes for that seed, scaled to `size`
customers. Built data sets are kept per (seed, size), so seeding again costs a copy (~ms).

Large sizes take seconds to create through the domain rules; a client that wants to show progress
sends steps instead: `{"seed": 7, "size": 300, "start": 0, "count": 100}` empties the tenant and
creates the first 100 documents of the set, `start: 100` the next ones, and so on; each answer says
`done` and `total`. Steps give the same tenant as one call. Seeding emits no webhook events.
"""

from __future__ import annotations

import collections
import json
import threading

from ..api._http import services as current_services
from ..config import DEFAULT_SEED_SIZE
from ..domain.collection import Context
from .controls import ControlError, _tenant, _tenants
from .tenants import SEED_INSTANT, seed_documents, seeded_state


def dataset_sizes(size: int) -> dict[str, int]:
    """`build_dataset`'s counts for `size` customers (size 30 is the standard set)."""
    return {"customers": size, "suppliers": round(size / 3), "contacts": round(size * 2 / 3),
            "product_families": 5, "products": 25}


class SeedCache:
    """Built data sets per (seed, size): the request bodies (for steps) and the seeded dump (JSON)."""

    def __init__(self, keep: int = 4):
        self.keep = keep
        self._lock = threading.Lock()
        self._documents: collections.OrderedDict = collections.OrderedDict()
        self._states: collections.OrderedDict = collections.OrderedDict()

    def _cached(self, table: collections.OrderedDict, key, build):
        with self._lock:
            if key in table:
                table.move_to_end(key)
                return table[key]
            value = table[key] = build()
            while len(table) > self.keep:
                table.popitem(last=False)
            return value

    def documents(self, seed: int, size: int) -> list[tuple[type, str]]:
        """(collection, body as JSON) pairs in creation order: each step decodes fresh bodies."""
        return self._cached(self._documents, (seed, size), lambda: [
            (collection, json.dumps(body)) for collection, body in seed_documents(seed, **dataset_sizes(size))])

    def state(self, seed: int, size: int, reference) -> str:
        """The seeded tenant's dump, as JSON."""
        return self._cached(self._states, (seed, size),
                            lambda: json.dumps(seeded_state(seed, reference, **dataset_sizes(size))))


def _counts(repo) -> dict[str, int]:
    return {kind: len(docs) for kind, docs in repo.dump()["data"].items() if docs}


def seed(body: dict):
    """Reseed the calling tenant: {"seed": 42, "size": 30}, optionally in steps ("start", "count");
    the body (optional: Connexion passes {} without one) as admin.yaml bounds it, validated."""
    services = current_services()
    seed_value = body.get("seed", services.config.seed)
    size = body.get("size", DEFAULT_SEED_SIZE)
    start, count = body.get("start"), body.get("count")
    if (start is None) != (count is None):
        raise ControlError(400, "Bad Request", 'Give both "start" and "count" (a step), or neither')
    tenant = _tenant()
    repo = _tenants().open(tenant)
    cache = services.seeds
    answer = {"seed": seed_value, "size": size}
    if start is None:
        repo.load(**json.loads(cache.state(seed_value, size, services.tenants.reference)))
        return {**answer, "documents": _counts(repo)}

    documents = cache.documents(seed_value, size)
    if start > len(documents):
        raise ControlError(400, "Bad Request", f'"start" is past the {len(documents)} documents of this data set')
    if start == 0:
        repo.load(data={})
    ctx = Context(repo, services.tenants.reference, clock=lambda: SEED_INSTANT)
    for collection, item in documents[start:start + count]:
        collection(ctx).create(json.loads(item))
    done = min(start + count, len(documents))
    answer.update(done=done, total=len(documents))
    if done == len(documents):
        answer["documents"] = _counts(repo)
    return answer
