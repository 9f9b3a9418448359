"""Shape stored documents into the contract's response schemas.

Every property of the schema is returned: a missing nullable property as null, a missing
non-nullable one left out; keys the schema does not know (internal `_links`) never leave the server.
"""

from __future__ import annotations


class Presenter:
    """Walks a value along a schema of the contract's `components.schemas`.

    What each schema asks for (resolved `$ref`s, its properties and which are nullable) is worked
    out once per schema object and kept: shaping a list of documents is the hot path of every
    list answer (see docs/benchmarks.md).
    """

    def __init__(self, schemas: dict):
        self.schemas = schemas
        self._plans: dict[int, tuple] = {}

    def _resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _plan(self, schema: dict) -> tuple:
        """(schema, array items or None, [(property, schema, nullable, leaf)] or None), kept per schema
        object (the plan holds the schema itself, so that its id cannot be reused meanwhile)."""
        plan = self._plans.get(id(schema))
        if plan is None:
            resolved = self._resolve(schema)
            items = resolved.get("items", {}) if resolved.get("type") == "array" else None
            properties = resolved.get("properties")
            fields = None if properties is None else [
                (name, sub, bool(self._resolve(sub).get("nullable") or sub.get("nullable")), self._leaf(sub))
                for name, sub in properties.items()]
            plan = self._plans[id(schema)] = (schema, items, fields)
        return plan

    def _leaf(self, schema: dict) -> bool:
        """True for a schema `shape` returns values of unchanged (neither array nor object)."""
        resolved = self._resolve(schema)
        return resolved.get("type") != "array" and resolved.get("properties") is None

    def shape(self, schema: dict | str, value):
        """`value` as `schema` (a schema or a component name) describes it."""
        if isinstance(schema, str):
            schema = self.schemas[schema]
        if value is None:
            return None
        _, items, fields = self._plan(schema)
        if items is not None and isinstance(value, list):
            return [self.shape(items, v) for v in value]
        if fields is not None and isinstance(value, dict):
            out = {}
            for name, sub, nullable, leaf in fields:
                item = value.get(name)
                if item is not None:
                    out[name] = item if leaf else self.shape(sub, item)
                elif nullable:
                    out[name] = None
            return out
        return value
