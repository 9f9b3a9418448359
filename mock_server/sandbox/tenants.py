"""API keys, tenants and their initial (seeded) state."""

from __future__ import annotations

import datetime as dt
import json
import threading

import altoviz_mock_fixtures as fixtures

from ..config import Config
from ..domain.catalog import ProductFamilies, Products
from ..domain.collection import Context, utcnow
from ..domain.parties import Contacts, Customers, Suppliers
from ..domain.reference import ReferenceData
from ..store import Store, TenantDir, tenant_dirname
from ..offload import off_loop
from .clock import TenantClock

# Seeded documents carry this instant (e.g. Supplier.createdAt) so that a seed always gives the same data.
SEED_INSTANT = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone.utc)


def reference_data() -> ReferenceData:
    """The reference tables of the fixtures package."""
    return ReferenceData(vats=fixtures.VATS, units=fixtures.UNITS, classifications=fixtures.CLASSIFICATIONS,
                         settings=fixtures.settings(), user=fixtures.current_user(),
                         bank_providers=fixtures.BANK_PROVIDERS)


def seed_documents(seed: int, **sizes: int) -> list[tuple[type, dict]]:
    """The (collection, request body) pairs that seed a tenant, in the order they are created.

    `sizes` are `altoviz_mock_fixtures.build_dataset`'s counts (customers=..., suppliers=...)."""
    data = fixtures.build_dataset(seed, **sizes)
    return [(collection, item) for collection, kind in (
        (ProductFamilies, "ProductFamilies"), (Products, "Products"), (Customers, "Customers"),
        (Suppliers, "Suppliers"), (Contacts, "Contacts")) for item in data[kind]]


def seeded_state(seed: int, reference: ReferenceData, **sizes: int) -> dict:
    """The dump of a tenant seeded with `seed`, built through the domain rules."""
    repo = Store(None).tenant("seed")
    ctx = Context(repo, reference, clock=lambda: SEED_INSTANT)
    for collection, item in seed_documents(seed, **sizes):
        collection(ctx).create(item)
    return repo.dump()


class Tenants:
    """Which API keys are accepted, and what state each tenant starts from (and resets to)."""

    def __init__(self, config: Config, store: Store, reference: ReferenceData):
        self.config = config
        self.store = store
        self.reference = reference
        self._known = set(config.all_api_keys)
        # A tenant read back from disk is named by its directory: the configured keys' ones are theirs.
        self._by_directory = {tenant_dirname(key): key for key in self._known}
        self._lock = threading.Lock()
        self._ready: set[str] = set()
        # The seeded dump, kept as JSON: decoding it is the cheapest way to get fresh, unshared documents.
        self._seeded_json: str | None = None

    def authenticate(self, api_key: str) -> str | None:
        """The tenant id of `api_key`, or None when the key is not accepted (for a `TenantDir`
        read from disk: its configured key, itself under --open-tenants, or None)."""
        if isinstance(api_key, TenantDir):
            return self._by_directory.get(api_key) or (api_key if self.config.open_tenants else None)
        if api_key in self._known:
            return api_key
        if self.config.open_tenants and api_key:
            return api_key
        return None

    def initial_state(self, tenant_id: str) -> dict | None:
        """Seeded data for configured keys (unless --empty); open-tenant keys start empty."""
        if self.config.empty or tenant_id not in self._known:
            return None
        if self._seeded_json is None:
            self._seeded_json = json.dumps(seeded_state(self.config.seed, self.reference))
        return json.loads(self._seeded_json)

    def open(self, tenant_id: str):
        """The tenant's repository, seeded on first use if it has never been written."""
        tenant_id = self._by_directory.get(tenant_id, tenant_id) if isinstance(tenant_id, TenantDir) else tenant_id
        repo = self.store.tenant(tenant_id)
        # Only configured keys are seeded: other keys need no bookkeeping (memory stays bounded
        # however many open-tenant keys come by).
        if tenant_id in self._known and tenant_id not in self._ready:
            off_loop("the tenant is seeded on its first use")
            with self._lock:
                if tenant_id not in self._ready:
                    state = self.initial_state(tenant_id)
                    if state is not None and repo.is_empty():
                        repo.load(**state)
                    self._ready.add(tenant_id)
        return repo

    def context(self, tenant_id: str, real_clock=utcnow) -> Context:
        """The domain context of one tenant for one request, on the tenant's sandbox clock."""
        repo = self.open(tenant_id)
        return Context(repo, self.reference, TenantClock(repo, real=real_clock))

    def reset(self, tenant_id: str) -> None:
        """Put a tenant back to its initial state."""
        self.open(tenant_id).load(**(self.initial_state(tenant_id) or {"data": {}}))

    def warm_up(self) -> None:
        """Seed the configured tenants now, so that the first request is fast."""
        for key in self._known:
            self.open(key)
