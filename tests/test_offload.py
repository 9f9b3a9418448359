"""Handlers run on the event loop unless a step would wait (offload.py): then in a thread, once.

A real uvicorn server on loopback runs the app in this process, so that a test can hold a tenant's
store (a transaction left open in a thread of the test) the way a long write or list of that tenant
would. Asserted with ordering and counts, never with durations.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from conftest import DEFAULT_CONFIG, KEY, TEAM_B, free_port, services
from mock_server import offload
from mock_server.app import create_app
from mock_server.cli import _http_protocol
from mock_server.store import Store

WAIT = 30.0  # the bound of every wait, far above any answer


@pytest.fixture
def served(tmp_path):
    """(app, base URL): the sandbox with two tenants (KEY, TEAM_B) behind uvicorn, as `serve` runs it."""
    app = create_app(dataclasses.replace(DEFAULT_CONFIG, data_dir=tmp_path / "data", api_keys=(TEAM_B,)))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, http=_http_protocol()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(int(WAIT / 0.05)):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started, "the server did not start"
    try:
        yield app, url
    finally:
        server.should_exit = True
        thread.join(WAIT)
        services(app).close()


def client(url: str, key: str) -> httpx.Client:
    # trust_env=False: loopback only, never through a proxy of the environment.
    return httpx.Client(base_url=url, headers={"X-API-KEY": key}, timeout=WAIT, trust_env=False)


class Held:
    """A tenant's store held by a thread of the test (an open transaction), until `release()`."""

    def __init__(self, app, key: str):
        self.store = services(app).tenants.open(key)
        self._held, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)
        self._thread.start()
        assert self._held.wait(WAIT)

    def _hold(self) -> None:
        with self.store.transaction():
            self._held.set()
            self._release.wait(WAIT)

    def release(self) -> None:
        self._release.set()
        self._thread.join(WAIT)


def test_a_tenant_whose_store_is_held_never_holds_up_another_tenant(served):
    app, url = served
    with client(url, KEY) as a, client(url, TEAM_B) as b, ThreadPoolExecutor(max_workers=2) as pool:
        assert a.get("/v1/Customers/1").status_code == 200 and b.get("/v1/Customers/1").status_code == 200
        held = Held(app, KEY)
        try:
            reads = [pool.submit(a.get, "/v1/Customers/1"), pool.submit(a.get, "/v1/Customers")]
            # A's requests wait for A's store in a thread; the event loop goes on answering B.
            for _ in range(5):
                assert b.get("/v1/Customers/1").status_code == 200
                assert b.get("/v1/Customers").status_code == 200
                assert b.get("/_mock/health").status_code == 200
            assert not any(read.done() for read in reads), "tenant A was answered while its store was held"
        finally:
            held.release()
        assert [read.result(WAIT).status_code for read in reads] == [200, 200]
        assert reads[0].result().json()["id"] == 1


def test_a_write_that_waited_for_its_tenant_is_done_once(served):
    app, url = served
    with client(url, KEY) as a, ThreadPoolExecutor(max_workers=1) as pool:
        before = int(a.get("/v1/Customers", params={"PageSize": 1}).headers["X-Record-Count"])
        held = Held(app, KEY)
        try:
            created = pool.submit(a.post, "/v1/Customers", json={
                "type": "Business", "companyName": "Attente SARL", "billingAddress": {"city": "Nantes"}})
            assert not created.done()
        finally:
            held.release()
        answer = created.result(WAIT)
        assert answer.status_code == 200, answer.text
        after = a.get("/v1/Customers", params={"PageSize": 1}).headers["X-Record-Count"]
        assert int(after) == before + 1
        stored = a.get(f"/v1/Customers/{answer.json()['id']}").json()
        assert (stored["companyName"], stored["billingAddress"]["city"]) == ("Attente SARL", "Nantes")
        # Its journal entry too: recorded once, with the answer it got.
        entries = [e for e in a.get("/_mock/requests").json()["items"]
                   if e["method"] == "POST" and e["path"] == "/v1/Customers"]
        assert [e["status"] for e in entries] == [200]


def test_an_offloaded_step_undoes_what_ran_on_the_loop_and_runs_once_in_a_thread():
    tenant = Store().tenant("k")
    calls = []

    def create():
        calls.append(offload.on_loop())
        with tenant.transaction():
            tenant.insert("Customers", {"name": "once"})
            offload.off_loop("something slow")  # after a write: the transaction is rolled back
            return tenant.count("Customers")

    assert asyncio.run(offload.run(create)) == 1
    assert calls == [True, False]
    assert [doc["name"] for doc in tenant.all("Customers")] == ["once"]


def test_only_a_plain_dict_or_list_goes_out_through_the_given_answer():
    """`inline_first(handler, answer=...)` (what the resolver gives a JSON-only operation): a plain
    dict or list is sent by `answer`; a tuple with a status or headers, or None, stays Connexion's."""
    answers = {"dict": {"id": 1}, "list": [{"id": 1}], "tuple": ([{"id": 1}], 200, {"X-Page-Index": "1"}), "none": None}

    def handler(kind):
        return answers[kind]

    sent = offload.inline_first(handler, answer=lambda value: ("sent", value))
    assert asyncio.run(sent("dict")) == ("sent", {"id": 1})
    assert asyncio.run(sent("list")) == ("sent", [{"id": 1}])
    assert asyncio.run(sent("tuple")) == answers["tuple"]
    assert asyncio.run(sent("none")) is None
    assert asyncio.run(offload.inline_first(handler)("dict")) == {"id": 1}


def test_a_read_of_many_documents_goes_to_a_thread_and_a_few_stay_on_the_loop():
    tenant = Store().tenant("k")
    where = []

    def listed():
        where.append(offload.on_loop())
        return len(tenant.scan("Customers"))

    for _ in range(offload.SCAN_ON_LOOP):
        tenant.insert("Customers", {})
    assert asyncio.run(offload.run(listed)) == offload.SCAN_ON_LOOP and where == [True]
    tenant.insert("Customers", {})
    where.clear()
    assert asyncio.run(offload.run(listed)) == offload.SCAN_ON_LOOP + 1 and where == [True, False]


def test_a_tenant_loaded_again_from_disk_is_loaded_off_the_loop_and_answers_as_before(tmp_path):
    # One tenant in memory at a time: each request of the other tenant loads it from disk again
    # (a step that waits, so its handler runs in a thread).
    app = create_app(dataclasses.replace(DEFAULT_CONFIG, data_dir=tmp_path / "data", api_keys=(TEAM_B,),
                                         max_open_tenants=1))
    try:
        with app.test_client(headers={"X-API-KEY": KEY}) as a, app.test_client(headers={"X-API-KEY": TEAM_B}) as b:
            first = {"a": a.get("/v1/Customers/1").json(), "b": b.get("/v1/Customers/1").json()}
            created = a.post("/v1/Customers", json={"type": "Business", "companyName": "Rechargée SARL"}).json()
            for _ in range(3):
                assert b.get("/v1/Customers/1").json() == first["b"]
                assert a.get("/v1/Customers/1").json() == first["a"]
                assert a.get(f"/v1/Customers/{created['id']}").json()["companyName"] == "Rechargée SARL"
            assert services(app).store.loaded_count() == 1
    finally:
        services(app).close()


def test_a_step_that_finds_its_lock_held_waits_on_the_loop_and_runs_again_there():
    lock = offload.SharedLock()
    taken, release = threading.Event(), threading.Event()
    calls = []

    def hold():
        with lock:
            taken.set()
            release.wait(WAIT)

    def step():
        calls.append(offload.on_loop())
        if not lock.acquire(blocking=False):
            raise offload.Busy("held", lock)
        lock.release()
        return "done"

    async def scenario():
        holder = threading.Thread(target=hold, daemon=True)
        holder.start()
        assert await asyncio.to_thread(taken.wait, WAIT)
        running = asyncio.ensure_future(offload.run(step))
        for _ in range(100):  # the loop goes on while the step waits
            await asyncio.sleep(0)
        assert not running.done() and calls == [True]
        release.set()
        result = await asyncio.wait_for(running, WAIT)
        holder.join(WAIT)
        return result

    assert asyncio.run(scenario()) == "done"
    # Tried on the loop, then again on the loop once the lock was released: never in a thread.
    assert calls == [True, True]


def test_a_waiter_registered_after_the_release_is_not_left_waiting():
    async def scenario():
        lock = offload.SharedLock()
        freed = lock.when_free()  # the lock is free: done at once
        await asyncio.wait_for(freed, WAIT)
        return freed.done()

    assert asyncio.run(scenario())
