"""The packaged contracts: `openapi.yaml` (the Altoviz API) and `admin.yaml` (the /_mock controls)."""

from __future__ import annotations

from importlib import resources

import yaml

from .startcache import digest, remembered

PACKAGED = ("openapi.yaml", "admin.yaml")


def contract_text(name: str = "openapi.yaml") -> str:
    """The text of a contract packaged in `mock_server`."""
    return resources.files("mock_server").joinpath(name).read_text(encoding="utf-8")


def load_contract(name: str = "openapi.yaml", *, write: bool | None = None) -> dict:
    """A parsed packaged contract, a fresh copy at each call: parsed by libyaml when available,
    or read from the start-up cache entry of the same text (startcache.py; start-up time matters)."""
    text = contract_text(name)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    key = digest([text, yaml.__version__, loader.__name__])
    return remembered(name, key, lambda: yaml.load(text, Loader=loader), write=write)
