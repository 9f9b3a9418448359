"""The sandbox as a real process: `altoviz-mock serve` answering over HTTP on loopback.

What a user of the command relies on: what it prints, which keys it accepts, the data it starts
from, that its data survives a graceful stop and a `kill -9`, that concurrent clients lose nothing,
and that its command line fails cleanly. Every server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import mock_server
from mock_server.store import tenant_dirname

KEY = "altoviz-sandbox-key"  # the documented default key, spelled out: the README promises this one
ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
SERVE_FLAGS = ("--host", "--port", "--data", "--in-memory", "--api-key", "--open-tenants", "--empty", "--seed")


def cli() -> list[str]:
    """The installed `altoviz-mock` script next to this interpreter, else the module it runs."""
    script = Path(sys.executable).with_name("altoviz-mock")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mock_server.cli"]


def clean_env() -> dict[str, str]:
    """The environment without the developer's own ALTOVIZ_MOCK_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ALTOVIZ_MOCK_")}


def client(server, key: str | None = KEY) -> httpx.Client:
    """A loopback client (never through an HTTP proxy of the environment) with bounded timeouts."""
    return httpx.Client(base_url=server.url, headers={"X-API-KEY": key} if key else {},
                        timeout=TIMEOUT, trust_env=False)


def all_customers(c: httpx.Client) -> list[dict]:
    """Every customer of the client's tenant, page after page."""
    customers: list[dict] = []
    for page in itertools.count(1):
        response = c.get("/v1/Customers", params={"PageSize": 1000, "PageIndex": page})
        assert response.status_code == 200, response.text
        batch = response.json()
        customers += batch
        if len(batch) < 1000:
            return customers
    raise AssertionError("unreachable")


def new_customer(tag: str) -> dict:
    return {"type": "Business", "companyName": f"Atelier {tag} SARL", "firstName": "Claire", "lastName": "Martin",
            "email": f"{tag.lower()}@atelier-exemple.fr", "internalId": tag,
            "billingAddress": {"street": "12 rue de la République", "zipcode": "69002", "city": "Lyon",
                               "countryIso": "FR"}}


def numbers(n: int) -> list[str]:
    return [f"C{i:05d}" for i in range(1, n + 1)]


def run_threads(target: Callable[[int], None], count: int, timeout: float = 60.0) -> list[str]:
    """Run target(0) ... target(count - 1) in threads; the errors they raised (as text)."""
    errors: list[str] = []

    def guarded(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(f"thread {i}: {exc!r}")

    threads = [threading.Thread(target=guarded, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), f"threads still running after {timeout}s"
    return errors


# --- 1. what `serve` prints, and what it answers ---------------------------------------------------

@pytest.mark.slow
def test_serve_prints_url_and_key_and_answers_seeded_french_customers(server_factory):
    server = server_factory()
    out = server.stdout
    assert f"listening on {server.url} " in out
    printed_keys = re.findall(r"^API key: (\S+)$", out, flags=re.MULTILINE)
    assert printed_keys == [KEY]

    health = httpx.get(f"{server.url}/_mock/health", timeout=TIMEOUT, trust_env=False)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"

    with client(server, None) as anonymous:
        assert anonymous.get("/v1/Customers").status_code == 401
    with client(server, printed_keys[0]) as c:
        response = c.get("/v1/Customers")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    customers = response.json()
    assert len(customers) == 30
    assert [c["number"] for c in customers] == numbers(30)
    assert all(c["name"] and c["name"] != "string" for c in customers)
    french = [c for c in customers if (c.get("billingAddress") or {}).get("countryIso") == "FR"]
    assert len(french) >= 10
    for customer in french:
        address = customer["billingAddress"]
        assert address["countryName"] == "France"
        assert re.fullmatch(r"\d{5}", address["zipcode"]), address
        assert address["street"] and address["city"]
        assert address["inlineAddress"].endswith(f"{address['zipcode']} {address['city']}, France")
    assert any(c["companyInformations"]["siret"] for c in french if c["type"] == "Business")
    assert server.stderr == ""


# --- 2. keys: flags, environment and the default key, each its own tenant ---------------------------

@pytest.mark.slow
def test_keys_from_flags_env_and_default_are_isolated_tenants(server_factory):
    server = server_factory("--api-key", "team-a", "--api-key", "team-b", env={"ALTOVIZ_MOCK_API_KEYS": "team-c"})
    keys = [KEY, "team-a", "team-b", "team-c"]
    printed = re.findall(r"^API key: (\S+)$", server.stdout, flags=re.MULTILINE)
    assert printed[0] == KEY and sorted(printed) == sorted(keys)

    clients = {key: client(server, key) for key in keys}
    try:
        created = {}
        for key, c in clients.items():
            assert [x["number"] for x in c.get("/v1/Customers").json()] == numbers(30), key
            response = c.post("/v1/Customers", json=new_customer(f"ISO-{key}"))
            assert response.status_code == 200, (key, response.text)
            created[key] = response.json()
            # Each tenant numbers its own customers.
            assert (created[key]["id"], created[key]["number"]) == (31, "C00031")
        only_a = clients["team-a"].post("/v1/Customers", json=new_customer("ONLY-A")).json()
        assert only_a["id"] == 32
        for key, c in clients.items():
            assert c.get("/v1/Customers/32").status_code == (200 if key == "team-a" else 404), key
            assert c.get("/v1/Customers/31").json()["internalId"] == f"ISO-{key}"
            assert c.get(f"/v1/Customers/GetByInternalId/ISO-{key}").status_code == 200
            for other in keys:
                if other != key:
                    response = c.get(f"/v1/Customers/GetByInternalId/ISO-{other}")
                    assert response.status_code == 404, (key, other, response.text)
            assert len(all_customers(c)) == (32 if key == "team-a" else 31)
        for key in ("team-z", KEY.upper(), "team-a,team-b"):
            with client(server, key) as stranger:
                assert stranger.get("/v1/Customers").status_code == 401, key
        with client(server, None) as anonymous:
            assert anonymous.get("/v1/Customers").status_code == 401
    finally:
        for c in clients.values():
            c.close()


# --- 3. --open-tenants ------------------------------------------------------------------------------

@pytest.mark.slow
def test_open_tenants_accept_any_key_as_a_fresh_empty_tenant(server_factory):
    server = server_factory("--open-tenants")
    rng = random.Random(3)
    job_a, job_b = (f"ci-job-{rng.randrange(10**9)}" for _ in range(2))
    with client(server, job_a) as a, client(server, job_b) as b, client(server) as default:
        assert a.get("/v1/Customers").json() == []
        assert b.get("/v1/Customers").json() == []
        created = a.post("/v1/Customers", json=new_customer("OPEN-1"))
        assert created.status_code == 200, created.text
        assert created.json()["number"] == "C00001"
        assert [c["internalId"] for c in a.get("/v1/Customers").json()] == ["OPEN-1"]
        assert b.get("/v1/Customers").json() == []
        assert b.get(f"/v1/Customers/{created.json()['id']}").status_code == 404
        seeded = all_customers(default)
        assert [c["number"] for c in seeded] == numbers(30)
        assert "OPEN-1" not in {c["internalId"] for c in seeded}
        with client(server, None) as anonymous:
            assert anonymous.get("/v1/Customers").status_code == 401


# --- 4. --empty, --seed and determinism end to end -----------------------------------------------

@pytest.mark.slow
def test_empty_and_seeds_and_the_same_seed_gives_byte_identical_answers(server_factory):
    empty = server_factory("--empty")
    with client(empty) as c:
        assert c.get("/v1/Customers").json() == []
        assert c.post("/v1/Customers", json=new_customer("EMPTY-1")).json()["number"] == "C00001"
    assert "(empty," in empty.stdout

    # Different hash seeds: the fixtures must not depend on set or dict ordering of one process.
    seven_a = server_factory("--seed", "7", env={"PYTHONHASHSEED": "1"})
    seven_b = server_factory("--seed", "7", env={"PYTHONHASHSEED": "2"})
    default = server_factory(env={"PYTHONHASHSEED": "3"})
    assert "seeded with fixture set 7" in seven_a.stdout
    assert "seeded with fixture set 42" in default.stdout
    bodies = {}
    for name, server in (("seven_a", seven_a), ("seven_b", seven_b), ("default", default)):
        with client(server) as c:
            bodies[name] = {path: c.get(path) for path in ("/v1/Customers", "/v1/Products", "/v1/Suppliers")}
        assert all(r.status_code == 200 for r in bodies[name].values())
    for path, response in bodies["seven_a"].items():
        assert response.content == bodies["seven_b"][path].content, path
    seven = bodies["seven_a"]["/v1/Customers"].json()
    forty_two = bodies["default"]["/v1/Customers"].json()
    assert len(seven) == len(forty_two) == 30
    assert {c["name"] for c in seven} != {c["name"] for c in forty_two}
    assert [c["number"] for c in seven] == numbers(30)


# --- 5. persistence across a graceful stop ---------------------------------------------------------

@pytest.mark.slow
def test_data_survives_a_graceful_stop_and_is_never_reseeded(server_factory, tmp_path):
    data = tmp_path / "data"
    first = server_factory(data_dir=data)
    with client(first) as c:
        created = c.post("/v1/Customers", json=new_customer("PERSIST-1"))
        assert created.status_code == 200, created.text
        assert c.put("/v1/Customers/1", json={"phone": "04 78 00 00 00"}).status_code == 200
        assert c.delete("/v1/Customers/2").status_code == 200
        before = all_customers(c)
    assert len(before) == 30 and "C00002" not in {x["number"] for x in before}

    first.stop(timeout=10)
    assert first.proc.returncode == 0, first.output  # a graceful stop is a clean exit
    assert "Traceback" not in first.stderr
    # A graceful stop closes the store, folding its journal into the snapshot (see store.py).
    journal = data / tenant_dirname(KEY) / "journal.jsonl"
    assert len(journal.read_text().splitlines()) == 1

    second = server_factory(data_dir=data)
    with client(second) as c:
        assert all_customers(c) == before
        assert c.get("/v1/Customers/2").status_code == 404  # the deleted seeded customer stays deleted
        assert c.get("/v1/Customers/1").json()["phone"] == "04 78 00 00 00"
        again = c.post("/v1/Customers", json=new_customer("PERSIST-2")).json()
    assert (again["id"], again["number"]) == (32, "C00032")  # neither ids nor numbers are reused
    second.stop()
    assert second.proc.returncode == 0, second.output

    # Existing data wins over the seed flags too.
    third = server_factory("--seed", "7", data_dir=data)
    with client(third) as c:
        assert all_customers(c) == before + [again]


# --- 6. durability across kill -9 ------------------------------------------------------------------

def check_acknowledged(server, acknowledged: dict[str, tuple[int, str]], rng: random.Random) -> None:
    """Every acknowledged customer is stored as acknowledged; numbers are still gapless."""
    with client(server) as c:
        stored = {x["internalId"]: (x["id"], x["number"]) for x in all_customers(c)}
        missing = {tag: ack for tag, ack in acknowledged.items() if stored.get(tag) != ack}
        assert not missing, f"{len(missing)} acknowledged customers lost or changed, e.g. {list(missing.items())[:3]}"
        assert sorted(number for _, number in stored.values()) == numbers(len(stored))
        for tag in rng.sample(sorted(acknowledged), min(5, len(acknowledged))):
            response = c.get(f"/v1/Customers/GetByInternalId/{tag}")
            assert response.status_code == 200, response.text
            assert (response.json()["id"], response.json()["number"]) == acknowledged[tag]


@pytest.mark.slow
def test_every_acknowledged_create_survives_kill_9(server_factory, tmp_path):
    rng = random.Random(20260105)
    data = tmp_path / "data"
    acknowledged: dict[str, tuple[int, str]] = {}
    for cycle in range(3):
        server = server_factory(data_dir=data)  # also: the data files left by the kill load
        check_acknowledged(server, acknowledged, rng)
        target = rng.randint(300, 450)
        acked: list[tuple[str, int, str]] = []
        errors: list[str] = []

        def write() -> None:
            with client(server) as c:
                for n in itertools.count():
                    tag = f"KILL{cycle}-{n:05d}"
                    try:
                        response = c.post("/v1/Customers", json=new_customer(tag))
                    except httpx.TransportError:
                        return  # the server is gone: this one was never acknowledged
                    if response.status_code != 200:
                        errors.append(response.text)
                        return
                    acked.append((tag, response.json()["id"], response.json()["number"]))

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        deadline = time.monotonic() + 20
        while len(acked) < target and writer.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
        server.kill()  # SIGKILL, mid-stream: a request is usually in flight
        writer.join(timeout=15)
        assert not writer.is_alive()
        assert not errors, errors[:3]
        assert len(acked) >= 100, f"only {len(acked)} writes acknowledged before the kill"
        acknowledged.update((tag, (id_, number)) for tag, id_, number in acked)
    final = server_factory(data_dir=data)
    check_acknowledged(final, acknowledged, rng)
    assert len(acknowledged) >= 300


# --- 7. concurrent clients ---------------------------------------------------------------------------

@pytest.mark.slow
def test_concurrent_clients_lose_nothing(server_factory):
    server = server_factory()
    with client(server) as c:
        seeded = c.get("/v1/Customers").json()
    assert [x["number"] for x in seeded] == numbers(30)

    # 50 clients creating 10 customers each, all at once.
    answers: list[list[tuple[int, dict | str]]] = [[] for _ in range(50)]
    start = threading.Barrier(50, timeout=15)

    def create(i: int) -> None:
        with client(server) as c:
            start.wait()
            for j in range(10):
                response = c.post("/v1/Customers", json=new_customer(f"CONC-{i:02d}-{j:02d}"))
                answers[i].append((response.status_code, response.json() if response.status_code == 200 else response.text))

    assert run_threads(create, 50) == []
    flat = [answer for per_thread in answers for answer in per_thread]
    assert len(flat) == 500
    assert [status for status, _ in flat] == [200] * 500, [body for status, body in flat if status != 200][:3]
    created = [body for _, body in flat]
    assert len({x["id"] for x in created}) == 500
    assert len({x["number"] for x in created}) == 500
    assert sorted([x["number"] for x in created] + [x["number"] for x in seeded]) == numbers(530)
    with client(server) as c:
        stored = {x["internalId"]: x for x in all_customers(c)}
    assert all(stored[x["internalId"]] == x for x in created)

    # 50 clients updating a different field-value of 50 different customers...
    fields = ("phone", "cellPhone", "email", "internalNotes", "companyName")
    rng = random.Random(7)
    targets = rng.sample(created, 100)

    def value(field: str, i: int) -> str:
        return {"phone": f"01 23 45 67 {i:02d}", "cellPhone": f"06 12 34 56 {i:02d}",
                "email": f"maj-{i}@exemple.fr", "internalNotes": f"note {i}",
                "companyName": f"Société Mise à Jour {i}"}[field]

    # ... each a read-modify-write (PUT replaces, as live) of a different customer: all kept...
    plan = [(targets[i], fields[i % 5], value(fields[i % 5], i)) for i in range(50)]
    # ... then 50 more, five on each of 10 customers at once: each customer ends up exactly as one
    # of its five bodies made it (the last writer wins whole; never a mix of two writes).
    plan += [(targets[50 + i // 5], fields[i % 5], value(fields[i % 5], 50 + i)) for i in range(50)]

    def body(target: dict, field: str, val: str) -> dict:
        return {**target, field: val}

    def update(i: int) -> None:
        target, field, val = plan[i]
        with client(server) as c:
            response = c.put(f"/v1/Customers/{target['id']}", json=body(target, field, val))
            assert response.status_code == 200, response.text

    for wave in (range(50), range(50, 100)):
        assert run_threads(lambda i, wave=wave: update(wave[i]), 50) == []
    sent: dict[int, list[dict]] = {}
    for target, field, val in plan:
        sent.setdefault(target["id"], []).append({field: val})
    with client(server) as c:
        for id_, changes in sent.items():
            now = c.get(f"/v1/Customers/{id_}").json()
            target = next(x for x in targets if x["id"] == id_)
            won = [change for change in changes if all(now[k] == v for k, v in change.items())]
            assert len(won) == 1, (id_, changes)
            untouched = {k for k in target if k not in (*fields, "name")}
            assert {k: now[k] for k in untouched} == {k: target[k] for k in untouched}, id_
            for field in set(fields) - set(won[0]):
                assert now[field] == target[field], (id_, field)

        # 50 clients adding a contact to the same customer (linked by its company name) at once.
        company = "Coopérative des Essais Concurrents SCOP"
        owner = c.post("/v1/Customers", json={**new_customer("CONTACTS-OWNER"), "companyName": company}).json()
    contact_ids: list[int] = []

    def add_contact(i: int) -> None:
        with client(server) as c:
            name = company if i % 2 else company.upper()  # the link ignores case
            response = c.post("/v1/Contacts", json={"firstName": f"Prénom{i:02d}", "lastName": "Dupont",
                                                     "companyName": name, "email": f"contact{i}@essais.fr"})
            assert response.status_code == 200, response.text
            contact_ids.append(response.json()["id"])

    assert run_threads(add_contact, 50) == []
    with client(server) as c:
        contacts = c.get(f"/v1/Customers/{owner['id']}/contacts").json()
    assert len(contact_ids) == len(set(contact_ids)) == 50
    assert [x["isMain"] for x in contacts] == [True] + [False] * 50
    assert {x["id"] for x in contacts[1:]} == set(contact_ids)


# --- 8. an occupied port -----------------------------------------------------------------------------

@pytest.mark.parametrize("listener_host", ["127.0.0.1", "0.0.0.0"])
def test_occupied_port_fails_fast_with_one_clear_line(tmp_path, listener_host):
    with socket.socket() as blocker:
        blocker.bind((listener_host, 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = subprocess.run([*cli(), "serve", "--port", str(port), "--data", str(tmp_path / "data")],
                                capture_output=True, text=True, timeout=20, env=clean_env(),
                                stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    # Fast: it gave up before building the app, which would have seeded a tenant on disk.
    data = tmp_path / "data"
    seeded = [p.name for p in data.iterdir() if p.name != ".lock"] if data.exists() else []
    assert seeded == []
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(port) in lines[0] and "in use" in lines[0]
    assert "Traceback" not in result.stderr
    assert "listening" not in result.stdout


@pytest.mark.slow
def test_a_second_sandbox_on_the_same_data_directory_is_refused_and_the_first_keeps_it(server_factory, tmp_path):
    data = tmp_path / "data"
    first = server_factory(data_dir=data)
    result = subprocess.run([*cli(), "serve", "--port", "0", "--data", str(data)], capture_output=True, text=True,
                            timeout=60, env=clean_env(), stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"data directory {data} is in use by another sandbox (pid {first.proc.pid})" in lines[0]
    assert "listening" not in result.stdout and "Traceback" not in result.stderr
    with client(first) as c:
        assert c.get("/v1/Customers/1").status_code == 200
    first.stop()
    # Once the first has stopped, the directory is free again (its lock goes with its process).
    second = server_factory(data_dir=data)
    with client(second) as c:
        assert c.get("/v1/Customers/1").status_code == 200


# --- 9. --version and --help -------------------------------------------------------------------------

def test_version():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    result = subprocess.run([*cli(), "--version"], capture_output=True, text=True, timeout=20, env=clean_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"altoviz-mock {version}" == f"altoviz-mock {mock_server.__version__}"


@pytest.mark.parametrize("columns", ["80", "60"])
def test_serve_help_lists_every_flag_and_keeps_the_default_key_whole(columns):
    env = {**clean_env(), "COLUMNS": columns}  # argparse wraps to the terminal width
    result = subprocess.run([*cli(), "serve", "--help"], capture_output=True, text=True, timeout=20, env=env)
    assert result.returncode == 0, result.stderr
    for flag in SERVE_FLAGS:
        assert re.search(rf"(^|\s|\[){re.escape(flag)}\b", result.stdout), flag
    # Copied from the help, the key must work: not cut at a hyphen by the line wrapping.
    assert KEY in result.stdout and "ALTOVIZ_MOCK_API_KEYS" in result.stdout


@pytest.mark.slow  # waits out the server's 5 s request-head timeout
def test_a_client_holding_half_a_request_is_cut_off_while_others_are_served(server_factory):
    server = server_factory()
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    try:
        slow.sendall(b"GET /v1/Customers HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-KEY: ")  # and never the rest
        with client(server) as c:
            assert c.get("/v1/Customers").status_code == 200  # others are served meanwhile
        slow.settimeout(20)  # bounded: the server's request-head timeout is 5 s
        assert slow.recv(1024) == b""  # closed by the server, without an answer
    finally:
        slow.close()


@pytest.mark.slow  # two server processes and a render long enough to be interrupted
def test_sigterm_during_a_long_render_exits_in_time_and_keeps_the_writes(server_factory, tmp_path):
    data = tmp_path / "data"
    first = server_factory(data_dir=data)
    with client(first) as c:
        kept = c.post("/v1/Customers", json=new_customer("SIGTERM-1")).json()
        lines = [{"type": "Service", "description": f"Ligne {i}", "quantity": 1, "taxExcludedPrice": 1}
                 for i in range(5000)]
        invoice = c.post("/v1/SaleInvoices", json={"customerId": kept["id"], "lines": lines})
        assert invoice.status_code == 200, invoice.text
    invoice_id = invoice.json()["id"]
    downloads = []

    def download():
        try:
            downloads.append(httpx.get(f"{first.url}/v1/SaleInvoices/Download/{invoice_id}",
                                       headers={"X-API-KEY": KEY}, timeout=30, trust_env=False).status_code)
        except httpx.TransportError as exc:
            downloads.append(type(exc).__name__)

    thread = threading.Thread(target=download, daemon=True)
    thread.start()
    time.sleep(0.3)  # let the render start
    first.proc.terminate()
    first.proc.wait(timeout=10)  # raises if the server outlives the bound
    thread.join(timeout=30)

    assert first.proc.returncode == 0, first.output
    assert downloads  # the download ended too (how depends on whether the render finished in time)
    second = server_factory(data_dir=data)
    with client(second) as c:
        assert c.get(f"/v1/Customers/{kept['id']}").json()["number"] == kept["number"]
        assert c.get(f"/v1/SaleInvoices/{invoice_id}").status_code == 200
