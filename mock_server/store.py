"""The tenants' documents: in memory, persisted as a snapshot plus an append-only journal.

The only module that knows TinyDB, used through its public extension point only: `_TenantStorage`
is a `tinydb.storages.Storage` holding the tenant's tables, which `TenantStore` reads and changes
itself (TinyDB's Table layer rebuilds a whole table per write). Everything else talks to `Store`
and `TenantStore`.

Each tenant (one API key) has its own directory `<data_dir>/<tenant_dirname(key)>/`, created by
its first write (a key that only reads leaves nothing on disk), holding

- `snapshot.json`: the whole dataset at some point, `{"tenant": dirname, "epoch": n, "tables":
  {kind: {id: doc}}}`, only ever replaced atomically (temp file, fsync, rename, fsync of the
  directory); it names its tenant by the directory's hash, never by the key itself
  (`Store.persisted_tenants`). A snapshot written by a background compaction also says how much
  of the previous journal it already holds: `"folded": [epoch, records]`;
- `journal.jsonl`: a header line `{"epoch": n}` naming the snapshot it continues, then one line
  per committed change-set, `{kind: {id: doc or null}}`, each written by a single `write(2)`
  on an `O_APPEND` descriptor before the write call returns.

A returned write is in the kernel, so it survives `kill -9` of the server; `fsync=True` also
makes it survive power loss, at the price of a disk flush per write. A journal line cut short
by a crash was never acknowledged and is dropped on open. The journal is folded into a new
snapshot once it holds more records than `max(1000, documents)` (O(1) amortised per write), by
a background thread (never on the request that crosses the threshold), and on close. At most
`max_open` tenants are held open (tables in memory, journal descriptor): the least recently
used idle one is folded and closed, and opened again on its next use. A directory belongs to
one process at a time.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import logging
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
from tinydb import TinyDB
from tinydb.storages import Storage

from .offload import SCAN_ON_LOOP, Busy, SharedLock, off_loop, on_loop

__all__ = ["CorruptStoreError", "Store", "TenantDir", "TenantStore", "remove_temp_files", "tenant_dirname"]

log = logging.getLogger(__name__)

_META = "__meta__"  # table holding the counters, persisted like any kind
_NEXT_IDS = 1  # meta document {kind: next id}
_COUNTERS = 2  # meta document {sequence: last number given}
_MIN_JOURNAL_RECORDS = 1000
_ABSENT = object()  # undo-log marker: the document did not exist


class CorruptStoreError(Exception):
    """A data file that cannot be read back; the message names the file (and line)."""


@functools.lru_cache(maxsize=4096)  # asked on every request: hashed once per key
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


SNAPSHOT_PIECE = 200
"""Documents written by one call of the JSON encoder in a snapshot. A call holds the GIL, so every
tenant's requests wait for it: 200 invoices take well under a millisecond, the whole of a
10,000-invoice snapshot 20 ms and more (docs/benchmarks.md)."""


def _snapshot_pieces(head: dict, tables: dict) -> Iterator[bytes]:
    """`_dump_bytes({**head, "tables": tables})`, in pieces of at most `SNAPSHOT_PIECE` documents,
    other threads (the event loop) let in between two pieces: a compaction writing a big tenant
    in the background never holds the process for long."""
    yield _dump_bytes(head)[:-1] + b',"tables":{'
    for number, (table, docs) in enumerate(tables.items()):
        yield (b"," if number else b"") + _dump_bytes(table) + b":{"
        items = list(docs.items())
        for start in range(0, len(items), SNAPSHOT_PIECE):
            yield (b"," if start else b"") + _dump_bytes(dict(items[start:start + SNAPSHOT_PIECE]))[1:-1]
            time.sleep(0)  # the GIL handed over
        yield b"}"
    yield b"}}"


def _journal_header(epoch: int) -> bytes:
    """The first line of a journal: the epoch of the snapshot it continues."""
    return (_dumps({"epoch": epoch}) + "\n").encode("utf-8")


_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def _copy(value: Any) -> Any:
    """A deep copy of JSON data that also rejects anything JSON cannot hold (ValueError for a NaN or
    an infinity, TypeError for a non-JSON type), as `json.dumps(allow_nan=False)` decides.

    orjson first (a tenth of json's encoding time for an invoice): it refuses other types itself,
    and a copy equal to the value proves nothing was changed on the way (orjson writes a NaN or an
    infinity as null, a tuple or a UUID as something else, which compare unequal). Anything else
    goes through json, which decides and words the refusal.
    """
    return _copies(value, 1)[0]


def _copies(value: Any, count: int) -> list:
    """`count` deep copies of `value`, checked as `_copy` says, decoded from a single encoding (a
    write keeps one and gives the caller another)."""
    try:
        data = orjson.dumps(value, option=_STRICT)
        copied = orjson.loads(data)
        if copied == value:
            return [copied] + [orjson.loads(data) for _ in range(count - 1)]
    except (TypeError, orjson.JSONEncodeError):
        pass
    text = _dumps(value)
    try:
        return [orjson.loads(text) for _ in range(count)]
    except orjson.JSONDecodeError:  # e.g. a lone surrogate, which json writes and orjson refuses
        return [json.loads(text) for _ in range(count)]


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


TEMP_SUFFIXES = (".tmp", ".compacting")
"""How the files written before being renamed into place end (`replace_file`'s, a compaction's):
what a crash or a full disk mid-write leaves behind."""


def _is_tenant_dirname(name: str) -> bool:
    return len(name) == 32 and all(c in "0123456789abcdef" for c in name)


def remove_temp_files(data_dir: Path) -> int:
    """Delete the temp files that writes cut short (`kill -9`, a full disk) left in the tenants'
    directories and their `snapshots/`; how many. Only files named as ours, in directories named as
    tenants' (`tenant_dirname`): nothing else in the data directory is touched."""
    removed = 0
    with os.scandir(data_dir) as tenants:
        directories = [Path(entry.path) for entry in tenants
                       if _is_tenant_dirname(entry.name) and entry.is_dir(follow_symlinks=False)]
    for directory in directories:
        for folder in (directory, directory / "snapshots"):
            try:
                with os.scandir(folder) as entries:
                    leftovers = [entry.path for entry in entries
                                 if entry.name.endswith(TEMP_SUFFIXES) and entry.is_file(follow_symlinks=False)]
            except (FileNotFoundError, NotADirectoryError):
                continue
            for leftover in leftovers:
                os.unlink(leftover)
                removed += 1
    return removed


def replace_file(path: Path, data: bytes | Iterable[bytes], *, rename: bool = True, sync: bool = True) -> None:
    """Replace `path` with `data` (bytes, or pieces of them) so that a crash leaves the old or the
    new content, never a mix (through a temp file beside it; `rename=False` writes `path` itself, a
    temp file the caller renames).

    The rename is durable only once the directory is synced (`_fsync_dir`).
    """
    target = path.with_name(path.name + ".tmp") if rename else path
    try:
        with open(target, "wb") as f:
            if isinstance(data, bytes):
                f.write(data)
            else:
                f.writelines(data)
            f.flush()
            if sync:
                os.fsync(f.fileno())
    except OSError:
        target.unlink(missing_ok=True)  # e.g. a full disk: leave no partial file behind
        raise
    if rename:
        os.replace(target, path)


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


class TenantDir(str):
    """A tenant named by its directory (`tenant_dirname` of its key), as read back from disk, where
    the key itself is never written: `Store.tenant` opens it as it opens the key's tenant."""

    __slots__ = ()


RECOVER_HINT = "start with `altoviz-mock serve --recover` to keep what is readable"


class _Journal:
    """A tenant directory on disk: the snapshot and the journal of change-sets made since.

    Nothing is created before the first write (`append`, `write_snapshot`)."""

    def __init__(self, directory: Path, *, fsync: bool, recover: bool = False):
        self.directory = directory
        self.snapshot_path = directory / "snapshot.json"
        self.path = directory / "journal.jsonl"
        self.fsync = fsync
        self.recover = recover
        self.epoch = 0
        self.records = 0
        self._fd: int | None = None
        self._size = 0
        # The lines appended since a background compaction took its copy of the tables: they go on
        # into the journal that continues its snapshot.
        self._tail: list[bytes] | None = None

    @property
    def tenant(self) -> str:
        """What the snapshot names its tenant by: the directory's name, a hash of the key."""
        return self.directory.name

    def open(self) -> dict[str, dict[str, dict]]:
        """Load the snapshot, replay the journal onto it and get ready to append.

        CorruptStoreError, naming the file and `--recover`, for anything that would lose an
        acknowledged write; with `recover` what is readable is kept and what is dropped logged.
        """
        self.epoch, self.records, self._tail = 0, 0, None
        if not self.directory.exists():
            return {}  # a tenant that never wrote
        # Temp files a crash left here went at start-up (`remove_temp_files`).
        tables, self.epoch, folded = self._read_snapshot()
        if not self.snapshot_path.exists():
            # A directory of an older release: the empty epoch-0 dataset it stands for, named.
            replace_file(self.snapshot_path, self._snapshot(0, {}))
            _fsync_dir(self.directory)
        journal_epoch, records, valid_size, size = self._read_journal()
        if journal_epoch is None and self.epoch > 0:
            # Only a snapshot written after the journal existed has an epoch above 0, and the
            # journal is only ever replaced by a rename: its writes are gone.
            self._damaged(f"{self.path}: missing or empty, but {self.snapshot_path} is snapshot {self.epoch}"
                          " (the writes since are lost)")
        if journal_epoch is not None and journal_epoch > self.epoch:
            self._damaged(f"{self.path}: continues snapshot {journal_epoch} but {self.snapshot_path} "
                          f"is snapshot {self.epoch}")
            journal_epoch = None
        if folded is not None and journal_epoch == folded[0] and len(records) >= folded[1]:
            # A background compaction's snapshot, then a crash before its journal was in place:
            # replay what the snapshot does not hold, and fold it all into a snapshot of its own.
            for record in records[folded[1]:]:
                _apply(tables, record)
            self.write_snapshot(tables)
            return tables
        if journal_epoch != self.epoch:
            # No journal, or the journal of an older snapshot (a crash hit between writing a
            # snapshot and starting its journal): the snapshot holds everything.
            if self.directory.exists() and (self.snapshot_path.exists() or journal_epoch is not None):
                self._write_journal(())
            return tables
        for record in records:
            _apply(tables, record)
        if valid_size < size:
            os.truncate(self.path, valid_size)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self._size, self.records = valid_size, len(records)
        return tables

    def _damaged(self, message: str) -> None:
        if not self.recover:
            raise CorruptStoreError(f"{message}; {RECOVER_HINT}")
        log.warning("--recover: %s; kept what is readable", message)

    @property
    def _compacting_path(self) -> Path:
        return self.snapshot_path.with_name("snapshot.json.compacting")

    def _read_snapshot(self) -> tuple[dict, int, list | None]:
        try:
            snapshot = json.loads(self.snapshot_path.read_bytes())
            tables, epoch, folded = snapshot["tables"], snapshot["epoch"], snapshot.get("folded")
            if not isinstance(tables, dict) or not isinstance(epoch, int):
                raise ValueError("missing tables or epoch")
            if folded is not None and not (isinstance(folded, list) and len(folded) == 2
                                           and all(type(n) is int for n in folded)):
                raise ValueError("malformed folded")
        except FileNotFoundError:
            return {}, 0, None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # A snapshot is only ever replaced by a rename: there is nothing to recover it from.
            raise CorruptStoreError(f"{self.snapshot_path}: unreadable snapshot ({exc}); restore it "
                                    "from a backup or remove its directory") from None
        return tables, epoch, folded

    def _snapshot(self, epoch: int, tables: dict, folded: list | None = None) -> Iterator[bytes]:
        head = {"tenant": self.tenant, "epoch": epoch}
        if folded is not None:
            head["folded"] = folded
        return _snapshot_pieces(head, tables)

    @staticmethod
    def read_tenant(directory: Path) -> str | None:
        """What a directory's snapshot names its tenant by (read from its first bytes), or None."""
        prefix = b'{"tenant":'
        try:
            with open(directory / "snapshot.json", "rb") as f:
                head = f.read(4096)
                if not head.startswith(prefix):
                    return None
                try:
                    tenant, _end = json.JSONDecoder().raw_decode(head[len(prefix):].decode("utf-8", "replace"))
                except ValueError:  # a key (older releases wrote it) longer than the head: read it all
                    tenant = json.loads(head + f.read()).get("tenant")
        except (OSError, ValueError, AttributeError):
            return None
        return tenant if isinstance(tenant, str) else None

    def _read_journal(self) -> tuple[int | None, list[dict], int, int]:
        """(header epoch, change-sets, bytes worth keeping, file size).

        A last line without its newline is a write a crash cut short (never acknowledged): it is
        dropped and said so. A line that is complete but unreadable was acknowledged: an error.
        """
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
                if not self.recover:
                    raise CorruptStoreError(f"{self.path}:{number}: invalid journal line ({exc}); "
                                            f"{RECOVER_HINT}") from None
                log.warning("--recover: %s:%d: invalid journal line (%s): dropped it and the %d after it",
                            self.path, number, exc, len(lines) - number)
                return epoch, records, valid_size, len(data)
            valid_size += len(line) + 1
        if tail:
            log.warning("%s: dropped a last line cut short by a crash (%d bytes, never acknowledged)",
                        self.path, len(tail))
        return epoch, records, valid_size, len(data)

    def append(self, record: dict) -> None:
        """Add one change-set; once this returns, the change survives a crash of the process."""
        if self._fd is None:
            self._write_journal(())  # the tenant's first write, or a failed compaction left none
        line = _dump_bytes(record) + b"\n"  # the documents in it are JSON-clean already (see `_copy`)
        try:
            if os.write(self._fd, line) != len(line):
                raise OSError(errno.ENOSPC, f"short write to {self.path}")
            if self.fsync:
                os.fsync(self._fd)
        except OSError:
            # Leave no partial or unacknowledged line behind for the next open to replay.
            os.ftruncate(self._fd, self._size)
            raise
        self._size += len(line)
        self.records += 1
        if self._tail is not None:
            self._tail.append(line)

    def write_snapshot(self, tables: dict) -> None:
        """Make `tables` the new snapshot and start an empty journal after it (here and now)."""
        self._create()
        epoch = self.epoch + 1
        replace_file(self.snapshot_path, self._snapshot(epoch, tables))
        # The old journal no longer applies: stop appending to it until the new one is in place.
        self.close()
        self.epoch, self._tail = epoch, None
        # The rename must be durable before the journal is replaced, or a power cut could lose both.
        _fsync_dir(self.directory)
        self._write_journal(())

    # --- compaction in the background: capture (locked), write the snapshot and its journal so far
    # (unlocked), install (locked: the lines appended meanwhile, the renames) ------------------------
    def capture(self) -> tuple[int, int]:
        """Start collecting the lines appended from now on; (epoch, records) the copy holds."""
        self._tail = []
        return self.epoch, self.records

    def write_compacted(self, epoch: int, records: int, tables: dict) -> Path:
        """Write the snapshot that folds the first `records` of journal `epoch`, beside the live one."""
        replace_file(self._compacting_path, self._snapshot(epoch + 1, tables, [epoch, records]),
                     rename=False)
        return self._compacting_path

    @property
    def _continuation_path(self) -> Path:
        # Not `_write_journal`'s temp file: that one is written under the lock, this one without.
        return self.path.with_name("journal.jsonl.compacting")

    def write_continuation(self) -> int:
        """Write the journal that will continue a `write_compacted` snapshot: its header and the
        lines appended since `capture` so far, synced, beside the live journal. Called without the
        store's lock (the lines only grow meanwhile, and `install` adds the rest); the count written."""
        lines = list(self._tail or ())
        replace_file(self._continuation_path, _journal_header(self.epoch + 1) + b"".join(lines), rename=False)
        return len(lines)

    def install(self, compacted: Path, continued: int) -> None:
        """Make a `write_compacted` snapshot the current one, continued by its `write_continuation`
        (`continued` lines) and the lines appended since."""
        tail, self._tail = self._tail or [], None
        if len(tail) > continued:
            with open(self._continuation_path, "ab") as f:
                f.write(b"".join(tail[continued:]))
                f.flush()
                os.fsync(f.fileno())
        # A crash between the two renames leaves the new snapshot and the old journal, whose lines
        # past `folded` are replayed on open.
        os.replace(compacted, self.snapshot_path)
        _fsync_dir(self.directory)
        self.close()
        os.replace(self._continuation_path, self.path)
        _fsync_dir(self.directory)
        self.epoch += 1
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self._size, self.records = len(_journal_header(self.epoch)) + sum(map(len, tail)), len(tail)

    def abandon(self, compacted: Path | None) -> None:
        """Forget a compaction that will not be installed (`compacted`: what it wrote, if anything)."""
        self._tail = None
        self.discard(compacted)

    def discard(self, compacted: Path | None) -> None:
        """Remove the files of a compaction that will not be installed (none if `compacted` is None)."""
        if compacted is not None:
            compacted.unlink(missing_ok=True)
            self._continuation_path.unlink(missing_ok=True)

    def _create(self) -> None:
        """The tenant's directory, at its first write: a journal first, so that a snapshot never
        goes without one (`open` tells a lost journal that way), then the epoch-0 snapshot."""
        if self.directory.exists():
            return
        self.directory.mkdir(parents=True)
        _fsync_dir(self.directory.parent)
        self._write_journal(())
        replace_file(self.snapshot_path, self._snapshot(0, {}))
        _fsync_dir(self.directory)

    def _write_journal(self, lines) -> None:
        """Start the journal over with a header naming the current snapshot (and `lines`)."""
        self._create()
        data = _journal_header(self.epoch) + b"".join(lines)
        # Renamed into place, never truncated: a crash leaves the old journal or the new one.
        tmp = self.path.with_name("journal.jsonl.tmp")
        replace_file(tmp, data, rename=False, sync=self.fsync)
        os.replace(tmp, self.path)
        if self.fsync:
            _fsync_dir(self.directory)
        self.close()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self._size, self.records = len(data), len(lines)

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
    """TinyDB storage of one tenant: the tables in memory, with the undo log of the open change-set.

    The tables are written through `view()` and `replace_all()`, never by TinyDB's Table layer
    (`write` refuses): a change costs O(changed documents) and goes through the journal. A
    document is never changed in place once stored (`_DocumentsView` stores copies), so a shallow
    copy of the tables is a consistent picture of them (what a background compaction writes).
    """

    def __init__(self, journal: _Journal | None):
        self.journal = journal
        self.tables: dict[str, dict[str, dict]] = journal.open() if journal else {}
        self._undo: list[tuple[str, str, Any]] = []  # (table, id, previous document or _ABSENT)
        self._depth = 0
        self.version = 0  # bumped by every commit that changed the tables, and by replace_all

    def read(self) -> dict[str, dict[str, dict]]:
        return self.tables

    def write(self, data: dict) -> None:
        raise NotImplementedError("whole-database writes bypass the journal: use TenantStore")

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
            # A tenant that never wrote and stays empty keeps having no directory.
            if self.journal and (self.journal.directory.exists() or any(tables.values())):
                self.journal.write_snapshot(tables)
        finally:
            # Memory follows the disk: once the new snapshot is in place it is the dataset,
            # even if starting its journal failed.
            if not self.journal or self.journal.epoch != epoch or not self.journal.directory.exists():
                self.tables.clear()
                self.tables.update(tables)
            self.version += 1

    def close(self) -> None:
        if self.journal:
            try:
                if self.journal.records:
                    self.journal.write_snapshot(self.tables)
            finally:
                self.journal.close()

    def compaction_due(self) -> bool:
        """True once the journal holds more records than max(1000, documents)."""
        if self.journal is None or self.journal.records <= _MIN_JOURNAL_RECORDS:
            return False
        return self.journal.records > sum(len(docs) for docs in self.tables.values())

    def _commit(self) -> None:
        if self._undo:
            if self.journal:
                record = self._net_changes()
                if record:
                    self.journal.append(record)
            self.version += 1
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
            record.setdefault(table, {})[key] = current
        return record

    def _rollback(self, savepoint: int) -> None:
        while len(self._undo) > savepoint:
            table, key, previous = self._undo.pop()
            docs = self.tables[table]
            if previous is _ABSENT:
                docs.pop(key, None)
            else:
                docs[key] = previous


class _DocumentsView(MutableMapping):
    """A table's documents by int id, over the storage's str-keyed dict, logging every change for undo.

    Reading gives the stored document itself: callers must not change it (they replace it)."""

    def __init__(self, table: str, docs: dict[str, dict], undo: list):
        self._table = table
        self._docs = docs
        self._undo = undo

    def __getitem__(self, doc_id: int) -> dict:
        return self._docs[str(doc_id)]

    def __setitem__(self, doc_id: int, doc: Mapping) -> None:
        self._put(str(doc_id), _copy(doc))  # private and JSON-clean, exactly what the journal will hold

    def store(self, doc_id: int, doc: Mapping) -> dict:
        """`self[doc_id] = doc`, and a copy of what is stored for the caller."""
        stored, copy = _copies(doc, 2)
        self._put(str(doc_id), stored)
        return copy

    def put_counts(self, doc_id: int, counts: dict[str, int]) -> None:
        """Store a meta document the store built itself, names to ints (private and JSON-clean
        already: no copy)."""
        self._put(str(doc_id), counts)

    def _put(self, key: str, stored: dict) -> None:
        self._undo.append((self._table, key, self._docs.get(key, _ABSENT)))
        self._docs[key] = stored

    def __delitem__(self, doc_id: int) -> None:
        key = str(doc_id)
        self._undo.append((self._table, key, self._docs.pop(key)))

    def __contains__(self, doc_id: object) -> bool:
        return str(doc_id) in self._docs

    def __iter__(self) -> Iterator[int]:
        return (int(key) for key in self._docs)

    def __len__(self) -> int:
        return len(self._docs)


class _Guard:
    """`TenantStore._open()`: holds the store's (re-entrant) lock, refuses a closed store, opens
    (loads from disk) a tenant not open yet or closed for being idle."""

    __slots__ = ("store",)

    def __init__(self, store: "TenantStore"):
        self.store = store

    def __enter__(self) -> None:
        store = self.store
        if not on_loop():
            store._lock.acquire()
        elif not store._lock.acquire(blocking=False):
            raise Busy("the tenant's store is busy", store._lock)  # awaited on the loop (offload.run)
        try:
            if store._closed:
                raise RuntimeError("the store is closed")
            if store._storage is None:
                off_loop("the tenant is not in memory")
                store._load()
        except BaseException:
            store._lock.release()
            raise
        store._users += 1

    def __exit__(self, exc_type, exc, tb) -> bool:
        store = self.store
        store._users -= 1
        if not store._users and store._compaction is None and store._storage.compaction_due():
            store._start_compaction()
        store._lock.release()
        return False


class _Transaction:
    """`TenantStore.transaction()`: the lock and a change-set; a rollback drops the indexes (the
    documents were restored behind their back)."""

    __slots__ = ("store", "change_set")

    def __init__(self, store: "TenantStore"):
        self.store = store

    def __enter__(self) -> None:
        store = self.store
        if store._journal is not None and store._journal.fsync:
            off_loop("the write is synced to disk")
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
    """One tenant's dataset: documents per kind with ids of their own, named counters, transactions.

    On disk, it is loaded on first use and may be closed again while idle (`suspend`), to be
    loaded on its next use; its compactions run on `compactor` (inline without one)."""

    def __init__(self, journal: _Journal | None = None, *, compactor: ThreadPoolExecutor | None = None,
                 on_load: Callable[["TenantStore"], None] | None = None):
        self._journal = journal
        self._compactor = compactor
        self._on_load = on_load
        self._db: TinyDB | None = None
        self._storage: _TenantStorage | None = None
        self._lock = SharedLock()
        self._guard = _Guard(self)
        self._closed = False
        self._users = 0  # guards entered (the lock is re-entrant): never suspended while used
        self._generation = 0  # bumped by load/suspend/close: a compaction started before is void
        self._compaction: Future | None = None
        # `scan_committed`'s answers: {kind: (storage, its version then, documents)}.
        self._committed: dict[str, tuple[Any, int, list[dict]]] = {}
        # Secondary indexes, {kind: {key function: {key: {ids}}}}: built on first use by select_by,
        # kept up to date by insert/replace/delete, dropped on a rollback or a load (rebuilt then).
        self._indexes: dict[str, dict[Callable, dict[Any, set[int]]]] = {}
        if journal is None:
            self._load()

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
            stored = table.store(doc_id, {**doc, "id": doc_id})
            self._reindex(kind, doc_id, None, stored)
        doc["id"] = doc_id
        return stored

    def get(self, kind: str, id: int) -> dict | None:
        self._check_kind(kind)
        with self._open():
            doc = self._storage.tables.get(kind, {}).get(str(id))
            return None if doc is None else _clone(doc)

    def peek(self, kind: str, id: int) -> dict | None:
        """The stored document itself, NOT a copy (None if there is none): as `scan`'s, read it, never
        change it (nor keep it past the request). For a write that builds its new version from it."""
        self._check_kind(kind)
        with self._open():
            return self._storage.tables.get(kind, {}).get(str(id))

    def replace(self, kind: str, id: int, doc: dict) -> dict:
        """Replace the whole document `id`; KeyError if there is none."""
        self._check_kind(kind)
        with self.transaction():
            table = self._storage.view(kind)
            if id not in table:
                raise KeyError(f"{kind} {id}")
            before = table[id]
            stored = table.store(id, {**doc, "id": id})
            self._reindex(kind, id, before, stored)
            return stored

    def delete(self, kind: str, id: int) -> bool:
        self._check_kind(kind)
        with self.transaction():
            table = self._storage.view(kind)
            if id not in table:
                return False
            before = table[id]
            del table[id]
            self._reindex(kind, id, before, None)
            return True

    def all(self, kind: str) -> list[dict]:
        return _clone(self.scan(kind))

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
            if len(docs) > SCAN_ON_LOOP:
                off_loop("the read goes through many documents")
            return [docs[key] for key in sorted(docs, key=int)]

    def scan_committed(self, kind: str) -> list[dict]:
        """`scan(kind)`, kept until the tenant's next commit that changes anything (or load): while
        no transaction is in progress, a kind that rarely changes is read without taking the
        store's lock (the request journal's clock read, once the answer is sent). During a
        transaction it is `scan`: the writer's own thread sees its changes, another thread waits
        for the lock as `scan` does."""
        storage, kept = self._storage, self._committed.get(kind)
        if kept is not None and storage is not None and not storage._depth and kept[0] is storage \
                and kept[1] == storage.version and not self._closed:
            return list(kept[2])  # the documents themselves, as `scan` gives them, in a list of the caller's
        with self._open():
            storage = self._storage
            docs = self.scan(kind)
            if not storage._depth:  # not inside a transaction of this thread's, whose writes may roll back
                self._committed[kind] = (storage, storage.version, docs)
            return docs

    def select(self, kind: str, predicate: Callable[[dict], bool]) -> list[dict]:
        """Copies of the documents `predicate` accepts, by ascending id.

        `predicate` sees the stored documents themselves (it must not change them): a scan copies
        only what it keeps, where `all()` copies every document (see docs/benchmarks.md).
        """
        return _clone([doc for doc in self.scan(kind) if predicate(doc)])

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
                if len(self._storage.tables.get(kind, {})) > SCAN_ON_LOOP:
                    off_loop("the index is built from many documents")
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
        self._check_kind(kind)
        with self._open():
            return len(self._storage.tables.get(kind, {}))

    def next_number(self, sequence: str) -> int:
        """The next value (1, 2, 3 ...) of a gapless counter; rolled back with the transaction."""
        with self.transaction():
            return self._counter(_COUNTERS, sequence, start=0) + 1

    def load(self, data: dict[str, list[dict]], *, counters: dict[str, int] | None = None,
             next_ids: dict[str, int] | None = None, keep_next_ids: bool = False) -> None:
        """Replace the whole dataset, persisted as a fresh snapshot (reset, seed, restore).

        Documents keep their "id"; those without one are numbered after the kind's highest.
        Each kind's next id is past its highest id, and at least `next_ids[kind]` (what dump()
        gives) and, with `keep_next_ids`, at least the current one, read under the same lock (a
        restore: ids handed out since the dump, even by a write racing the restore, are never
        handed out again). `counters` replaces the named counters.
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
        with self._open():
            if keep_next_ids:
                for kind, current in self._meta(_NEXT_IDS).items():
                    next_ids[kind] = max(next_ids.get(kind, 1), current)
            meta = {str(_NEXT_IDS): {kind: n for kind, n in next_ids.items() if n > 1},
                    str(_COUNTERS): counters}
            tables[_META] = {key: value for key, value in meta.items() if value}
            self._indexes.clear()
            self._generation += 1
            self._storage.replace_all(tables)

    def dump(self) -> dict:
        """The whole dataset as load() takes it back: {"data", "counters", "next_ids"}."""
        with self._open():
            data = {kind: _clone(self.scan(kind)) for kind in sorted(self._db.tables()) if kind != _META}
            return {"data": data, "counters": self._meta(_COUNTERS), "next_ids": self._meta(_NEXT_IDS)}

    def is_empty(self) -> bool:
        """True for a tenant that holds nothing and never did (so it may be seeded)."""
        with self._open():
            return not any(self._storage.tables.values())

    def close(self) -> None:
        """Fold the journal into the snapshot and release the files."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._generation += 1
            pending = self._compaction
        if pending is not None:
            pending.result()  # never raises (`_compact` logs); it needs the lock, not held here
        with self._lock:
            self._unload()

    def suspend(self) -> bool:
        """Fold and close an idle tenant (its memory and descriptor released) unless it is in use
        or busy; it is loaded again on its next use. Never waits: True if done."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            if self._users or self._closed or self._storage is None or self._journal is None:
                return False
            self._generation += 1
            self._unload()
            return True
        finally:
            self._lock.release()

    @property
    def loaded(self) -> bool:
        return self._storage is not None

    def wait_for_compaction(self, timeout: float = 30.0) -> None:
        """Return once no compaction of this tenant is running (tests, benchmarks)."""
        with self._lock:
            pending = self._compaction
        if pending is not None:
            pending.result(timeout)

    def _load(self) -> None:
        self._db = TinyDB(self._journal, storage=_TenantStorage)
        self._storage = self._db.storage
        self._indexes.clear()
        if self._on_load is not None:
            self._on_load(self)

    def _unload(self) -> None:
        db, self._db, self._storage = self._db, None, None
        self._indexes.clear()
        self._committed.clear()  # it holds the storage: an idle tenant's tables are released
        if db is not None:
            db.close()

    def _start_compaction(self) -> None:
        """Fold the journal into a new snapshot, in the background (the lock is held)."""
        journal, tables = self._journal, self._storage.tables
        if self._compactor is None:
            try:
                journal.write_snapshot(tables)
            except OSError:
                log.exception("compacting %s failed", journal.directory)
            return
        # Documents are never changed in place: copying the dicts is copying the dataset.
        copy = {table: dict(docs) for table, docs in tables.items()}
        epoch, records = journal.capture()
        self._compaction = self._compactor.submit(self._compact, self._generation, epoch, records, copy)

    def _compact(self, generation: int, epoch: int, records: int, tables: dict) -> None:
        journal, written = self._journal, None
        try:
            # The long parts, unlocked: the snapshot, then its journal so far. Under the lock, only
            # the lines appended meanwhile and the renames: the tenant's requests wait on it.
            written = journal.write_compacted(epoch, records, tables)
            continued = journal.write_continuation()
            with self._lock:
                if generation == self._generation and journal.epoch == epoch:
                    journal.install(written, continued)
                    written = None
        except OSError:
            # The writes are in the journal, acknowledged; compaction is tried again later.
            log.exception("compacting %s failed", journal.directory)
        finally:
            with self._lock:
                if generation == self._generation:
                    journal.abandon(written)  # no-op once installed
                else:
                    journal.discard(written)
                self._compaction = None

    def _open(self) -> "_Guard":
        """The store's lock, held, the tenant loaded; RuntimeError if the store is closed."""
        return self._guard

    def _meta(self, doc_id: int) -> dict[str, int]:
        return _clone(self._storage.tables.get(_META, {}).get(str(doc_id)) or {})

    def _counter(self, doc_id: int, name: str, *, start: int) -> int:
        """The value of a counter in a meta document, which is then incremented."""
        with self._storage.change_set():
            current = self._storage.tables.get(_META, {}).get(str(doc_id)) or {}
            value = current.get(name, start)
            self._storage.view(_META).put_counts(doc_id, {**current, name: value + 1})
        return value

    @staticmethod
    def _check_kind(kind: str) -> None:
        if not isinstance(kind, str) or not kind or kind == _META:
            raise ValueError(f"invalid kind {kind!r}")


class Store:
    """Every tenant's dataset, each opened on first use (in memory when there is no data_dir).

    On disk, at most `max_open` tenants are loaded at a time: opening one more closes the least
    recently used idle one (`TenantStore.suspend`), which is loaded again on its next use. A
    tenant object lives as long as somebody holds it or it is loaded, so one directory never has
    two of them. Compactions run on one background thread, one at a time.
    """

    def __init__(self, data_dir: str | os.PathLike | None = None, *, fsync: bool = False,
                 max_open: int = 256, recover: bool = False):
        if max_open < 1:
            raise ValueError("max_open must be at least 1")
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._fsync = fsync
        self._recover = recover
        self.max_open = max_open
        self._tenants: weakref.WeakValueDictionary[str, TenantStore] = weakref.WeakValueDictionary()
        self._memory: dict[str, TenantStore] = {}  # without a data dir, tenants are never closed
        self._loaded: OrderedDict[str, TenantStore] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()
        self._closed = False
        self._compactor: ThreadPoolExecutor | None = None
        if self._data_dir is not None:
            self._data_dir.mkdir(parents=True, exist_ok=True)
            # Before any tenant is opened: no write of this process is under way yet.
            removed = remove_temp_files(self._data_dir)
            if removed:
                log.info("removed %d temp file(s) of writes a crash cut short", removed)
            self._compactor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="compaction")

    def tenant(self, tenant_id: str) -> TenantStore:
        """The tenant of API key `tenant_id` (or, for a `TenantDir`, of that directory)."""
        dirname = tenant_id if isinstance(tenant_id, TenantDir) else tenant_dirname(tenant_id)
        with self._lock:
            if self._closed:
                raise RuntimeError("the store is closed")
            tenant = self._tenants.get(dirname)
            if tenant is None:
                if self._data_dir is None:
                    tenant = self._memory[dirname] = TenantStore()
                else:
                    journal = _Journal(self._data_dir / dirname, fsync=self._fsync, recover=self._recover)
                    tenant = TenantStore(journal, compactor=self._compactor, on_load=self._loaded_now)
                self._tenants[dirname] = tenant
            elif dirname in self._loaded:
                self._loaded.move_to_end(dirname)
            return tenant

    def _loaded_now(self, tenant: TenantStore) -> None:
        """A tenant was loaded (its lock held): count it, close the least recently used idle ones."""
        with self._lock:
            self._loaded[tenant._journal.tenant] = tenant
            self._loaded.move_to_end(tenant._journal.tenant)
            candidates = list(self._loaded.items())[:max(0, len(self._loaded) - self.max_open)]
        for dirname, victim in candidates:
            if victim is not tenant:
                victim.suspend()  # refused while in use: the bound is then passed for a while
                with self._lock:
                    if self._loaded.get(dirname) is victim and not victim.loaded:
                        del self._loaded[dirname]

    def loaded_count(self) -> int:
        """How many tenants are loaded (their data in memory, their journal open)."""
        with self._lock:
            return sum(1 for tenant in self._loaded.values() if tenant.loaded) + len(self._memory)

    def tenants(self) -> list[TenantDir]:
        """The tenants this process has loaded and still holds, by directory name."""
        with self._lock:
            return [TenantDir(name) for name, tenant in self._tenants.items() if tenant.loaded]

    def persisted_tenants(self) -> list[TenantDir]:
        """The tenants with data on disk, opened by this process or not ([] in memory)."""
        if self._data_dir is None:
            return []
        found = []
        for directory in sorted(self._data_dir.iterdir()):
            tenant = _Journal.read_tenant(directory) if directory.is_dir() else None
            # Older releases named the tenant by its key, which hashes to the directory's name.
            if tenant is not None and directory.name in (tenant, tenant_dirname(tenant)):
                found.append(TenantDir(directory.name))
        return found

    def close(self) -> None:
        """Compact and close every tenant; the first failure is raised after trying them all."""
        with self._lock:
            self._closed = True
            tenants = list(self._tenants.values()) + list(self._memory.values())
        errors = []
        for tenant in tenants:
            try:
                tenant.close()
            except Exception as exc:
                errors.append(exc)
        if self._compactor is not None:
            self._compactor.shutdown(wait=True)
        if errors:
            raise errors[0]
