"""The `altoviz-mock` command."""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import socket
import sys
import textwrap
import warnings
from pathlib import Path

from . import __version__
from .config import DEFAULT_API_KEY, DEFAULT_DATA_DIR, DEFAULT_SEED, Config


def _bind_problem(host: str, port: int) -> str | None:
    """Why the sandbox could not listen on host:port (one line for the user), or None if it can."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:  # socket.gaierror (unknown host) included
        if exc.errno == errno.EADDRINUSE:
            return (f"port {port} on {host} is already in use "
                    f"(another sandbox running? pick one with --port)")
        return f"cannot listen on {host} port {port}: {exc.strerror or exc}"
    return None


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
        return textwrap.fill(" ".join(text.split()), width, initial_indent=indent,
                             subsequent_indent=indent, break_on_hyphens=False)


def serve(args: argparse.Namespace) -> int:
    """Start the sandbox and print where it listens and with which key."""
    import uvicorn

    from .app import create_app

    try:
        config = Config.from_env(
            host=args.host, port=args.port,
            data_dir=Path(args.data) if args.data else None,
            api_keys=tuple(args.api_key) if args.api_key else None,
            open_tenants=True if args.open_tenants else None,
            seed=args.seed, empty=True if args.empty else None,
        )
    except ValueError as exc:
        print(f"altoviz-mock: {exc}", file=sys.stderr)
        return 2
    if args.in_memory:
        config = Config(**{**config.__dict__, "data_dir": None})
    problem = _bind_problem(config.host, config.port) if config.port else None
    if problem:
        print(f"altoviz-mock: {problem}", file=sys.stderr)
        return 1
    app = create_app(config)
    url = f"http://{config.host}:{config.port}"
    state = "empty" if config.empty else f"seeded with fixture set {config.seed}"
    print(f"Altoviz sandbox {__version__} listening on {url} ({state}, data in "
          f"{config.data_dir.resolve() if config.data_dir else 'memory only'})")
    print(f"API key: {DEFAULT_API_KEY}" + "".join(f"\nAPI key: {k}" for k in config.api_keys))
    if config.open_tenants:
        print("Open tenants: any other X-API-KEY is accepted as a fresh, empty tenant")
    print(f"Try: curl -H 'X-API-KEY: {DEFAULT_API_KEY}' {url}/v1/Customers")
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
    try:
        uvicorn.run(app, host=config.host, port=config.port, log_level="warning")
    finally:
        app.app.extensions["altoviz_mock"].store.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="altoviz-mock", formatter_class=_HelpFormatter,
        description="A local, stateful sandbox of the Altoviz invoicing API.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="run the sandbox server", formatter_class=_HelpFormatter,
                            description="Run the sandbox. Every flag has an ALTOVIZ_MOCK_* environment equivalent.")
    p.add_argument("--host", help="interface to listen on (default 127.0.0.1; env ALTOVIZ_MOCK_HOST)")
    p.add_argument("--port", type=int, help="port (default 8080; env ALTOVIZ_MOCK_PORT)")
    p.add_argument("--data", metavar="DIR",
                   help=f"where tenants' data is kept (default ./{DEFAULT_DATA_DIR}; env ALTOVIZ_MOCK_DATA)")
    p.add_argument("--in-memory", action="store_true", help="keep nothing on disk")
    p.add_argument("--api-key", metavar="KEY", action="append",
                   help=f"accept KEY as an extra tenant (repeatable; env ALTOVIZ_MOCK_API_KEYS=k1,k2). "
                        f"The default key {DEFAULT_API_KEY} always works")
    p.add_argument("--open-tenants", action="store_true",
                   help="accept any X-API-KEY, each new key being a fresh empty tenant (env ALTOVIZ_MOCK_OPEN_TENANTS=1)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--empty", action="store_true", help="start tenants without fixture data (env ALTOVIZ_MOCK_EMPTY=1)")
    group.add_argument("--seed", type=int, metavar="N",
                       help=f"fixture data set to seed tenants with (default {DEFAULT_SEED}; env ALTOVIZ_MOCK_SEED)")
    p.set_defaults(func=serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Connexion imports Starlette's test client at import time; its deprecation notice is noise here.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
