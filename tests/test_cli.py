"""The `altoviz-mock` command as people meet it: help with examples, one-line errors, colour only
on a terminal, settings from flags, environment and `altoviz-mock.toml`, and the `seed` and `reset`
commands acting on a running sandbox over loopback."""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import socket

import httpx
import pytest

from mock_server.cli import main

KEY = "altoviz-sandbox-key"
ANSI = re.compile(r"\x1b\[")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli() -> list[str]:
    script = Path(sys.executable).with_name("altoviz-mock")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mock_server.cli"]


def env(**extra: str) -> dict[str, str]:
    """The environment without the developer's ALTOVIZ_MOCK_* and colour settings, plus `extra`."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("ALTOVIZ_MOCK_") and k not in ("NO_COLOR", "FORCE_COLOR")}
    return {**base, **extra}


def run(*args: str, cwd: Path | None = None, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*cli(), *args], capture_output=True, text=True, timeout=60, cwd=cwd,
                          env=env(**extra), stdin=subprocess.DEVNULL)


def count(url: str, key: str = KEY) -> int:
    response = httpx.get(f"{url}/v1/Customers", params={"PageSize": 1000}, headers={"X-API-KEY": key},
                         timeout=20, trust_env=False)
    assert response.status_code == 200, response.text
    return len(response.json())


# --- help and errors ------------------------------------------------------------------------------

def test_help_teaches_with_examples():
    result = run("--help")
    assert result.returncode == 0
    for command in ("serve", "seed", "reset", "contract"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M), command
    assert "examples:" in result.stdout
    assert "altoviz-mock seed --size 500 --seed 7" in result.stdout
    assert "altoviz-mock.toml" in result.stdout
    for command in ("serve", "seed", "reset"):
        sub = run(command, "--help")
        assert sub.returncode == 0 and "examples:" in sub.stdout and "--config FILE" in sub.stdout, command


def test_no_command_shows_the_help():
    result = run()
    assert result.returncode == 2 and "examples:" in result.stdout


# The command as installed (`serve`'s flags one by one: test_every_bad_serve_flag_is_one_clear_line).
@pytest.mark.parametrize("args, words", [
    (("serve", "--port", "99999"), ("--port", "'99999'", "from 0 to 65535", "altoviz-mock serve --help")),
    (("seed", "--size", "100000"), ("--size", "from 0 to 700")),
    (("launch",), ("invalid choice", "launch")),
])
def test_a_bad_flag_is_one_clear_line(args, words):
    result = run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("altoviz-mock")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.stderr and not ANSI.search(result.stderr)


@pytest.mark.parametrize("variable, value, words", [
    ("ALTOVIZ_MOCK_PORT", "99999", ("from 0 to 65535",)),
    ("ALTOVIZ_MOCK_PORT", "abc", ("from 0 to 65535",)),
    ("ALTOVIZ_MOCK_HOST", "nohost.invalid", ("host nohost.invalid",)),
    ("ALTOVIZ_MOCK_SEED", "x", ("ALTOVIZ_MOCK_SEED='x'",)),
    ("ALTOVIZ_MOCK_OPEN_TENANTS", "maybe", ("expected 1, true",)),
    ("ALTOVIZ_MOCK_IN_MEMORY", "maybe", ("expected 1, true",)),
    ("ALTOVIZ_MOCK_WEBHOOK_TIMEOUT", "nan", ("finite",)),
    ("ALTOVIZ_MOCK_WEBHOOK_WORKERS", "-1", ("webhook_workers",)),
])
def test_a_bad_environment_value_is_one_clear_line(variable, value, words):
    # Were the value accepted, the server would start (and the test time out) instead.
    args = ("serve", *(() if variable == "ALTOVIZ_MOCK_IN_MEMORY" else ("--in-memory",)),
            *(() if variable == "ALTOVIZ_MOCK_PORT" else ("--port", "0")))
    result = run(*args, **{variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("altoviz-mock")
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in result.stderr and not ANSI.search(result.stderr)


@pytest.fixture
def unwritable_dir(tmp_path):
    """A directory this process cannot create files in: read-only by its mode, or, for root (whom
    modes do not stop), Linux's /proc/self."""
    if os.geteuid() == 0:
        yield Path("/proc/self")
        return
    path = tmp_path / "read-only"
    path.mkdir(mode=0o500)
    yield path
    path.chmod(0o700)


SERVE_BAD_FLAGS = [
    (("--port", "99999"), ("--port", "'99999'", "from 0 to 65535", "altoviz-mock serve --help")),
    (("--port", "-1"), ("--port", "'-1'", "from 0 to 65535")),
    (("--port", "abc"), ("--port", "'abc'", "from 0 to 65535")),
    (("--port", ""), ("--port", "from 0 to 65535")),
    (("--host", ""), ("host", "not a host name or address")),
    (("--host", "999.1.1.1"), ("host 999.1.1.1", "not a host name or address")),
    (("--host", "192.0.2.1"), ("host 192.0.2.1", "not an address of this machine")),
    (("--data", "{file}"), ("data directory", "not a directory")),
    (("--data", "{file}/tenants"), ("data directory", "Not a directory")),
    (("--data", "{unwritable}"), ("data directory", "writable directory")),
    (("--data", "{long}"), ("data directory", "File name too long")),
    (("--api-key", ""), ("API key", "empty")),
    (("--admin-key", ""), ("admin key", "empty")),
    (("--max-open-tenants", "0"), ("max_open_tenants", "at least 1")),
    (("--max-open-tenants", "-3"), ("max_open_tenants", "at least 1")),
    (("--max-open-tenants", "many"), ("--max-open-tenants", "'many'")),
    (("--seed", "x"), ("--seed", "'x'")),
    (("--empty", "--seed", "7"), ("--seed", "not allowed with argument --empty")),
    (("--rate-limit", "fast"), ("rate limit 'fast'", "N/SECONDS")),
    (("--rate-limit", "0/0"), ("rate limit '0/0'",)),
    (("--rate-limit", "10/nan"), ("rate limit '10/nan'",)),
    (("--rate-limit=-5/10",), ("rate limit '-5/10'",)),
    (("--log-format", "xml"), ("--log-format", "'xml'", "text", "json")),
    (("--config", "{missing}"), ("cannot read config file",)),
    (("--config", "{tmp}"), ("cannot read config file", "Is a directory")),
    (("--colour",), ("unrecognized arguments: --colour",)),
]


@pytest.mark.parametrize("flags, words", SERVE_BAD_FLAGS, ids=[" ".join(flags) for flags, _ in SERVE_BAD_FLAGS])
def test_every_bad_serve_flag_is_one_clear_line(flags, words, tmp_path, unwritable_dir, monkeypatch, capsys):
    for name in [name for name in os.environ if name.startswith("ALTOVIZ_MOCK_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("not a directory", encoding="utf-8")
    paths = {"file": tmp_path / "a-file", "unwritable": unwritable_dir, "long": tmp_path / ("x" * 300),
             "missing": tmp_path / "missing.toml", "tmp": tmp_path}
    flags = [flag.format(**paths) for flag in flags]
    # Were the value accepted, `serve` would stop at this port in use (status 1), not serve forever.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = () if any(flag.startswith("--port") for flag in flags) else ("--port", str(taken.getsockname()[1]))
        try:
            status = main(["serve", *port, *flags])
        except SystemExit as exit_:  # argparse's errors
            status = exit_.code
    out, err = capsys.readouterr()
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("altoviz-mock"), err
    for word in words:
        assert word in lines[0]
    assert "Traceback" not in err and out == ""


def test_colour_only_where_wanted():
    plain = run("seed", "--size", "-1")
    assert not ANSI.search(plain.stderr)  # not a terminal
    forced = run("seed", "--size", "-1", FORCE_COLOR="1")
    assert ANSI.search(forced.stderr)
    refused = run("seed", "--size", "-1", FORCE_COLOR="1", NO_COLOR="1")
    assert not ANSI.search(refused.stderr) and refused.stderr.strip() == plain.stderr.strip()


# --- settings: flags, environment, config file ---------------------------------------------------

class Served:
    """`altoviz-mock serve` started in `cwd` with only the settings a test gives."""

    def __init__(self, *args: str, cwd: Path, **extra: str):
        self.log = cwd / "serve.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([*cli(), "serve", *args], cwd=cwd, env=env(**extra),
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def banner(self, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(encoding="utf-8", errors="replace")
            if re.search(r"^Commands \(in another terminal\): .*\n", text, re.M) or self.proc.poll() is not None:
                return text
            time.sleep(0.05)
        raise TimeoutError(self.log.read_text(encoding="utf-8", errors="replace"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def serve_in(tmp_path):
    started: list[Served] = []

    def start(*args: str, **extra: str) -> Served:
        served = Served(*args, cwd=tmp_path, **extra)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.mark.slow
def test_the_config_file_is_a_layer_under_environment_and_flags(tmp_path, serve_in):
    file_port, env_port, flag_port = free_port(), free_port(), free_port()
    (tmp_path / "altoviz-mock.toml").write_text(
        f'port = {file_port}\nin_memory = true\nopen_tenants = true\napi_keys = ["team-a", "team-b"]\n',
        encoding="utf-8")
    banner = serve_in().banner()
    assert f"listening on http://127.0.0.1:{file_port}" in banner and "memory only" in banner
    assert "API key: team-a" in banner and "Open tenants" in banner
    assert not (tmp_path / ".altoviz-mock").exists()

    banner = serve_in(ALTOVIZ_MOCK_PORT=str(env_port)).banner()
    assert f"listening on http://127.0.0.1:{env_port}" in banner

    banner = serve_in("--port", str(flag_port), ALTOVIZ_MOCK_PORT=str(env_port)).banner()
    assert f"listening on http://127.0.0.1:{flag_port}" in banner


@pytest.mark.slow
def test_port_0_listens_on_a_free_port_and_says_which(serve_in):
    banner = serve_in("--port", "0", "--in-memory").banner()
    match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", banner)
    assert match and int(match.group(1)) > 0, banner
    # The command is reachable from another shell as the banner says (`make run` runs it from .venv).
    hint = re.search(r"^Commands \(in another terminal\): (?:source (\S+), then )?altoviz-mock --help$", banner, re.M)
    assert hint, banner
    if hint.group(1):
        assert (Path(hint.group(1)).parent / "altoviz-mock").is_file()
    answer = httpx.get(f"http://127.0.0.1:{match.group(1)}/v1/Customers/1", headers={"X-API-KEY": KEY}, timeout=5)
    assert answer.status_code == 200 and answer.json()["id"] == 1
    # The banner names the dashboard next to the API page, and it answers there (its login form).
    dashboard = f"http://127.0.0.1:{match.group(1)}/_mock/dashboard/"
    assert f"Dashboard: {dashboard}" in banner
    assert "X-API-KEY" in httpx.get(dashboard, follow_redirects=True, timeout=5).text


def test_a_bad_config_file_is_one_clear_line(tmp_path):
    (tmp_path / "altoviz-mock.toml").write_text("prot = 9000\n", encoding="utf-8")
    result = run("serve", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "unknown setting 'prot'" in result.stderr
    (tmp_path / "other.toml").write_text("port = 'abc'\n", encoding="utf-8")
    result = run("--config", str(tmp_path / "other.toml"), "serve", cwd=tmp_path)
    assert result.returncode == 2 and "port = 'abc' is not valid" in result.stderr
    result = run("serve", "--config", str(tmp_path / "missing.toml"), cwd=tmp_path)
    assert result.returncode == 2 and "cannot read config file" in result.stderr


# --- seed and reset on a running sandbox -----------------------------------------------------------

@pytest.mark.slow
def test_seed_and_reset_a_running_sandbox(server_factory):
    server = server_factory("--api-key", "team-b")
    result = run("seed", "--url", server.url, "--size", "50", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "50 customers" in result.stdout and "fixture set 3" in result.stdout
    assert not ANSI.search(result.stdout)
    assert count(server.url) == 50 and count(server.url, "team-b") == 30

    # A large set goes in steps (a progress bar on a terminal): the same data as one call.
    result = run("seed", "--url", server.url, "--api-key", "team-b", "--size", "150", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "150 customers" in result.stdout and result.stderr == ""
    steps = httpx.get(f"{server.url}/v1/Customers", params={"PageSize": 1000}, headers={"X-API-KEY": "team-b"},
                      trust_env=False, timeout=20).json()
    httpx.post(f"{server.url}/_mock/seed", json={"seed": 3, "size": 150}, headers={"X-API-KEY": KEY},
               trust_env=False, timeout=60)
    assert httpx.get(f"{server.url}/v1/Customers", params={"PageSize": 1000}, headers={"X-API-KEY": KEY},
                     trust_env=False, timeout=20).json() == steps

    result = run("reset", "--url", server.url)
    assert result.returncode == 0, result.stderr
    assert "back to its initial state" in result.stdout
    assert count(server.url) == 30 and count(server.url, "team-b") == 150


@pytest.mark.slow
def test_seed_and_reset_take_url_and_key_from_environment_and_config_file(server_factory, tmp_path):
    server = server_factory("--api-key", "team-c")
    port = server.url.rsplit(":", 1)[1]
    (tmp_path / "altoviz-mock.toml").write_text(f'port = {port}\napi_key = "team-c"\n', encoding="utf-8")
    assert run("seed", "--size", "12", cwd=tmp_path).returncode == 0
    assert count(server.url, "team-c") == 12 and count(server.url) == 30
    result = run("reset", cwd=tmp_path, ALTOVIZ_MOCK_API_KEY=KEY)
    assert result.returncode == 0 and KEY in result.stdout
    assert count(server.url, "team-c") == 12
    # trigger too: the configured sandbox and key (team-c has no webhook: nothing to send).
    result = run("trigger", "CustomerCreated", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no webhook of this API key subscribes" in result.stdout


def test_client_commands_fail_in_one_line():
    dead = f"http://127.0.0.1:{free_port()}"
    for command in (("seed",), ("reset",), ("trigger", "InvoiceCreated")):
        result = run(*command, "--url", dead)
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1 and f"no sandbox answering at {dead}" in result.stderr


@pytest.mark.slow
def test_an_unknown_key_is_explained(server_factory):
    server = server_factory()
    result = run("reset", "--url", server.url, "--api-key", "nobody")
    assert result.returncode == 1
    assert "does not accept the API key nobody" in result.stderr and "--open-tenants" in result.stderr


def test_a_serve_that_does_not_start_leaves_the_callers_gc_as_it_was(tmp_path, monkeypatch):
    """`serve` sets the server's GC thresholds once it is sure to start (collector.THRESHOLDS): a
    refused setting, or a port in use, changes nothing in the process that called it."""
    monkeypatch.chdir(tmp_path)
    thresholds = gc.get_threshold()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["serve", "--port", str(taken.getsockname()[1]), "--in-memory"]) == 1
        assert main(["serve", "--port", str(taken.getsockname()[1]), "--body-timeout", "-1"]) == 2
    assert gc.get_threshold() == thresholds
