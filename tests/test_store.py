"""The store: CRUD, ids and counters, tenants, transactions, durability, concurrency, TinyDB tables."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from mock_server.store import CorruptStoreError, Store, TenantDir, TenantStore, tenant_dirname

ROOT = Path(__file__).resolve().parents[1]
KEY = "test-api-key"


def open_tenant(data_dir, tenant_id: str = KEY) -> TenantStore:
    """A fresh Store on `data_dir`, as a restarted server would open it."""
    return Store(data_dir).tenant(tenant_id)


def journal_lines(data_dir, tenant_id: str = KEY) -> list[str]:
    return (Path(data_dir) / tenant_dirname(tenant_id) / "journal.jsonl").read_text().splitlines()


@pytest.fixture
def tenant(tmp_path) -> TenantStore:
    store = Store(tmp_path)
    yield store.tenant(KEY)
    store.close()


# --- documents --------------------------------------------------------------------------------

@pytest.mark.parametrize("on_disk", [False, True], ids=["memory", "disk"])
def test_crud_round_trip(tmp_path, on_disk):
    tenant = Store(tmp_path if on_disk else None).tenant(KEY)
    customer = {"name": "Dupont SARL", "address": {"city": "Lyon"}, "tags": ["vip"], "_owner": 7}

    created = tenant.insert("Customers", customer)
    assert created == {**customer, "id": 1}
    assert customer["id"] == 1
    assert tenant.get("Customers", 1) == created

    replaced = tenant.replace("Customers", 1, {"name": "Dupont SA", "id": 99})
    assert replaced == {"name": "Dupont SA", "id": 1}
    assert tenant.get("Customers", 1) == replaced

    tenant.insert("Customers", {"name": "Martin"})
    assert [c["name"] for c in tenant.all("Customers")] == ["Dupont SA", "Martin"]
    assert tenant.find("Customers", name="Martin") == [{"name": "Martin", "id": 2}]
    assert tenant.find("Customers", name="Nobody") == []
    assert tenant.count("Customers") == 2

    assert tenant.delete("Customers", 1) is True
    assert tenant.delete("Customers", 1) is False
    assert tenant.get("Customers", 1) is None
    with pytest.raises(KeyError):
        tenant.replace("Customers", 1, {"name": "ghost"})
    assert tenant.all("Products") == [] and tenant.count("Products") == 0


def test_callers_get_copies_never_live_documents(tenant):
    doc = {"lines": [{"qty": 1}]}
    created = tenant.insert("Invoices", doc)
    doc["lines"].append({"qty": 2})
    created["lines"].append({"qty": 3})
    tenant.get("Invoices", 1)["lines"].clear()
    tenant.all("Invoices")[0]["lines"].clear()
    assert tenant.get("Invoices", 1)["lines"] == [{"qty": 1}]


def test_peek_gives_the_stored_document_itself_and_a_write_from_it_keeps_it(tenant):
    """`peek` is `get` without the copy (for a write that builds its new version from it): the
    same object each time, replaced, never changed, by a write made from a shallow copy of it."""
    tenant.insert("Invoices", {"isDraft": True, "lines": [{"qty": 1}]})
    stored = tenant.peek("Invoices", 1)
    assert stored is tenant.peek("Invoices", 1) and stored == tenant.get("Invoices", 1)
    assert tenant.peek("Invoices", 2) is None and tenant.peek("Nothing", 1) is None
    tenant.replace("Invoices", 1, {**stored, "isDraft": False})
    assert stored == {"id": 1, "isDraft": True, "lines": [{"qty": 1}]}
    assert tenant.get("Invoices", 1) == {"id": 1, "isDraft": False, "lines": [{"qty": 1}]}
    assert tenant.get("Invoices", 1)["lines"] is not stored["lines"]


@pytest.mark.parametrize("on_disk", [False, True], ids=["memory", "disk"])
def test_scan_committed_follows_every_commit_and_load_and_keeps_no_rolled_back_change(tmp_path, on_disk):
    store = Store(tmp_path if on_disk else None)
    tenant = store.tenant(KEY)
    assert tenant.scan_committed("Setting") == []
    tenant.insert("Setting", {"v": 1})
    assert [d["v"] for d in tenant.scan_committed("Setting")] == [1]
    with pytest.raises(ZeroDivisionError):
        with tenant.transaction():
            tenant.replace("Setting", 1, {"v": 2})
            # inside the writer's own transaction: its change, as `scan` gives it, not kept for later
            assert [d["v"] for d in tenant.scan_committed("Setting")] == [2]
            1 / 0
    assert [d["v"] for d in tenant.scan_committed("Setting")] == [1]  # rolled back
    tenant.replace("Setting", 1, {"v": 3})
    assert [d["v"] for d in tenant.scan_committed("Setting")] == [3]
    tenant.load({"Setting": [{"id": 5, "v": 4}]})
    assert [d["v"] for d in tenant.scan_committed("Setting")] == [4]
    tenant.delete("Setting", 5)
    assert tenant.scan_committed("Setting") == []
    store.close()


def test_a_suspended_tenant_keeps_no_committed_scan_of_its_tables(tmp_path):
    """`scan_committed` keeps the tenant's storage beside what it read: suspending the idle tenant
    releases both, as it releases the tables."""
    import gc
    import weakref

    store = Store(tmp_path)
    tenant = store.tenant(KEY)
    tenant.insert("Setting", {"v": 1})
    assert [d["v"] for d in tenant.scan_committed("Setting")] == [1]
    storage = weakref.ref(tenant._storage)
    assert tenant.suspend()
    gc.collect()
    assert storage() is None
    assert [d["v"] for d in tenant.scan_committed("Setting")] == [1]  # loaded again from disk
    store.close()


def test_non_json_documents_are_refused_and_nothing_is_stored(tenant):
    with pytest.raises(TypeError):
        tenant.insert("Invoices", {"when": object()})
    with pytest.raises(ValueError):
        tenant.insert("Invoices", {"total": float("nan")})
    assert tenant.all("Invoices") == [] and tenant.insert("Invoices", {})["id"] == 1


def test_find_matches_every_given_field_in_id_order(tenant):
    for city, vip in [("Lyon", True), ("Paris", True), ("Lyon", False), ("Lyon", True)]:
        tenant.insert("Customers", {"city": city, "vip": vip})
    tenant.replace("Customers", 1, {"city": "Lyon", "vip": True})  # order must not depend on writes
    assert [c["id"] for c in tenant.find("Customers", city="Lyon", vip=True)] == [1, 4]


# --- ids, counters, tenants ----------------------------------------------------------------

def test_ids_are_monotonic_and_never_reused(tmp_path):
    tenant = open_tenant(tmp_path)
    for _ in range(3):
        tenant.insert("Customers", {})
    tenant.delete("Customers", 3)
    assert tenant.insert("Customers", {})["id"] == 4
    tenant.delete("Customers", 4)

    tenant = open_tenant(tmp_path)  # restarted without close
    assert tenant.insert("Customers", {})["id"] == 5
    tenant.delete("Customers", 5)
    open_tenant(tmp_path).close()  # restarted, then compacted on close
    assert open_tenant(tmp_path).insert("Customers", {})["id"] == 6
    assert open_tenant(tmp_path).insert("Contacts", {})["id"] == 1  # each kind has its own ids


def test_next_number_is_gapless_persisted_and_rolled_back(tmp_path):
    tenant = open_tenant(tmp_path)
    assert [tenant.next_number("SaleInvoices") for _ in range(3)] == [1, 2, 3]
    assert tenant.next_number("Quotes") == 1
    with pytest.raises(RuntimeError), tenant.transaction():
        assert tenant.next_number("SaleInvoices") == 4
        raise RuntimeError("finalize failed")
    assert open_tenant(tmp_path).next_number("SaleInvoices") == 4


def test_tenants_are_isolated(tmp_path):
    store = Store(tmp_path)
    alice, bob = store.tenant("key-alice"), store.tenant("key-bob")
    assert store.tenant("key-alice") is alice
    alice.insert("Customers", {"name": "A1"})
    alice.insert("Customers", {"name": "A2"})
    alice.next_number("SaleInvoices")
    assert bob.insert("Customers", {"name": "B1"})["id"] == 1
    assert bob.next_number("SaleInvoices") == 1
    assert [c["name"] for c in bob.all("Customers")] == ["B1"]
    assert sorted(store.tenants()) == sorted([tenant_dirname("key-alice"), tenant_dirname("key-bob")])
    assert not any("key-" in name for name in os.listdir(tmp_path))  # API keys stay out of paths
    store.close()
    assert [c["name"] for c in open_tenant(tmp_path, "key-alice").all("Customers")] == ["A1", "A2"]


def test_is_empty_until_first_write(tenant):
    assert tenant.is_empty()
    tenant.insert("Customers", {})
    tenant.delete("Customers", 1)
    assert not tenant.is_empty()  # ids were handed out: not a pristine tenant


# --- transactions ----------------------------------------------------------------------------

def test_transaction_commits_as_one_journal_line(tmp_path, tenant):
    tenant.insert("Customers", {})  # the tenant's first write creates its directory
    before = len(journal_lines(tmp_path))
    with tenant.transaction():
        invoice = tenant.insert("SaleInvoices", {"number": tenant.next_number("SaleInvoices")})
        with tenant.transaction():  # re-entrant
            tenant.insert("Payments", {"invoiceId": invoice["id"]})
    lines = journal_lines(tmp_path)
    assert len(lines) == before + 1
    assert {"SaleInvoices", "Payments", "__meta__"} == set(json.loads(lines[-1]))


def test_transaction_rolls_everything_back_on_exception(tmp_path, tenant):
    customer = tenant.insert("Customers", {"name": "Kept"})
    before = journal_lines(tmp_path)
    with pytest.raises(ValueError), tenant.transaction():
        tenant.replace("Customers", customer["id"], {"name": "Changed"})
        tenant.insert("Customers", {"name": "New"})
        tenant.delete("Customers", customer["id"])
        raise ValueError("boom")
    assert journal_lines(tmp_path) == before
    assert tenant.all("Customers") == [customer]
    assert tenant.insert("Customers", {})["id"] == 2  # the rolled-back id is free again
    assert open_tenant(tmp_path).all("Customers") == [customer, {"id": 2}]


def test_failed_inner_block_is_undone_but_outer_transaction_goes_on(tenant):
    with tenant.transaction():
        tenant.insert("Customers", {"name": "outer"})
        with pytest.raises(KeyError):
            with tenant.transaction():
                tenant.insert("Customers", {"name": "inner"})
                tenant.replace("Customers", 42, {})
    assert [c["name"] for c in tenant.all("Customers")] == ["outer"]


# --- durability ---------------------------------------------------------------------------------

def test_data_survives_close_and_reopen(tmp_path):
    store = Store(tmp_path)
    tenant = store.tenant(KEY)
    tenant.insert("Customers", {"name": "Dupont", "_link": {"ids": [1, 2]}})
    tenant.next_number("SaleInvoices")
    expected = tenant.dump()
    store.close()
    assert journal_lines(tmp_path) == ['{"epoch":1}']  # folded into the snapshot
    assert open_tenant(tmp_path).dump() == expected
    with pytest.raises(RuntimeError):
        tenant.get("Customers", 1)


def test_acknowledged_writes_survive_a_dropped_store(tmp_path):
    tenant = open_tenant(tmp_path)
    tenant.insert("Customers", {"name": "Dupont"})
    tenant.replace("Customers", 1, {"name": "Dupont SA"})
    tenant.insert("Customers", {"name": "Martin"})
    tenant.delete("Customers", 2)
    expected = tenant.dump()
    del tenant  # no close: as if the process had died
    assert open_tenant(tmp_path).dump() == expected


WRITER = """
import sys
from mock_server.store import Store
tenant = Store(sys.argv[1]).tenant("k")
while True:
    doc = tenant.insert("Invoices", {"lines": [{"label": "x" * 200}]})
    tenant.replace("Invoices", doc["id"], {**doc, "isDraft": False})
    print(doc["id"], flush=True)
"""


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_write(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    acknowledged: list[int] = []
    for target in (1500, 3000):  # two records per document: each run crosses compactions
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, text=True)
        reader = threading.Thread(target=lambda: acknowledged.extend(
            int(line) for line in writer.stdout if line.endswith("\n")))
        reader.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < target and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        writer.kill()  # SIGKILL
        writer.wait(timeout=10)
        reader.join(timeout=10)
        assert len(acknowledged) >= target, "the writer did not get far enough"
    stored = {doc["id"] for doc in open_tenant(tmp_path, "k").find("Invoices", isDraft=False)}
    assert set(acknowledged) <= stored
    assert acknowledged == sorted(acknowledged)


def test_torn_last_line_is_ignored_and_truncated(tmp_path):
    tenant = open_tenant(tmp_path)
    tenant.insert("Customers", {"name": "kept"})
    journal = tmp_path / tenant_dirname(KEY) / "journal.jsonl"
    with open(journal, "ab") as f:
        f.write(b'{"Customers":{"2":{"name":"torn')
    tenant = open_tenant(tmp_path)
    assert [c["name"] for c in tenant.all("Customers")] == ["kept"]
    assert not journal.read_text().endswith("torn")
    tenant.insert("Customers", {"name": "after"})
    assert [c["name"] for c in open_tenant(tmp_path).all("Customers")] == ["kept", "after"]


def test_corrupt_middle_line_is_an_error_naming_file_and_line(tmp_path):
    tenant = open_tenant(tmp_path)
    for name in "abc":
        tenant.insert("Customers", {"name": name})
    journal = tmp_path / tenant_dirname(KEY) / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    lines[2] = "garbage\n"
    journal.write_text("".join(lines))
    with pytest.raises(CorruptStoreError, match=r"journal\.jsonl:3: invalid journal line.*--recover"):
        open_tenant(tmp_path).all("Customers")  # a tenant is read from disk at its first use


def test_compaction_keeps_data_and_shrinks_the_journal(tmp_path):
    tenant = open_tenant(tmp_path)
    for i in range(1000):
        tenant.insert("Customers", {"n": i})
    tenant.replace("Customers", 1, {"n": "first"})
    assert len(journal_lines(tmp_path)) == 1 + 1001  # 1001 documents, counting the counters
    tenant.replace("Customers", 2, {"n": "second"})  # records > max(1000, documents): compact
    tenant.wait_for_compaction()
    assert journal_lines(tmp_path) == ['{"epoch":1}']
    tenant.delete("Customers", 1000)
    reopened = open_tenant(tmp_path)
    assert reopened.count("Customers") == 999
    assert [c["n"] for c in reopened.find("Customers", id=2)] == ["second"]
    assert reopened.insert("Customers", {})["id"] == 1001


def test_a_snapshot_written_in_pieces_is_the_whole_as_one_json_document():
    """Snapshots are encoded a few hundred documents at a time (the GIL handed over between two
    pieces); joined, the pieces are exactly the one document `_dump_bytes` writes."""
    import orjson

    from mock_server.store import SNAPSHOT_PIECE, _dump_bytes, _snapshot_pieces

    head = {"tenant": "team-é", "epoch": 3, "folded": [2, 1500]}
    tables = {"Customers": {str(i): {"id": i, "name": f"Client {i}", "tags": ["a", {"b": None}]}
                            for i in range(1, 2 * SNAPSHOT_PIECE + 2)},
              "Empty": {},
              "Meta": {"1": {"SaleInvoices": 12, "big": 2 ** 70}}}  # orjson refuses 2**70: json writes it
    for case in ({}, {"Empty": {}}, {"Customers": tables["Customers"]}, tables):
        pieces = list(_snapshot_pieces(head, case))
        joined = b"".join(pieces)
        assert json.loads(joined) == {**head, "tables": case}
        if "Meta" not in case:
            assert joined == orjson.dumps({**head, "tables": case}) == _dump_bytes({**head, "tables": case})
    pieces = list(_snapshot_pieces(head, {"Customers": tables["Customers"]}))
    assert [piece.count(b'"name"') for piece in pieces if b'"name"' in piece] == [SNAPSHOT_PIECE, SNAPSHOT_PIECE, 1]


def test_crash_between_snapshot_and_journal_reset_replays_nothing_twice(tmp_path):
    """A journal older than the snapshot (crash mid-compaction or mid-load) is discarded."""
    tenant = open_tenant(tmp_path)
    tenant.insert("Customers", {"name": "old"})
    journal = tmp_path / tenant_dirname(KEY) / "journal.jsonl"
    stale = journal.read_bytes()
    tenant.load({"Customers": [{"name": "new"}]})
    journal.write_bytes(stale)
    assert open_tenant(tmp_path).all("Customers") == [{"name": "new", "id": 1}]


# --- load / dump ---------------------------------------------------------------------------------

def test_load_replaces_everything_and_dump_gives_it_back(tmp_path, tenant):
    tenant.insert("Products", {"name": "gone"})
    tenant.next_number("SaleInvoices")
    tenant.load({"Customers": [{"name": "a", "id": 5}, {"name": "b"}], "Quotes": [{"n": 1}, {"n": 2}]},
                counters={"Quotes": 2})
    assert tenant.all("Products") == []
    assert tenant.all("Customers") == [{"name": "a", "id": 5}, {"name": "b", "id": 6}]
    assert [q["id"] for q in tenant.all("Quotes")] == [1, 2]
    assert tenant.next_number("Quotes") == 3 and tenant.next_number("SaleInvoices") == 1
    assert tenant.insert("Customers", {})["id"] == 7
    assert journal_lines(tmp_path)[0] == '{"epoch":1}'

    snapshot = tenant.dump()
    tenant.delete("Customers", 7)
    tenant.insert("Customers", {})
    tenant.load(**snapshot)
    assert tenant.dump() == snapshot
    assert tenant.insert("Customers", {})["id"] == 8  # a restore never hands out an id again
    assert open_tenant(tmp_path).dump() == tenant.dump()


def test_load_rejects_bad_ids_and_refuses_to_run_in_a_transaction(tenant):
    with pytest.raises(ValueError):
        tenant.load({"Customers": [{"id": 1}, {"id": 1}]})
    with pytest.raises(ValueError):
        tenant.load({"Customers": [{"id": "1"}]})
    with pytest.raises(RuntimeError), tenant.transaction():
        tenant.load({})
    tenant.load({})
    assert tenant.is_empty()


# --- concurrency -------------------------------------------------------------------------------

def run_threads(count: int, target) -> None:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait(timeout=10)
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors and not any(thread.is_alive() for thread in threads)


def test_concurrent_inserts_get_distinct_ids(tmp_path, tenant):
    ids: list[int] = []
    run_threads(50, lambda: ids.extend(tenant.insert("Invoices", {})["id"] for _ in range(20)))
    assert sorted(ids) == list(range(1, 1001))
    tenant.wait_for_compaction()  # (none is due here; as above, never open a second Store during one)
    assert open_tenant(tmp_path).count("Invoices") == 1000


def test_no_lost_update_under_concurrent_read_modify_write(tmp_path, tenant):
    tenant.insert("Counters", {"value": 0})

    def increment():
        for _ in range(20):
            with tenant.transaction():
                doc = tenant.get("Counters", 1)
                doc["value"] += 1
                tenant.replace("Counters", 1, doc)

    run_threads(50, increment)
    assert tenant.get("Counters", 1)["value"] == 1000
    # 1,001 journal records: a compaction is under way. A second Store on the directory removes
    # the temp files it finds (a crash's leftovers, at start-up): not while this one writes them.
    tenant.wait_for_compaction()
    assert open_tenant(tmp_path).get("Counters", 1)["value"] == 1000


# --- which tenants have data on disk ----------------------------------------------------------------

def test_every_tenant_directory_names_its_tenant_by_hash_from_its_first_write(tmp_path):
    """`persisted_tenants` lists tenants the process never saw (e.g. open-tenant keys after a
    restart), also when only a journal was written before a crash; the key is written nowhere."""
    store = Store(tmp_path)
    store.tenant("team-a").insert("Customers", {"name": "a"})  # journal only: no compaction, no close
    long_key = "clé spéciale/ü " + "x" * 5000
    store.tenant(long_key).insert("Customers", {"name": "b"})
    assert store.tenant("reads-only").all("Customers") == []  # a key that only reads leaves nothing
    assert not (tmp_path / tenant_dirname("reads-only")).exists()
    names = [TenantDir(tenant_dirname("team-a")), TenantDir(tenant_dirname(long_key))]
    assert sorted(Store(tmp_path).persisted_tenants()) == sorted(names)  # as a restarted process sees it
    assert Store(tmp_path).tenant(names[0]).all("Customers")[0]["name"] == "a"  # opened by directory
    store.tenant("team-a").load({"Customers": [{"name": "b"}]})  # a new snapshot keeps naming it
    store.close()
    assert sorted(Store(tmp_path).persisted_tenants()) == sorted(names)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"team-a" not in path.read_bytes() and "spéciale".encode() not in path.read_bytes()

    # A directory of an older release (journal, no snapshot) is named when opened, its data intact;
    # so is one whose snapshot names its key in clear.
    (tmp_path / tenant_dirname("team-b")).mkdir()
    (tmp_path / tenant_dirname("team-b") / "journal.jsonl").write_text('{"epoch":0}\n{"Customers":{"1":{"id":1}}}\n')
    assert tenant_dirname("team-b") not in Store(tmp_path).persisted_tenants()
    assert open_tenant(tmp_path, "team-b").all("Customers") == [{"id": 1}]
    assert tenant_dirname("team-b") in Store(tmp_path).persisted_tenants()
    (tmp_path / tenant_dirname("team-d")).mkdir()
    (tmp_path / tenant_dirname("team-d") / "snapshot.json").write_text('{"tenant":"team-d","epoch":0,"tables":{}}')
    names += [TenantDir(tenant_dirname("team-b")), TenantDir(tenant_dirname("team-d"))]

    # Anything else in the data dir is no tenant: stray files, a directory whose snapshot names
    # another tenant than its name says (a copy).
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "files").mkdir()
    copy = tmp_path / tenant_dirname("team-c")
    copy.mkdir()
    (copy / "snapshot.json").write_bytes((tmp_path / tenant_dirname("team-a") / "snapshot.json").read_bytes())
    assert sorted(Store(tmp_path).persisted_tenants()) == sorted(names)
    assert Store(None).persisted_tenants() == []


@pytest.mark.parametrize("bad, error", [
    ({"amount": float("nan")}, ValueError), ({"amount": float("inf")}, ValueError),
    ({"lines": [{"price": float("-inf")}]}, ValueError), ({"date": dt.date(2026, 3, 10)}, TypeError),
    ({"ref": uuid.uuid4()}, TypeError), ({"tags": {"a", "b"}}, TypeError), ({"price": Decimal("1.5")}, TypeError),
])
def test_what_json_cannot_hold_is_refused_and_nothing_is_stored(tenant, bad, error):
    with pytest.raises(error):
        tenant.insert("Customers", {"name": "Atelier", **bad})
    with pytest.raises(error):
        tenant.replace("Customers", tenant.insert("Customers", {"name": "Kept"})["id"], {"name": "X", **bad})
    assert [c["name"] for c in tenant.all("Customers")] == ["Kept"]


def test_stored_documents_are_plain_json(tenant):
    stored = tenant.insert("Customers", {"name": "Atelier", "tags": ("a", "b"), 3: "int key", "big": 2**70,
                                         "lone": "\ud800", "price": 0.1})
    assert stored["tags"] == ["a", "b"] and stored["3"] == "int key" and stored["big"] == 2**70
    assert stored["lone"] == "\ud800" and stored["price"] == 0.1
    assert tenant.get("Customers", stored["id"]) == stored


# --- compaction in the background ---------------------------------------------------------------------

class DeferredCompactor:
    """An executor that runs nothing until told: the test decides when the background fold happens."""

    def __init__(self):
        self.jobs = []

    def submit(self, fn, *args):
        from concurrent.futures import Future
        future = Future()
        self.jobs.append((future, fn, args))
        return future

    def run(self):
        future, fn, args = self.jobs.pop(0)
        future.set_result(fn(*args))


def fill_until_due(tenant) -> None:
    """1000 customers and 2 updates: the journal holds more records than documents, a fold is due."""
    for i in range(1000):
        tenant.insert("Customers", {"n": i})
    tenant.replace("Customers", 2, {"n": "first update"})
    tenant.replace("Customers", 2, {"n": "second update"})


def deferred_tenant(tmp_path, compactor) -> TenantStore:
    from mock_server.store import _Journal
    return TenantStore(_Journal(tmp_path / tenant_dirname(KEY), fsync=False), compactor=compactor)


def test_the_write_crossing_the_threshold_does_not_fold_and_writes_meanwhile_are_kept(tmp_path):
    compactor = DeferredCompactor()
    tenant = deferred_tenant(tmp_path, compactor)
    fill_until_due(tenant)
    assert len(compactor.jobs) == 1  # due: handed to the background, not done by the write
    assert json.loads(journal_lines(tmp_path)[0]) == {"epoch": 0} and len(journal_lines(tmp_path)) == 1003
    tenant.insert("Customers", {"n": "during"})  # written while the fold is pending
    tenant.replace("Customers", 1, {"n": "changed during"})
    assert len(compactor.jobs) == 1  # one at a time per tenant
    compactor.run()
    assert journal_lines(tmp_path)[0] == '{"epoch":1}' and len(journal_lines(tmp_path)) == 3
    reopened = open_tenant(tmp_path)
    assert reopened.count("Customers") == 1001
    assert reopened.get("Customers", 1)["n"] == "changed during"
    assert reopened.get("Customers", 2)["n"] == "second update"
    assert reopened.get("Customers", 1001)["n"] == "during"
    assert reopened.insert("Customers", {})["id"] == 1002


def test_lines_written_while_the_folds_journal_is_written_unlocked_are_in_it(tmp_path, monkeypatch):
    """The fold writes its journal so far without the lock; the writes that land meanwhile are
    added under the lock, before that journal replaces the live one."""
    compactor = DeferredCompactor()
    tenant = deferred_tenant(tmp_path, compactor)
    fill_until_due(tenant)
    tenant.insert("Customers", {"n": "before the journal is written"})
    journal = tenant._journal
    write_continuation = journal.write_continuation

    def then_a_write():
        continued = write_continuation()
        tenant.insert("Customers", {"n": "while it is written"})
        tenant.replace("Customers", 1, {"n": "changed while it is written"})
        return continued

    monkeypatch.setattr(journal, "write_continuation", then_a_write)
    compactor.run()
    assert journal_lines(tmp_path)[0] == '{"epoch":1}' and len(journal_lines(tmp_path)) == 4
    assert not (tmp_path / tenant_dirname(KEY) / "journal.jsonl.tmp").exists()
    tenant.insert("Customers", {"n": "after the fold"})  # appended at the right offset
    reopened = open_tenant(tmp_path)
    assert [c["n"] for c in reopened.all("Customers")][-3:] == [
        "before the journal is written", "while it is written", "after the fold"]
    assert reopened.get("Customers", 1)["n"] == "changed while it is written"
    assert reopened.count("Customers") == 1003


def test_a_reset_while_the_fold_writes_its_journal_unlocked_keeps_the_reset(tmp_path, monkeypatch):
    """The fold writes its journal without the lock, so while a reset (which holds it) starts a
    journal of its own: the two never share a file."""
    compactor = DeferredCompactor()
    tenant = deferred_tenant(tmp_path, compactor)
    fill_until_due(tenant)
    journal = tenant._journal
    replace, armed = os.replace, [True]

    def fold_writes_its_journal_first(source, target):
        if armed and Path(target) == journal.path:  # the reset's journal, about to go into place
            armed.clear()
            journal.write_continuation()
        return replace(source, target)

    monkeypatch.setattr(os, "replace", fold_writes_its_journal_first)
    tenant.load({"Customers": [{"name": "after the reset"}]})
    assert not armed
    monkeypatch.setattr(os, "replace", replace)
    compactor.run()
    assert [c.get("name") for c in open_tenant(tmp_path).all("Customers")] == ["after the reset"]
    assert not list((tmp_path / tenant_dirname(KEY)).glob("*.compacting"))


def test_a_crash_between_the_new_snapshot_and_its_journal_replays_the_lines_written_meanwhile(tmp_path):
    compactor = DeferredCompactor()
    tenant = deferred_tenant(tmp_path, compactor)
    fill_until_due(tenant)
    tenant.insert("Customers", {"n": "after the copy"})
    _future, _fn, (generation, epoch, records, tables) = compactor.jobs[0]
    journal = tenant._journal
    os.replace(journal.write_compacted(epoch, records, tables), journal.snapshot_path)  # then: kill -9
    assert json.loads(journal.snapshot_path.read_bytes())["folded"] == [0, 1002]
    reopened = open_tenant(tmp_path)
    assert reopened.count("Customers") == 1001
    assert reopened.get("Customers", 1001)["n"] == "after the copy"
    assert reopened.get("Customers", 2)["n"] == "second update"


def test_a_reset_while_a_fold_is_pending_makes_the_fold_void(tmp_path):
    compactor = DeferredCompactor()
    tenant = deferred_tenant(tmp_path, compactor)
    fill_until_due(tenant)
    assert len(compactor.jobs) == 1
    tenant.load({"Customers": [{"name": "after the reset"}]})
    compactor.run()
    assert [c.get("name") for c in open_tenant(tmp_path).all("Customers")] == ["after the reset"]
    assert not list((tmp_path / tenant_dirname(KEY)).glob("*.compacting"))


def test_idle_tenants_are_closed_beyond_max_open_and_reopened_on_use(tmp_path):
    store = Store(tmp_path, max_open=3)
    for n in range(10):
        store.tenant(f"key-{n}").insert("Customers", {"n": n})
    assert store.loaded_count() <= 3
    assert [store.tenant(f"key-{n}").all("Customers")[0]["n"] for n in range(10)] == list(range(10))
    assert store.loaded_count() <= 3
    descriptors = len(os.listdir("/proc/self/fd"))
    for n in range(10, 40):
        store.tenant(f"key-{n}").insert("Customers", {"n": n})
    assert len(os.listdir("/proc/self/fd")) <= descriptors + 1  # bounded, not one more per tenant
    store.close()
    assert Store(tmp_path).tenant("key-39").all("Customers")[0]["n"] == 39
