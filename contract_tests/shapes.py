"""Shapes of OpenAPI 3.0 schemas: $ref resolution, readable descriptions, and two comparisons.

- `instance_diff(schema, value)`: how a JSON value a server answered departs from the schema
  (field added, missing or renamed, type, enum value, nullability), field by field. Live mode
  uses it to say *what* changed when Schemathesis' schema check fails.
- `schema_diff(old, new)`: how one schema departs from another (the same kinds of change, plus
  enum values removed, fields no longer required...). The spec diff (`drift.py`) uses it.

Paths are JSONPath-like and stable: `$[*].billingAddress.city` (array indexes are `[*]`), so that
the same drift gives the same text on every run. Pure functions over parsed documents.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any, Iterator

PRIMITIVES = ("string", "integer", "number", "boolean", "array", "object")


@dataclass(frozen=True)
class ShapeChange:
    path: str          # where: "$[*].type"
    kind: str          # "field added", "field removed", "field renamed", "field missing", "type changed",
                       # "enum value", "enum values added", "enum values removed", "nullability changed",
                       # "format changed", "field now required", "field no longer required"
    detail: str        # one stable line, starting with the path
    expected: str      # the contract's (or old) side
    actual: str        # the server's (or new) side


class Resolver:
    """Follows local `$ref`s (`#/components/...`) inside one document."""

    def __init__(self, document: dict):
        self.document = document

    def resolve(self, node: Any, _depth: int = 0) -> Any:
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            if _depth > 50:
                raise ValueError(f"$ref chain too long at {node['$ref']}")
            node = self.lookup(node["$ref"])
            _depth += 1
        return node

    def lookup(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, not {ref!r}")
        node: Any = self.document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, list):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise ValueError(f"unresolvable $ref {ref!r}")
        return node


def ref_name(node: Any) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return node["$ref"].rsplit("/", 1)[-1]
    return None


def merged(schema: Any, resolver: Resolver) -> dict:
    """The schema with its $ref followed and its `allOf` parts merged (properties, required, type)."""
    schema = resolver.resolve(schema)
    if not isinstance(schema, dict):
        return {}
    if "allOf" not in schema:
        return schema
    result = {k: v for k, v in schema.items() if k != "allOf"}
    properties = dict(result.get("properties") or {})
    required = list(result.get("required") or [])
    for part in schema["allOf"]:
        part = merged(part, resolver)
        properties.update(part.get("properties") or {})
        required += [r for r in part.get("required") or [] if r not in required]
        for key, value in part.items():
            if key not in ("properties", "required"):
                result.setdefault(key, value)
    if properties:
        result["properties"] = properties
    if required:
        result["required"] = required
    return result


def types_of(schema: dict) -> set[str]:
    """JSON types the schema allows, without null (empty: anything)."""
    declared = schema.get("type")
    if isinstance(declared, list):
        return {t for t in declared if t != "null"}
    if isinstance(declared, str):
        return {declared}
    if "properties" in schema:
        return {"object"}
    if "items" in schema:
        return {"array"}
    return set()


def is_nullable(schema: dict) -> bool:
    declared = schema.get("type")
    return bool(schema.get("nullable")) or (isinstance(declared, list) and "null" in declared) or \
        (not types_of(schema) and "enum" not in schema and not schema.get("oneOf") and not schema.get("anyOf"))


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_matches(value: Any, types: set[str]) -> bool:
    actual = json_type(value)
    return not types or actual in types or (actual == "integer" and "number" in types)


def describe(schema: Any, resolver: Resolver, _depth: int = 0) -> str:
    """A short human description: "integer (int32)", "string or null", "enum [A, B]", "array of Customer"."""
    name = ref_name(schema)
    s = merged(schema, resolver)
    types = sorted(types_of(s), key=lambda t: PRIMITIVES.index(t) if t in PRIMITIVES else len(PRIMITIVES))
    if "enum" in s:
        text = "enum [" + ", ".join(map(str, s["enum"])) + "]"
    elif not types:
        variants = s.get("oneOf") or s.get("anyOf")
        text = " | ".join(describe(v, resolver, _depth + 1) for v in variants) if variants and _depth < 3 else "any"
    else:
        text = " or ".join(types)
        if s.get("format"):
            text += f" ({s['format']})"
        if types == ["array"] and "items" in s and _depth < 3:
            text = f"array of {describe(s['items'], resolver, _depth + 1)}"
        elif types == ["object"] and name:
            text = f"object {name}"
    if types and is_nullable(s):
        text += " or null"
    return text


def show(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _norm(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def pair_renames(removed: list[str], added: list[str]) -> list[tuple[str, str]]:
    """Pairs (old, new) of names that look like one field renamed: same letters ignoring case,
    `_` and `-` (companyName → company_name), else a close spelling (ratio ≥ 0.8)."""
    pairs, removed, added = [], list(removed), list(added)
    for old in list(removed):
        match = next((new for new in added if _norm(new) == _norm(old)), None)
        if match is None:
            close = difflib.get_close_matches(old, added, n=1, cutoff=0.8)
            match = close[0] if close else None
        if match is not None:
            pairs.append((old, match))
            removed.remove(old)
            added.remove(match)
    return pairs


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if name.isidentifier() else f"{path}[{json.dumps(name)}]"


# ---------------------------------------------------------------------------- instance vs schema

def instance_diff(schema: Any, value: Any, resolver: Resolver, path: str = "$") -> list[ShapeChange]:
    """How `value` departs from `schema`, deduplicated (one entry per path and kind of change)."""
    seen: dict[tuple[str, str], ShapeChange] = {}
    for change in _instance_diff(schema, value, resolver, path, 0):
        seen.setdefault((change.path, change.detail), change)
    return list(seen.values())


def _instance_diff(schema: Any, value: Any, resolver: Resolver, path: str, depth: int) -> Iterator[ShapeChange]:
    if depth > 40:
        return
    s = merged(schema, resolver)
    if not s:
        return
    if value is None:
        if not is_nullable(s):
            yield ShapeChange(path, "nullability changed", f"{path}: null, but the contract does not allow null",
                              describe(schema, resolver), "null")
        return
    variants = s.get("oneOf") or s.get("anyOf")
    if variants and not types_of(s):
        results = [list(_instance_diff(v, value, resolver, path, depth + 1)) for v in variants]
        if all(results):
            yield from min(results, key=len)
        return
    types = types_of(s)
    if not _type_matches(value, types):
        yield ShapeChange(path, "type changed", f"{path}: {json_type(value)}, not {' or '.join(sorted(types))}",
                          describe(schema, resolver), f"{json_type(value)} {show(value)}")
        return
    if "enum" in s and value not in s["enum"]:
        yield ShapeChange(path, "enum value", f"{path}: value {show(value)} is not in the enum",
                          describe(schema, resolver), show(value))
        return
    if isinstance(value, dict):
        properties = s.get("properties") or {}
        closed = s.get("additionalProperties") is False
        required = set(s.get("required") or [])
        extra = [k for k in value if k not in properties]
        absent = [k for k in properties if k not in value]
        renames = pair_renames(absent, extra) if closed else []
        for old, new in renames:
            yield ShapeChange(path, "field renamed", f"{path}: field {old} renamed to {new}",
                              f"{old}: {describe(properties[old], resolver)}", f"{new}: {show(value[new])}")
        renamed_old = {old for old, _ in renames}
        renamed_new = {new for _, new in renames}
        if closed:
            for name in extra:
                if name not in renamed_new:
                    yield ShapeChange(_child(path, name), "field added", f"{_child(path, name)}: undocumented field",
                                      "no such field", f"{json_type(value[name])} {show(value[name])}")
        for name in absent:
            if name in required and name not in renamed_old:
                yield ShapeChange(_child(path, name), "field missing", f"{_child(path, name)}: required field missing",
                                  describe(properties[name], resolver), "absent")
        for name, sub in properties.items():
            if name in value:
                yield from _instance_diff(sub, value[name], resolver, _child(path, name), depth + 1)
        extra_schema = s.get("additionalProperties")
        if isinstance(extra_schema, dict) and extra_schema:
            for name in extra:
                yield from _instance_diff(extra_schema, value[name], resolver, _child(path, name), depth + 1)
    elif isinstance(value, list) and "items" in s:
        for item in value:
            yield from _instance_diff(s["items"], item, resolver, f"{path}[*]", depth + 1)


# ---------------------------------------------------------------------------- schema vs schema

def schema_diff(old: Any, new: Any, old_resolver: Resolver, new_resolver: Resolver,
                path: str = "$") -> list[ShapeChange]:
    """How `new` departs from `old` (old: the contract; new: the published spec)."""
    return list(_schema_diff(old, new, old_resolver, new_resolver, path, set()))


def _enum_text(values: list) -> str:
    return ", ".join(map(str, values))


def _schema_diff(old: Any, new: Any, ro: Resolver, rn: Resolver, path: str, seen: set) -> Iterator[ShapeChange]:
    pair = (id(ro.resolve(old)), id(rn.resolve(new)))
    if pair in seen or len(seen) > 20000:
        return  # recursive schemas: each pair of schemas compared once per chain
    seen = seen | {pair}
    o, n = merged(old, ro), merged(new, rn)
    ot, nt = types_of(o), types_of(n)
    ov, nv = o.get("oneOf") or o.get("anyOf"), n.get("oneOf") or n.get("anyOf")
    if (ov or nv) and not ot and not nt:
        if ov and nv and len(ov) == len(nv):
            for a, b in zip(ov, nv):
                yield from _schema_diff(a, b, ro, rn, path, seen)
        elif describe(old, ro) != describe(new, rn):
            yield ShapeChange(path, "type changed", f"{path}: {describe(old, ro)} → {describe(new, rn)}",
                              describe(old, ro), describe(new, rn))
        return
    if ot != nt and ot and nt:
        yield ShapeChange(path, "type changed", f"{path}: {' or '.join(sorted(ot))} → {' or '.join(sorted(nt))}",
                          describe(old, ro), describe(new, rn))
        return
    if bool(ot) != bool(nt):
        yield ShapeChange(path, "type changed", f"{path}: {describe(old, ro)} → {describe(new, rn)}",
                          describe(old, ro), describe(new, rn))
        return
    if is_nullable(o) != is_nullable(n):
        yield ShapeChange(path, "nullability changed",
                          f"{path}: {'nullable' if is_nullable(o) else 'not nullable'} → "
                          f"{'nullable' if is_nullable(n) else 'not nullable'}",
                          "nullable" if is_nullable(o) else "not nullable",
                          "nullable" if is_nullable(n) else "not nullable")
    if (o.get("format") or None) != (n.get("format") or None):
        yield ShapeChange(path, "format changed", f"{path}: format {o.get('format')} → {n.get('format')}",
                          str(o.get("format")), str(n.get("format")))
    if "enum" in o or "enum" in n:
        oe, ne = list(o.get("enum") or []), list(n.get("enum") or [])
        if "enum" not in o:
            yield ShapeChange(path, "enum values added", f"{path}: now restricted to enum [{_enum_text(ne)}]",
                              describe(old, ro), describe(new, rn))
        elif "enum" not in n:
            yield ShapeChange(path, "enum values removed", f"{path}: no longer an enum",
                              describe(old, ro), describe(new, rn))
        else:
            added, removed = [v for v in ne if v not in oe], [v for v in oe if v not in ne]
            if added:
                yield ShapeChange(path, "enum values added", f"{path}: enum values added: {_enum_text(added)}",
                                  f"[{_enum_text(oe)}]", f"[{_enum_text(ne)}]")
            if removed:
                yield ShapeChange(path, "enum values removed", f"{path}: enum values removed: {_enum_text(removed)}",
                                  f"[{_enum_text(oe)}]", f"[{_enum_text(ne)}]")
    if "object" in ot or "properties" in o or "properties" in n:
        op, np_ = o.get("properties") or {}, n.get("properties") or {}
        removed = [k for k in op if k not in np_]
        added = [k for k in np_ if k not in op]
        renames = [(a, b) for a, b in pair_renames(removed, added)
                   if types_of(merged(op[a], ro)) == types_of(merged(np_[b], rn))]
        renamed_old, renamed_new = {a for a, _ in renames}, {b for _, b in renames}
        for a, b in renames:
            yield ShapeChange(path, "field renamed", f"{path}: field {a} renamed to {b}",
                              f"{a}: {describe(op[a], ro)}", f"{b}: {describe(np_[b], rn)}")
        for name in removed:
            if name not in renamed_old:
                yield ShapeChange(_child(path, name), "field removed", f"{_child(path, name)}: field removed",
                                  describe(op[name], ro), "absent")
        for name in added:
            if name not in renamed_new:
                yield ShapeChange(_child(path, name), "field added", f"{_child(path, name)}: field added",
                                  "absent", describe(np_[name], rn))
        oreq, nreq = set(o.get("required") or []), set(n.get("required") or [])
        for name in sorted(nreq - oreq):
            yield ShapeChange(_child(path, name), "field now required", f"{_child(path, name)}: now required",
                              "optional", "required")
        for name in sorted(oreq - nreq):
            yield ShapeChange(_child(path, name), "field no longer required", f"{_child(path, name)}: no longer required",
                              "required", "optional")
        for name in op:
            if name in np_:
                yield from _schema_diff(op[name], np_[name], ro, rn, _child(path, name), seen)
            elif name in renamed_old:
                target = dict(renames)[name]
                yield from _schema_diff(op[name], np_[target], ro, rn, _child(path, target), seen)
    if "items" in o and "items" in n:
        yield from _schema_diff(o["items"], n["items"], ro, rn, f"{path}[*]", seen)
