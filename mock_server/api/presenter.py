"""Shape stored documents into the contract's response schemas.

Every property of the schema is returned, a missing one as null (the live API's answers: blank
fields are present with null, never omitted); keys the schema does not know (internal `_links`)
never leave the server.
"""

from __future__ import annotations

import threading
from typing import Callable


class Presenter:
    """Shapes values along schemas of the contract's `components.schemas`.

    Shaping a list of documents is the hot path of every list answer (see docs/benchmarks.md), so
    each schema is turned once into a small Python function (`_compile`): the properties written
    out in order, nothing looked up per value. `shape` is the reference behaviour they implement.
    """

    def __init__(self, schemas: dict):
        self.schemas = schemas
        self._shapers: dict[int, tuple[dict, Callable]] = {}
        # Handlers run on the event loop and in Connexion's thread pool (offload.py): a shaper being
        # compiled (its placeholder in `_pending`) must not be used by another thread before it is
        # done (a wait of one compile, once per schema).
        self._compiling = threading.RLock()
        self._pending: dict[int, tuple[dict, Callable]] = {}

    def _resolve(self, schema: dict) -> dict:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def _leaf(self, schema: dict) -> bool:
        """True for a schema `shape` returns values of unchanged (neither array nor object)."""
        resolved = self._resolve(schema)
        return resolved.get("type") != "array" and resolved.get("properties") is None

    def shape(self, schema: dict | str, value):
        """`value` as `schema` (a schema or a component name) describes it.

        Every property of an object schema is returned, a missing one as null; keys the schema does
        not know never leave the server. Arrays are shaped item by item; anything else is returned
        as it is.
        """
        if isinstance(schema, str):
            schema = self.schemas[schema]
        return self._shaper(schema)(value)

    def _shaper(self, schema: dict) -> Callable:
        entry = self._shapers.get(id(schema))
        if entry is not None and entry[0] is schema:
            return entry[1]
        with self._compiling:
            entry = self._shapers.get(id(schema)) or self._pending.get(id(schema))
            if entry is not None and entry[0] is schema:
                return entry[1]
            # A placeholder first, so that a recursive schema finds itself; only the compiling
            # thread (holding the lock) ever sees it.
            cell: list[Callable] = []
            self._pending[id(schema)] = (schema, lambda value: cell[0](value))
            try:
                cell.append(self._compile(schema))
            finally:
                del self._pending[id(schema)]
            self._shapers[id(schema)] = (schema, cell[0])
            return cell[0]

    def _compile(self, schema: dict) -> Callable:
        resolved = self._resolve(schema)
        if resolved.get("type") == "array":
            items = self._shaper(resolved.get("items", {}))
            return lambda value: [items(v) for v in value] if isinstance(value, list) else value
        properties = resolved.get("properties")
        if properties is None:
            return lambda value: value
        # One dict display with every property in schema order (shapers map None to None).
        namespace: dict = {}
        items = []
        for n, (name, sub) in enumerate(properties.items()):
            if self._leaf(sub):
                items.append(f"{name!r}: get({name!r})")
            else:
                namespace[f"shape_{n}"] = self._shaper(sub)
                items.append(f"{name!r}: shape_{n}(get({name!r}))")
        lines = ["def shape(value):",
                 "    if value is None or value.__class__ is not dict and not isinstance(value, dict):",
                 "        return value",
                 "    get = value.get",
                 "    return {" + ", ".join(items) + "}"]
        exec(compile("\n".join(lines), f"<shape {resolved.get('title') or id(schema)}>", "exec"), namespace)
        return namespace["shape"]
