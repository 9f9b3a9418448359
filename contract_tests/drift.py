"""Spec diff: what a published OpenAPI description changes relative to the contract.

`diff_specs(contract, published)` pairs the operations of the two documents by method and path
(path parameter names ignored: `/v1/ProductImages/{id}` is `/v1/ProductImages/{productId}`), then
by operationId (an operation that moved), and compares each pair: parameters, request body,
response status codes, media types and the fields of every body schema ($refs resolved, `allOf`
merged): fields added, removed or renamed, types, formats, enums, nullability, required-ness.
Pure functions over parsed documents; `load_spec` reads a file or an http(s) URL.

Each difference is a `Finding` whose `check` names the kind of change:

    operation-added  operation-removed  operation-moved  operation-id-changed
    parameter-added  parameter-removed  parameter-renamed  parameter-now-required
    parameter-no-longer-required  parameter-<shape>
    request-body-added  request-body-removed  request-body-now-required
    request-body-no-longer-required  request-media-types  request-<shape>
    response-status-added  response-status-removed  response-media-types  response-<shape>

where <shape> is field-added, field-removed, field-renamed, field-now-required,
field-no-longer-required, type-changed, format-changed, nullability-changed, enum-values-added or
enum-values-removed.
"""

from __future__ import annotations

import re
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from .report import Finding, OperationOutcome
from .shapes import Resolver, ShapeChange, describe, schema_diff

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON_MEDIA = re.compile(r"^application/(.+\+)?json$")


class SpecError(ValueError):
    """A spec that cannot be read or is not an OpenAPI document."""


def load_spec(source: str, timeout: float = 30.0) -> dict:
    """An OpenAPI document (YAML or JSON) from a file or an http(s) URL."""
    if re.match(r"^https?://", source):
        request = urllib.request.Request(source, headers={"Accept": "application/json, application/yaml, */*"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - http(s) only
                text = answer.read().decode("utf-8")
        except OSError as exc:
            raise SpecError(f"cannot fetch {source}: {getattr(exc, 'reason', None) or exc}") from None
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise SpecError(f"{source} is not YAML or JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise SpecError(f"{source} is not an OpenAPI document (no `paths`)")
    return document


@dataclass
class Operation:
    method: str          # upper case
    path: str
    definition: dict
    path_item: dict

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def operation_id(self) -> str | None:
        return self.definition.get("operationId")

    @property
    def shape(self) -> tuple[str, str]:
        return (self.method, re.sub(r"{[^}]*}", "{}", self.path))


def operations_of(spec: dict) -> list[Operation]:
    result = []
    for path, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            if isinstance(item.get(method), dict):
                result.append(Operation(method.upper(), path, item[method], item))
    return result


def _parameters(op: Operation, resolver: Resolver) -> dict[tuple[str, str], dict]:
    params: dict[tuple[str, str], dict] = {}
    for raw in list(op.path_item.get("parameters") or []) + list(op.definition.get("parameters") or []):
        param = resolver.resolve(raw)
        if isinstance(param, dict) and "name" in param and "in" in param:
            params[(param["in"], param["name"])] = param
    return params


def _content(node: dict | None, resolver: Resolver) -> dict[str, dict]:
    node = resolver.resolve(node) if node is not None else None
    return dict((node or {}).get("content") or {})


def _pick_media(old: dict, new: dict) -> str | None:
    common = [m for m in old if m in new]
    for media in common:
        if JSON_MEDIA.match(media.split(";")[0]):
            return media
    return common[0] if common else None


def _shape_check(prefix: str, change: ShapeChange) -> str:
    return f"{prefix}-{change.kind.replace(' ', '-')}"


class _Differ:
    def __init__(self, contract: dict, published: dict):
        self.ro, self.rn = Resolver(contract), Resolver(published)
        self.findings: list[Finding] = []

    def add(self, op: Operation, check: str, change: str, detail: str, expected: str = "", actual: str = "") -> None:
        self.findings.append(Finding(operation=op.label, operation_id=op.operation_id, check=check, change=change,
                                     detail=detail, expected=expected, actual=actual))

    def compare(self, old: Operation, new: Operation) -> None:
        if old.operation_id != new.operation_id:
            self.add(old, "operation-id-changed", "operationId changed",
                     f"operationId {old.operation_id} → {new.operation_id}", str(old.operation_id), str(new.operation_id))
        if old.path != new.path and old.shape != new.shape:
            self.add(old, "operation-moved", "path changed", f"path {old.path} → {new.path}", old.path, new.path)
        self.parameters(old, new)
        self.request_body(old, new)
        self.responses(old, new)

    def parameters(self, old: Operation, new: Operation) -> None:
        po, pn = _parameters(old, self.ro), _parameters(new, self.rn)
        removed = [k for k in po if k not in pn]
        added = [k for k in pn if k not in po]
        # Path parameters named differently at the same place of the same path: a rename.
        old_path_names = re.findall(r"{([^}]*)}", old.path)
        new_path_names = re.findall(r"{([^}]*)}", new.path)
        if old.shape == new.shape:
            for a, b in zip(old_path_names, new_path_names):
                if a != b and ("path", a) in removed and ("path", b) in added:
                    removed.remove(("path", a))
                    added.remove(("path", b))
                    self.add(old, "parameter-renamed", "parameter renamed", f"path parameter {a} renamed to {b}", a, b)
                    po[("path", b)] = po.pop(("path", a))
        for location, name in removed:
            self.add(old, "parameter-removed", "parameter removed", f"{location} parameter {name}: removed",
                     describe(po[(location, name)].get("schema", {}), self.ro), "absent")
        for location, name in added:
            required = bool(pn[(location, name)].get("required"))
            self.add(old, "parameter-added", "parameter added",
                     f"{location} parameter {name}: added" + (" (required)" if required else ""),
                     "absent", describe(pn[(location, name)].get("schema", {}), self.rn)
                     + (", required" if required else ""))
        for key in po:
            if key not in pn:
                continue
            location, name = key
            a, b = po[key], pn[key]
            if bool(a.get("required")) != bool(b.get("required")):
                now = bool(b.get("required"))
                self.add(old, f"parameter-{'now-required' if now else 'no-longer-required'}",
                         "now required" if now else "no longer required",
                         f"{location} parameter {name}: {'now required' if now else 'no longer required'}",
                         "required" if a.get("required") else "optional", "required" if now else "optional")
            if "schema" in a or "schema" in b:
                for change in schema_diff(a.get("schema", {}), b.get("schema", {}), self.ro, self.rn):
                    self.add(old, _shape_check("parameter", change), change.kind,
                             f"{location} parameter {name}{change.detail[1:]}", change.expected, change.actual)

    def request_body(self, old: Operation, new: Operation) -> None:
        bo = self.ro.resolve(old.definition.get("requestBody"))
        bn = self.rn.resolve(new.definition.get("requestBody"))
        if bo is None and bn is None:
            return
        if bo is None or bn is None:
            present = bn is not None
            self.add(old, "request-body-added" if present else "request-body-removed",
                     "request body added" if present else "request body removed",
                     "request body " + ("added" if present else "removed"),
                     "absent" if present else ", ".join(_content(bo, self.ro)),
                     ", ".join(_content(bn, self.rn)) if present else "absent")
            return
        if bool(bo.get("required")) != bool(bn.get("required")):
            now = bool(bn.get("required"))
            self.add(old, f"request-body-{'now-required' if now else 'no-longer-required'}",
                     "now required" if now else "no longer required",
                     f"request body {'now required' if now else 'no longer required'}",
                     "required" if bo.get("required") else "optional", "required" if now else "optional")
        self.bodies(old, "request", "body", _content(bo, self.ro), _content(bn, self.rn))

    def responses(self, old: Operation, new: Operation) -> None:
        ro_, rn_ = old.definition.get("responses") or {}, new.definition.get("responses") or {}
        so, sn = {str(k) for k in ro_}, {str(k) for k in rn_}
        for status in sorted(sn - so):
            self.add(old, "response-status-added", "status code added", f"status {status} added",
                     "documented: " + ", ".join(sorted(so)), f"{status} {_summary(rn_[_key(rn_, status)], self.rn)}")
        for status in sorted(so - sn):
            self.add(old, "response-status-removed", "status code removed", f"status {status} removed",
                     f"{status} {_summary(ro_[_key(ro_, status)], self.ro)}", "documented: " + ", ".join(sorted(sn)))
        for status in sorted(so & sn):
            self.bodies(old, "response", status, _content(ro_[_key(ro_, status)], self.ro),
                        _content(rn_[_key(rn_, status)], self.rn))

    def bodies(self, op: Operation, prefix: str, where: str, old: dict, new: dict) -> None:
        if set(old) != set(new):
            added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
            parts = ([f"adds {', '.join(added)}"] if added else []) + ([f"drops {', '.join(removed)}"] if removed else [])
            self.add(op, f"{prefix}-media-types", "media types changed", f"{where}: published spec {'; '.join(parts)}",
                     ", ".join(sorted(old)) or "no content", ", ".join(sorted(new)) or "no content")
        media = _pick_media(old, new)
        if media is None:
            return
        a, b = old[media].get("schema"), new[media].get("schema")
        if a is None or b is None:
            return
        for change in schema_diff(a, b, self.ro, self.rn):
            self.add(op, _shape_check(prefix, change), change.kind, f"{where} {change.detail}",
                     change.expected, change.actual)


def _key(responses: dict, status: str):
    return next(k for k in responses if str(k) == status)


def _summary(response: dict, resolver: Resolver) -> str:
    content = _content(response, resolver)
    if not content:
        return "(no content)"
    media = _pick_media(content, content) or next(iter(content))
    schema = content[media].get("schema")
    return f"{media} {describe(schema, resolver)}" if schema is not None else media


def diff_specs(contract: dict, published: dict) -> list[Finding]:
    """Every difference of `published` relative to `contract`, operation by operation."""
    differ = _Differ(contract, published)
    old_ops, new_ops = operations_of(contract), operations_of(published)
    by_shape = {}
    for op in new_ops:
        by_shape.setdefault(op.shape, op)
    matched_new: set[int] = set()
    unmatched_old = []
    pairs = []
    for op in old_ops:
        other = by_shape.get(op.shape)
        if other is not None and id(other) not in matched_new:
            matched_new.add(id(other))
            pairs.append((op, other))
        else:
            unmatched_old.append(op)
    remaining_new = [op for op in new_ops if id(op) not in matched_new]
    for op in list(unmatched_old):
        other = next((n for n in remaining_new if n.operation_id and n.operation_id == op.operation_id
                      and n.method == op.method), None)
        if other is not None:
            remaining_new.remove(other)
            unmatched_old.remove(op)
            pairs.append((op, other))
    for old, new in pairs:
        differ.compare(old, new)
    for op in unmatched_old:
        differ.add(op, "operation-removed", "operation removed", "only in the contract",
                   op.definition.get("summary") or "documented", "absent")
    for op in remaining_new:
        differ.add(op, "operation-added", "operation added", "only in the published spec",
                   "absent", op.definition.get("summary") or "documented")
    return differ.findings


def outcomes(contract: dict, published: dict, findings: list[Finding]) -> list[OperationOutcome]:
    """One outcome per operation of the contract, then one per operation only the published spec has."""
    result: dict[str, OperationOutcome] = {}
    for op in operations_of(contract):
        result.setdefault(op.label, OperationOutcome(operation=op.label, operation_id=op.operation_id))
    for finding in findings:
        result.setdefault(finding.operation, OperationOutcome(operation=finding.operation,
                                                              operation_id=finding.operation_id))
        result[finding.operation].findings.append(finding)
    return list(result.values())


def describe_counts(spec: dict) -> str:
    return f"{len(operations_of(spec))} operations"
