"""Shared fixtures: an app per test (temporary data dir, response validation on) and a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mock_server.app import create_app
from mock_server.config import DEFAULT_API_KEY, Config

KEY = DEFAULT_API_KEY


@pytest.fixture
def config(tmp_path) -> Config:
    return Config(data_dir=tmp_path / "data", validate_responses=True)


@pytest.fixture
def app(config):
    app = create_app(config)
    yield app
    app.app.extensions["altoviz_mock"].store.close()


@pytest.fixture
def client(app):
    """An in-process client authenticated with the default key."""
    with app.test_client(headers={"X-API-KEY": KEY}) as c:
        yield c


@pytest.fixture
def anonymous(app):
    with app.test_client() as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`altoviz-mock serve` in a subprocess on a free loopback port."""

    def __init__(self, data_dir: Path, *args: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.args = args
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> "ServerProcess":
        cmd = [sys.executable, "-m", "mock_server.cli", "serve", "--port", str(self.port),
               "--data", str(self.data_dir), *self.args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALTOVIZ_MOCK_")}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.proc.stdout.read()}")
            try:
                if httpx.get(f"{self.url}/_mock/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"server not healthy within {timeout}s")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as after a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> str:
        output = ""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                output, _ = self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                output, _ = self.proc.communicate(timeout=10)
        return output or ""


@pytest.fixture
def server_factory(tmp_path):
    """Start real servers; every one is stopped at the end of the test."""
    started: list[ServerProcess] = []

    def start(*args: str, data_dir: Path | None = None) -> ServerProcess:
        server = ServerProcess(data_dir or tmp_path / "server-data", *args).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
