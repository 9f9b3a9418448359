"""The start-up cache (mock_server/startcache.py): an entry is used only under the key it was
stored with, anything else is built again, and what it gives equals what building gives."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

import altoviz_mock_fixtures as fixtures
from mock_server import startcache
from mock_server.contracts import PACKAGED, contract_text, load_contract
from mock_server.sandbox import tenants

ROOT = Path(__file__).resolve().parents[1]


class Builder:
    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


def test_an_entry_is_read_back_under_its_key_only(tmp_path):
    first = Builder({"a": [1, 2], 200: "int keys survive"})
    assert startcache.remembered("thing", "k1", first, write=True, directory=tmp_path) == first.value
    again = Builder({"other": True})
    assert startcache.remembered("thing", "k1", again, write=True, directory=tmp_path) == first.value
    assert again.calls == 0
    # Another key (a changed source, version or argument): built again, and the entry replaced.
    changed = Builder({"b": 3})
    assert startcache.remembered("thing", "k2", changed, write=True, directory=tmp_path) == {"b": 3}
    assert changed.calls == 1
    assert startcache.remembered("thing", "k2", Builder(None), write=True, directory=tmp_path) == {"b": 3}
    assert startcache.remembered("thing", "k1", Builder("k1 again"), write=True, directory=tmp_path) == "k1 again"
    assert [p.name for p in tmp_path.iterdir()] == ["thing.startcache"]  # no leftover written aside


def test_a_corrupt_or_truncated_entry_is_built_again(tmp_path):
    startcache.remembered("thing", "k", Builder(list(range(1000))), write=True, directory=tmp_path)
    entry = tmp_path / "thing.startcache"
    entry.write_bytes(entry.read_bytes()[:100])
    builder = Builder("rebuilt")
    assert startcache.remembered("thing", "k", builder, write=True, directory=tmp_path) == "rebuilt"
    entry.write_bytes(b"not a pickle at all")
    assert startcache.remembered("thing", "k", Builder("again"), write=False, directory=tmp_path) == "again"


def test_nothing_is_written_where_bytecode_would_not_be(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert startcache.remembered("thing", "k", Builder(1), directory=tmp_path) == 1
    assert not list(tmp_path.iterdir())
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert startcache.remembered("thing", "k", Builder(2), directory=tmp_path) == 2
    assert startcache.remembered("thing", "k", Builder(3), directory=tmp_path) == 2


def test_a_directory_that_cannot_be_written_only_costs_the_build(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("a file where the cache directory would be")
    for _ in range(2):
        assert startcache.remembered("thing", "k", Builder("value"), write=True, directory=blocked) == "value"


def test_the_digest_separates_its_parts():
    assert startcache.digest(["ab", "c"]) != startcache.digest(["a", "bc"])
    assert startcache.digest(["x", b"y"]) == startcache.digest([b"x", "y"])


def test_the_contracts_read_as_libyaml_parses_them():
    for name in PACKAGED:
        parsed = yaml.load(contract_text(name), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        first, second = load_contract(name), load_contract(name)
        assert first == parsed == second
        first["paths"].clear()  # each call gives its own copy
        assert load_contract(name) == parsed


def test_the_start_up_data_set_is_the_fixtures_one():
    for seed in (fixtures.DEFAULT_SEED, 7):
        assert tenants.start_dataset(seed) == fixtures.build_dataset(seed)
        assert tenants.start_dataset(seed) == fixtures.build_dataset(seed)


def test_a_start_from_the_cache_does_not_import_faker():
    # The entries a default start reads, written as `make bytecode` writes them.
    subprocess.run([sys.executable, "-m", "mock_server.startcache"], cwd=ROOT, check=True, timeout=120)
    probe = ("import sys; from mock_server.config import DEFAULT_SEED; from mock_server.sandbox import tenants; "
             "data = tenants.start_dataset(DEFAULT_SEED); print(len(data['Customers']), 'faker' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALTOVIZ_MOCK_")}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
                         timeout=120, env=env)
    assert out.stdout.split() == ["30", "False"], out.stdout + out.stderr
