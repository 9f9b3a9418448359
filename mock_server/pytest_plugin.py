"""The pytest plugin (entry point `pytest11`): the `altoviz_mock` fixture for a user's test suite.

One sandbox runs per test session: a real `altoviz-mock serve` process on a free loopback port,
in memory, with `--open-tenants` (or the one `--altoviz-mock-url` names). Each test gets a tenant
of its own: a fresh API key, seeded like the default tenant by `POST /_mock/seed` (a copy of a
cached data set: a few milliseconds) and emptied after the test. Tests never see each other's data,
even when pytest-xdist workers or developers share one sandbox, and the default tenant of a
sandbox someone is clicking through is never touched. With `--altoviz-mock-api-key KEY`, that key
is used instead and reseeded before each test.

Only the standard library and pytest are imported at start-up: the plugin loads in every pytest
run of an environment that has altoviz-mock installed.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from .sandbox.clock import parse_instant

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 30.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("altoviz-mock", "Altoviz sandbox (altoviz_mock fixture)")
    group.addoption("--altoviz-mock-url", metavar="URL", default=None,
                    help="use the sandbox running at URL instead of starting one (ini: altoviz_mock_url)")
    group.addoption("--altoviz-mock-api-key", metavar="KEY", default=None,
                    help="use this API key (reseeded before each test) instead of a fresh key per test; "
                         "needed for a sandbox without --open-tenants (ini: altoviz_mock_api_key)")
    group.addoption("--altoviz-mock-rate-limit", metavar="off|N/SECONDS", default=None,
                    help="the started sandbox's rate limit per API key (default off; 100/60 is the live API's; "
                         "ini: altoviz_mock_rate_limit)")
    group.addoption("--altoviz-mock-seed", metavar="N", type=int, default=None,
                    help="the fixture data set each test starts from (default 42; ini: altoviz_mock_seed)")
    parser.addini("altoviz_mock_url", "URL of a running sandbox to use instead of starting one", default="")
    parser.addini("altoviz_mock_api_key", "API key to use (reseeded before each test) instead of fresh keys",
                  default="")
    parser.addini("altoviz_mock_seed", "fixture data set each test starts from", default="42")
    parser.addini("altoviz_mock_rate_limit", "the started sandbox's rate limit per API key (off, N/SECONDS)",
                  default="off")
    parser.addini("altoviz_mock_start_timeout", "seconds to wait for the started sandbox to answer",
                  default=str(START_TIMEOUT))


def _option(config: pytest.Config, name: str) -> str | None:
    """A plugin setting: the command-line flag, else the ini value (None when neither is set)."""
    value = config.getoption(name, default=None)
    if value is None:
        value = config.getini(name)
    return None if value in (None, "") else str(value)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SandboxProcess:
    """`altoviz-mock serve` in memory on a free loopback port, in a scratch working directory
    (so no `altoviz-mock.toml` of the user's project applies and nothing is written there)."""

    def __init__(self, seed: int, timeout: float, rate_limit: str = "off"):
        self.seed = seed
        self.rate_limit = rate_limit
        self.timeout = timeout
        self.workdir = tempfile.mkdtemp(prefix="altoviz-mock-pytest-")
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> "SandboxProcess":
        import httpx

        # A port found free can be taken before the server binds it: try another one then.
        for _ in range(3):
            port = _free_port()
            self.url = f"http://127.0.0.1:{port}"
            log = open(os.path.join(self.workdir, "server.log"), "wb")
            env = {k: v for k, v in os.environ.items() if not k.startswith("ALTOVIZ_MOCK_")}
            env.setdefault("NO_COLOR", "1")
            # Off unless asked: a test suite's requests would otherwise share one budget per key.
            env["ALTOVIZ_MOCK_RATE_LIMIT"] = self.rate_limit
            with log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "mock_server.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                     "--in-memory", "--open-tenants", "--seed", str(self.seed), "--quiet"],
                    cwd=self.workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + self.timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    if httpx.get(f"{self.url}/_mock/health", timeout=1, trust_env=False).status_code == 200:
                        return self
                except httpx.TransportError:
                    time.sleep(0.05)
            else:
                self.stop()
                raise RuntimeError(f"the Altoviz sandbox did not answer within {self.timeout:g}s:\n{self.output()}")
            if "in use" not in self.output():
                raise RuntimeError(f"the Altoviz sandbox exited ({self.proc.returncode}):\n{self.output()}")
        raise RuntimeError(f"no free loopback port for the Altoviz sandbox:\n{self.output()}")

    def output(self) -> str:
        try:
            with open(os.path.join(self.workdir, "server.log"), encoding="utf-8", errors="replace") as log:
                return log.read()
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM (a graceful stop), SIGKILL past the timeout."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


class AltovizMock:
    """One test's view of the sandbox: its URL, its API key, a ready client and the controls."""

    def __init__(self, base_url: str, api_key: str, seed: int):
        import httpx

        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.seed = seed
        # trust_env=False: straight to the sandbox, never through an HTTP(S)_PROXY of the environment.
        self.client = httpx.Client(base_url=self.base_url, headers={"X-API-KEY": api_key},
                                   timeout=httpx.Timeout(REQUEST_TIMEOUT, connect=5.0), trust_env=False)

    def _control(self, method: str, path: str, **kwargs) -> dict | list:
        response = self.client.request(method, f"/_mock/{path}", **kwargs)
        if response.status_code != 200:
            raise AssertionError(f"{method} /_mock/{path} answered {response.status_code}: {response.text}")
        return response.json()

    def reset(self) -> None:
        """Put this test's tenant back to the seeded data (documents, clock, outbox, webhooks)."""
        self._control("POST", "seed", json={"seed": self.seed})

    def now(self) -> dt.datetime:
        """The tenant's sandbox time."""
        return _instant(self._control("GET", "clock")["now"])

    def set_clock(self, when: str | dt.datetime | None, frozen: bool = True) -> dt.datetime:
        """Move the tenant's clock to `when` (ISO 8601 or a datetime; None: real time), frozen there
        or running from there; due dates and overdue invoices follow it."""
        if isinstance(when, str):  # a date alone is its midnight, a naive time is UTC (admin.yaml wants RFC 3339)
            when = parse_instant(when)
        if isinstance(when, dt.datetime):
            when = _rfc3339(when)
        return _instant(self._control("PUT", "clock", json={"now": when, "frozen": frozen})["now"])

    def advance(self, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> dt.datetime:
        """Move the tenant's clock forward (negative values go back)."""
        delta = {"days": days, "hours": hours, "minutes": minutes, "seconds": seconds}
        return _instant(self._control("POST", "clock/advance", json=delta)["now"])

    def webhook_url(self, name: str) -> str:
        """The URL of the sandbox's own webhook receiver `name`, to register with POST /v1/Webhooks."""
        return f"{self.base_url}/_mock/inbox/{name}"

    def inbox(self, name: str) -> list[dict]:
        """What the receiver `name` (`webhook_url(name)`) got from this tenant's webhooks, oldest first."""
        return self._control("GET", f"inbox/{name}")

    def outbox(self) -> list[dict]:
        """The mails the tenant's Send operations recorded."""
        return self._control("GET", "outbox")

    def requests(self, operation: str | None = None, status: str | int | None = None, **filters) -> list[dict]:
        """The requests this test's tenant sent to /v1 and /Hello, oldest first, as the sandbox
        recorded them (GET /_mock/requests entries: method, path, operationId, requestBody, status,
        refusal, warnings...). `operation`: an operationId; `status`: 404 or "4xx"; other filters
        as the endpoint's (method=, path= a glob, refused=True...)."""
        params = {name: str(value).lower() if isinstance(value, bool) else
                  _rfc3339(value) if isinstance(value, dt.datetime) else str(value)
                  for name, value in {"operationId": operation, "status": status, **filters}.items()
                  if value is not None}
        entries, page = [], 1
        while True:
            answer = self._control("GET", "requests", params={**params, "page": page, "pageSize": 500})
            entries += answer["items"]
            if page * 500 >= answer["total"]:
                return list(reversed(entries))
            page += 1

    def assert_called(self, operation: str, times: int | None = None, body_contains: str | dict | None = None) -> list[dict]:
        """Assert that this test's code called `operation` (an operationId): `times` times exactly
        (None: at least once), counting only the calls whose body contains `body_contains` (a text,
        or a dict: these JSON properties with these values). Gives the matching entries back; the
        failure lists what was called instead."""
        calls = [entry for entry in self.requests(operation=operation) if _body_matches(entry, body_contains)]
        if (len(calls) >= 1) if times is None else (len(calls) == times):
            return calls
        wanted = "at least once" if times is None else f"{times} time{'s' * (times != 1)}"
        condition = f" with a body containing {body_contains!r}" if body_contains is not None else ""
        sent = self.requests()
        listing = "\n".join(f"  #{e['id']} {e['method']} {e['path']}{'?' + e['query'] if e['query'] else ''} -> "
                            f"{e['status']} {e['operationId'] or '(no operation)'}"
                            f"{' (' + e['refusal'] + ')' if e['refusal'] else ''}" for e in sent[-30:])
        raise AssertionError(
            f"expected {operation} to be called {wanted}{condition}, it was called {len(calls)} "
            f"time{'s' * (len(calls) != 1)}; this test sent {len(sent)} request{'s' * (len(sent) != 1)}"
            + (f" (the last {min(len(sent), 30)}):\n{listing}" if sent else ""))

    def close(self) -> None:
        self.client.close()


def _body_matches(entry: dict, wanted: str | dict | None) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, str):
        return wanted in entry["requestBody"]
    import json

    try:
        body = json.loads(entry["requestBody"])
    except ValueError:
        return False
    return isinstance(body, dict) and all(body.get(name) == value for name, value in wanted.items())


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _rfc3339(value: dt.datetime) -> str:
    """A datetime as admin.yaml's `date-time` (naive: UTC)."""
    return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).isoformat()


@pytest.fixture(scope="session")
def altoviz_mock_url(pytestconfig: pytest.Config):
    """The base URL of the session's sandbox: `--altoviz-mock-url`, else one started for the session."""
    url = _option(pytestconfig, "altoviz_mock_url")
    if url:
        yield url.rstrip("/")
        return
    seed = int(_option(pytestconfig, "altoviz_mock_seed") or 42)
    timeout = float(_option(pytestconfig, "altoviz_mock_start_timeout") or START_TIMEOUT)
    sandbox = SandboxProcess(seed, timeout, _option(pytestconfig, "altoviz_mock_rate_limit") or "off")
    try:
        yield sandbox.start().url
    finally:
        sandbox.close()


@pytest.fixture
def altoviz_mock(altoviz_mock_url: str, pytestconfig: pytest.Config):
    """The Altoviz sandbox for one test: `base_url`, `api_key`, `client` (an httpx.Client with both),
    `reset()`, `now()`, `set_clock(iso, frozen=True)`, `advance(days=...)`, `inbox(name)`, `outbox()`,
    `requests(operation=..., status=...)`, `assert_called(operation, times=None, body_contains=None)`.
    The test starts from the seeded data set and an empty request journal, in a tenant no other
    test sees."""
    fixed_key = _option(pytestconfig, "altoviz_mock_api_key")
    seed = int(_option(pytestconfig, "altoviz_mock_seed") or 42)
    mock = AltovizMock(altoviz_mock_url, fixed_key or f"pytest-{uuid.uuid4().hex}", seed)
    try:
        response = mock.client.post("/_mock/seed", json={"seed": seed})
        if response.status_code == 401 and not fixed_key:
            pytest.fail(f"the sandbox at {altoviz_mock_url} does not accept new API keys: start it with "
                        "--open-tenants, or give one key with --altoviz-mock-api-key", pytrace=False)
        if response.status_code != 200:
            pytest.fail(f"the sandbox at {altoviz_mock_url} could not be seeded: {response.status_code} "
                        f"{response.text}", pytrace=False)
        mock.client.delete("/_mock/requests")  # what this test's code sends, nothing before it
        yield mock
        if not fixed_key:
            # An open tenant resets to empty: the sandbox keeps no data of finished tests.
            mock.client.post("/_mock/reset")
    finally:
        mock.close()
