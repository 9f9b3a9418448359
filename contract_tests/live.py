"""Live mode: the contract's checks against any server (the live Altoviz API, a sandbox account,
a stand-in), or against the sandbox app in-process.

Safe against a real account by construction:

- **Read-only by default**: only the contract's GET operations are sent (the checks' own probes,
  such as `ignored_auth` re-sending a request without its key, re-send that same GET).
- **Bounded rate**: every request goes through Schemathesis' rate limiter (`rate_limit`, e.g.
  "5/s"), the checks' probes included.
- **No guessed ids**: an operation with a path id is called with ids the server listed: each list
  operation (`GET /v1/Customers`) is called first, plainly, and the ids (and `internalId`s) of
  its answer feed the item operations (`GET /v1/Customers/{id}`, `.../{id}/contacts`,
  `.../GetByInternalId/{internalId}`, `Download/{id}`). No id listed: the operation is reported
  as not tested, never called with a made-up id.
- **`allow_writes`** (sandbox accounts) adds the POST/PUT/DELETE operations: creations first,
  then updates, actions and deletions, each on resources *this run created* only (ids from the
  creations' answers, never from lists); sending e-mail is never done. At the end, everything
  created that is still there is deleted where the API allows it (drafts, customers, products...);
  what cannot be (finalized invoices, purchase invoices) is listed in the report.

Each response goes through every check the mock-mode suite runs (Schemathesis' checks as
configured, with the same per-operation allowances for business-rule 400s), each failure
attributed to the check that found it (Schemathesis' `after_validate` hook), plus
`operation_available`: an operation that answered 404/405/501 to every request, real ids
included, is reported as missing from the server. `ignored_auth`, whose probes cost two requests,
confirms each operation once, on its first accepted answer. Failures become `Finding`s whose
detail says what changed (see `shapes.py`), with a curl line that reproduces them (the API key
left as `$ALTOVIZ_API_KEY`).

Only Schemathesis' public API is used (loaders, `Case`, `Config`, `GenerationMode`, hooks,
`schemathesis.errors`); the failures' kinds are told apart by their class names and read through
their attributes.
"""

from __future__ import annotations

import json
import re
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings, strategies as st
from hypothesis.errors import FailedHealthCheck, Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.errors import FailureGroup

from mock_server.app import load_contract
from mock_server.config import DEFAULT_API_KEY

from .mock_mode import BUSINESS_RULE_OPERATIONS, FIND_OPERATIONS
from .report import Finding, OperationOutcome, Report
from .shapes import Resolver, describe, instance_diff, show

DEFAULT_SEED = 20261124
DEFAULT_MAX_EXAMPLES = 5
DEFAULT_LIVE_RATE_LIMIT = "5/s"
LOCAL_CURL_BASE = "http://127.0.0.1:8080"   # what `make run` serves: curl lines of in-process runs

# Where the ids of a path come from, when not from the list of its own first segment.
ID_SOURCES = {"ProductImages": "Products"}
# Creations whose path is not the collection itself.
EXTRA_CREATIONS = {"/v1/PurchaseInvoices/file": "PurchaseInvoices"}
# Write operations that name their target outside the path: (location, field, collection).
TARGETS = {
    "POST_SaleInvoices_MarkAsPaid": ("body", "invoiceId", "SaleInvoices"),
    "DELETE_Webhooks_Delete": ("query", "id", "Webhooks"),
}
# Never sent to a server, whatever the mode: what they do cannot be undone or reaches the outside world.
NEVER = {r"/Send/": "sends e-mail to real addresses"}
# Never sent in a request body to a server: a made-up value could reach a real document (a credit
# "cancelling" an existing invoice, once finalized, cancels it for good).
NEVER_FIELDS = ("cancelledInvoicetId", "cancelledInvoicetNumber")
# Deleting what a run created: children before parents.
CLEANUP_ORDER = ["SaleCredits", "SaleInvoices", "SaleQuotes", "Products", "ProductFamilies",
                 "Contacts", "Customers", "Suppliers", "Webhooks", "PurchaseInvoices"]
UNAVAILABLE_STATUSES = {404, 405, 501}


class TargetUnreachable(RuntimeError):
    """The server did not answer at all (refused, DNS, TLS...): nothing could be checked."""


@dataclass
class RunOptions:
    base_url: str | None = None           # None: the sandbox app in-process (`app`)
    api_key: str = DEFAULT_API_KEY
    allow_writes: bool = False
    max_examples: int = DEFAULT_MAX_EXAMPLES
    rate_limit: str | None = None         # "5/s", "100/m"; None: unbounded
    seed: int = DEFAULT_SEED
    operations: Sequence[str] | None = None   # operationIds or "METHOD /path" labels; None: all
    request_timeout: float = 15.0
    negative: bool = True                 # also send schema-invalid requests (GET, or creations)
    app: Any = None                       # in-process app (when base_url is None)


@dataclass
class _Pools:
    listed: dict[str, dict[str, list]] = field(default_factory=dict)    # collection -> field -> values
    created: dict[str, list[int]] = field(default_factory=dict)        # collection -> ids, in order
    deleted: set[tuple[str, int]] = field(default_factory=set)

    def add_listed(self, collection: str, items: Any) -> None:
        if not isinstance(items, list):
            return
        pool = self.listed.setdefault(collection, {"id": [], "internalId": []})
        for item in items:
            if isinstance(item, dict):
                for name in ("id", "internalId"):
                    value = item.get(name)
                    if value not in (None, "") and value not in pool[name]:
                        pool[name].append(value)


def collection_of(path: str) -> str | None:
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "v1" else None


def path_parameters_of(path: str) -> list[str]:
    return re.findall(r"{([^}]+)}", path)




HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def contract_operations(schema, contract: dict) -> list:
    """The schema's operations (`schema[path][METHOD]`), in the contract's order."""
    return [schema[path][method.upper()] for path, item in contract["paths"].items()
            for method in item if method in HTTP_METHODS]


# Where a schema-valid request may be a 400 on the live API too: the business rules, and a Find
# without any criterion (captured live, ../shared/reference/live-behaviour.md). The sandbox's
# further rules (families in use, a customer's family) stay out, so that a new required field on
# those operations is still reported.
LIVE_RULE_OPERATIONS = [*BUSINESS_RULE_OPERATIONS, *FIND_OPERATIONS]
# The statuses a schema-valid request may get (`positive_data_acceptance`): Schemathesis' default,
# and on the operations above a 400 too.
ACCEPTED_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
RULE_ACCEPTED_STATUSES = ["2xx", "400", "401", "404"]


def accepted_statuses(operation_id: str | None) -> list[str]:
    return RULE_ACCEPTED_STATUSES if operation_id in LIVE_RULE_OPERATIONS else ACCEPTED_STATUSES


def is_one_of(status: int, patterns: Sequence[str]) -> bool:
    """`status` matches one of `patterns` (`"404"`, `"2xx"`)."""
    return any(str(status) == p or (p[1:].lower() == "xx" and str(status)[0] == p[0]) for p in patterns)


def build_config(options: RunOptions) -> schemathesis.Config:
    """The mock mode's configuration (seed, auth, business-rule allowances) for this target.

    `ignored_auth` is off for generated requests (the fuzzing phase): `LiveRun` runs it on built
    ones, once per operation."""
    data: dict = {
        "seed": options.seed,
        "generation": {"max-examples": options.max_examples, "database": "none"},
        "auth": {"openapi": {"ApiKey": {"api_key": options.api_key}}},
        "request-timeout": options.request_timeout,
        "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_STATUSES}},
        "phases": {"fuzzing": {"checks": {"ignored_auth": {"enabled": False}}}},
        "operations": [{
            "include-operation-id": op_id,
            "checks": {"positive_data_acceptance": {"expected-statuses": RULE_ACCEPTED_STATUSES}},
        } for op_id in LIVE_RULE_OPERATIONS],
    }
    if options.base_url:
        data["base-url"] = options.base_url.rstrip("/")
    if options.rate_limit:
        data["rate-limit"] = options.rate_limit
    return schemathesis.Config.from_dict(data)


class LiveRun:
    """One run of the checks against one target. `run()` returns the `Report`."""

    def __init__(self, options: RunOptions, progress: Callable[[int, int, OperationOutcome], None] | None = None,
                 contract: dict | None = None):
        if options.base_url is None and options.app is None:
            raise ValueError("give a base URL or an in-process app")
        self.options = options
        self.progress = progress
        self.contract = contract or load_contract()
        self.resolver = Resolver(self.contract)
        self.schema = schemathesis.openapi.from_dict(self.contract, config=build_config(options))
        if options.base_url is None:
            self.schema.app = options.app
        self.check_results: list = []  # the last validation's `schemathesis.CheckResult`s
        self.schema.hook("after_validate")(self._check_results_collector())
        scheme = self.contract["components"]["securitySchemes"]["ApiKey"]
        assert scheme["in"] == "header", scheme
        self.auth_headers = {scheme["name"]: options.api_key}  # what the configured auth sends
        self.session = requests.Session() if options.base_url else None
        if self.session is not None:
            self.session.trust_env = False if _is_loopback(options.base_url) else True
        self.pools = _Pools()
        self.outcomes: dict[str, OperationOutcome] = {}
        self.notes: list[str] = []
        self.reached = False
        self.read_only_skipped = 0
        self.id_origin: dict[str, str] = {}
        self._auth_confirmed: set[str] = set()

    def _operation_id(self, op) -> str | None:
        return self.contract["paths"][op.path][op.method.lower()].get("operationId")

    def _check_results_collector(self) -> Callable:
        def after_validate(context, case, response, results) -> None:
            self.check_results = list(results)
        return after_validate

    # ------------------------------------------------------------------ plan

    def _selected(self) -> list:
        wanted = set(self.options.operations or [])
        operations = []
        for operation in contract_operations(self.schema, self.contract):
            if wanted and operation.label not in wanted and self._operation_id(operation) not in wanted:
                continue
            operations.append(operation)
        return operations

    def plan(self) -> list[tuple[Any, str]]:
        """(operation, role) in the order they run; roles: list, read, create, write, delete, skip:<why>."""
        lists, reads, creates, writes, deletes, skipped = [], [], [], [], [], []
        for op in self._selected():
            method, path = op.method.upper(), op.path
            never = next((why for pattern, why in NEVER.items() if re.search(pattern, path)), None)
            if method == "GET":
                (reads if path_parameters_of(path) else lists).append((op, "read" if path_parameters_of(path) else "list"))
            elif not self.options.allow_writes:
                self.read_only_skipped += 1
            elif never and self.options.base_url:  # in-process, mail only reaches the sandbox's outbox
                skipped.append((op, f"skip:never sent: {never}"))
            elif method == "POST" and not path_parameters_of(path) and self._created_collection(op):
                creates.append((op, "create"))
            elif method == "DELETE":
                deletes.append((op, "delete"))
            else:
                writes.append((op, "write"))
        # Creations before the item reads: with writes allowed, what the run created is readable too.
        return lists + creates + reads + writes + deletes + skipped

    def _created_collection(self, op) -> str | None:
        if op.path in EXTRA_CREATIONS:
            return EXTRA_CREATIONS[op.path]
        collection = collection_of(op.path)
        return collection if op.path == f"/v1/{collection}" else None

    # ------------------------------------------------------------------ run

    def run(self) -> Report:
        started = time.monotonic()
        plan = self.plan()
        for index, (op, role) in enumerate(plan, 1):
            outcome = OperationOutcome(operation=op.label, operation_id=self._operation_id(op))
            self.outcomes[op.label] = outcome
            began = time.monotonic()
            if role.startswith("skip:"):
                outcome.skipped = role[5:]
            else:
                self._exercise(op, role, outcome)
            outcome.seconds = time.monotonic() - began
            if self.progress:
                self.progress(index, len(plan), outcome)
        if self.options.allow_writes:
            self._cleanup()
        elif self.read_only_skipped:
            self.notes.append(f"Read-only run: the {self.read_only_skipped} POST/PUT/DELETE operations of the contract "
                              "were not sent (--allow-writes includes them, for sandbox accounts).")
        report = Report(title="", target=self.options.base_url or "the sandbox, in-process", command="",
                        outcomes=list(self.outcomes.values()), notes=self.notes)
        report.seconds = time.monotonic() - started
        return report

    def _exercise(self, op, role: str, outcome: OperationOutcome) -> None:
        op_id = self._operation_id(op)
        try:
            cases, reason = self._cases(op, role)
        except Exception as exc:  # noqa: BLE001 - one operation the generator chokes on must not end the run
            cases, reason = [], f"could not generate requests: {type(exc).__name__}: {str(exc)[:150]}"
        if reason:
            outcome.skipped = reason
            return
        answered = []
        for case, mode in cases:
            response = self._send(op, case, outcome)
            if response is None:
                continue
            answered.append((case, response))
            self._learn(op, role, case, mode, response)
            self._check(op, case, mode, response, outcome)
        statuses = {response.status_code for _, response in answered}
        # A 404 proves the operation missing only when the addressed resource surely exists: no path
        # id, or an id of the operation's own collection that the server listed or this run created
        # (a product's image may not exist although the product does).
        addressed_exists = not path_parameters_of(op.path) or collection_of(op.path) not in ID_SOURCES
        if answered and addressed_exists and statuses <= UNAVAILABLE_STATUSES:
            outcome.findings = [f for f in outcome.findings if f.check == "transport"]
            source = ""
            if path_parameters_of(op.path):
                source = f", {self.id_origin.get(op.label, 'real ids')} included"
            codes = ", ".join(map(str, sorted(statuses)))
            case, response = answered[0]
            self._add(outcome, Finding(
                operation=op.label, operation_id=op_id, check="operation_available", change="operation missing",
                detail=f"answered only {codes} to all {len(answered)} requests{source}",
                expected=f"documented: {', '.join(map(str, op.responses.status_codes))}",
                actual=f"{codes} {_excerpt(response)}".strip(), curl=self._curl(case)))

    # ------------------------------------------------------------------ cases

    def _cases(self, op, role: str) -> tuple[list[tuple[Any, GenerationMode | None]], str | None]:
        """The requests for `op`, each with the mode it was generated in (`None`: built here)."""
        params = path_parameters_of(op.path)
        op_id = self._operation_id(op)
        choices: list[dict] | None = None
        if params:
            choices, reason = self._id_choices(op, role, params)
            if reason:
                return [], reason
        target = TARGETS.get(op_id or "")
        target_ids: list[int] = []
        if target:
            target_ids = [i for i in self.pools.created.get(target[2], []) if (target[2], i) not in self.pools.deleted]
            if not target_ids:
                return [], f"nothing created by this run to act on ({target[2]})"
        cases = []
        explicit = role in ("list", "read")
        if explicit:  # the plain request first: the id source of the item operations
            case = op.Case(path_parameters=choices[0] if choices else None, headers=dict(self.auth_headers))
            cases.append((case, None))
        modes = [GenerationMode.POSITIVE]
        # Negative data never targets a path id in write mode: an invalid id must not become a guess.
        if self.options.negative and (role in ("list", "read", "create") or (not params and not target)):
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:
            if choices:
                strategy = st.sampled_from(choices).flatmap(
                    lambda fixed, mode=mode: op.as_strategy(mode, path_parameters=fixed))
            else:
                strategy = op.as_strategy(mode)
            drawn = _draw(strategy, self.options.max_examples, self.options.seed + zlib.crc32(op.label.encode()))
            cases += [(case, mode) for case in drawn]
        if target:
            location, name, _ = target
            ids = iter(target_ids * (len(cases) // max(len(target_ids), 1) + 1))
            for case, _ in cases:
                if location == "query":
                    case.query = {name: next(ids)}
                elif isinstance(case.body, dict):
                    case.body = {**case.body, name: next(ids)}
        if self.options.base_url:
            for case, _ in cases:
                if isinstance(case.body, dict) and any(name in case.body for name in NEVER_FIELDS):
                    case.body = {k: v for k, v in case.body.items() if k not in NEVER_FIELDS}
        unique, seen = [], set()
        for case, mode in cases:
            try:
                key = hash(case)
            except Exception:  # noqa: BLE001 - an unhashable case is simply not deduplicated
                key = id(case)
            if key not in seen:
                seen.add(key)
                unique.append((case, mode))
        return unique, None

    def _id_choices(self, op, role: str, params: list[str]) -> tuple[list[dict] | None, str | None]:
        collection = collection_of(op.path) or ""
        source = ID_SOURCES.get(collection, collection)
        created = [i for i in self.pools.created.get(source, []) if (source, i) not in self.pools.deleted]
        choices = []
        if role == "read":
            pool = self.pools.listed.get(source)
            for name in params:
                field_name = "internalId" if name == "internalId" else "id"
                values = (pool or {}).get(field_name) or []
                origin = f"ids listed by GET /v1/{source}"
                if not values and field_name == "id" and created:
                    values, origin = created, "ids this run created"
                if not values:
                    if pool is None:
                        where = "not run" if f"/v1/{source}" in self.contract["paths"] else "not in the contract"
                        return None, f"no list to take ids from (GET /v1/{source}: {where})"
                    return None, f"GET /v1/{source} listed no {field_name} to use"
                choices.append((name, values[: self.options.max_examples]))
        else:
            if not created:
                return None, f"nothing created by this run to act on ({source})"
            origin = "ids this run created"
            choices = [(name, created[: self.options.max_examples]) for name in params]
        self.id_origin[op.label] = origin
        if len(choices) != 1:
            return None, "several path parameters: not supported"
        name, values = choices[0]
        return [{name: value} for value in values], None

    # ------------------------------------------------------------------ requests

    def _send(self, op, case, outcome: OperationOutcome):
        if not self.options.allow_writes:  # the guarantee, whatever the plan says
            assert case.method.upper() == "GET", f"read-only run about to send {case.method} {op.path}"
        kwargs = {"session": self.session} if self.session is not None else {}
        try:
            response = case.call(**kwargs)
        except requests.exceptions.ConnectionError as exc:
            if not self.reached:
                raise TargetUnreachable(f"cannot reach {self.options.base_url}: {_root_cause(exc)}") from None
            self._add(outcome, Finding(operation=op.label, operation_id=self._operation_id(op), check="transport",
                                       change="no answer", detail="connection failed", expected="an HTTP answer",
                                       actual=_root_cause(exc), curl=self._curl(case)))
            return None
        except requests.exceptions.Timeout:
            self._add(outcome, Finding(operation=op.label, operation_id=self._operation_id(op), check="transport",
                                       change="no answer", detail=f"no answer within {self.options.request_timeout:g} s",
                                       expected="an HTTP answer", actual="timeout", curl=self._curl(case)))
            return None
        self.reached = True
        outcome.requests += 1
        return response

    def _learn(self, op, role: str, case, mode: GenerationMode | None, response) -> None:
        """Harvest listed ids, record what the run created or deleted."""
        status = response.status_code
        if not 200 <= status < 300:
            return
        if role == "list" and mode is None:  # the plain list request
            collection = collection_of(op.path)
            if collection and op.path == f"/v1/{collection}":
                self.pools.add_listed(collection, _json(response))
        elif role == "create":
            body = _json(response)
            if isinstance(body, dict) and isinstance(body.get("id"), int):
                collection = self._created_collection(op)
                self.pools.created.setdefault(collection, []).append(body["id"])
        elif role == "delete":
            op_id = self._operation_id(op) or ""
            if op_id in TARGETS:
                _, name, collection = TARGETS[op_id]
                value = case.query.get(name)
            elif collection_of(op.path) in ID_SOURCES:
                return  # a part of a resource (a product's image): the resource itself is still there
            else:
                collection = collection_of(op.path)
                value = next(iter(case.path_parameters.values()), None)
            if isinstance(value, int):
                self.pools.deleted.add((collection, value))

    # ------------------------------------------------------------------ checks

    def _check(self, op, case, mode: GenerationMode | None, response, outcome: OperationOutcome) -> None:
        confirm_auth = (op.label not in self._auth_confirmed and mode in (None, GenerationMode.POSITIVE)
                        and 200 <= response.status_code < 300)
        # The key as sent: `ignored_auth` takes it as valid, and re-sends without it and with a wrong one.
        if mode is None:  # a built request: every check, `ignored_auth` included
            results = self._validate(op, case, response, outcome, headers=self.auth_headers)
            self._plain_request_accepted(op, case, response, outcome)
        else:  # every check but `ignored_auth`; it runs on the same request, built, until one confirms
            results = self._validate(op, case, response, outcome)
            if confirm_auth:
                built = op.Case(path_parameters=case.path_parameters, query=case.query,
                                headers=dict(case.headers or {}), cookies=case.cookies, body=case.body,
                                media_type=case.media_type)
                results = self._validate(op, built, response, outcome, headers=self.auth_headers,
                                         only="ignored_auth", curl_case=case)
        if confirm_auth and any(r.name == "ignored_auth" and r.failure is None for r in results):
            self._auth_confirmed.add(op.label)

    def _validate(self, op, case, response, outcome: OperationOutcome, headers: dict | None = None,
                  only: str | None = None, curl_case=None) -> list:
        """The configured checks on `response` (or the one named `only`); each failure becomes
        findings of its check. Returns the checks' results."""
        transport_kwargs = {"session": self.session} if self.session is not None else {}
        self.check_results = []
        try:
            case.validate_response(response, headers=headers, transport_kwargs=transport_kwargs)
        except FailureGroup:
            pass
        except requests.exceptions.RequestException as exc:  # a check's own probe failed
            self._add(outcome, Finding(operation=op.label, operation_id=self._operation_id(op), check=only or "checks",
                                       change="no answer", detail="the check's probe request failed",
                                       expected="an HTTP answer", actual=_root_cause(exc)))
            return []
        results = [r for r in self.check_results if only is None or r.name == only]
        for result in results:
            if result.failure is not None:
                for finding in self._findings(op, result.name, result.failure, curl_case or case, response):
                    self._add(outcome, finding)
        return results

    def _plain_request_accepted(self, op, case, response, outcome: OperationOutcome) -> None:
        """`positive_data_acceptance` for the plain request (built, not generated, so Schemathesis
        skips it): it is schema-valid, so it must be accepted as any valid request must."""
        statuses = accepted_statuses(self._operation_id(op))
        if is_one_of(response.status_code, statuses):
            return
        self._add(outcome, Finding(
            operation=op.label, operation_id=self._operation_id(op), check="positive_data_acceptance",
            change="request rejected", detail=f"schema-valid request rejected with {response.status_code}",
            expected=", ".join(statuses), actual=f"{response.status_code} {_excerpt(response)}".strip(),
            curl=self._curl(case)))

    def _add(self, outcome: OperationOutcome, finding: Finding) -> None:
        """Record a finding; the same change seen again (by any check) only counts once more."""
        for existing in outcome.findings:
            if (existing.change, existing.detail) == (finding.change, finding.detail):
                existing.count += 1
                return
        outcome.findings.append(finding)

    # ------------------------------------------------------------------ describing failures

    def _findings(self, op, check: str, failure, case, response) -> list[Finding]:
        """The findings a check's failure (`schemathesis.errors.FailureGroup`'s) makes, by its kind."""
        op_id = self._operation_id(op)
        status = response.status_code
        curl = self._curl(case)
        kind = type(failure).__name__

        def finding(change: str, detail: str, expected: str = "", actual: str = "") -> Finding:
            return Finding(operation=op.label, operation_id=op_id, check=check, change=change, detail=detail,
                           expected=expected, actual=actual, curl=curl)

        if kind == "JsonSchemaError" and check == "response_schema_conformance":
            media = _media_type(response)
            schema = self._response_schema(op, status, media)
            changes = instance_diff(schema, _json(response), self.resolver) if schema is not None else []
            if changes:
                return [finding(c.kind, f"{status} {c.detail}", c.expected, c.actual) for c in changes]
            path = _json_path(getattr(failure, "instance_path", []))
            keyword = (getattr(failure, "schema_path", None) or ["?"])[-1]
            if keyword == "format":
                fmt = (failure.schema or {}).get("format", "?")
                return [finding("format", f"{status} {path}: not a valid {fmt}", f"string ({fmt})",
                                show(failure.instance))]
            return [finding("schema", f"{status} {path}: {keyword} violated", describe(failure.schema or {}, self.resolver),
                            show(failure.instance))]
        if kind == "UndefinedStatusCode":
            return [finding("status code", f"undocumented status {status}",
                            "one of " + ", ".join(failure.defined_status_codes), f"{status} {_excerpt(response)}".strip())]
        if kind == "UndefinedContentType":
            return [finding("content type", f"{status}: undocumented content type {failure.content_type.split(';')[0]}",
                            ", ".join(failure.defined_content_types), failure.content_type)]
        if kind == "MissingContentType":
            return [finding("content type", f"{status}: no Content-Type header", ", ".join(failure.media_types),
                            "no Content-Type")]
        if kind == "MalformedJson":
            return [finding("body", f"{status}: body is not valid JSON", "JSON", show(response.text[:80]) or "empty body")]
        if kind == "RejectedPositiveData":
            return [finding("request rejected", f"schema-valid request rejected with {status}",
                            ", ".join(failure.allowed_statuses), f"{status} {_excerpt(response)}".strip())]
        if kind == "AcceptedNegativeData":
            invalid = next((line for line in failure.message.splitlines() if line.startswith("Invalid component")), "")
            return [finding("invalid request accepted", f"schema-invalid request accepted with {status}",
                            ", ".join(failure.expected_statuses), f"{status}; {invalid}".rstrip("; "))]
        if kind in ("ServerError", "ContentTypeServerError"):
            return [finding("server error", f"server error {status}", "no 5xx", f"{status} {_excerpt(response)}".strip())]
        if kind == "IgnoredAuth":
            return [finding("authentication", failure.title, "401 without a valid X-API-KEY",
                            failure.message.splitlines()[0])]
        first = (failure.message or "").strip().splitlines()
        return [finding(failure.title.lower(), f"{failure.title}", "", first[0] if first else "")]

    def _response_schema(self, op, status: int, media: str | None):
        raw = self.contract["paths"][op.path][op.method.lower()]
        responses = raw.get("responses", {})
        definition = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        definition = self.resolver.resolve(definition) if definition is not None else None
        content = (definition or {}).get("content") or {}
        chosen = content.get(media or "") or content.get("application/json") or next(iter(content.values()), None)
        return (chosen or {}).get("schema")

    def _curl(self, case) -> str:
        base = None if self.options.base_url else LOCAL_CURL_BASE
        try:
            command = case.as_curl_command(base_url=base)
        except Exception:  # noqa: BLE001 - a curl line is a courtesy; never fail a run for it
            return ""
        command = command.split("\n\n")[0]
        return re.sub(r"-H 'X-API-KEY: [^']*'", '-H "X-API-KEY: $ALTOVIZ_API_KEY"', command)

    # ------------------------------------------------------------------ cleanup

    def _cleanup(self) -> None:
        deleters = {}
        for op in contract_operations(self.schema, self.contract):
            if op.method.upper() != "DELETE":
                continue
            op_id = self._operation_id(op) or ""
            if op_id in TARGETS:
                deleters[TARGETS[op_id][2]] = (op, "query", TARGETS[op_id][1])
            elif path_parameters_of(op.path) and op.path == f"/v1/{collection_of(op.path)}/{{{path_parameters_of(op.path)[0]}}}":
                deleters[collection_of(op.path)] = (op, "path", path_parameters_of(op.path)[0])
        removed, left = 0, []
        order = CLEANUP_ORDER + [c for c in self.pools.created if c not in CLEANUP_ORDER]
        for collection in order:
            for value in self.pools.created.get(collection, []):
                if (collection, value) in self.pools.deleted:
                    continue
                if collection not in deleters:
                    left.append(f"{collection} {value} (the API has no delete)")
                    continue
                op, location, name = deleters[collection]
                case = op.Case(path_parameters={name: value} if location == "path" else None,
                               query={name: value} if location == "query" else None, headers=dict(self.auth_headers))
                try:
                    response = case.call(**({"session": self.session} if self.session is not None else {}))
                except requests.exceptions.RequestException as exc:
                    left.append(f"{collection} {value} ({_root_cause(exc)})")
                    continue
                if 200 <= response.status_code < 300 or response.status_code == 404:
                    removed += 1
                    self.pools.deleted.add((collection, value))
                else:
                    left.append(f"{collection} {value} ({response.status_code} {_excerpt(response)})".strip())
        created = sum(len(v) for v in self.pools.created.values())
        self.notes.append(f"Cleanup: the run created {created} resource(s); {created - len(left)} removed"
                          + (f"; left in the account: {'; '.join(left)}" if left else "") + ".")


# ---------------------------------------------------------------------------- helpers

def _draw(strategy, count: int, seed: int) -> list:
    """Up to `count` cases drawn from `strategy`, reproducibly (no shrinking, no example database)."""
    found: list = []

    @hypothesis.seed(seed)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), verbosity=hypothesis.Verbosity.quiet)
    @hypothesis.given(strategy)
    def collect(case):
        found.append(case)

    try:
        collect()
    except (Unsatisfiable, FailedHealthCheck):
        pass  # e.g. negative data for an operation with nothing left to negate
    return found


def _is_loopback(url: str | None) -> bool:
    return bool(url) and re.match(r"https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:|/|$)", url) is not None


def _json(response) -> Any:
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return None


def _media_type(response) -> str | None:
    values = response.headers.get("content-type") or response.headers.get("Content-Type")
    if not values:
        return None
    value = values[0] if isinstance(values, list) else values
    return value.split(";")[0].strip().lower()


def _json_path(parts) -> str:
    path = "$"
    for part in parts or []:
        path += "[*]" if isinstance(part, int) else f".{part}"
    return path


def _excerpt(response) -> str:
    """What an error answer says (title/detail/message), briefly."""
    body = _json(response)
    if isinstance(body, dict):
        for key in ("detail", "message", "title"):
            if isinstance(body.get(key), str) and body[key]:
                return f"— {body[key][:100]}"
    return ""


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or (exc.args and isinstance(exc.args[0], BaseException)):
        exc = exc.__cause__ or exc.args[0]
    return f"{type(exc).__name__}: {exc}"[:200]


def run_contract(options: RunOptions, progress: Callable[[int, int, OperationOutcome], None] | None = None) -> Report:
    """Run the checks against the target; the Report lists every operation and finding."""
    return LiveRun(options, progress).run()
