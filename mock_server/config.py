"""Server configuration as data: defaults, environment variables, command-line flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from . import ratelimit

DEFAULT_API_KEY = "altoviz-sandbox-key"
DEFAULT_SEED = 42
DEFAULT_DATA_DIR = ".altoviz-mock"
# POST /_mock/seed and `altoviz-mock seed`: a data set's size is its number of customers (30 is the
# standard set; the fixtures know 36 public bodies, 5 % of the customers); a step creates at most
# MAX_SEED_STEP documents.
DEFAULT_SEED_SIZE = 30
MAX_SEED_SIZE = 700
MAX_SEED_STEP = 1000

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
    "ALTOVIZ_MOCK_RATE_LIMIT": ("rate_limit", lambda v: (ratelimit.parse(v), v.strip())[1]),
    "ALTOVIZ_MOCK_STRICT": ("strict", lambda v: v.lower() in ("1", "true", "yes", "on")),
    "ALTOVIZ_MOCK_WEBHOOK_MAX_ATTEMPTS": ("webhook_max_attempts", int),
    "ALTOVIZ_MOCK_WEBHOOK_BACKOFF": ("webhook_backoff", float),
    "ALTOVIZ_MOCK_WEBHOOK_BACKOFF_FACTOR": ("webhook_backoff_factor", float),
    "ALTOVIZ_MOCK_WEBHOOK_BACKOFF_MAX": ("webhook_backoff_max", float),
    "ALTOVIZ_MOCK_WEBHOOK_TIMEOUT": ("webhook_timeout", float),
    "ALTOVIZ_MOCK_WEBHOOK_WORKERS": ("webhook_workers", int),
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
    # Each X-Mock-Warning (mock_server/warnings.py) refuses its request (400) instead.
    strict: bool = False
    # Requests per API key over a rolling window, "N/SECONDS", or "off" (mock_server/ratelimit.py);
    # off here (tests' apps), `serve` turns the live API's 100/60 on.
    rate_limit: str = "off"
    # Ordinary JSON requests answered by mock_server/dispatch.py ahead of Connexion's per-request
    # layers (same contract, same validators, same handlers); False sends everything down the chain.
    direct_dispatch: bool = True
    # Webhook deliveries: attempts per delivery (the first included); the delay before the first
    # retry, multiplied by the factor before each next one, capped; the connect/read timeout of an
    # attempt; the delivering threads (0: deliveries are recorded as pending, never sent).
    webhook_max_attempts: int = 6
    webhook_backoff: float = 1.0
    webhook_backoff_factor: float = 2.0
    webhook_backoff_max: float = 60.0
    webhook_timeout: float = 5.0
    webhook_workers: int = 4
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.webhook_max_attempts < 1:
            raise ValueError("webhook_max_attempts must be at least 1")
        if min(self.webhook_backoff, self.webhook_backoff_max) < 0 or self.webhook_backoff_factor < 1:
            raise ValueError("webhook backoff delays must be >= 0 and the factor >= 1")
        if self.webhook_timeout <= 0 or self.webhook_workers < 0:
            raise ValueError("webhook_timeout must be > 0 and webhook_workers >= 0")
        ratelimit.parse(self.rate_limit)

    @property
    def rate_limit_rule(self) -> tuple[int, float] | None:
        """(requests, seconds) of the rate limit, None when off."""
        return ratelimit.parse(self.rate_limit)

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
        try:
            return replace(cls(), **values)
        except ValueError as exc:
            raise ValueError(f"invalid configuration: {exc}") from None


# --- the optional config file: a layer under the environment ---------------------------------------

CONFIG_FILE = "altoviz-mock.toml"
# Settings of the client commands (seed, reset) and of `serve --in-memory`, beside the server's ENV.
CLIENT_ENV = {
    "ALTOVIZ_MOCK_URL": "the running sandbox the client commands talk to",
    "ALTOVIZ_MOCK_API_KEY": "the API key (tenant) the client commands act on",
    "ALTOVIZ_MOCK_IN_MEMORY": "keep nothing on disk",
}
_PREFIX = "ALTOVIZ_MOCK_"


def _env_value(value) -> str:
    """A TOML value as an environment variable would spell it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def read_config_file(path: str | os.PathLike) -> dict[str, str]:
    """A TOML config file (`port = 9000`, `api_keys = ["a", "b"]`...) as ALTOVIZ_MOCK_* variables;
    a ValueError names the file and the bad setting."""
    import tomllib

    try:
        with open(path, "rb") as file:
            settings = tomllib.load(file)
    except OSError as exc:
        raise ValueError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from None
    names = {name[len(_PREFIX):].lower(): name for name in (*ENV, *CLIENT_ENV)}
    variables = {}
    for key, value in settings.items():
        name = names.get(key.replace("-", "_").lower())
        if name is None:
            raise ValueError(f"{path}: unknown setting {key!r} (known: {', '.join(sorted(names))})")
        if isinstance(value, (dict, list)) and not (isinstance(value, list) and name == "ALTOVIZ_MOCK_API_KEYS"):
            raise ValueError(f"{path}: {key} must be a single value, not {type(value).__name__}")
        variables[name] = _env_value(value)
        if name in ENV:
            try:
                ENV[name][1](variables[name])
            except ValueError as exc:
                raise ValueError(f"{path}: {key} = {value!r} is not valid: {exc}") from None
    return variables


def environment(config_file: str | os.PathLike | None = None,
                env: Mapping[str, str] | None = None, cwd: str | os.PathLike = ".") -> dict[str, str]:
    """The ALTOVIZ_MOCK_* settings in force: the environment's over those of the config file
    (`config_file`, else `altoviz-mock.toml` in `cwd` when there is one)."""
    env = dict(os.environ if env is None else env)
    path = config_file or (Path(cwd) / CONFIG_FILE if (Path(cwd) / CONFIG_FILE).is_file() else None)
    if path is None:
        return env
    from_file = read_config_file(path)
    return {**from_file, **{k: v for k, v in env.items() if v != "" or k not in from_file}}
