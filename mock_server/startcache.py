"""What start-up derives from files that rarely change, kept between starts as Python keeps bytecode.

Two things qualify: the parsed contracts (`contracts.load_contract`: libyaml takes 50-80 ms for
both) and the seed data set of a start-up tenant (`sandbox/tenants.py`: Faker's import and the
draw take 80-130 ms). Each is a pure function of files: the entry is named after what it is
(`openapi.yaml`, `dataset-1`), holds the digest of everything its value depends on, and is used
only when that digest matches. Otherwise the value is built again and, where writing is allowed,
the entry replaced (written aside, then renamed: a reader never sees half an entry). A missing,
stale, unreadable or corrupt entry costs one rebuild, never a wrong value.

Entries live in `mock_server/__pycache__/`, beside the bytecode, and follow its convention: a
run writes them unless `PYTHONDONTWRITEBYTECODE` is set (`sys.dont_write_bytecode`), and
`python -m mock_server.startcache` writes them regardless (the Makefile's `bytecode` step runs
it, as it runs compileall). Values are JSON-like data only (dicts, lists, strings, numbers, dates),
pickled: YAML's integer keys and dates survive, and loading both contracts takes ~2 ms.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

CACHE_DIR = Path(__file__).resolve().parent / "__pycache__"
SUFFIX = ".startcache"


def digest(parts: Iterable[bytes | str]) -> str:
    """The digest of what a value depends on (file contents, versions, arguments), in order."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def remembered(name: str, key: str, build: Callable[[], T], *, write: bool | None = None,
               directory: Path | None = None) -> T:
    """`build()`'s value, read from the entry `name` when it was stored under `key`, else built
    (and stored, when `write`, which defaults to Python's own rule for bytecode)."""
    path = (directory or CACHE_DIR) / f"{name}{SUFFIX}"
    try:
        stored_key, value = pickle.loads(path.read_bytes())
        if stored_key == key:
            return value
    except Exception:  # noqa: BLE001 - missing, unreadable, corrupt or foreign: build it again
        pass
    value = build()
    if write is None:
        write = not sys.dont_write_bytecode
    if write:
        _store(path, key, value)
    return value


def _store(path: Path, key: str, value: object) -> None:
    """Write an entry aside and rename it into place; a read-only install simply keeps none."""
    try:
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            os.fchmod(fd, 0o644)  # readable by whoever may read the bytecode beside it
            with os.fdopen(fd, "wb") as out:
                pickle.dump((key, value), out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def main() -> int:
    """Write the entries a default start reads (`make bytecode`)."""
    from . import contracts
    from .config import DEFAULT_SEED
    from .sandbox import tenants

    for name in contracts.PACKAGED:
        contracts.load_contract(name, write=True)
    tenants.start_dataset(DEFAULT_SEED, write=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
