"""Shape stored documents into the contract's response schemas.

Every property of the schema is returned: a missing nullable property as null, a missing
non-nullable one left out; keys the schema does not know (internal `_links`) never leave the server.
"""

from __future__ import annotations


class Presenter:
    """Walks a value along a schema of the contract's `components.schemas`."""

    def __init__(self, schemas: dict):
        self.schemas = schemas

    def _resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def shape(self, schema: dict | str, value):
        """`value` as `schema` (a schema or a component name) describes it."""
        schema = self._resolve({"$ref": schema} if isinstance(schema, str) else schema)
        if value is None:
            return None
        if schema.get("type") == "array" and isinstance(value, list):
            items = schema.get("items", {})
            return [self.shape(items, v) for v in value]
        properties = schema.get("properties")
        if properties is not None and isinstance(value, dict):
            out = {}
            for name, sub in properties.items():
                item = value.get(name)
                if item is not None:
                    out[name] = self.shape(sub, item)
                elif self._resolve(sub).get("nullable") or sub.get("nullable"):
                    out[name] = None
            return out
        return value
