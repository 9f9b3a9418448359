"""The presenter's compiled shaping functions agree with the rule they implement.

`reference_shape` below is the rule written plainly (a walk of the schema per value); the compiled
functions of `mock_server.api.presenter` must give the same output, key order included, for every
schema of the contract, on stored-like documents and on awkward values.
"""

from __future__ import annotations

import random

import pytest

from mock_server.api.presenter import Presenter
from mock_server.contracts import load_contract

SCHEMAS = load_contract()["components"]["schemas"]


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def reference_shape(schema: dict, value):
    if value is None:
        return None
    resolved = _resolve(schema)
    if resolved.get("type") == "array" and isinstance(value, list):
        return [reference_shape(resolved.get("items", {}), v) for v in value]
    properties = resolved.get("properties")
    if properties is not None and isinstance(value, dict):
        out = {}
        for name, sub in properties.items():
            # Every property, null when blank (as live), nullable in the schema or not.
            out[name] = reference_shape(sub, value[name]) if value.get(name) is not None else None
        return out
    return value


def sample(schema: dict, rng: random.Random, depth: int = 0):
    """A value roughly of `schema`, with properties missing, null, or of the wrong type at random."""
    resolved = _resolve(schema)
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.15:
        return rng.choice(["text", 7, [1, 2], {"x": 1}, True])
    if resolved.get("type") == "array":
        return [sample(resolved.get("items", {}), rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if "properties" in resolved and depth < 6:
        out = {name: sample(sub, rng, depth + 1) for name, sub in resolved["properties"].items() if rng.random() < 0.7}
        out["_internal"] = "never shown"
        return out
    return rng.choice(["A", 1, 2.5, False, "2026-03-10"])


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_compiled_shaping_matches_the_rule(name):
    presenter = Presenter(SCHEMAS)
    rng = random.Random(f"presenter-{name}")
    for _ in range(60):
        value = sample(SCHEMAS[name], rng)
        shaped = presenter.shape(name, value)
        expected = reference_shape(SCHEMAS[name], value)
        assert shaped == expected
        if isinstance(expected, dict):
            assert list(shaped) == list(expected)


def test_shaping_drops_internal_keys_and_fills_nullable_ones():
    presenter = Presenter(SCHEMAS)
    shaped = presenter.shape("Customer", {"id": 3, "companyName": "Atelier", "_familyId": 2,
                                          "billingAddress": {"city": "Lyon", "_internal": 1}})
    assert shaped["id"] == 3 and shaped["companyName"] == "Atelier"
    assert "_familyId" not in shaped and "_internal" not in shaped["billingAddress"]
    assert shaped["billingAddress"]["city"] == "Lyon" and shaped["billingAddress"]["street"] is None
    assert shaped["email"] is None
