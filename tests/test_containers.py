"""docker-compose.yml and the Dockerfile, checked without a Docker engine: the compose file against
the Compose Specification's JSON schema (tests/data/README.md says where it comes from), both files
for what the README promises, and their healthcheck command against a real sandbox."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests" / "data" / "compose-spec.json"
SCHEMA_SHA256 = "46b7d35f19dd93a05f8fea530291bf84d881c1791ec167ecf0e6fb94e639d496"  # dclint 3.1.0


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_the_vendored_schema_is_the_recorded_one():
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_the_compose_file_follows_the_compose_specification(compose):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_catches_mistakes(compose):
    """The validation above has teeth: the same file with typical slips is refused."""
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    for broken in ({**compose, "services": {**compose["services"], "mock": {**compose["services"]["mock"],
                                                                           "healthcheck": {"test": 1}}}},
                   {**compose, "services": {**compose["services"], "mock": {**compose["services"]["mock"],
                                                                           "dependson": ["x"]}}}):
        assert list(validator.iter_errors(broken)), broken


def test_the_mock_service(compose):
    mock = compose["services"]["mock"]
    assert mock["build"] in (".", {"context": "."})
    assert mock["command"][:3] == ["serve", "--host", "0.0.0.0"]
    assert any(str(port).endswith("8080:8080") for port in mock["ports"])
    volume, target = mock["volumes"][0].split(":")[:2]
    assert volume in compose["volumes"] and target == mock["environment"]["ALTOVIZ_MOCK_DATA"] == "/data"
    assert "/_mock/health" in " ".join(mock["healthcheck"]["test"])


def test_the_contract_service_waits_for_a_healthy_mock(compose):
    contract = compose["services"]["contract"]
    assert contract["profiles"] == ["contract"]
    assert contract["depends_on"] == {"mock": {"condition": "service_healthy"}}
    command = contract["command"]
    assert command[0] == "contract"
    assert command[command.index("--base-url") + 1] == "http://mock:8080"
    # Its own tenant (one the mock service accepts), not the persistent default one it writes to.
    key = command[command.index("--api-key") + 1]
    assert key != "altoviz-sandbox-key" and "--allow-writes" in command
    assert key in compose["services"]["mock"]["environment"]["ALTOVIZ_MOCK_API_KEYS"].split(",")
    # The report directory is a bind mount Docker creates as root when missing: the service runs as
    # the user's uid (exported UID) so that it can write there, in the directory it reports to.
    source, target = contract["volumes"][0].split(":")[:2]
    assert source == "./contract-report" and target == command[command.index("--report") + 1]
    assert contract["user"] == "${UID:-10001}" and contract["working_dir"] == target
    assert "profiles" not in compose["services"]["mock"]  # `docker compose up` starts the sandbox only


def test_the_dockerfile_basics(compose):
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    runs = " ".join(args for name, args in instructions if name == "RUN")
    assert re.search(r"pip install \"?\.", runs)
    assert ("EXPOSE", "8080") in instructions
    entrypoint = json.loads(dict(instructions)["ENTRYPOINT"])
    cmd = json.loads(dict(instructions)["CMD"])
    assert entrypoint == ["altoviz-mock"] and cmd[:3] == ["serve", "--host", "0.0.0.0"]
    assert "/_mock/health" in dict(instructions).get("HEALTHCHECK", "") or compose["services"]["mock"]["healthcheck"]
    # What it copies exists, and is what `pip install .` needs (pyproject's readme and packages).
    for name, args in instructions:
        if name == "COPY":
            for source in shlex.split(args)[:-1]:
                assert (ROOT / source).exists(), source
    copied = {shlex.split(args)[0] for name, args in instructions if name == "COPY"} | {
        s for name, args in instructions if name == "COPY" for s in shlex.split(args)[:-1]}
    assert {"pyproject.toml", "README.md", "mock_server", "fixtures"} <= copied


def test_the_console_script_the_image_runs_is_declared():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["altoviz-mock"] == "mock_server.cli:main"


@pytest.mark.slow
def test_the_healthcheck_command_passes_against_a_sandbox(compose, server_factory):
    server = server_factory("--in-memory")
    port = server.url.rsplit(":", 1)[1]
    check = [arg.replace("127.0.0.1:8080", f"127.0.0.1:{port}") for arg in compose["services"]["mock"]["healthcheck"]["test"]]
    assert check[0] == "CMD" and check[1] == "python"
    assert subprocess.run([sys.executable, *check[2:]], timeout=30).returncode == 0
    server.stop()
    assert subprocess.run([sys.executable, *check[2:]], timeout=30, capture_output=True).returncode != 0
