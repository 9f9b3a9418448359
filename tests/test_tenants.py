"""Tenants as a bounded resource, on real servers: open files and loaded tenants bounded, nothing on
disk for a key that only reads, restores that never hand an id out twice, damaged data files that
stop start-up with one line (and `--recover`)."""

from __future__ import annotations

import itertools
import json
import os
import resource
import subprocess
import threading

import httpx
import pytest

from mock_server.store import tenant_dirname

from test_server_process import KEY, client, new_customer, run_threads

pytestmark = pytest.mark.slow


def limit_open_files(server, limit: int) -> None:
    """Lower the server's RLIMIT_NOFILE (as `ulimit -n` would have before it started)."""
    resource.prlimit(server.proc.pid, resource.RLIMIT_NOFILE, (limit, limit))


def open_files(server) -> int:
    return len(os.listdir(f"/proc/{server.proc.pid}/fd"))


def test_600_open_tenants_under_256_descriptors_are_all_answered_and_survive_a_restart(server_factory, tmp_path):
    data = tmp_path / "data"
    args = ("--open-tenants", "--empty", "--max-open-tenants", "32")
    server = server_factory(*args, data_dir=data)
    limit_open_files(server, 256)
    keys = [f"tenant-{n:04d}-key" for n in range(600)]
    writers = set(keys[::3])
    failures: list[str] = []
    health: list[int] = []

    def visit(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as c:
            for key in keys[worker::8]:
                headers = {"X-API-KEY": key}
                response = c.get("/v1/Customers", headers=headers)
                if response.status_code != 200 or response.json() != []:
                    failures.append(f"GET {key}: {response.status_code} {response.text[:200]}")
                if key in writers:
                    response = c.post("/v1/Customers", headers=headers, json=new_customer(key[7:11]))
                    if response.status_code != 200:
                        failures.append(f"POST {key}: {response.status_code} {response.text[:200]}")
                health.append(c.get("/_mock/health").status_code)

    assert not run_threads(visit, 8, timeout=240)
    assert not failures, failures[:5]
    assert set(health) == {200} and len(health) == 600
    assert open_files(server) < 256 - 32  # the journals of at most 32 loaded tenants, not 600
    # A key that only read left nothing on disk.
    assert {p.name for p in data.iterdir() if p.is_dir() and p.name != "files"} == {tenant_dirname(k) for k in writers}

    server.stop()
    server = server_factory(*args, data_dir=data)
    limit_open_files(server, 256)

    def check(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as c:
            for key in keys[worker::8]:
                response = c.get("/v1/Customers", headers={"X-API-KEY": key})
                expected = [f"Atelier {key[7:11]} SARL"] if key in writers else []
                if response.status_code != 200 or [x["companyName"] for x in response.json()] != expected:
                    failures.append(f"after restart, {key}: {response.status_code} {response.text[:200]}")

    assert not run_threads(check, 8, timeout=240)
    assert not failures, failures[:5]
    assert server.proc.poll() is None


@pytest.mark.parametrize("fsync", ["0", "1"], ids=["default", "fsync"])
def test_restores_racing_creates_never_hand_an_id_out_twice(server_factory, fsync):
    server = server_factory(env={"ALTOVIZ_MOCK_FSYNC": fsync})
    with client(server) as c:
        assert c.post("/_mock/snapshots/base").status_code == 201
    acknowledged: list[int] = []
    creators_done = threading.Event()
    restores = itertools.count()
    errors: list[str] = []

    def create(worker: int) -> None:
        with client(server) as c:
            for n in range(60):
                response = c.post("/v1/Customers", json=new_customer(f"R{worker}-{n}"))
                if response.status_code != 200:
                    errors.append(response.text)
                    return
                acknowledged.append(response.json()["id"])

    def restore() -> None:
        with client(server) as c:
            while not creators_done.is_set():
                if c.post("/_mock/snapshots/base/restore").status_code != 200:
                    errors.append("restore failed")
                    return
                next(restores)

    restorer = threading.Thread(target=restore, daemon=True)
    restorer.start()
    try:
        assert not run_threads(create, 4, timeout=120)
    finally:
        creators_done.set()
        restorer.join(timeout=30)
    assert not errors, errors[:3]
    assert next(restores) > 1  # restores did run between the creates
    assert len(acknowledged) == 240
    assert len(set(acknowledged)) == len(acknowledged), "an id was handed out twice"


def damage_last_line(data) -> str:
    journal = data / tenant_dirname(KEY) / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    assert len(lines) >= 3
    journal.write_bytes(b"".join(lines[:-1]) + b'{"Customers": nope}\n')
    return str(journal)


def test_a_damaged_journal_stops_start_up_with_one_line_and_recover_keeps_the_rest(server_factory, tmp_path):
    data = tmp_path / "data"
    server = server_factory(data_dir=data)
    with client(server) as c:
        kept = c.post("/v1/Customers", json=new_customer("KEPT")).json()
        lost = c.post("/v1/Customers", json=new_customer("LOST")).json()
    server.kill()  # no compaction at stop: the writes are in the journal
    journal = damage_last_line(data)

    with pytest.raises(RuntimeError, match="server exited early") as refused:
        server_factory(data_dir=data)
    message = str(refused.value)
    lines = [line for line in message.splitlines()[1:] if line.strip()]
    assert len(lines) == 1, message  # one line, no traceback
    assert journal in lines[0] and "--recover" in lines[0] and "invalid journal line" in lines[0]

    server = server_factory("--recover", data_dir=data)
    assert "dropped it" in server.stderr
    with client(server) as c:
        assert c.get(f"/v1/Customers/{kept['id']}").status_code == 200
        assert c.get(f"/v1/Customers/{lost['id']}").status_code == 404
    server.stop()
    server = server_factory(data_dir=data)  # the data files are whole again
    with client(server) as c:
        assert c.get(f"/v1/Customers/{kept['id']}").status_code == 200


def test_a_missing_journal_after_writes_stops_start_up(server_factory, tmp_path):
    data = tmp_path / "data"
    server = server_factory(data_dir=data)
    with client(server) as c:
        c.post("/v1/Customers", json=new_customer("GONE"))
    server.kill()
    journal = data / tenant_dirname(KEY) / "journal.jsonl"
    assert json.loads((journal.with_name("snapshot.json")).read_bytes())["epoch"] >= 1  # the seed's load
    journal.write_bytes(b"")
    with pytest.raises(RuntimeError, match="missing or empty") as refused:
        server_factory(data_dir=data)
    assert "--recover" in str(refused.value) and "Traceback" not in str(refused.value)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KB tmpfs (the tests run as root; elsewhere this test cannot make a disk fill up)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.fail("filling a disk needs a tmpfs mount: run as root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True, timeout=10)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, timeout=10)


def test_a_full_disk_answers_507_and_loses_no_acknowledged_write(server_factory, tiny_disk):
    data = tiny_disk / "data"
    server = server_factory("--empty", data_dir=data)
    acknowledged, statuses = [], []
    with client(server) as c:
        for n in range(400):
            body = new_customer(f"FULL{n:04d}-" + "x" * 1500)
            response = c.post("/v1/Customers", json=body)
            statuses.append(response.status_code)
            if response.status_code == 200:
                acknowledged.append(response.json()["id"])
            elif response.status_code == 507:
                assert "disk is full" in response.json()["detail"]
                if statuses.count(507) >= 3:
                    break
            else:
                raise AssertionError(f"{response.status_code}: {response.text[:300]}")
        assert statuses.count(507) >= 3 and acknowledged
        assert c.get("/_mock/health").status_code == 200
        listed = [x["id"] for x in c.get("/v1/Customers", params={"PageSize": 1000}).json()]
        assert listed == acknowledged  # what was refused is not there, nothing else is missing
    server.kill()
    server = server_factory("--empty", data_dir=data)
    with client(server) as c:
        assert [x["id"] for x in c.get("/v1/Customers", params={"PageSize": 1000}).json()] == acknowledged
    assert not [p for p in data.rglob("*") if p.name.endswith((".tmp", ".compacting"))]


def test_a_damaged_open_tenant_is_refused_with_503_and_the_others_are_served(server_factory, tmp_path):
    """Open tenants are read from disk at their first use, not at start-up: a damaged one answers
    503 (the log names the file), the server and every other tenant go on."""
    data = tmp_path / "data"
    server = server_factory("--open-tenants", data_dir=data)
    for key in ("damaged-tenant-key", "healthy-tenant-key"):
        with client(server, key) as c:
            for n in range(3):
                assert c.post("/v1/Customers", json=new_customer(f"{key[:4]}{n}")).status_code == 200
    server.kill()
    journal = data / tenant_dirname("damaged-tenant-key") / "journal.jsonl"
    journal.write_bytes(journal.read_bytes().rsplit(b"\n", 2)[0] + b"\n{oops}\n")
    server = server_factory("--open-tenants", data_dir=data)
    with client(server, "damaged-tenant-key") as c:
        refused = c.get("/v1/Customers")
        assert refused.status_code == 503 and "--recover" in refused.text
    with client(server, "healthy-tenant-key") as c:
        assert len(c.get("/v1/Customers").json()) == 3
    with client(server) as c:
        assert c.get("/_mock/health").status_code == 200
    assert str(journal) in server.stderr


def test_temp_files_a_crash_left_are_removed_at_start_and_nothing_else(server_factory, tmp_path):
    """What a `kill -9` mid-write leaves (a snapshot, journal, compaction, request-journal or named
    snapshot not yet renamed into place, an upload not yet named) is gone once the server answers,
    before the tenant is next used; files that are not the sandbox's temp files stay."""
    data = tmp_path / "data"
    key = "crashed-tenant-key"
    server = server_factory("--open-tenants", "--empty", data_dir=data,
                            env={"ALTOVIZ_MOCK_JOURNAL_PERSIST": "1"})
    with client(server, key) as c:
        created = c.post("/v1/Customers", json=new_customer("CRASH")).json()
        assert c.post("/_mock/snapshots/avant").status_code == 201
    server.kill()

    tenant = data / tenant_dirname(key)
    planted = [tenant / "snapshot.json.tmp", tenant / "journal.jsonl.tmp", tenant / "snapshot.json.compacting",
               tenant / "requests.jsonl.tmp", tenant / "snapshots" / "avant.json.tmp",
               data / "files" / ".upload-k9x2"]
    foreign = [data / "notes.tmp", data / "not-a-tenant" / "draft.tmp", tenant / "snapshots" / "avant.json",
               tenant / "journal.jsonl", tenant / "snapshot.json"]
    for path in planted + foreign[:2]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'{"tables": {"Customers": {"1": {"cut sh')

    server = server_factory("--open-tenants", "--empty", data_dir=data, env={"ALTOVIZ_MOCK_JOURNAL_PERSIST": "1"})

    assert [p for p in planted if p.exists()] == []
    assert [p for p in foreign if not p.exists()] == []
    with client(server, key) as c:  # the tenant's data and its named snapshot are intact
        assert c.get(f"/v1/Customers/{created['id']}").json()["companyName"] == "Atelier CRASH SARL"
        assert c.get("/_mock/snapshots").json() == ["avant"]
