"""jsonschema-rs (the fast check of request bodies) and jsonschema (the authority that words each
refusal) agree on every request body schema of the contract (mock_server/api/validation.py).

The bodies are drawn from each schema, near it and far from it: valid ones, wrong types, null where
it is and is not nullable, integers at and past the int32 and int64 bounds, 1.0 for an integer,
dates and date-times valid and not, enum members and strangers, unknown properties, any JSON.
Derandomized: the same bodies on every run.
"""

from __future__ import annotations

import copy
import json

import pytest
from connexion.json_schema import Draft4RequestValidator, resolve_refs
from hypothesis import HealthCheck, given, settings, strategies as st
from jsonschema import Draft4Validator

from connexion.exceptions import BadRequestProblem

from mock_server.api.validation import ABSENT, FORMATS, INT_RANGES, _parse_json, draft4_schema, fast_check, parse_json
from mock_server.contracts import load_contract


def body_schemas() -> list[tuple[str, dict]]:
    spec = resolve_refs(copy.deepcopy(load_contract()))
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for media, content in (operation.get("requestBody", {}).get("content") or {}).items():
                if "json" in media and "schema" in content:
                    found.append((f"{method.upper()} {path}", content["schema"]))
    return found


SCHEMAS = body_schemas()


def parameter_schemas() -> list[tuple[str, dict]]:
    """Each distinct parameter of the contract, as Connexion hands it to the parameter validator."""
    spec = resolve_refs(copy.deepcopy(load_contract()))
    found, seen = [], set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for param in [*item.get("parameters", []), *operation.get("parameters", [])]:
                key = json.dumps(param, sort_keys=True)
                if key not in seen:
                    seen.add(key)
                    found.append((f"{param['in']} {param['name']} ({method.upper()} {path})", param))
    return found


PARAMETERS = parameter_schemas()

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6)

EDGE_INTEGERS = [0, -1, 1, *(bound + step for low, high in INT_RANGES.values()
                             for bound in (low, high) for step in (-1, 0, 1)), 10**30]
DATES = ["2024-02-29", "2023-02-29", "2024-13-01", "2024-1-01", "24-01-01", "2024-01-01T10:00:00", ""]
DATE_TIMES = ["2024-01-01T10:00:00Z", "2024-01-01T10:00:00+02:00", "2024-01-01T10:00:00", "2024-01-01",
              "2024-01-01T25:00:00Z", "2024-01-01 10:00:00Z", "2024-01-01T10:00:00.123Z", ""]


def near(schema) -> st.SearchStrategy:
    """Values for `schema`: mostly of its shape, sometimes anything."""
    if not isinstance(schema, dict):
        return JSON
    options = [shaped(schema), JSON]
    if schema.get("nullable"):
        options.append(st.none())
    return st.one_of(*options)


def shaped(schema: dict) -> st.SearchStrategy:
    kind = schema.get("type")
    if "allOf" in schema:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            merged = {**part, **merged}
        return shaped(merged)
    if "enum" in schema:
        return st.sampled_from([*schema["enum"], "Unknown", 0])
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        strategy = st.fixed_dictionaries({}, optional={name: near(sub) for name, sub in properties.items()})
        if isinstance(extra, dict):
            strategy = st.tuples(strategy, st.dictionaries(st.text(max_size=3), near(extra), max_size=2)).map(
                lambda pair: {**pair[1], **pair[0]})
        elif extra is not False:
            strategy = st.tuples(strategy, st.dictionaries(st.sampled_from(["zz", "Id"]), JSON, max_size=1)).map(
                lambda pair: {**pair[0], **pair[1]})
        return strategy
    if kind == "array":
        return st.lists(near(schema.get("items", {})), max_size=3)
    if kind == "integer":
        return st.sampled_from(EDGE_INTEGERS) | st.integers() | st.sampled_from([1.0, 2.5, True, "1"])
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(EDGE_INTEGERS) | st.just("1.5")
    if kind == "boolean":
        return st.booleans() | st.sampled_from([0, 1, "true"])
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date":
            return st.sampled_from(DATES) | st.dates().map(str)
        if fmt == "date-time":
            return st.sampled_from(DATE_TIMES) | st.datetimes().map(lambda d: d.isoformat() + "Z")
        return st.text(max_size=4) | st.sampled_from(["", 1, None])
    return JSON


@pytest.mark.parametrize("schema", [schema for _, schema in SCHEMAS], ids=[name for name, _ in SCHEMAS])
def test_jsonschema_rs_agrees_with_jsonschema(schema):
    authority = Draft4RequestValidator(schema, format_checker=FORMATS)
    fast = fast_check(schema)

    @settings(max_examples=100, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(near(schema))
    def agree(body):
        assert fast(body) == authority.is_valid(body), body

    agree()


@pytest.mark.parametrize("param", [param for _, param in PARAMETERS], ids=[name for name, _ in PARAMETERS])
def test_jsonschema_rs_agrees_with_jsonschema_on_parameters(param):
    schema = param.get("schema", param)
    authority = Draft4Validator(schema, format_checker=FORMATS)  # what ContractParameterValidator falls back on
    fast = fast_check(schema)

    @settings(max_examples=60, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(shaped(schema) | JSON)
    def agree(value):
        if value is not None:  # the validator checks only values that are there
            assert fast(value) == authority.is_valid(value), value

    agree()


def test_every_body_schema_is_checked_fast():
    # A schema the fast check cannot take (a `$ref` left) would silently cost the slow path.
    assert len(SCHEMAS) >= 20
    for name, schema in SCHEMAS:
        assert '"$ref"' not in json.dumps(draft4_schema(schema)), name


def test_nullable_and_integer_bounds_in_plain_draft4():
    schema = {"type": "object", "properties": {
        "id": {"type": "integer", "format": "int32", "nullable": True},
        "kind": {"type": "string", "enum": ["A", "B"], "nullable": True}}}
    fast = fast_check(schema)
    assert fast({"id": None, "kind": None}) and fast({"id": 2**31 - 1, "kind": "A"})
    assert not fast({"id": 2**31}) and not fast({"kind": "C"}) and not fast({"id": 1.0})
    # Connexion's body schemas carry the contract's `components` (a cycle once refs are resolved).
    cyclic = {"type": "object", "properties": {"n": {"type": "integer"}}}
    cyclic["components"] = {"schemas": {"Self": cyclic}}
    assert fast_check(cyclic)({"n": 1}) and not fast_check(cyclic)({"n": "x"})


# --- the body parser: orjson first, json for what orjson refuses -----------------------------------

def read_by(parse, raw: bytes, encoding: str = "utf-8"):
    """What `parse` makes of `raw`: ("value", its exact JSON text, types kept) or ("refused", detail)."""
    try:
        value = parse(raw, encoding)
    except BadRequestProblem as exc:
        return "refused", exc.detail
    return "value", "ABSENT" if value is ABSENT else json.dumps(value)


TEXTS = st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("\\\"\x00\x1f\u2028\ufeff"), max_size=6)
DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**25, max_value=10**25) | st.sampled_from(EDGE_INTEGERS)
    | st.floats(allow_nan=False, allow_infinity=False) | TEXTS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXTS, inner, max_size=3),
    max_leaves=8)
PIECES = [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"1.5e-400", b"-0", b"-0.0", b"01", b"1.",
          b"\\ud800", b"\\udc00x", b"\\ud83d\\ude00", b"\xef\xbb\xbf", b"\xed\xa0\x80", b"\xc0\xaf", b"\xff",
          b"\x00", b"\t", b",", b"]", b"}", b"[", b"{", b'"', b"\\", b"1" * 19, b"9" * 4301, b"[" * 70, b"]" * 70]


@st.composite
def raw_bodies(draw) -> bytes:
    """JSON texts (compact, spaced, escaped or not) with, now and then, a piece of trouble spliced in."""
    text = json.dumps(draw(DOCUMENTS), ensure_ascii=draw(st.booleans()),
                      separators=draw(st.sampled_from([(",", ":"), (", ", ": ")]))).encode("utf-8", "surrogatepass")
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(PIECES)) + text[at:]
    return text


@settings(max_examples=1500, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw_bodies())
def test_parse_json_reads_every_body_as_json_does(raw):
    assert read_by(parse_json, raw) == read_by(_parse_json, raw)


@pytest.mark.parametrize("raw", [b"1" * 19, b"[18446744073709551616]", b'{"n": -9223372036854775809}',
                                 b'"\\ud800"', b"\xef\xbb\xbf{}", b"NaN", b"[1e400]", b"[" * 65 + b"]" * 65,
                                 b'{"a": 1, "a": 2}', b'"\xed\xa0\x80"', b"  ", b""])
def test_parse_json_edges(raw):
    assert read_by(parse_json, raw) == read_by(_parse_json, raw)
    assert read_by(parse_json, raw, "latin-1") == read_by(_parse_json, raw, "latin-1")
