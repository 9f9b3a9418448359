"""Shared fixtures: the in-process app (temporary data dir, response validation on) and real servers.

`app` (and `client`, `anonymous`; `two_teams` likewise) is one app per test process, handed to each
test as a fresh app would be: its tenants reset (data, clock, outbox, request journal, fault rules)
and no uploaded file. Building an app costs a third of a second (Connexion validating the
contracts), a reset about a millisecond. What a reset cannot put back (another tenant, a snapshot,
a webhook delivery still queued, the inbox) makes the app be thrown away
after the test: the next one builds another. A test marked `fresh_app`, one that takes `config`
itself (or adds a middleware) gets an app of its own; a module's own `config` (other settings) an app shared likewise."""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from mock_server.app import Services, create_app
from mock_server.config import DEFAULT_API_KEY, Config
from mock_server.domain.collection import utcnow
from mock_server.store import tenant_dirname

KEY = DEFAULT_API_KEY
# Long enough for /_mock/tenants to show a hint of it (keys of 12+ characters).
TEAM_B = "team-b-secret-key"


def services(app) -> Services:
    """The app's services (store, tenants, journal, webhooks...): tests reach them through here only."""
    return app.services


# The configuration of `config` and of the shared app (data_dir aside).
DEFAULT_CONFIG = Config(data_dir=None, validate_responses=True)


@pytest.fixture
def config(tmp_path) -> Config:
    return dataclasses.replace(DEFAULT_CONFIG, data_dir=tmp_path / "data")


def _reset(app, keys: tuple[str, ...]) -> None:
    """Put the tenants of `keys` back as a fresh app holds them: seeded data, their clock and outbox
    (the tenant's data), an empty request journal whose ids start at 1 again, no fault rules; no
    uploaded file; the real clock."""
    found = services(app)
    for key in keys:
        found.tenants.reset(key)
        found.journal.restart(key)  # ids restart at 1, as in a new process (`clear` keeps them going)
        found.faults.clear(key)
    if found.files.root is not None:
        shutil.rmtree(found.files.root, ignore_errors=True)
    found.clock = utcnow


class _SharedApp:
    """An app a test process shares between its tests (see the module's docstring): built from
    `make_config(data_dir)`, the tenants of `keys` reset before each test but the first."""

    def __init__(self, base: Path, make_config, keys: tuple[str, ...]):
        self.base, self.make_config, self.keys = base, make_config, keys
        self.serial = itertools.count()
        self.app = None

    def get(self):
        if self.app is None:
            self.app = create_app(self.make_config(self.base / f"data-{next(self.serial)}"))
        else:
            _reset(self.app, self.keys)
        return self.app

    def resettable(self) -> bool:
        """True when the last test changed nothing but what `_reset` puts back."""
        found = services(self.app)
        return (not any(found.snapshots.names(key) for key in self.keys)  # no snapshot taken
                and set(found.store.tenants()) <= {tenant_dirname(key) for key in self.keys}
                and found.webhooks.idle()  # no delivery queued or in flight
                and found.inbox.is_empty())  # nothing received at /_mock/inbox

    def release(self) -> None:
        if self.app is not None and not self.resettable():
            self.discard()

    def discard(self) -> None:
        if self.app is not None:
            app, self.app = self.app, None
            services(app).close()

    def use(self):
        """The app for one test (a generator for a fixture)."""
        try:
            yield self.get()
        finally:
            self.release()


class _SharedApps:
    """The apps a test process shares: one per configuration (data_dir aside)."""

    def __init__(self, base: Path):
        self.base = base
        self.apps: list[tuple[Config, _SharedApp]] = []  # a list: a Config holds dicts, it is not hashable

    def of(self, config: Config) -> _SharedApp:
        settings = dataclasses.replace(config, data_dir=None)
        for known, shared in self.apps:
            if known == settings:
                return shared
        shared = _SharedApp(self.base / f"app-{len(self.apps)}", lambda data: dataclasses.replace(settings, data_dir=data),
                            settings.all_api_keys)
        self.apps.append((settings, shared))
        return shared

    def close(self) -> None:
        for _, shared in self.apps:
            shared.discard()


@pytest.fixture(scope="session")
def _shared_apps(tmp_path_factory):
    shared = _SharedApps(tmp_path_factory.mktemp("shared-apps"))
    yield shared
    shared.close()


@pytest.fixture
def app(request, config):
    """The sandbox app of `config` (the default one, or a module's own), as fresh: shared with the
    other tests of this process that have the same settings; an app of its own for a test marked
    `fresh_app` or one that takes `config` itself."""
    if request.node.get_closest_marker("fresh_app") or "config" in inspect.signature(request.function).parameters:
        app = create_app(config)
        yield app
        services(app).close()
        return
    yield from request.getfixturevalue("_shared_apps").of(config).use()


@pytest.fixture
def client(app):
    """An in-process client authenticated with the default key."""
    with app.test_client(headers={"X-API-KEY": KEY}) as c:
        yield c


@pytest.fixture
def two_teams(_shared_apps):
    """An app with the default key and a second configured key, each its own tenant: clients (a, b)."""
    for app in _shared_apps.of(dataclasses.replace(DEFAULT_CONFIG, api_keys=(TEAM_B,))).use():
        with app.test_client(headers={"X-API-KEY": KEY}) as a, app.test_client(headers={"X-API-KEY": TEAM_B}) as b:
            yield a, b


@pytest.fixture
def anonymous(app):
    with app.test_client() as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the developer's ALTOVIZ_MOCK_* settings, plus `extra`.

    The rate limit `serve` enforces by default is off unless `extra` sets it: tests that need it
    say so (tests/test_live_parity.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALTOVIZ_MOCK_")}
    env["ALTOVIZ_MOCK_RATE_LIMIT"] = "off"
    env.update(extra or {})
    return env


class ServerProcess:
    """`altoviz-mock serve` in a subprocess on a free loopback port.

    `env` adds variables (e.g. ALTOVIZ_MOCK_API_KEYS) to an environment cleaned of ALTOVIZ_MOCK_*.
    Its stdout and stderr go to files, not pipes: nobody reads a pipe while the server runs, and a
    full one would block the server on its next log line.
    """

    def __init__(self, data_dir: Path, *args: str, env: Mapping[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.args = args
        self.env = dict(env or {})
        self.proc: subprocess.Popen | None = None
        self._out = self._err = None

    def start(self, timeout: float = 60.0) -> "ServerProcess":
        cmd = [sys.executable, "-m", "mock_server.cli", "serve", "--port", str(self.port),
               "--data", str(self.data_dir), *self.args]
        self.close()
        self._out, self._err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                     env=server_env(self.env))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early ({self.proc.returncode}):\n{self.output}")
            try:
                # trust_env=False: never through an HTTP(S)_PROXY of the environment, loopback only.
                if httpx.get(f"{self.url}/_mock/health", timeout=1, trust_env=False).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"server not healthy within {timeout}s:\n{self.output}")

    @staticmethod
    def _read(file) -> str:
        # pread: the file offset is shared with the server, which is still writing at it.
        return os.pread(file.fileno(), os.fstat(file.fileno()).st_size, 0).decode("utf-8", "replace") if file else ""

    @property
    def stdout(self) -> str:
        return self._read(self._out)

    @property
    def stderr(self) -> str:
        return self._read(self._err)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as after a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> str:
        """SIGTERM (a graceful stop), SIGKILL if it takes longer than `timeout`; the output so far."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.output

    def close(self) -> None:
        """Release the output files (once stopped)."""
        for file in (self._out, self._err):
            if file:
                file.close()
        self._out = self._err = None


@pytest.fixture
def server_factory(tmp_path):
    """Start real servers; every one is stopped at the end of the test.

    Each server gets its own data dir unless `data_dir` is given (reuse one to restart on it):
    two live processes must never share a directory.
    """
    started: list[ServerProcess] = []
    serial = itertools.count()

    def start(*args: str, data_dir: Path | None = None, env: Mapping[str, str] | None = None) -> ServerProcess:
        server = ServerProcess(data_dir or tmp_path / f"server-data-{next(serial)}", *args, env=env)
        started.append(server)
        return server.start()

    yield start
    for server in started:  # signal them all first: they shut down in parallel
        if server.proc and server.proc.poll() is None:
            server.proc.terminate()
    for server in started:
        try:
            server.stop()
        finally:
            server.close()


def _shared_server(tmp_path_factory, *args: str):
    server = ServerProcess(tmp_path_factory.mktemp("module-server"), "--in-memory", "--rate-limit", "off", *args)
    try:
        yield server.start()
    finally:
        server.stop()
        server.close()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory):
    """One real server shared by a module's tests (`serve --in-memory --rate-limit off`): for tests
    that only read, or write only what they create themselves."""
    yield from _shared_server(tmp_path_factory)


@pytest.fixture(scope="module")
def open_module_server(tmp_path_factory):
    """The same with `--open-tenants`: each test takes a key of its own, an empty tenant."""
    yield from _shared_server(tmp_path_factory, "--open-tenants")
