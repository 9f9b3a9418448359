"""Findings, the baseline of accepted differences, and the reports (JUnit XML, Markdown).

Both `altoviz-mock contract` (a server checked against the contract) and `altoviz-mock drift`
(the contract compared with a published spec) produce `Finding`s: one disagreement each, named by
operation and check, with a one-line `detail` that stays the same from one run to the next (no
ids, no dates, no random values), so that a baseline can accept it.

Baseline file (YAML or JSON), a list of entries, or a mapping with the list under `known`:

    known:
      - operation: GET_Customers_List      # operationId or "METHOD /path"; * and ? are wildcards
        check: response_schema_conformance # check name (contract) or change kind (drift); wildcards
        detail: "companyName renamed"       # regular expression searched in the finding's detail
        reason: vendor rename, ticket #42   # free text, shown in the report
        expires: 2027-06-30                 # optional: after this day the entry no longer applies

Every key but `operation` is optional (`check` and `detail` then match anything). A finding that
an entry matches is "known": listed in the report, not counted as drift.

Nothing here imports Schemathesis: the drift command works without the test extras.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable
from xml.etree import ElementTree as ET

import yaml


@dataclass
class Finding:
    """One disagreement with the contract."""

    operation: str                  # "GET /v1/Customers/{id}"
    check: str                      # Schemathesis check name, or drift change kind
    change: str                     # what kind of change, for people: "field renamed", "status code"...
    detail: str                     # one stable line, what the baseline matches
    expected: str = ""              # the contract's side
    actual: str = ""                # the server's (or published spec's) side
    operation_id: str | None = None
    curl: str | None = None         # reproduces it (contract runs)
    count: int = 1                  # how many requests showed it
    known: "BaselineEntry | None" = None

    def to_dict(self) -> dict:
        data = {"operation": self.operation, "operation_id": self.operation_id, "check": self.check,
                "change": self.change, "detail": self.detail, "expected": self.expected,
                "actual": self.actual, "count": self.count}
        if self.curl:
            data["curl"] = self.curl
        if self.known is not None:
            data["known"] = self.known.describe()
        return data


@dataclass
class OperationOutcome:
    """What happened to one operation of the contract during a run."""

    operation: str
    operation_id: str | None
    requests: int = 0
    seconds: float = 0.0
    skipped: str | None = None      # why it was not tested
    findings: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.skipped is not None and not self.findings:
            return "skipped"
        if any(f.known is None for f in self.findings):
            return "failed"
        return "passed"


# ---------------------------------------------------------------------------- baseline

@dataclass
class BaselineEntry:
    operation: str
    check: str = "*"
    detail: str | None = None
    reason: str | None = None
    expires: dt.date | None = None
    matched: int = 0

    def describe(self) -> str:
        text = f"{self.operation} / {self.check}" + (f" / {self.detail}" if self.detail else "")
        return text + (f" ({self.reason})" if self.reason else "")

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def matches(self, finding: Finding, today: dt.date) -> bool:
        if self.expired(today):
            return False
        names = [finding.operation] + ([finding.operation_id] if finding.operation_id else [])
        if not any(fnmatch.fnmatchcase(name, self.operation) for name in names):
            return False
        if not fnmatch.fnmatchcase(finding.check, self.check):
            return False
        return self.detail is None or re.search(self.detail, finding.detail) is not None


class BaselineError(ValueError):
    """The baseline file cannot be used (unreadable, malformed)."""


def load_baseline(path: str | Path) -> list[BaselineEntry]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise BaselineError(f"baseline {path} is not valid YAML/JSON: {exc}") from None
    if data is None:
        return []
    if isinstance(data, dict):
        data = data.get("known", data.get("entries"))
    if not isinstance(data, list):
        raise BaselineError(f"baseline {path}: expected a list of entries (or `known:` holding one)")
    entries = []
    for index, item in enumerate(data, 1):
        if not isinstance(item, dict) or not isinstance(item.get("operation"), str):
            raise BaselineError(f"baseline {path}, entry {index}: needs at least `operation` (a string)")
        unknown = set(item) - {"operation", "check", "detail", "reason", "expires"}
        if unknown:
            raise BaselineError(f"baseline {path}, entry {index}: unknown key(s) {', '.join(sorted(unknown))}")
        detail = item.get("detail")
        if detail is not None:
            try:
                re.compile(str(detail))
            except re.error as exc:
                raise BaselineError(f"baseline {path}, entry {index}: `detail` is not a valid regex: {exc}") from None
        expires = item.get("expires")
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                raise BaselineError(f"baseline {path}, entry {index}: `expires` must be YYYY-MM-DD") from None
        entries.append(BaselineEntry(operation=item["operation"], check=str(item.get("check", "*")),
                                     detail=None if detail is None else str(detail),
                                     reason=item.get("reason"), expires=expires))
    return entries


def apply_baseline(findings: Iterable[Finding], entries: list[BaselineEntry],
                   today: dt.date | None = None) -> None:
    """Mark the findings a baseline entry accepts as known (first matching entry wins)."""
    today = today or dt.date.today()
    for finding in findings:
        finding.known = None
        for entry in entries:
            if entry.matches(finding, today):
                finding.known = entry
                entry.matched += 1
                break


def baseline_notes(entries: list[BaselineEntry], today: dt.date | None = None) -> list[str]:
    """What the run says about its baseline once applied: the entries past their `expires` day
    (what they accepted fails again), then those that accepted nothing (the difference is gone)."""
    today = today or dt.date.today()
    expired = [f"{entry.describe()}, expired {entry.expires.isoformat()}" for entry in entries if entry.expired(today)]
    unused = [entry.describe() for entry in entries if not entry.expired(today) and not entry.matched]
    notes = []
    if expired:
        notes.append("Baseline entries expired (what they accepted counts as new; renew or remove them): "
                     + "; ".join(expired))
    if unused:
        notes.append("Baseline entries that matched nothing (fixed? remove them): " + "; ".join(unused))
    return notes


def _regex_escape(text: str) -> str:
    """Escape what a regex would read as syntax (and nothing else: spaces stay readable)."""
    return re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", text)


def baseline_for(findings: Iterable[Finding]) -> str:
    """A baseline (YAML) accepting exactly these findings: a starting point, to review by hand."""
    lines = ["# Known differences accepted so that only new drift fails the run.",
             "# Generated by altoviz-mock; review each entry and give it a reason.", "known:"]
    seen = set()
    for f in findings:
        entry = (f.operation_id or f.operation, f.check, "^" + _regex_escape(f.detail) + "$")
        if entry in seen:
            continue
        seen.add(entry)
        lines += [f"  - operation: {json.dumps(entry[0])}", f"    check: {entry[1]}",
                  f"    detail: {json.dumps(entry[2], ensure_ascii=False)}",
                  "    reason: \"\""]
    if not seen:
        lines[-1] = "known: []"
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- reports

@dataclass
class Report:
    """Everything a run found, ready to be written out."""

    title: str                      # "Contract check of http://... (read-only)"
    target: str
    command: str
    outcomes: list[OperationOutcome]
    notes: list[str] = field(default_factory=list)   # cleanup, rate limit, baseline stale entries...
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    seconds: float = 0.0

    @property
    def findings(self) -> list[Finding]:
        return [f for o in self.outcomes for f in o.findings]

    @property
    def new(self) -> list[Finding]:
        return [f for f in self.findings if f.known is None]

    @property
    def known(self) -> list[Finding]:
        return [f for f in self.findings if f.known is not None]

    def counts(self) -> dict[str, int]:
        statuses = [o.status for o in self.outcomes]
        return {s: statuses.count(s) for s in ("passed", "failed", "skipped")}

    def summary(self) -> str:
        c = self.counts()
        text = (f"{len(self.outcomes)} operations: {c['passed']} passed, {c['failed']} failed, "
                f"{c['skipped']} not tested; {len(self.new)} new difference(s)")
        return text + (f", {len(self.known)} known (baseline)" if self.known else "")


def _cell(text: str) -> str:
    text = " ".join(str(text).split())
    return text.replace("|", "\\|") or "—"


def _markdown_finding_rows(findings: list[Finding]) -> list[str]:
    rows = ["| check | change | detail | expected (contract) | actual | seen |", "|---|---|---|---|---|---|"]
    for f in findings:
        rows.append(f"| `{f.check}` | {_cell(f.change)} | {_cell(f.detail)} | {_cell(f.expected)} | "
                    f"{_cell(f.actual)} | {f.count}× |")
    return rows


def to_markdown(report: Report) -> str:
    out = [f"# {report.title}", "",
           f"- Target: {report.target}",
           f"- Command: `{report.command}`",
           f"- Run: {report.started.strftime('%Y-%m-%d %H:%M UTC')}, {report.seconds:.1f} s",
           f"- Result: {report.summary()}", ""]
    failed = [o for o in report.outcomes if any(f.known is None for f in o.findings)]
    out += ["## New differences", ""]
    if not failed:
        out += ["None: the target agrees with the contract (apart from the known differences below).", ""]
    for o in failed:
        new = [f for f in o.findings if f.known is None]
        out += [f"### {o.operation}" + (f" (`{o.operation_id}`)" if o.operation_id else ""), ""]
        out += _markdown_finding_rows(new) + [""]
        for f in new:
            if f.curl:
                out += [f"Reproduce `{f.check}` ({_cell(f.detail)}):", "", "```sh", f.curl, "```", ""]
    known = report.known
    if known:
        out += ["## Known differences (baseline)", "",
                "| operation | check | detail | accepted by |", "|---|---|---|---|"]
        for f in known:
            out.append(f"| {_cell(f.operation)} | `{f.check}` | {_cell(f.detail)} | {_cell(f.known.describe())} |")
        out.append("")
    skipped = [o for o in report.outcomes if o.status == "skipped"]
    if skipped:
        out += ["## Not tested", "", "| operation | why |", "|---|---|"]
        out += [f"| {_cell(o.operation)} | {_cell(o.skipped or '')} |" for o in skipped] + [""]
    if report.notes:
        out += ["## Notes", ""] + [f"- {note}" for note in report.notes] + [""]
    return "\n".join(out)


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", text)


def to_junit(report: Report, suite_name: str = "altoviz-contract") -> str:
    """One <testcase> per operation: a <failure> per new finding, <skipped> when not tested."""
    c = report.counts()
    suites = ET.Element("testsuites", name=suite_name, tests=str(len(report.outcomes)),
                        failures=str(c["failed"]), errors="0", skipped=str(c["skipped"]),
                        time=f"{report.seconds:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=suite_name, tests=str(len(report.outcomes)),
                          failures=str(c["failed"]), errors="0", skipped=str(c["skipped"]),
                          time=f"{report.seconds:.3f}", timestamp=report.started.strftime("%Y-%m-%dT%H:%M:%S"))
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="target", value=_xml_text(report.target))
    for o in report.outcomes:
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=_xml_text(o.operation),
                             time=f"{o.seconds:.3f}")
        for f in o.findings:
            if f.known is not None:
                continue
            failure = ET.SubElement(case, "failure", type=f.check, message=_xml_text(f"{f.change}: {f.detail}"))
            text = [f"check: {f.check}", f"change: {f.change}", f"detail: {f.detail}",
                    f"expected: {f.expected}", f"actual: {f.actual}", f"seen: {f.count} request(s)"]
            if f.curl:
                text.append(f"reproduce: {f.curl}")
            failure.text = _xml_text("\n".join(text))
        if o.status == "skipped":
            ET.SubElement(case, "skipped", message=_xml_text(o.skipped or "not tested"))
        known = [f for f in o.findings if f.known is not None]
        if known:
            ET.SubElement(case, "system-out").text = _xml_text("\n".join(
                f"known difference ({f.check}): {f.detail} — accepted by {f.known.describe()}" for f in known))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def write_reports(report: Report, directory: str | Path, stem: str = "contract") -> list[Path]:
    """Write `<stem>-junit.xml`, `<stem>-report.md`, `<stem>-findings.json` and
    `<stem>-baseline.yaml` (a baseline accepting every current finding) into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        f"{stem}-junit.xml": to_junit(report, suite_name=f"altoviz-{stem}"),
        f"{stem}-report.md": to_markdown(report),
        f"{stem}-findings.json": json.dumps({"target": report.target, "summary": report.summary(),
                                             "findings": [f.to_dict() for f in report.findings]},
                                            indent=2, ensure_ascii=False) + "\n",
        f"{stem}-baseline.yaml": baseline_for(report.findings),
    }
    written = []
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
        written.append(directory / name)
    return written
