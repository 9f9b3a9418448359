"""The packaged contracts: `openapi.yaml` (the Altoviz API) and `admin.yaml` (the /_mock controls)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from importlib import resources

import yaml


def contract_text(name: str = "openapi.yaml") -> str:
    """The text of a contract packaged in `mock_server`."""
    return resources.files("mock_server").joinpath(name).read_text(encoding="utf-8")


def load_contract(name: str = "openapi.yaml") -> dict:
    """A parsed packaged contract (libyaml when available: start-up time matters)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(contract_text(name), Loader=loader)


@functools.lru_cache(maxsize=1)
def load_admin_contract() -> dict:
    """The admin API's contract (`admin.yaml`), parsed once: callers read it, never change it
    (Connexion is given a copy of it; /_mock/openapi.json answers it)."""
    return load_contract("admin.yaml")


def admin_schema(name: str) -> dict:
    """admin.yaml's `components.schemas[name]`: the one description of a control's fields, their
    types, bounds and defaults (Connexion validates against it; handlers read their defaults from it)."""
    return load_admin_contract()["components"]["schemas"][name]


def operation_responses(spec: dict) -> Iterator[tuple[str, str, dict]]:
    """(operationId, status, response) for each documented response of a contract's operations,
    a `$ref` to `components.responses` resolved."""
    shared = spec.get("components", {}).get("responses", {})
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            for status, response in operation.get("responses", {}).items():
                if "$ref" in response:
                    response = shared[response["$ref"].rsplit("/", 1)[-1]]
                yield operation["operationId"], status, response
