"""Server configuration as data: defaults, environment variables, command-line flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

DEFAULT_API_KEY = "altoviz-sandbox-key"
DEFAULT_SEED = 42
DEFAULT_DATA_DIR = ".altoviz-mock"

# Environment variable -> (Config field, parser). Flags override these; these override defaults.
ENV = {
    "ALTOVIZ_MOCK_HOST": ("host", str),
    "ALTOVIZ_MOCK_PORT": ("port", int),
    "ALTOVIZ_MOCK_DATA": ("data_dir", lambda v: Path(v) if v else None),
    "ALTOVIZ_MOCK_API_KEYS": ("api_keys", lambda v: tuple(k.strip() for k in v.split(",") if k.strip())),
    "ALTOVIZ_MOCK_OPEN_TENANTS": ("open_tenants", lambda v: v.lower() in ("1", "true", "yes", "on")),
    "ALTOVIZ_MOCK_SEED": ("seed", int),
    "ALTOVIZ_MOCK_EMPTY": ("empty", lambda v: v.lower() in ("1", "true", "yes", "on")),
    "ALTOVIZ_MOCK_FSYNC": ("fsync", lambda v: v.lower() in ("1", "true", "yes", "on")),
}


@dataclass(frozen=True)
class Config:
    """Everything `create_app` needs; tests build one per test with a temporary data dir."""

    host: str = "127.0.0.1"
    port: int = 8080
    # None keeps everything in memory (nothing written to disk).
    data_dir: Path | None = Path(DEFAULT_DATA_DIR)
    # Keys accepted besides the default one; each key is its own tenant.
    api_keys: tuple[str, ...] = ()
    open_tenants: bool = False
    seed: int = DEFAULT_SEED
    empty: bool = False
    fsync: bool = False
    validate_responses: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def all_api_keys(self) -> tuple[str, ...]:
        """The default key first, then the configured ones, without duplicates."""
        return tuple(dict.fromkeys((DEFAULT_API_KEY, *self.api_keys)))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "Config":
        """Defaults, then ALTOVIZ_MOCK_* variables, then explicit overrides (flags)."""
        env = os.environ if env is None else env
        values = {}
        for name, (attr, parse) in ENV.items():
            if env.get(name) not in (None, ""):
                try:
                    values[attr] = parse(env[name])
                except ValueError as exc:
                    raise ValueError(f"{name}={env[name]!r} is not valid: {exc}") from None
        overrides = {k: v for k, v in overrides.items() if v is not None}
        # Keys add up: the environment's and the flags' are all accepted.
        if "api_keys" in overrides:
            overrides["api_keys"] = tuple(dict.fromkeys((*values.get("api_keys", ()), *overrides["api_keys"])))
        values.update(overrides)
        return replace(cls(), **values)
