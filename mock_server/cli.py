"""The `altoviz-mock` command."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

from . import __version__, collector, ratelimit
from .config import (CONFIG_FILE, DEFAULT_API_KEY, DEFAULT_DATA_DIR, DEFAULT_SEED, Config, environment, parse_bool,
                     parse_port, parse_signature_header)


def _listen(host: str, port: int) -> tuple[socket.socket | None, str | None]:
    """A socket listening on host:port (port 0: a free one, chosen by the system) for uvicorn to
    serve on, or why there cannot be one (one line for the user)."""
    sock = None
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # connections queue from now on: the banner's URL answers once uvicorn runs
    except OSError as exc:
        if sock is not None:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            return None, (f"port {port} on {host} is already in use "
                          f"(another sandbox running? pick one with --port)")
        return None, f"cannot listen on {host} port {port}: {exc.strerror or exc}"
    return sock, None


def _bad_host(host: str) -> str | None:
    """Why `host` is a bad setting (exit status 2, like a bad flag), or None: it must name an
    address of this machine. A port in use is a failure of the moment instead (exit status 1)."""
    try:
        addresses = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return f"host {host}: not a host name or address ({getattr(exc, 'strerror', None) or exc})"
    family, _, _, _, address = addresses[0]
    try:
        with socket.socket(family) as probe:
            probe.bind((address[0], 0))
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            return f"host {host}: not an address of this machine (use 127.0.0.1, or 0.0.0.0 for every interface)"
    return None


def _bad_data_dir(path: Path) -> str | None:
    """Why tenants' data cannot be kept in `path` (exit status 2, like a bad flag), or None: it must
    be a directory (created when missing) this process can create files in."""
    try:
        if path.exists() and not path.is_dir():
            return f"data directory {path}: not a directory (give a directory with --data, or --in-memory)"
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        return f"data directory {path}: {exc.strerror or exc} (give a writable directory with --data, or --in-memory)"
    return None


LOCK_FILE = ".lock"
"""In a data directory: held (flock) by the one sandbox serving it, with that process's pid."""


def _hold_data_dir(path: Path):
    """The data directory for this process alone: an open file holding an exclusive lock on
    `path/.lock` until the process ends (the system drops it even on kill -9); (None, why) when
    another process holds it. Two servers on one directory would interleave their journals and
    remove each other's files at start-up."""
    import fcntl

    handle = open(path / LOCK_FILE, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        owner = handle.read().strip()
        handle.close()
        holder = f" (pid {owner})" if owner.isdigit() else ""
        return None, (f"data directory {path} is in use by another sandbox{holder}: stop it, or give another "
                      "directory with --data, or --in-memory")
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle, None


def _cli_hint() -> str:
    """How to reach the `altoviz-mock` command from another shell: `make run` starts it from the
    project's virtualenv, whose bin/ is not on the PATH until activated."""
    here = Path(sys.executable).parent  # not resolved: a virtualenv's python is a symlink out of it
    script = here / "altoviz-mock"
    if not script.is_file():
        return f"{sys.executable} -m mock_server.cli --help"
    on_path = shutil.which("altoviz-mock")
    if on_path and Path(on_path).resolve() == script.resolve():
        return "altoviz-mock --help"
    activate = here / "activate"
    if not activate.is_file():
        return f"{script} --help"
    try:
        activate = activate.absolute().relative_to(Path.cwd())
    except ValueError:
        pass
    return f"source {activate}, then altoviz-mock --help"


def _signature_header_flag(value: str) -> str:
    try:
        return parse_signature_header(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: {exc}") from None


def _port_flag(value: str) -> int:
    try:
        return parse_port(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: {exc}") from None


# A client gets this long to send a request's line and headers (from its first byte, or from the end
# of the previous answer): uvicorn's keep-alive timeout stops at the first byte, so a client
# dribbling half a request would otherwise hold its connection forever.
REQUEST_HEAD_TIMEOUT = 5.0
# On SIGTERM, requests in flight get this long to finish before the server stops (within 5 s in all).
GRACEFUL_SHUTDOWN = 3


class CoalescedWrites:
    """A connection's transport whose writes within one turn of the event loop go out as one.

    uvicorn writes a response's head and its body apart: two sends, and with TCP_NODELAY two
    segments, each read by the client apart, where one does (docs/architecture.md). Small writes
    wait for the end of the loop's turn (`call_soon`); once `hold` bytes are waiting (uvicorn's
    high-water mark for a connection's writes), or for a write that size, everything goes at once, so a streamed body meets uvicorn's flow control as
    before and nothing big is held. A close sends what waits first; what waits when the
    connection is already closing (lost, aborted) is dropped, as the transport would drop it.
    """

    __slots__ = ("_transport", "_loop", "_hold", "_pending", "_size")

    def __init__(self, transport, loop, hold: int):
        self._transport, self._loop, self._hold = transport, loop, hold
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data) -> None:
        if self._pending:
            self._pending.append(data)
            self._size += len(data)
            if self._size >= self._hold:
                self._flush()
        elif len(data) >= self._hold:
            self._transport.write(data)
        else:
            self._pending.append(data)
            self._size = len(data)
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name):  # get_extra_info, pause_reading, resume_reading, set_protocol...
        return getattr(self._transport, name)


def _http_protocol():
    """uvicorn's httptools protocol (its `auto` choice, installed with uvicorn's `standard` extra;
    h11, written in Python, costs several times its CPU per request: docs/architecture.md), closing
    a connection whose request head is not complete in time, its writes coalesced
    (`CoalescedWrites`)."""
    from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HeadDeadline(HttpToolsProtocol):
        _head_timer = None

        def connection_made(self, transport) -> None:
            super().connection_made(CoalescedWrites(transport, self.loop, HIGH_WATER_LIMIT))

        def _waiting_for_head(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if not self._waiting_for_head():
                self._cancel_head_timer()
            elif self._head_timer is None and not self.transport.is_closing():
                self._head_timer = self.loop.call_later(REQUEST_HEAD_TIMEOUT, self._head_timeout)

        def _head_timeout(self) -> None:
            self._head_timer = None
            if self._waiting_for_head():
                self.transport.close()

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def connection_lost(self, exc) -> None:
            self._cancel_head_timer()
            super().connection_lost(exc)

    return HeadDeadline


def _stop_like_ctrl_c(signum, frame) -> None:
    """SIGTERM handler: uvicorn shuts down gracefully on SIGTERM, then re-raises it with the handler
    it found; raising KeyboardInterrupt here makes that end like Ctrl-C (uvicorn.run returns), so
    the store is closed and the process exits 0 instead of dying by the signal mid-way."""
    raise KeyboardInterrupt


class _HelpFormatter(argparse.HelpFormatter):
    """Argparse's formatter, without breaking lines at hyphens: `altoviz-sandbox-key`, flags and
    paths must stay whole in `--help` to be copied from it."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        # Paragraphs are refilled; indented lines (an epilog's examples) are kept as written.
        lines, paragraph = [], []

        def flush() -> None:
            if paragraph:
                lines.append(textwrap.fill(" ".join(" ".join(paragraph).split()), width, initial_indent=indent,
                                           subsequent_indent=indent, break_on_hyphens=False))
                paragraph.clear()

        for line in text.splitlines():
            if line.strip() and line[0].isspace():
                flush()
                lines.append(indent + line.rstrip())
            elif not line.strip():
                flush()
                lines.append("")
            else:
                paragraph.append(line)
        flush()
        return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors are one line saying where to look (no usage block)."""

    def error(self, message: str):
        from . import console

        command = self.prog.partition(" ")[2] or None
        self.exit(console.fail(f"{message} (see {self.prog} --help)", 2, command=command))


EXAMPLES = f"""examples:
  altoviz-mock serve                          # on :8080, API page at /ui/
  altoviz-mock serve --port 9000 --in-memory  # nothing kept on disk
  altoviz-mock serve --open-tenants           # any API key is a tenant
  altoviz-mock seed --size 500 --seed 7       # reseed a running sandbox
  altoviz-mock reset --api-key team-b         # back to the initial state
  altoviz-mock contract --base-url URL --api-key KEY

Settings come from the flags, then ALTOVIZ_MOCK_* environment variables, then ./{CONFIG_FILE}
(or --config FILE), then the defaults: `altoviz-mock COMMAND --help` lists them."""

SERVE_EXAMPLES = f"""examples:
  altoviz-mock serve
  altoviz-mock serve --host 0.0.0.0 --port 9000 --api-key team-a
  ALTOVIZ_MOCK_OPEN_TENANTS=1 altoviz-mock serve --in-memory --empty
  altoviz-mock serve --config ci.toml   # e.g. port = 9000, open_tenants = true"""


def serve(args: argparse.Namespace) -> int:
    """Start the sandbox and print where it listens and with which key."""
    from . import console

    env = getattr(args, "env", None)
    try:
        config = Config.from_env(
            env, host=args.host, port=args.port,
            data_dir=Path(args.data) if args.data else None,
            api_keys=tuple(args.api_key) if args.api_key else None,
            open_tenants=True if args.open_tenants else None,
            seed=args.seed, empty=True if args.empty else None,
            max_open_tenants=args.max_open_tenants, admin_key=args.admin_key,
            recover=True if args.recover else None, body_timeout=args.body_timeout,
            strict=True if args.strict else None,
            webhook_signature_header=args.webhook_signature_header,
            # The live API's limit unless the flag or the environment says otherwise.
            rate_limit=args.rate_limit or (None if (os.environ if env is None else env).get("ALTOVIZ_MOCK_RATE_LIMIT")
                                           else ratelimit.DEFAULT),
            log_format=args.log_format,
        )
    except ValueError as exc:
        return console.fail(str(exc), 2, command="serve")
    try:
        in_memory = args.in_memory or parse_bool((env or {}).get("ALTOVIZ_MOCK_IN_MEMORY") or "0")
    except ValueError as exc:
        return console.fail(f"ALTOVIZ_MOCK_IN_MEMORY={env['ALTOVIZ_MOCK_IN_MEMORY']!r} is not valid: {exc}", 2,
                            command="serve")
    if in_memory:
        config = Config(**{**config.__dict__, "data_dir": None})
    problem = _bad_host(config.host) or (_bad_data_dir(config.data_dir) if config.data_dir else None)
    if problem:
        return console.fail(problem, 2, command="serve")
    data_lock, problem = _hold_data_dir(config.data_dir) if config.data_dir else (None, None)
    if problem:
        return console.fail(problem, 1, command="serve")
    sock, problem = _listen(config.host, config.port)
    if problem:
        return console.fail(problem, 1, command="serve")
    # The server starts: its collector's thresholds from here, before start-up's imports
    # (collector.py); the caller's come back when it stops.
    gc_policy = collector.FrozenSurvivors()
    import uvicorn

    from .app import create_app
    from .store import CorruptStoreError

    try:
        app = create_app(config)
    except CorruptStoreError as exc:  # the message names the file and the way out
        sock.close()
        return console.fail(str(exc), 1, command="serve")
    except BaseException:
        sock.close()
        raise
    port = sock.getsockname()[1]  # the one the system chose for --port 0
    url = f"http://{config.host}:{port}"
    state = "empty" if config.empty else f"seeded with fixture set {config.seed}"
    where = config.data_dir.resolve() if config.data_dir else "memory only"
    banner = [f"[bold]Altoviz sandbox {__version__}[/] listening on [bold cyan]{url}[/] "
              f"({state}, data in {console.escape(where)})"]
    banner += [f"API key: [bold]{console.escape(key)}[/]" for key in config.all_api_keys]
    if config.open_tenants:
        banner.append("Open tenants: any other X-API-KEY is accepted as a fresh, empty tenant")
    banner.append(f"Try: [green]curl -H 'X-API-KEY: {DEFAULT_API_KEY}' {url}/v1/Customers[/]")
    banner.append(f"API page: [cyan]{url}/ui/[/]   Dashboard: [cyan]{url}/_mock/dashboard/[/]")
    banner.append(f"Commands (in another terminal): [green]{console.escape(_cli_hint())}[/]")
    console.say("\n".join(banner))  # one write: whoever reads the first line can read them all
    sys.stdout.flush()
    _access_log(quiet=args.quiet)
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    server = uvicorn.Server(uvicorn.Config(app, host=config.host, port=port, log_level="warning", access_log=False,
                                           http=_http_protocol(), timeout_keep_alive=5,
                                           timeout_graceful_shutdown=GRACEFUL_SHUTDOWN))
    try:
        with gc_policy:
            server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        try:
            app.services.close()
        finally:
            if data_lock is not None:  # released once the store is closed, not before
                data_lock.close()
    return 0 if server.started else 1


def _access_log(quiet: bool) -> None:
    """The access log's lines (journal.py, one per request) on stdout, as written; none with --quiet.
    Uvicorn's own access log stays off: these lines replace it."""
    access = logging.getLogger("altoviz_mock.access")
    access.propagate = False
    if quiet:
        access.disabled = True
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(handler)
    access.setLevel(logging.INFO)


def _override_flag(value: str) -> tuple[str, object]:
    """`--set data.customerName=ACME`: the path and the value, parsed as JSON when it parses
    (`data.balance=0`, `data.isPaid=true`, `data.lines=[]`), else the text as a string."""
    import json

    path, equals, text = value.partition("=")
    if not equals or not path:
        raise argparse.ArgumentTypeError(f"{value!r}: expected PATH=VALUE, e.g. data.customerName=ACME")
    try:
        return path, json.loads(text)
    except ValueError:
        return path, text


def trigger(args: argparse.Namespace) -> int:
    """Ask a running sandbox to send sample events of some types to the key's webhooks."""
    import httpx

    from .cli_sandbox import sandbox_api_key, sandbox_url

    # As seed and reset: flags, then env variables and the config file, then the defaults.
    url, api_key = sandbox_url(args), sandbox_api_key(args)
    endpoint = f"{url}/_mock/webhooks/trigger"
    request = {"type": args.type if len(args.type) > 1 else args.type[0]}
    if args.id is not None:
        request["id"] = args.id
    if args.set:
        request["set"] = dict(args.set)
    for flag, field in (("duplicate", "duplicate"), ("out_of_order", "outOfOrder"),
                        ("bad_signature", "badSignature")):
        if getattr(args, flag):
            request[field] = True
    if args.delay is not None:
        request["delay"] = args.delay
    try:
        # trust_env=False: straight to the sandbox, never through an HTTP(S)_PROXY of the environment.
        response = httpx.post(endpoint, json=request, headers={"X-API-KEY": api_key}, timeout=10, trust_env=False)
    except httpx.HTTPError as exc:
        print(f"altoviz-mock: no sandbox answering at {url} ({exc or type(exc).__name__})", file=sys.stderr)
        return 1
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 202:
        print(f"altoviz-mock: {response.status_code} {body.get('detail') or response.text.strip()}", file=sys.stderr)
        return 1
    deliveries = body.get("deliveries") or []
    if not deliveries:
        print(f"{', '.join(args.type)}: no webhook of this API key subscribes to it; nothing sent "
              "(register one with POST /v1/Webhooks)")
        return 0
    for event in body.get("events") or []:
        mine = [d for d in deliveries if d["eventId"] == event["eventId"]]
        if not mine:
            print(f"{event['type']}: no webhook of this API key subscribes to it; nothing sent")
            continue
        print(f"{event['type']} event {event['eventId']} queued for {len({d['webhookId'] for d in mine})} webhook(s):")
        for delivery in mine:
            faults = f", faults: {', '.join(delivery['faults'])}" if delivery.get("faults") else ""
            print(f"  delivery {delivery['id']} to {delivery['url']} (webhook {delivery['webhookId']}{faults})")
    print(f"Attempts: curl -H 'X-API-KEY: {api_key}' {url}/_mock/webhooks/deliveries")
    return 0


def _seconds_flag(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 600:
        raise argparse.ArgumentTypeError(f"{value!r}: a number of seconds from 0 to 600")
    return seconds


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="altoviz-mock", formatter_class=_HelpFormatter, epilog=EXAMPLES,
        description="A local, stateful sandbox of the Altoviz invoicing API.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", metavar="FILE", help=f"settings file (TOML; default ./{CONFIG_FILE} when present)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("serve", help="run the sandbox server", formatter_class=_HelpFormatter,
                            epilog=SERVE_EXAMPLES,
                            description="Run the sandbox. Every flag has an ALTOVIZ_MOCK_* environment equivalent "
                                        f"and a setting in {CONFIG_FILE} (flags win, then the environment).")
    p.add_argument("--host", help="interface to listen on (default 127.0.0.1; env ALTOVIZ_MOCK_HOST)")
    p.add_argument("--port", type=_port_flag, help="port (default 8080; 0: any free one, printed; env ALTOVIZ_MOCK_PORT)")
    p.add_argument("--data", metavar="DIR",
                   help=f"where tenants' data is kept (default ./{DEFAULT_DATA_DIR}; env ALTOVIZ_MOCK_DATA)")
    p.add_argument("--in-memory", action="store_true", help="keep nothing on disk")
    p.add_argument("--api-key", metavar="KEY", action="append",
                   help=f"accept KEY as an extra tenant (repeatable; env ALTOVIZ_MOCK_API_KEYS=k1,k2). "
                        f"The default key {DEFAULT_API_KEY} always works")
    p.add_argument("--open-tenants", action="store_true",
                   help="accept any X-API-KEY, each new key being a fresh empty tenant (env ALTOVIZ_MOCK_OPEN_TENANTS=1)")
    p.add_argument("--max-open-tenants", type=int, metavar="N",
                   help="tenants held open at a time; idle ones are closed and reopened on use "
                        "(default 256; env ALTOVIZ_MOCK_MAX_OPEN_TENANTS)")
    p.add_argument("--admin-key", metavar="KEY",
                   help="X-Admin-Key of the controls across tenants (reset?all=true, /_mock/tenants); "
                        "without one they are refused (env ALTOVIZ_MOCK_ADMIN_KEY)")
    p.add_argument("--body-timeout", type=float, metavar="SECONDS",
                   help="seconds a client has to send a request body after its head, then 408 and the "
                        "connection closed (default 30; env ALTOVIZ_MOCK_BODY_TIMEOUT)")
    p.add_argument("--recover", action="store_true",
                   help="start on damaged data files, keeping what is readable and logging what is dropped")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--empty", action="store_true", help="start tenants without fixture data (env ALTOVIZ_MOCK_EMPTY=1)")
    group.add_argument("--seed", type=int, metavar="N",
                       help=f"fixture data set to seed tenants with (default {DEFAULT_SEED}; env ALTOVIZ_MOCK_SEED)")
    p.add_argument("--rate-limit", metavar="off|N/SECONDS",
                   help=f"requests per API key over a rolling window, then 429 as live (default {ratelimit.DEFAULT}; "
                        "env ALTOVIZ_MOCK_RATE_LIMIT)")
    p.add_argument("--strict", action="store_true",
                   help="refuse (400) every request that would draw an X-Mock-Warning (env ALTOVIZ_MOCK_STRICT=1)")
    p.add_argument("--webhook-signature-header", metavar="NAME", type=_signature_header_flag,
                   help="the header of a delivery's signature: X-Signature (default) or X-Altoviz-Signature, "
                        "the two names the vendor's n8n node uses (env ALTOVIZ_MOCK_WEBHOOK_SIGNATURE_HEADER)")
    p.add_argument("--log-format", choices=("text", "json"), default=None,
                   help="the access log's lines: text (default) or json, one object per line "
                        "(env ALTOVIZ_MOCK_LOG_FORMAT)")
    p.add_argument("--quiet", action="store_true", help="no access-log line per request")
    p.set_defaults(func=serve)

    from . import cli_sandbox  # `seed`, `reset` and `requests`
    cli_sandbox.add_commands(commands, _HelpFormatter)

    from .domain.webhooks import TYPES

    t = commands.add_parser("trigger", help="make a running sandbox send a sample webhook event",
                            formatter_class=_HelpFormatter,
                            description="Make a running sandbox send a sample event of each TYPE, in that order, to "
                                        "the webhooks the API key registered: its resource of that kind with --id, "
                                        "else its latest one (nothing is changed). The fault flags test how the "
                                        "receiver copes; each faulted attempt is marked in the delivery log.")
    t.add_argument("type", metavar="TYPE", nargs="+", choices=TYPES, help=f"a WebhookType: {', '.join(TYPES)}")
    t.add_argument("--id", type=int, metavar="N", help="the resource the events are about (a 404 when there is none)")
    t.add_argument("--set", metavar="PATH=VALUE", action="append", type=_override_flag,
                   help="override a field of the event sent (repeatable): a dotted path into its data, "
                        "e.g. data.customerName=ACME; VALUE is JSON when it parses, else a string")
    t.add_argument("--duplicate", action="store_true", help="deliver each event twice (same event id, same body)")
    t.add_argument("--out-of-order", action="store_true",
                   help="deliver the events of this trigger newest first, one at a time")
    t.add_argument("--bad-signature", action="store_true", help="send an X-Signature that does not verify")
    t.add_argument("--delay", type=_seconds_flag, metavar="SECONDS", help="wait before the first attempt (0 to 600)")
    cli_sandbox.client_flags(t)
    t.set_defaults(func=trigger)

    from .cli_contract import add_commands  # `contract` and `drift`
    add_commands(commands, _HelpFormatter)

    for name in ("serve", "seed", "reset", "requests"):
        commands.choices[name].add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                                            help=f"settings file (TOML; default ./{CONFIG_FILE} when present)")
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Connexion imports Starlette's test client at import time; its deprecation notice is noise here.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    parser = build_parser()
    if not (sys.argv[1:] if argv is None else argv):
        parser.print_help()
        return 2
    args = parser.parse_args(argv)
    try:
        args.env = environment(args.config)
    except ValueError as exc:
        from . import console

        return console.fail(str(exc), 2)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
