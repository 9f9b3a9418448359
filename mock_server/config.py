"""Server configuration as data: defaults, environment variables, command-line flags."""

from __future__ import annotations

import math
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

def parse_port(value: str) -> int:
    """A TCP port, 0 (any free one) to 65535."""
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ValueError("a port is an integer from 0 to 65535 (0: any free one)")
    return port


def parse_bool(value: str) -> bool:
    """A switch as environment variables spell it; anything else is refused rather than read as off."""
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1, true, yes, on or 0, false, no, off")


def parse_float(value: str) -> float:
    """A finite number: float() also reads 'nan' and 'inf', which no delay or timeout can be."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


# The header a webhook delivery's signature goes in. The vendor's n8n node names it `X-Signature` in
# one version and `X-Altoviz-Signature` in another (docs/live-vs-published.md): the first is the
# sandbox's documented default, the other a setting.
SIGNATURE_HEADERS = ("X-Signature", "X-Altoviz-Signature")


def parse_signature_header(value: str) -> str:
    """One of SIGNATURE_HEADERS, in any case; its spelling there."""
    for name in SIGNATURE_HEADERS:
        if value.strip().lower() == name.lower():
            return name
    raise ValueError(f"expected {' or '.join(SIGNATURE_HEADERS)}")


# Environment variable -> (Config field, parser). Flags override these; these override defaults.
ENV = {
    "ALTOVIZ_MOCK_HOST": ("host", str),
    "ALTOVIZ_MOCK_PORT": ("port", parse_port),
    "ALTOVIZ_MOCK_DATA": ("data_dir", lambda v: Path(v) if v else None),
    "ALTOVIZ_MOCK_API_KEYS": ("api_keys", lambda v: tuple(k.strip() for k in v.split(",") if k.strip())),
    "ALTOVIZ_MOCK_OPEN_TENANTS": ("open_tenants", parse_bool),
    "ALTOVIZ_MOCK_SEED": ("seed", int),
    "ALTOVIZ_MOCK_EMPTY": ("empty", parse_bool),
    "ALTOVIZ_MOCK_FSYNC": ("fsync", parse_bool),
    "ALTOVIZ_MOCK_RATE_LIMIT": ("rate_limit", lambda v: (ratelimit.parse(v), v.strip())[1]),
    "ALTOVIZ_MOCK_STRICT": ("strict", parse_bool),
    "ALTOVIZ_MOCK_WEBHOOK_MAX_ATTEMPTS": ("webhook_max_attempts", int),
    "ALTOVIZ_MOCK_WEBHOOK_BACKOFF": ("webhook_backoff", parse_float),
    "ALTOVIZ_MOCK_WEBHOOK_BACKOFF_FACTOR": ("webhook_backoff_factor", parse_float),
    "ALTOVIZ_MOCK_WEBHOOK_BACKOFF_MAX": ("webhook_backoff_max", parse_float),
    "ALTOVIZ_MOCK_WEBHOOK_TIMEOUT": ("webhook_timeout", parse_float),
    "ALTOVIZ_MOCK_WEBHOOK_WORKERS": ("webhook_workers", int),
    "ALTOVIZ_MOCK_WEBHOOK_SIGNATURE_HEADER": ("webhook_signature_header", parse_signature_header),
    "ALTOVIZ_MOCK_JOURNAL_SIZE": ("journal_size", int),
    "ALTOVIZ_MOCK_JOURNAL_PERSIST": ("journal_persist", lambda v: v.lower() in ("1", "true", "yes", "on")),
    "ALTOVIZ_MOCK_LOG_FORMAT": ("log_format", str),
    "ALTOVIZ_MOCK_WEBHOOK_LOG_KEEP": ("webhook_log_keep", int),
    "ALTOVIZ_MOCK_MAX_OPEN_TENANTS": ("max_open_tenants", int),
    "ALTOVIZ_MOCK_ADMIN_KEY": ("admin_key", lambda v: v or None),
    "ALTOVIZ_MOCK_BODY_TIMEOUT": ("body_timeout", parse_float),
    "ALTOVIZ_MOCK_PDF_RENDERS": ("pdf_renders", int),
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
    # Webhook deliveries: attempts per delivery (the first included); the delay before the first
    # retry, multiplied by the factor before each next one, capped; the connect/read timeout of an
    # attempt; the delivering threads (0: deliveries are recorded as pending, never sent).
    webhook_max_attempts: int = 6
    webhook_backoff: float = 1.0
    webhook_backoff_factor: float = 2.0
    webhook_backoff_max: float = 60.0
    webhook_timeout: float = 5.0
    webhook_workers: int = 4
    # The header carrying a delivery's HMAC signature (SIGNATURE_HEADERS).
    webhook_signature_header: str = SIGNATURE_HEADERS[0]
    # The request journal (journal.py): entries kept per tenant (a ring), and whether they are also
    # written beside the tenant's data (read back at start; needs a data directory).
    journal_size: int = 1000
    journal_persist: bool = False
    # The access log's lines on the server console: "text" or "json".
    log_format: str = "text"
    # Retention of each tenant's delivery log: its latest attempts and finished deliveries kept.
    webhook_log_keep: int = 1000
    # Tenants held open at a time (data in memory, journal descriptor); the least recently used
    # idle one is closed to open another, and opened again on its next use.
    max_open_tenants: int = 256
    # The X-Admin-Key of the controls acting across tenants (reset?all, the tenants list); None
    # refuses them.
    admin_key: str | None = None
    # Start on damaged data files keeping what is readable (and logging what is dropped).
    recover: bool = False
    # Seconds a client has to send a request's body after its head: then 408, connection closed.
    body_timeout: float = 30.0
    # PDF renders at a time, a small share of the 40 threads that handlers leaving the event loop
    # share (anyio's default, offload.py); one tenant gets at most half of them (at least one), the
    # others' downloads are not kept waiting behind it (rendering.py).
    pdf_renders: int = 4
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.webhook_max_attempts < 1:
            raise ValueError("webhook_max_attempts must be at least 1")
        if min(self.webhook_backoff, self.webhook_backoff_max) < 0 or self.webhook_backoff_factor < 1:
            raise ValueError("webhook backoff delays must be >= 0 and the factor >= 1")
        if self.webhook_timeout <= 0 or self.webhook_workers < 0:
            raise ValueError("webhook_timeout must be > 0 and webhook_workers >= 0")
        if self.webhook_signature_header not in SIGNATURE_HEADERS:
            raise ValueError(f"webhook_signature_header must be {' or '.join(SIGNATURE_HEADERS)}")
        if self.journal_size < 1:
            raise ValueError("journal_size must be at least 1")
        if self.log_format not in ("text", "json"):
            raise ValueError(f"log_format must be text or json, not {self.log_format!r}")
        if self.webhook_log_keep < 1:
            raise ValueError("webhook_log_keep must be at least 1")
        if self.max_open_tenants < 1:
            raise ValueError("max_open_tenants must be at least 1")
        # An empty key would be the one a request without a key sends.
        if "" in (*map(str.strip, self.api_keys), self.admin_key):
            raise ValueError("an API key or admin key cannot be empty")
        if not (math.isfinite(self.body_timeout) and self.body_timeout > 0):
            raise ValueError("body_timeout must be a number of seconds > 0")
        if not 1 <= self.pdf_renders <= 9:
            raise ValueError("pdf_renders must be from 1 to 9")
        ratelimit.parse(self.rate_limit)

    @property
    def pdf_renders_per_tenant(self) -> int:
        """Renders one tenant may have at a time: half of them, at least one."""
        return max(1, self.pdf_renders // 2)

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
