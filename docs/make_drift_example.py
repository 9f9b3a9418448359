"""`make drift-example SPEC=FILE`: docs/drift-example.md and the README's drift sample, written from
a real run of `altoviz-mock drift` against the vendor's published spec (FILE: a copy of
https://api.altoviz.com/swagger/v1/swagger.json, which the repository never holds).

The command is run twice (with the baseline of the deliberate differences, then without it) and
its output and exit status are quoted as they are; the table by kind, with the baseline entry that
accepts each difference, comes from the same functions (contract_tests/drift.py, report.py).
tests/test_drift.py checks the page against the README's sample and the contract of the day.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "drift-example.md"
README = ROOT / "README.md"
BASELINE = "contract_tests/baselines/published-spec.yaml"
# The README's sample sits between these two lines (the fenced block and the sentence after it).
SAMPLE_BEGIN = "<!-- drift-sample: written by docs/make_drift_example.py -->"
SAMPLE_END = "<!-- /drift-sample -->"
FIRST_LINES = 12
SHOWN_NEW = 30
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def run(spec: Path, baseline: bool) -> tuple[int, list[str]]:
    """`altoviz-mock drift --against NAME [--baseline ...]` run beside the spec, so that its output
    names the file as a reader's run would: its exit status and lines."""
    command = [sys.executable, "-m", "mock_server.cli", "drift", "--against", spec.name]
    if baseline:
        command += ["--baseline", str(ROOT / BASELINE)]
    done = subprocess.run(command, cwd=spec.parent, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"altoviz-mock drift failed ({done.returncode}): {done.stderr.strip()}")
    return done.returncode, done.stdout.splitlines()


def by_kind(spec: Path) -> tuple[dict, list[tuple[str, int, Counter]]]:
    """The published spec, and each kind of difference: its count and the reasons of the baseline
    entries that accept its findings (`None`: accepted by none, new)."""
    sys.path.insert(0, str(ROOT))
    from contract_tests.drift import diff_specs, load_spec
    from contract_tests.report import apply_baseline, load_baseline
    from mock_server.contracts import load_contract

    published = load_spec(str(spec))
    findings = diff_specs(load_contract(), published)
    apply_baseline(findings, load_baseline(ROOT / BASELINE))
    kinds: dict[str, Counter] = {}
    for finding in findings:
        kinds.setdefault(finding.check, Counter())[finding.known.reason if finding.known else None] += 1
    rows = sorted(((check, sum(reasons.values()), reasons) for check, reasons in kinds.items()),
                  key=lambda row: (-row[1], row[0]))
    return published, rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _date(day: dt.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def page(spec: Path, day: dt.date) -> tuple[str, str]:
    """docs/drift-example.md's text, and the README's sample (its fenced block and sentence)."""
    status, lines = run(spec, baseline=True)
    all_status, all_lines = run(spec, baseline=False)
    published, rows = by_kind(spec)
    summary, total_line = lines[0], lines[-1]
    total = int(re.match(r"(\d+) difference", total_line).group(1))
    if sum(count for _, count, _ in rows) != total:
        raise SystemExit(f"the table by kind ({sum(c for _, c, _ in rows)}) disagrees with the run ({total_line})")
    operations = re.search(r"\((\d+) operations\)", summary).group(1)
    new_lines = lines[1:-1]

    out = ["# Drift example: the contract against the vendor's published spec", "",
           "<!-- Written by docs/make_drift_example.py (make drift-example SPEC=FILE) from a real run: do not edit. -->", "",
           "`altoviz-mock drift` compares `mock_server/openapi.yaml` (the contract) with a published OpenAPI",
           "description and lists what the published one changes: operations added or removed, parameters,",
           "request and response fields, types, enums, nullability, media types and status codes (see",
           "[README, \"Detecting drift\"](../README.md#detecting-drift)). Below, the result against the vendor's",
           f"published spec (OpenAPI {published.get('openapi', '?')}, {operations} operations), a file kept outside "
           "the repository.", "",
           "## The command", "", "```sh", f"altoviz-mock drift --against {spec.name} \\", f"  --baseline {BASELINE}",
           "```", "",
           f"`{BASELINE}` accepts the deliberate differences listed at the top of",
           "`openapi.yaml` and in `docs/live-vs-published.md`, so that only the rest counts.", "",
           f"## The result (exit status {status})", "",
           f"Output of {_date(day)}, with the contract of that day:", "", "```", summary]
    out += new_lines[:SHOWN_NEW] + (["..."] if len(new_lines) > SHOWN_NEW else []) + [total_line, "```", ""]
    if status == 0:
        out += ["Every difference is one of the deliberate ones, so a nightly run of the same command fails only",
                "when the vendor publishes something new: an operation, a field, an enum value, a status.", ""]
    else:
        out += ["Exit status 1: the differences listed are accepted by no entry of the baseline. Each is either",
                "a change to follow in the contract or a deliberate difference the baseline should name.", ""]
    out += ["## Without the baseline", "",
            f"The same command without `--baseline` lists all {total} differences (exit status {all_status}), by kind,",
            "with the reason of the baseline entry that accepts them:", "",
            "| check | count | accepted by |", "|---|---:|---|"]
    for check, count, reasons in rows:
        accepted = "; ".join(f"{_cell(reason) if reason else '**none: new**'} ({n})" if len(reasons) > 1
                             else (_cell(reason) if reason else "**none: new**")
                             for reason, n in reasons.most_common())
        out.append(f"| `{check}` | {count} | {accepted} |")
    out += ["", "For instance, the first lines:", "", "```"] + all_lines[:FIRST_LINES] + ["...", all_lines[-1], "```", ""]

    sample = [SAMPLE_BEGIN, "```", f"$ altoviz-mock drift --against {spec.name} --baseline {BASELINE}", summary]
    sample += new_lines[:5] + (["..."] if len(new_lines) > 5 else []) + [total_line, "```", ""]
    sample.append("Exit status 0: every difference is a deliberate one. When the vendor publishes a new operation,\n"
                  "field, enum value or status, it is listed as new and the exit status is 1." if status == 0 else
                  f"Exit status 1: {len(new_lines)} line(s) above are differences no baseline entry accepts "
                  "(docs/drift-example.md).")
    sample.append(SAMPLE_END)
    return "\n".join(out), "\n".join(sample)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_file():
        print("usage: make drift-example SPEC=/path/to/altoviz-openapi.yaml (the vendor's published spec)",
              file=sys.stderr)
        return 2
    doc, sample = page(Path(argv[0]).resolve(), dt.date.today())
    DOC.write_text(doc, encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    begin, end = readme.index(SAMPLE_BEGIN), readme.index(SAMPLE_END) + len(SAMPLE_END)
    README.write_text(readme[:begin] + sample + readme[end:], encoding="utf-8")
    print(f"{DOC.relative_to(ROOT)} and README.md's drift sample written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
