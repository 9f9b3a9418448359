"""`altoviz-mock contract` and `altoviz-mock drift`: detecting drift between the contract
(`openapi.yaml`), the sandbox, the live API and the vendor's published spec.

Exit status of both: 0 when nothing new differs (baseline honoured), 1 when something does,
2 when the check could not be done (bad flags or baseline, unreachable server, unreadable spec).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shlex
import sys
import time

from .config import DEFAULT_API_KEY

RATE_LIMIT = re.compile(r"[0-9]+/[smhd]\Z")

EXIT_CLEAN, EXIT_DRIFT, EXIT_ERROR = 0, 1, 2


def add_commands(commands, formatter_class) -> None:
    """Register `contract` and `drift` on the `altoviz-mock` sub-command parser."""
    c = commands.add_parser(
        "contract", help="check a server (or the sandbox) against the contract", formatter_class=formatter_class,
        description="Run the contract suites: every check of the mock mode, against the sandbox in-process "
                    "(no --base-url) or against any server, such as the live Altoviz API. Against a server the run "
                    "is read-only unless --allow-writes, rate-limited, and calls item operations only with ids "
                    "its list operations answered. Exits 1 on any new disagreement with the contract.")
    c.add_argument("--base-url", metavar="URL", default=os.environ.get("ALTOVIZ_BASE_URL") or None,
                   help="server to check, e.g. https://api.altoviz.com (env ALTOVIZ_BASE_URL); "
                        "without it, the sandbox in-process")
    c.add_argument("--api-key", metavar="KEY", default=None,
                   help="its API key (env ALTOVIZ_API_KEY); required with --base-url")
    c.add_argument("--allow-writes", action="store_true",
                   help="also send POST/PUT/DELETE, on resources the run creates, and delete them at the end "
                        "(sandbox accounts only; never sends e-mail)")
    c.add_argument("--report", metavar="DIR", help="write contract-junit.xml, contract-report.md (drift report), "
                                                   "contract-findings.json and contract-baseline.yaml into DIR")
    c.add_argument("--baseline", metavar="FILE", help="YAML/JSON list of accepted differences "
                                                      "({operation, check, detail-regex}): only new ones fail")
    c.add_argument("--max-examples", type=int, default=None, metavar="N",
                   help="generated requests per operation and kind (valid, invalid); default 5")
    c.add_argument("--rate-limit", metavar="RATE", default=None,
                   help="at most RATE requests, e.g. 5/s or 200/m (default 5/s with --base-url, unbounded "
                        "in-process; 'none' lifts it)")
    c.add_argument("--operation", metavar="ID", action="append",
                   help="only this operation: an operationId or 'METHOD /path' (repeatable)")
    c.add_argument("--valid-only", action="store_true", help="send no schema-invalid requests")
    c.add_argument("--seed", type=int, default=None, metavar="N", help="generation seed (default fixed: runs repeat)")
    c.add_argument("--timeout", type=float, default=15.0, metavar="S", help="seconds to wait for each answer")
    c.add_argument("-q", "--quiet", action="store_true", help="no line per operation, only the summary")
    c.set_defaults(func=contract)

    d = commands.add_parser(
        "drift", help="compare the contract with a published OpenAPI spec", formatter_class=formatter_class,
        description="List what a published spec (a file or an http(s) URL) changes relative to the contract: "
                    "operations added or removed, parameters, request and response fields, types, enums, "
                    "nullability, status codes and media types. Exits 1 when anything new differs.")
    d.add_argument("--against", required=True, metavar="FILE_OR_URL", help="the published spec (YAML or JSON)")
    d.add_argument("--baseline", metavar="FILE", help="accepted differences (same format as for `contract`)")
    d.add_argument("--contract", metavar="FILE", help="the contract to compare (default: the sandbox's openapi.yaml)")
    d.add_argument("--report", metavar="DIR", help="write drift-junit.xml, drift-report.md, drift-findings.json "
                                                   "and drift-baseline.yaml into DIR")
    d.add_argument("--all", action="store_true", help="also list the known (baselined) differences")
    d.set_defaults(func=drift)


def _fail(message: str) -> int:
    print(f"altoviz-mock: {message}", file=sys.stderr)
    return EXIT_ERROR


def _load_baseline(path: str | None):
    from contract_tests.report import load_baseline

    return load_baseline(path) if path else []


def _command_line(args: argparse.Namespace) -> str:
    parts = ["altoviz-mock", "contract"]
    if args.base_url:
        parts += ["--base-url", args.base_url, "--api-key", "$ALTOVIZ_API_KEY"]
    for flag in ("allow_writes", "valid_only"):
        if getattr(args, flag):
            parts.append("--" + flag.replace("_", "-"))
    for flag in ("report", "baseline", "max_examples", "rate_limit", "seed"):
        if getattr(args, flag) is not None:
            parts += ["--" + flag.replace("_", "-"), str(getattr(args, flag))]
    for op in args.operation or []:
        parts += ["--operation", op]
    return " ".join(shlex.quote(p) if not p.startswith("$") else p for p in parts)


def _status_word(outcome) -> str:
    if outcome.status == "failed":
        return "FAILED"
    if outcome.status == "skipped":
        return "skipped"
    return "known" if outcome.findings else "ok"


def contract(args: argparse.Namespace) -> int:
    try:
        from contract_tests.live import DEFAULT_LIVE_RATE_LIMIT, DEFAULT_MAX_EXAMPLES, DEFAULT_SEED, \
            RunOptions, TargetUnreachable, run_contract
        from contract_tests.report import BaselineError, apply_baseline, baseline_notes, write_reports
    except ImportError as exc:  # schemathesis & co. come with the test extras
        return _fail(f"the contract suites need the test extras (pip install 'altoviz-mock[test]'): {exc}")

    try:
        baseline = _load_baseline(args.baseline)
    except BaselineError as exc:
        return _fail(str(exc))
    api_key = args.api_key or os.environ.get("ALTOVIZ_API_KEY") or None
    rate = args.rate_limit
    if rate is not None and rate.lower() in ("none", "0", "off"):
        rate = None
    elif rate is None and args.base_url:
        rate = DEFAULT_LIVE_RATE_LIMIT
    # Schemathesis' own `--rate-limit` syntax, checked here so that a typo is one line, not a trace.
    if rate is not None and not RATE_LIMIT.match(rate):
        return _fail(f"--rate-limit {rate!r}: expected N/s, N/m, N/h or N/d")
    if args.max_examples is not None and args.max_examples < 1:
        return _fail("--max-examples must be at least 1")

    app = None
    if args.base_url:
        if not api_key:
            return _fail("--api-key (or ALTOVIZ_API_KEY) is required with --base-url")
        if not args.base_url.startswith(("http://", "https://")):
            return _fail(f"--base-url {args.base_url!r}: expected an http:// or https:// URL")
        target = args.base_url
        operations = args.operation
        allow_writes = args.allow_writes
    else:
        from contract_tests.mock_mode import implemented_operation_ids
        from contract_tests.standin import sandbox_config

        from .app import create_app

        app = create_app(sandbox_config(validate_responses=True))
        implemented = implemented_operation_ids()
        operations = [op for op in implemented if not args.operation or op in args.operation] or args.operation
        allow_writes = True  # a throwaway in-memory sandbox: every operation, as the mock mode does
        api_key = api_key or DEFAULT_API_KEY
        target = "the sandbox, in-process"
    options = RunOptions(base_url=args.base_url, api_key=api_key, allow_writes=allow_writes,
                         max_examples=args.max_examples or DEFAULT_MAX_EXAMPLES, rate_limit=rate,
                         seed=DEFAULT_SEED if args.seed is None else args.seed, operations=operations,
                         request_timeout=args.timeout, negative=not args.valid_only, app=app)

    mode = "read-write: resources it creates are deleted at the end" if allow_writes else "read-only: GET only"
    limits = f"at most {rate.replace('/', ' requests/')}" if rate else "no rate limit"
    print(f"Contract check of {target} ({mode}; {limits}; {options.max_examples} examples per operation)",
          flush=True)
    if allow_writes and args.base_url:
        print("Writes are allowed: use a sandbox account, never a production one.", flush=True)

    def progress(index: int, total: int, outcome) -> None:
        apply_baseline(outcome.findings, baseline)
        if args.quiet:
            return
        status = _status_word(outcome)
        what = outcome.skipped if outcome.status == "skipped" else f"{outcome.requests} requests"
        print(f"[{index:>{len(str(total))}}/{total}] {outcome.operation:<52} {status:<8} {what}", flush=True)
        for finding in outcome.findings:
            if finding.known is None:
                print(f"    {finding.check}: {finding.detail}", flush=True)

    logging.getLogger("connexion").setLevel(logging.ERROR)  # its 400s are what invalid requests ask for
    try:
        report = run_contract(options, progress)
    except TargetUnreachable as exc:
        return _fail(str(exc))
    finally:
        if app is not None:
            from contract_tests.standin import close_app
            close_app(app)
    apply_baseline(report.findings, baseline)
    report.title = f"Contract check of {target}"
    report.command = _command_line(args)
    report.notes.extend(baseline_notes(baseline))
    for note in report.notes:
        print(note)
    print(report.summary() + f" ({report.seconds:.1f} s)")
    if args.report:
        files = write_reports(report, args.report, stem="contract")
        print("Report: " + ", ".join(str(f) for f in files))
    return EXIT_DRIFT if report.new else EXIT_CLEAN


def drift(args: argparse.Namespace) -> int:
    from contract_tests.drift import SpecError, describe_counts, diff_specs, load_spec, outcomes
    from contract_tests.report import BaselineError, Report, apply_baseline, baseline_notes, write_reports

    started = time.monotonic()
    try:
        baseline = _load_baseline(args.baseline)
        if args.contract:
            contract_spec = load_spec(args.contract)
            contract_name = args.contract
        else:
            from .app import load_contract
            contract_spec = load_contract()
            contract_name = "the contract mock_server/openapi.yaml"
        published = load_spec(args.against)
    except (BaselineError, SpecError) as exc:
        return _fail(str(exc))
    findings = diff_specs(contract_spec, published)
    apply_baseline(findings, baseline)
    report = Report(title=f"Drift of {args.against} relative to {contract_name}", target=args.against,
                    command=" ".join(["altoviz-mock drift --against", shlex.quote(args.against)]
                                     + (["--baseline", shlex.quote(args.baseline)] if args.baseline else [])
                                     + (["--contract", shlex.quote(args.contract)] if args.contract else [])),
                    outcomes=outcomes(contract_spec, published, findings))
    print(f"{args.against} ({describe_counts(published)}) compared with {contract_name} "
          f"({describe_counts(contract_spec)})")
    for outcome in report.outcomes:
        shown = [f for f in outcome.findings if args.all or f.known is None]
        if not shown:
            continue
        print(f"{outcome.operation}" + (f" ({outcome.operation_id})" if outcome.operation_id else ""))
        for f in shown:
            mark = "  (known)" if f.known is not None else ""
            print(f"  {f.check}: {f.detail}{mark}")
    for note in baseline_notes(baseline):
        report.notes.append(note)
        print(note)
    report.seconds = time.monotonic() - started
    new, known = len(report.new), len(report.known)
    changed = len({f.operation for f in report.new})
    print(f"{len(findings)} difference(s): {new} new in {changed} operation(s), {known} known (baseline)")
    if args.report:
        files = write_reports(report, args.report, stem="drift")
        print("Report: " + ", ".join(str(f) for f in files))
    return EXIT_DRIFT if new else EXIT_CLEAN
