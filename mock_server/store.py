"""The tenants' documents: TinyDB in memory, persisted as a snapshot plus an append-only journal.

The only module that knows TinyDB. Everything else talks to `Store` and `TenantStore`.

Each tenant (one API key) has its own directory `<data_dir>/<tenant_dirname(id)>/` holding

- `snapshot.json`: the whole dataset at some point, `{"tenant": id, "epoch": n, "tables": {kind:
  {id: doc}}}`, only ever replaced atomically (temp file, fsync, rename, fsync of the directory);
  a new tenant starts with an empty one, so that the directory always says whose it is
  (`Store.persisted_tenants`);
- `journal.jsonl`: a header line `{"epoch": n}` naming the snapshot it continues, then one line
  per committed change-set, `{kind: {id: doc or null}}`, each written by a single `write(2)`
  on an `O_APPEND` descriptor before the write call returns.

A returned write is in the kernel, so it survives `kill -9` of the server; `fsync=True` also
makes it survive power loss, at the price of a disk flush per write. A journal line cut short
by a crash was never acknowledged and is dropped on open. The journal is folded into a new
snapshot once it holds more records than `max(1000, documents)` (O(1) amortised per write)
and on close. A directory belongs to one process at a time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import orjson
from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document, Table

__all__ = ["CorruptStoreError", "Store", "TenantStore", "tenant_dirname"]

log = logging.getLogger(__name__)

_META = "__meta__"  # table holding the counters, persisted like any kind
_NEXT_IDS = 1  # meta document {kind: next id}
_COUNTERS = 2  # meta document {sequence: last number given}
_MIN_JOURNAL_RECORDS = 1000
_ABSENT = object()  # undo-log marker: the document did not exist


class CorruptStoreError(Exception):
    """A data file that cannot be read back; the message names the file (and line)."""


def tenant_dirname(tenant_id: str) -> str:
    """The directory name of a tenant: a hash, so API keys never appear in paths."""
    return hashlib.sha256(tenant_id.encode("utf-8")).hexdigest()[:32]


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def _dump_bytes(value: Any) -> bytes:
    """UTF-8 JSON of data the store holds (already JSON-clean, see `_copy`), for the snapshots.

    orjson writes a 10,000-invoice snapshot in a sixth of json's time: a compaction holds the
    tenant (and, being CPU work, the whole process) that long (docs/benchmarks.md); json takes
    what orjson refuses (integers beyond 64 bits).
    """
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return _dumps(value).encode("utf-8")


_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def _copy(value: Any) -> Any:
    """A deep copy of JSON data that also rejects anything JSON cannot hold (ValueError for a NaN or
    an infinity, TypeError for a non-JSON type), as `json.dumps(allow_nan=False)` decides.

    orjson first (a tenth of json's encoding time for an invoice): it refuses other types itself,
    and a copy equal to the value proves nothing was changed on the way (orjson writes a NaN or an
    infinity as null, a tuple or a UUID as something else, which compare unequal). Anything else
    goes through json, which decides and words the refusal.
    """
    try:
        copied = orjson.loads(orjson.dumps(value, option=_STRICT))
        if copied == value:
            return copied
    except (TypeError, orjson.JSONEncodeError):
        pass
    text = _dumps(value)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # e.g. a lone surrogate, which json writes and orjson refuses
        return json.loads(text)


def _clone(value: Any) -> Any:
    """A deep copy of data the store holds (already JSON-clean, see `_copy`): orjson's round trip
    is several times faster; json takes what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.loads(orjson.dumps(value))
    except (TypeError, orjson.JSONEncodeError):
        return _copy(value)


def _fsync_dir(path: Path) -> None:
    """Make a rename or creation inside `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_file(path: Path, data: bytes) -> None:
    """Replace `path` so that a crash leaves the old or the new content, never a mix.

    The rename is durable only once the directory is synced (`_fsync_dir`).
    """
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _check_record(record: Any) -> None:
    """Raise ValueError unless `record` is a change-set `{table: {id: doc or None}}`."""
    if not isinstance(record, dict) or not record:
        raise ValueError("not a change-set object")
    for table, docs in record.items():
        if not isinstance(docs, dict) or not all(
                key.isdigit() and (doc is None or isinstance(doc, dict)) for key, doc in docs.items()):
            raise ValueError(f"malformed changes for {table!r}")


def _check_counts(counts: Any, name: str) -> None:
    if not isinstance(counts, dict) or any(type(n) is not int or n < 0 for n in counts.values()):
        raise ValueError(f"{name} must map names to non-negative integers")


def _apply(tables: dict, record: dict) -> None:
    for table, docs in record.items():
        current = tables.setdefault(table, {})
        for key, doc in docs.items():
            if doc is None:
                current.pop(key, None)
            else:
                current[key] = doc


class _Journal:
    """A tenant directory on disk: the snapshot and the journal of change-sets made since."""

    def __init__(self, directory: Path, *, fsync: bool, tenant: str | None = None):
        self.directory = directory
        self.tenant = tenant
        self.snapshot_path = directory / "snapshot.json"
        self.path = directory / "journal.jsonl"
        self.fsync = fsync
        self.epoch = 0
        self.records = 0
        self._fd: int | None = None
        self._size = 0

    def open(self) -> dict[str, dict[str, dict]]:
        """Load the snapshot, replay the journal onto it and get ready to append."""
        if not self.directory.exists():
            self.directory.mkdir(parents=True)
            _fsync_dir(self.directory.parent)
        if self.tenant is not None and not self.snapshot_path.exists():
            # The empty epoch-0 dataset a snapshot-less directory stands for, now naming its tenant.
            replace_file(self.snapshot_path, self._snapshot_bytes(0, {}))
            _fsync_dir(self.directory)
        tables, self.epoch = self._read_snapshot()
        journal_epoch, records, valid_size, size = self._read_journal()
        if journal_epoch is not None and journal_epoch > self.epoch:
            raise CorruptStoreError(f"{self.path}: continues snapshot {journal_epoch} "
                                    f"but {self.snapshot_path} is snapshot {self.epoch}")
        if journal_epoch != self.epoch:
            # No header (new tenant, or only a torn one), or the journal of an older snapshot:
            # a crash hit between writing a snapshot and resetting the journal.
            self._reset()
            return tables
        for record in records:
            _apply(tables, record)
        if valid_size < size:
            os.truncate(self.path, valid_size)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self._size, self.records = valid_size, len(records)
        return tables

    def _read_snapshot(self) -> tuple[dict, int]:
        try:
            snapshot = json.loads(self.snapshot_path.read_bytes())
            tables, epoch = snapshot["tables"], snapshot["epoch"]
            if not isinstance(tables, dict) or not isinstance(epoch, int):
                raise ValueError("missing tables or epoch")
        except FileNotFoundError:
            return {}, 0
        except (ValueError, KeyError, TypeError) as exc:
            raise CorruptStoreError(f"{self.snapshot_path}: unreadable snapshot ({exc})") from None
        return tables, epoch

    def _snapshot_bytes(self, epoch: int, tables: dict) -> bytes:
        head = {"tenant": self.tenant} if self.tenant is not None else {}
        return _dump_bytes({**head, "epoch": epoch, "tables": tables})

    @staticmethod
    def read_tenant(directory: Path) -> str | None:
        """The tenant id a directory's snapshot names (read from its first bytes), or None."""
        prefix = b'{"tenant":'
        try:
            with open(directory / "snapshot.json", "rb") as f:
                head = f.read(4096)
                if not head.startswith(prefix):
                    return None
                try:
                    tenant, _end = json.JSONDecoder().raw_decode(head[len(prefix):].decode("utf-8", "replace"))
                except ValueError:  # an id longer than the head: read it all
                    tenant = json.loads(head + f.read()).get("tenant")
        except (OSError, ValueError, AttributeError):
            return None
        return tenant if isinstance(tenant, str) else None

    def _read_journal(self) -> tuple[int | None, list[dict], int, int]:
        """(header epoch, change-sets, bytes worth keeping, file size); a bad last line is a torn write."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None, [], 0, 0
        *lines, tail = data.split(b"\n")  # a non-empty tail is a line whose write never finished
        epoch, records, valid_size = None, [], 0
        for number, line in enumerate(lines, start=1):
            try:
                value = json.loads(line)
                if number == 1:
                    if not isinstance(value, dict) or set(value) != {"epoch"} or not isinstance(value["epoch"], int):
                        raise ValueError("not a journal header")
                    epoch = value["epoch"]
                else:
                    _check_record(value)
                    records.append(value)
            except ValueError as exc:
                if number == len(lines) and not tail:
                    break
                raise CorruptStoreError(f"{self.path}:{number}: invalid journal line ({exc})") from None
            valid_size += len(line) + 1
        return epoch, records, valid_size, len(data)

    def append(self, record: dict) -> None:
        """Add one change-set; once this returns, the change survives a crash of the process."""
        if self._fd is None:  # a failed compaction left no journal after the current snapshot
            self._reset()
        line = _dump_bytes(record) + b"\n"  # the documents in it are JSON-clean already (see `_copy`)
        try:
            if os.write(self._fd, line) != len(line):
                raise OSError(f"short write to {self.path}")
            if self.fsync:
                os.fsync(self._fd)
        except OSError:
            # Leave no partial or unacknowledged line behind for the next open to replay.
            os.ftruncate(self._fd, self._size)
            raise
        self._size += len(line)
        self.records += 1

    def write_snapshot(self, tables: dict) -> None:
        """Make `tables` the new snapshot and start an empty journal after it."""
        epoch = self.epoch + 1
        replace_file(self.snapshot_path, self._snapshot_bytes(epoch, tables))
        # The old journal no longer applies: stop appending to it until the new one is in place.
        self.close()
        self.epoch = epoch
        # The rename must be durable before the journal is emptied, or a power cut could lose both.
        _fsync_dir(self.directory)
        self._reset()

    def _reset(self) -> None:
        """Start the journal (no descriptor open) over with just a header naming the current snapshot."""
        created = not self.path.exists()
        header = (_dumps({"epoch": self.epoch}) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            # In place rather than renamed (no fsync needed): whatever a crash leaves behind, the
            # old lines, nothing or a torn header, does not continue this snapshot and is dropped.
            os.ftruncate(fd, 0)
            if os.write(fd, header) != len(header):
                raise OSError(f"short write to {self.path}")
            if created:
                _fsync_dir(self.directory)
        except OSError:
            os.close(fd)
            raise
        self._fd, self._size, self.records = fd, len(header), 0

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class _ChangeSet:
    """`_TenantStorage.change_set()`: a class rather than a generator-based context manager, as
    are `_Guard` and `_Transaction` below: every store call enters several (see docs/benchmarks.md)."""

    __slots__ = ("storage", "savepoint")

    def __init__(self, storage: "_TenantStorage"):
        self.storage = storage

    def __enter__(self) -> None:
        self.savepoint = len(self.storage._undo)
        self.storage._depth += 1

    def __exit__(self, exc_type, exc, tb) -> bool:
        storage = self.storage
        try:
            if exc_type is None:
                if storage._depth == 1:
                    storage._commit()
            else:
                storage._rollback(self.savepoint)
        except BaseException:
            storage._rollback(self.savepoint)
            raise
        finally:
            storage._depth -= 1
        return False


class _TenantStorage(Storage):
    """TinyDB storage of one tenant: the tables in memory, with the undo log of the open change-set."""

    def __init__(self, journal: _Journal | None):
        self.journal = journal
        self.tables: dict[str, dict[str, dict]] = journal.open() if journal else {}
        self._undo: list[tuple[str, str, Any]] = []  # (table, id, previous document / its JSON / _ABSENT)
        self._depth = 0

    def read(self) -> dict[str, dict[str, dict]]:
        return self.tables

    def write(self, data: dict) -> None:
        raise NotImplementedError("whole-database writes bypass the journal: use table operations")

    def view(self, table: str) -> _DocumentsView:
        return _DocumentsView(table, self.tables.setdefault(table, {}), self._undo)

    def change_set(self) -> "_ChangeSet":
        """Group the writes inside into one journal line; undo them if the block raises (re-entrant)."""
        return _ChangeSet(self)

    def replace_all(self, tables: dict[str, dict[str, dict]]) -> None:
        """Make `tables` the whole dataset, persisted as a fresh snapshot."""
        if self._depth:
            raise RuntimeError("a dataset cannot be loaded inside a transaction")
        epoch = self.journal.epoch if self.journal else None
        try:
            if self.journal:
                self.journal.write_snapshot(tables)
        finally:
            # Memory follows the disk: once the new snapshot is in place it is the dataset,
            # even if starting its journal failed.
            if not self.journal or self.journal.epoch != epoch:
                self.tables.clear()
                self.tables.update(tables)

    def close(self) -> None:
        if self.journal:
            try:
                if self.journal.records:
                    self.journal.write_snapshot(self.tables)
            finally:
                self.journal.close()

    def _commit(self) -> None:
        if self._undo and self.journal:
            record = self._net_changes()
            if record:
                self.journal.append(record)
                self._compact_if_due()
        self._undo.clear()

    def _net_changes(self) -> dict[str, dict[str, dict | None]]:
        """What the change-set did: {table: {id: document now, or None if gone}}."""
        before: dict[tuple[str, str], Any] = {}
        for table, key, previous in self._undo:
            before.setdefault((table, key), previous)
        record: dict[str, dict[str, dict | None]] = {}
        for (table, key), previous in before.items():
            current = self.tables[table].get(key)
            if previous is _ABSENT and current is None:
                continue
            # A document only read for an update counts as changed if its JSON changed.
            if isinstance(previous, str) and current is not None and _dumps(current) == previous:
                continue
            record.setdefault(table, {})[key] = current
        return record

    def _rollback(self, savepoint: int) -> None:
        while len(self._undo) > savepoint:
            table, key, previous = self._undo.pop()
            docs = self.tables[table]
            if previous is _ABSENT:
                docs.pop(key, None)
            elif isinstance(previous, str):
                docs[key] = json.loads(previous)
            else:
                docs[key] = previous

    def _compact_if_due(self) -> None:
        documents = sum(len(docs) for docs in self.tables.values())
        if self.journal.records <= max(_MIN_JOURNAL_RECORDS, documents):
            return
        try:
            self.journal.write_snapshot(self.tables)
        except OSError:
            # The write itself is journaled and acknowledged; compaction is retried next write.
            log.exception("compacting %s failed", self.journal.directory)


class _DocumentsView(MutableMapping):
    """A table's documents by int id, over the storage's str-keyed dict, logging every change for undo."""

    def __init__(self, table: str, docs: dict[str, dict], undo: list):
        self._table = table
        self._docs = docs
        self._undo = undo

    def __getitem__(self, doc_id: int) -> dict:
        key = str(doc_id)
        doc = self._docs[key]
        # The caller may mutate it in place (Table.update): keep its JSON to undo and to diff.
        self._undo.append((self._table, key, _dumps(doc)))
        return doc

    def __setitem__(self, doc_id: int, doc: Mapping) -> None:
        key = str(doc_id)
        stored = _copy(doc)  # private and JSON-clean, exactly what the journal will hold
        self._undo.append((self._table, key, self._docs.get(key, _ABSENT)))
        self._docs[key] = stored

    def __delitem__(self, doc_id: int) -> None:
        key = str(doc_id)
        self._undo.append((self._table, key, self._docs.pop(key)))

    def pop(self, doc_id: int, *default: Any) -> Any:
        key = str(doc_id)
        if key not in self._docs:
            if default:
                return default[0]
            raise KeyError(doc_id)
        doc = self._docs.pop(key)
        self._undo.append((self._table, key, doc))
        return doc

    def clear(self) -> None:
        self._undo.extend((self._table, key, doc) for key, doc in self._docs.items())
        self._docs.clear()

    def __contains__(self, doc_id: object) -> bool:
        return str(doc_id) in self._docs

    def __iter__(self) -> Iterator[int]:
        return (int(key) for key in self._docs)

    def __len__(self) -> int:
        return len(self._docs)


class _JournaledTable(Table):
    """A TinyDB table whose writes cost O(changed documents) and go through the tenant's journal."""

    def _update_table(self, updater: Callable[[dict[int, Mapping]], None]) -> None:
        # TinyDB's own version rebuilds the whole table dict twice per write; update in place instead.
        try:
            with self.storage.change_set():
                updater(self.storage.view(self.name))
        finally:
            self.clear_cache()

    def replace(self, doc_id: int, document: Mapping) -> None:
        """Replace a whole document (TinyDB's update() only merges fields)."""
        def updater(table: dict[int, Mapping]) -> None:
            if doc_id not in table:
                raise KeyError(f"{self.name} {doc_id}")
            table[doc_id] = document

        self._update_table(updater)


class _Guard:
    """`TenantStore._open()`: holds the store's (re-entrant) lock, refuses a closed store."""

    __slots__ = ("store",)

    def __init__(self, store: "TenantStore"):
        self.store = store

    def __enter__(self) -> None:
        store = self.store
        store._lock.acquire()
        if store._closed:
            store._lock.release()
            raise RuntimeError("the store is closed")

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.store._lock.release()
        return False


class _Transaction:
    """`TenantStore.transaction()`: the lock and a change-set; a rollback drops the indexes (the
    documents were restored behind their back)."""

    __slots__ = ("store", "change_set")

    def __init__(self, store: "TenantStore"):
        self.store = store

    def __enter__(self) -> None:
        store = self.store
        store._guard.__enter__()
        try:
            self.change_set = store._storage.change_set()
            self.change_set.__enter__()
        except BaseException:
            store._guard.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type, exc, tb) -> bool:
        store = self.store
        try:
            self.change_set.__exit__(exc_type, exc, tb)
        except BaseException:
            store._indexes.clear()
            raise
        else:
            if exc_type is not None:
                store._indexes.clear()
        finally:
            store._guard.__exit__(None, None, None)
        return False


class TenantStore:
    """One tenant's dataset: documents per kind with ids of their own, named counters, transactions."""

    def __init__(self, journal: _Journal | None = None):
        self._db = TinyDB(journal, storage=_TenantStorage)
        self._db.table_class = _JournaledTable
        self._storage: _TenantStorage = self._db.storage
        self._lock = threading.RLock()
        self._guard = _Guard(self)
        self._closed = False
        # Secondary indexes, {kind: {key function: {key: {ids}}}}: built on first use by select_by,
        # kept up to date by insert/replace/delete, dropped on a rollback or a load (rebuilt then).
        self._indexes: dict[str, dict[Callable, dict[Any, set[int]]]] = {}

    def transaction(self) -> "_Transaction":
        """All writes inside are committed as one (a single journal line) or, on exception, not at all."""
        return _Transaction(self)

    def insert(self, kind: str, doc: dict) -> dict:
        """Store a new document under the kind's next id (also set as doc["id"]); return a copy."""
        self._check_kind(kind)
        with self.transaction():
            doc_id = self._counter(_NEXT_IDS, kind, start=1)
            table = self._storage.view(kind)
            if doc_id in table:
                raise ValueError(f"{kind}: document {doc_id} already exists")
            table[doc_id] = {**doc, "id": doc_id}
            stored = _clone(self._storage.tables[kind][str(doc_id)])
            self._reindex(kind, doc_id, None, stored)
        doc["id"] = doc_id
        return stored

    def get(self, kind: str, id: int) -> dict | None:
        self._check_kind(kind)
        with self._open():
            doc = self._storage.tables.get(kind, {}).get(str(id))
            return None if doc is None else _clone(doc)

    def replace(self, kind: str, id: int, doc: dict) -> dict:
        """Replace the whole document `id`; KeyError if there is none."""
        self._check_kind(kind)
        with self.transaction():
            table = self._storage.view(kind)
            if id not in table:
                raise KeyError(f"{kind} {id}")
            before = self._storage.tables[kind][str(id)]
            table[id] = {**doc, "id": id}
            stored = _clone(self._storage.tables[kind][str(id)])
            self._reindex(kind, id, before, stored)
            return stored

    def delete(self, kind: str, id: int) -> bool:
        with self.transaction():
            before = self._storage.tables.get(kind, {}).get(str(id))
            removed = bool(self._table(kind).remove(doc_ids=[id]))
            if removed:
                self._reindex(kind, id, before, None)
            return removed

    def all(self, kind: str) -> list[dict]:
        with self._open():
            return self._sorted_copies(self._table(kind).all())

    def find(self, kind: str, **equals: Any) -> list[dict]:
        """Documents whose top-level fields equal every given value, by ascending id."""
        items = equals.items()
        return self.select(kind, lambda doc: all(key in doc and doc[key] == value for key, value in items))

    def scan(self, kind: str) -> list[dict]:
        """The stored documents themselves, by ascending id: NOT copies. Read them, never change
        them (nor keep them past the request): a list answer copies only the page it returns,
        where `all()` copies every document (see docs/benchmarks.md)."""
        self._check_kind(kind)
        with self._open():
            docs = self._storage.tables.get(kind, {})
            return [docs[key] for key in sorted(docs, key=int)]

    def select(self, kind: str, predicate: Callable[[dict], bool]) -> list[dict]:
        """Copies of the documents `predicate` accepts, by ascending id.

        `predicate` sees the stored documents themselves (it must not change them): a scan copies
        only what it keeps, where `all()` copies every document (see docs/benchmarks.md).
        """
        self._check_kind(kind)
        with self._open():
            docs = self._storage.tables.get(kind, {})
            return self._sorted_copies([Document(doc, int(key)) for key, doc in docs.items() if predicate(doc)])

    def select_by(self, kind: str, key: Callable[[dict], Any], values) -> list[dict]:
        """Copies of the documents whose `key(doc)` is one of `values`, by ascending id.

        What `select(kind, lambda doc: key(doc) in values)` gives, without reading every document:
        an index of the kind by `key` (a module-level function of the stored document, None for
        documents it does not index) is built on first use and kept up to date by every write.
        """
        self._check_kind(kind)
        with self._open():
            index = self._indexes.setdefault(kind, {}).get(key)
            if index is None:
                index = self._indexes[kind][key] = {}
                for doc_id, doc in self._storage.tables.get(kind, {}).items():
                    value = key(doc)
                    if value is not None:
                        index.setdefault(value, set()).add(int(doc_id))
            ids = sorted(set().union(*(index.get(value, ()) for value in values)))
            docs = self._storage.tables.get(kind, {})
            return _clone([docs[str(doc_id)] for doc_id in ids])

    def _reindex(self, kind: str, doc_id: int, before: dict | None, after: dict | None) -> None:
        for key, index in self._indexes.get(kind, {}).items():
            old = None if before is None else key(before)
            new = None if after is None else key(after)
            if old == new:
                continue
            if old is not None:
                ids = index.get(old)
                if ids is not None:
                    ids.discard(doc_id)
                    if not ids:
                        del index[old]
            if new is not None:
                index.setdefault(new, set()).add(doc_id)

    def count(self, kind: str) -> int:
        with self._open():
            return len(self._table(kind))

    def next_number(self, sequence: str) -> int:
        """The next value (1, 2, 3 ...) of a gapless counter; rolled back with the transaction."""
        with self.transaction():
            return self._counter(_COUNTERS, sequence, start=0) + 1

    def load(self, data: dict[str, list[dict]], *, counters: dict[str, int] | None = None,
             next_ids: dict[str, int] | None = None) -> None:
        """Replace the whole dataset, persisted as a fresh snapshot (reset, seed, restore).

        Documents keep their "id"; those without one are numbered after the kind's highest.
        Each kind's next id is past its highest id, and at least `next_ids[kind]` (what dump()
        gives, so a restore never hands out an id again). `counters` replaces the named counters.
        """
        data, counters, next_ids = _copy(data), _copy(counters or {}), _copy(next_ids or {})
        _check_counts(counters, "counters")
        _check_counts(next_ids, "next_ids")
        tables: dict[str, dict[str, dict]] = {}
        for kind, docs in data.items():
            self._check_kind(kind)
            if not isinstance(docs, list) or not all(isinstance(doc, dict) for doc in docs):
                raise ValueError(f"{kind}: expected a list of documents")
            given = [doc["id"] for doc in docs if "id" in doc]
            if any(type(doc_id) is not int or doc_id < 1 for doc_id in given):
                raise ValueError(f"{kind}: ids must be positive integers")
            next_id = max(given, default=0) + 1
            table = tables[kind] = {}
            for doc in docs:
                if "id" not in doc:
                    doc["id"], next_id = next_id, next_id + 1
                if str(doc["id"]) in table:
                    raise ValueError(f"{kind}: duplicate id {doc['id']}")
                table[str(doc["id"])] = doc
            next_ids[kind] = max(next_ids.get(kind, 1), next_id)
        meta = {str(_NEXT_IDS): {kind: n for kind, n in next_ids.items() if n > 1},
                str(_COUNTERS): counters}
        tables[_META] = {key: value for key, value in meta.items() if value}
        with self._open():
            self._indexes.clear()
            self._storage.replace_all(tables)

    def dump(self) -> dict:
        """The whole dataset as load() takes it back: {"data", "counters", "next_ids"}."""
        with self._open():
            data = {kind: self._sorted_copies(self._table(kind).all())
                    for kind in sorted(self._db.tables()) if kind != _META}
            return {"data": data, "counters": self._meta(_COUNTERS), "next_ids": self._meta(_NEXT_IDS)}

    def is_empty(self) -> bool:
        """True for a tenant that holds nothing and never did (so it may be seeded)."""
        with self._open():
            return not any(self._storage.tables.values())

    def close(self) -> None:
        """Fold the journal into the snapshot and release the files."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def _open(self) -> "_Guard":
        """The store's lock, held; RuntimeError if the store is closed."""
        return self._guard

    def _table(self, kind: str) -> _JournaledTable:
        self._check_kind(kind)
        # No query cache: a rollback restores documents behind TinyDB's back, and finds are plain scans.
        return self._db.table(kind, cache_size=0)

    def _meta(self, doc_id: int) -> dict[str, int]:
        return _clone(self._storage.tables.get(_META, {}).get(str(doc_id)) or {})

    def _counter(self, doc_id: int, name: str, *, start: int) -> int:
        """The value of a counter in a meta document, which is then incremented."""
        with self._storage.change_set():
            current = self._storage.tables.get(_META, {}).get(str(doc_id)) or {}
            value = current.get(name, start)
            self._storage.view(_META)[doc_id] = {**current, name: value + 1}
        return value

    @staticmethod
    def _check_kind(kind: str) -> None:
        if not isinstance(kind, str) or not kind or kind == _META:
            raise ValueError(f"invalid kind {kind!r}")

    @staticmethod
    def _sorted_copies(docs: list[Document]) -> list[dict]:
        # One round trip for the whole list: much cheaper than one per document.
        return _clone(sorted(docs, key=lambda doc: doc.doc_id))


class Store:
    """Every tenant's dataset, each opened on first use (in memory when there is no data_dir)."""

    def __init__(self, data_dir: str | os.PathLike | None = None, *, fsync: bool = False):
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._fsync = fsync
        self._tenants: dict[str, TenantStore] = {}
        self._lock = threading.Lock()
        self._closed = False
        if self._data_dir is not None:
            self._data_dir.mkdir(parents=True, exist_ok=True)

    def tenant(self, tenant_id: str) -> TenantStore:
        with self._lock:
            if self._closed:
                raise RuntimeError("the store is closed")
            tenant = self._tenants.get(tenant_id)
            if tenant is None:
                journal = None
                if self._data_dir is not None:
                    journal = _Journal(self._data_dir / tenant_dirname(tenant_id), fsync=self._fsync,
                                       tenant=tenant_id)
                tenant = self._tenants[tenant_id] = TenantStore(journal)
            return tenant

    def tenants(self) -> list[str]:
        """The tenant ids opened by this process."""
        with self._lock:
            return list(self._tenants)

    def persisted_tenants(self) -> list[str]:
        """The tenant ids that have data on disk, opened by this process or not ([] in memory)."""
        if self._data_dir is None:
            return []
        found = []
        for directory in sorted(self._data_dir.iterdir()):
            tenant = _Journal.read_tenant(directory) if directory.is_dir() else None
            if tenant is not None and tenant_dirname(tenant) == directory.name:
                found.append(tenant)
        return found

    def close(self) -> None:
        """Compact and close every tenant; the first failure is raised after trying them all."""
        with self._lock:
            self._closed = True
            errors = []
            for tenant in self._tenants.values():
                try:
                    tenant.close()
                except Exception as exc:
                    errors.append(exc)
            if errors:
                raise errors[0]
