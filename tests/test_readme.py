"""The README runs as written: its `sh` blocks, in order, in one bash session against a real,
freshly started sandbox, each `# → ...` comment checked against what the command before it printed.

Conventions (the README's tour states them too):
- a block right after `<!-- readme-test: skip (why) -->` is not run (it starts servers, needs Docker
  or runs for minutes; the reason names the test that covers it);
- `# → ...` on its own line, or at the end of a command's last line, checks the output of the
  commands since the previous check: comma-separated `name value` pairs are fields of the JSON
  answer (value as JSON, else a regular expression the whole value matches), `N items` the length
  of a JSON array, anything else a regular expression searched in the output; `<year>` is the
  current year.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\b[^>]*-->\s*$")
EXPECT = re.compile(r"(?:^|\s)# → (.*)$")


def sh_blocks(text: str) -> list[str]:
    """The `sh` blocks to run, in order (those after a skip marker left out)."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i] == "```sh":  # not the indented ones: samples of a report's content
            skipped = i > 0 and SKIP.match(lines[i - 1].strip())
            end = lines.index("```", i + 1)
            if not skipped:
                blocks.append("\n".join(lines[i + 1:end]))
            i = end
        i += 1
    return blocks


def script_and_checks(blocks: list[str]) -> tuple[str, list[str]]:
    """One bash script printing a mark after each checked command, and the checks in order."""
    out, checks = [], []
    for line in "\n\n".join(blocks).splitlines():
        match = EXPECT.search(line)
        if line.lstrip().startswith("#") and not match:
            continue
        if match:
            command = line[:match.start()].rstrip()
            if command:
                out.append(command)
            out.append(f"printf '\\n@@readme-check %d@@\\n' {len(checks)}")
            checks.append(match.group(1).strip())
        else:
            out.append(line)
    return "\n".join(out) + "\n", checks


def last_json(output: str):
    """The last JSON value of an output (curl prints answers back to back, without newlines)."""
    decoder, pos, last = json.JSONDecoder(), 0, None
    while pos < len(output):
        while pos < len(output) and output[pos].isspace():
            pos += 1
        try:
            last, pos = decoder.raw_decode(output, pos)
        except ValueError:
            brace = min((i for i in (output.find("{", pos + 1), output.find("[", pos + 1)) if i > 0), default=-1)
            if brace < 0:
                break
            pos = brace
    return last


def check(expected: str, output: str) -> str | None:
    """Why `output` does not answer as `expected` says, or None."""
    expected = expected.replace("<year>", str(dt.date.today().year))
    answer = last_json(output)
    items = re.fullmatch(r"(\d+) items", expected)
    if items:
        if not isinstance(answer, list) or len(answer) != int(items.group(1)):
            return f"expected a list of {items.group(1)} items"
        return None
    pairs = [part.strip().split(" ", 1) for part in expected.split(", ")]
    if isinstance(answer, dict) and all(len(p) == 2 and p[0] in answer for p in pairs):
        for name, value in pairs:
            try:
                wanted = json.loads(value)
            except ValueError:
                wanted = None
            actual = answer[name]
            if wanted is not None or value == "null":
                if actual != wanted:
                    return f"{name} is {actual!r}, not {wanted!r}"
            elif not re.fullmatch(value, str(actual)):
                return f"{name} is {actual!r}, which does not match {value!r}"
        return None
    if not re.search(expected, output, re.M | re.S):
        return f"no match for {expected!r}"
    return None


def test_the_blocks_and_their_conventions_are_found():
    blocks = sh_blocks(README.read_text(encoding="utf-8"))
    script, checks = script_and_checks(blocks)
    assert len(blocks) >= 5 and len(checks) >= 20
    assert "make run" not in script  # the skipped first block
    # No hard-coded ids or years left for a reader to trip on.
    assert not re.search(r"Finalize/\d|Customers/31|FA20\d\d-", script)
    assert check("number FA<year>-00001", json.dumps({"number": f"FA{dt.date.today().year}-00001"})) is None
    assert check("balance 809.69", '{"balance": 800}') is not None
    assert check("2 items", "[1]") is not None and check("404$", "{} 404\n") is None


@pytest.mark.slow
def test_every_sh_block_of_the_readme_answers_as_documented(server_factory, tmp_path):
    server = server_factory("--in-memory")
    script, checks = script_and_checks(sh_blocks(README.read_text(encoding="utf-8")))
    # The venv's bin first: the README's `altoviz-mock` lines run after `source .venv/bin/activate`.
    env = {**os.environ, "URL": server.url, "KEY": "altoviz-sandbox-key",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env = {k: v for k, v in env.items() if not k.startswith("ALTOVIZ_MOCK_") and k not in ("NO_COLOR",)}
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=240, stdin=subprocess.DEVNULL)
    outputs = re.split(r"\n?@@readme-check \d+@@\n", result.stdout)
    assert len(outputs) == len(checks) + 1, (result.stdout[-3000:], result.stderr[-2000:])
    failures = [f"# → {expected}: {why}\n    output: {output.strip()[:500]}"
                for expected, output in zip(checks, outputs)
                if (why := check(expected, output.strip())) is not None]
    assert not failures, "\n".join(failures) + "\nstderr: " + result.stderr[-2000:]
    assert "command not found" not in result.stderr, result.stderr
