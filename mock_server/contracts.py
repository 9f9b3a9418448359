"""The packaged contracts: `openapi.yaml` (the Altoviz API) and `admin.yaml` (the /_mock controls)."""

from __future__ import annotations

from importlib import resources

import yaml


def contract_text(name: str = "openapi.yaml") -> str:
    """The text of a contract packaged in `mock_server`."""
    return resources.files("mock_server").joinpath(name).read_text(encoding="utf-8")


def load_contract(name: str = "openapi.yaml") -> dict:
    """A parsed packaged contract (libyaml when available: start-up time matters)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(contract_text(name), Loader=loader)
