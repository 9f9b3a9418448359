"""`altoviz-mock seed`, `reset` and `requests`: act on a running sandbox over HTTP (its /_mock
controls), as a test suite or a developer between two sessions of clicking would."""

from __future__ import annotations

import argparse
import json
import time

from . import console
from .config import DEFAULT_API_KEY, DEFAULT_SEED, DEFAULT_SEED_SIZE, ENV, MAX_SEED_SIZE, MAX_SEED_STEP

# Each step of a large seed aims at this long: the progress bar moves, the sandbox stays responsive.
STEP_SECONDS = 0.5
FIRST_STEP = 50
TIMEOUT = 60.0
# `requests --follow`: seconds between two polls (bounded both ways: responsive, never a busy loop).
FOLLOW_INTERVAL = 1.0
MIN_INTERVAL, MAX_INTERVAL = 0.1, 60.0


def add_commands(commands, formatter_class) -> None:
    """Register `seed` and `reset` on the `altoviz-mock` sub-command parser."""
    s = commands.add_parser(
        "seed", help="reseed a tenant of a running sandbox with fixture data", formatter_class=formatter_class,
        description="Replace everything a tenant of a running sandbox holds (documents, clock, outbox, webhooks) "
                    "with a French fixture data set: SIZE customers, a third as many suppliers, two thirds as many "
                    "contacts, the 25 products of the catalogue. The same SEED and SIZE always give the same data.",
        epilog=f"""examples:
  altoviz-mock seed                       # the standard set (seed {DEFAULT_SEED})
  altoviz-mock seed --size 500 --seed 7   # a larger set, with a progress bar
  altoviz-mock seed --api-key team-b --url http://127.0.0.1:9000""")
    s.add_argument("--size", type=_size, default=DEFAULT_SEED_SIZE, metavar="N",
                   help=f"customers in the set, 0 to {MAX_SEED_SIZE} (default {DEFAULT_SEED_SIZE}, the standard set)")
    s.add_argument("--seed", type=int, default=None, metavar="S",
                   help=f"which data set (default {DEFAULT_SEED}, or ALTOVIZ_MOCK_SEED / the config file's seed)")
    client_flags(s)
    s.set_defaults(func=seed)

    r = commands.add_parser(
        "reset", help="put a tenant of a running sandbox back to its initial state", formatter_class=formatter_class,
        description="Put a tenant of a running sandbox back to where it started: its seeded data (an empty one "
                    "for an open tenant), real time on its clock, an empty outbox (POST /_mock/reset).",
        epilog="""examples:
  altoviz-mock reset
  altoviz-mock reset --api-key team-b --url http://127.0.0.1:9000""")
    client_flags(r)
    r.set_defaults(func=reset)

    q = commands.add_parser(
        "requests", help="show the requests a tenant's client sent to a running sandbox", formatter_class=formatter_class,
        description="Show the last requests the key's tenant sent to /v1 and /Hello, oldest first: status, operation, "
                    "duration and why it was refused or warned (GET /_mock/requests). With --follow, keep "
                    "printing new ones as they arrive (Ctrl-C to stop).",
        epilog="""examples:
  altoviz-mock requests
  altoviz-mock requests --follow --status 4xx
  altoviz-mock requests --operation GET_Customers_Get --json""")
    q.add_argument("--follow", "-f", action="store_true", help="keep printing new requests as they arrive")
    q.add_argument("--operation", metavar="ID", help="only this operationId (e.g. POST_SaleInvoices_Finalize)")
    q.add_argument("--status", metavar="STATUS", help="only this status (404) or class (4xx)")
    q.add_argument("--limit", type=_limit, default=20, metavar="N", help="how many past requests to show first (default 20)")
    q.add_argument("--interval", type=_interval, default=FOLLOW_INTERVAL, metavar="SECONDS",
                   help=f"with --follow: seconds between two polls ({MIN_INTERVAL} to {MAX_INTERVAL:g}, default {FOLLOW_INTERVAL:g})")
    q.add_argument("--json", action="store_true", help="one JSON entry per line (the fields of GET /_mock/requests)")
    client_flags(q)
    q.set_defaults(func=requests)


def _whole_number(low: int, high: int):
    """An argparse type: a whole number from `low` to `high`."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    return parse


_size = _whole_number(0, MAX_SEED_SIZE)
_limit = _whole_number(0, 500)


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not MIN_INTERVAL <= value <= MAX_INTERVAL:
        raise argparse.ArgumentTypeError(f"must be from {MIN_INTERVAL} to {MAX_INTERVAL:g}, got {text}")
    return value


def client_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", metavar="URL", default=None,
                        help="the sandbox (default http://127.0.0.1:8080, or the configured host and port; "
                             "env ALTOVIZ_MOCK_URL)")
    parser.add_argument("--api-key", metavar="KEY", default=None,
                        help=f"the tenant to act on (default {DEFAULT_API_KEY}; env ALTOVIZ_MOCK_API_KEY)")


def sandbox_url(args: argparse.Namespace) -> str:
    """--url, else ALTOVIZ_MOCK_URL (env or config file), else the configured host and port."""
    env = getattr(args, "env", {})
    if args.url or env.get("ALTOVIZ_MOCK_URL"):
        return (args.url or env["ALTOVIZ_MOCK_URL"]).rstrip("/")
    host = env.get("ALTOVIZ_MOCK_HOST") or "127.0.0.1"
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{env.get('ALTOVIZ_MOCK_PORT') or 8080}"


def sandbox_api_key(args: argparse.Namespace) -> str:
    """--api-key, else ALTOVIZ_MOCK_API_KEY (env or config file), else the default key."""
    return args.api_key or getattr(args, "env", {}).get("ALTOVIZ_MOCK_API_KEY") or DEFAULT_API_KEY


class SandboxError(Exception):
    """What went wrong talking to the sandbox, in one line for the user."""


class Sandbox:
    """A running sandbox's /_mock controls, for one API key."""

    def __init__(self, url: str, api_key: str):
        import httpx

        self.url, self.api_key = url, api_key
        # trust_env=False: straight to the sandbox, never through an HTTP(S)_PROXY of the environment.
        self.client = httpx.Client(base_url=url, headers={"X-API-KEY": api_key}, trust_env=False,
                                   timeout=httpx.Timeout(TIMEOUT, connect=5.0))

    def post(self, path: str, body: dict | None = None) -> dict:
        return self.call("POST", path, json=body)

    def get(self, path: str, params: dict | None = None) -> dict:
        return self.call("GET", path, params=params)

    def call(self, method: str, path: str, **options) -> dict:
        import httpx

        try:
            response = self.client.request(method, f"/_mock/{path}", **options)
        except httpx.HTTPError as exc:
            raise SandboxError(f"no sandbox answering at {self.url} ({exc or type(exc).__name__}); "
                               f"start one with `altoviz-mock serve`") from None
        if response.status_code == 401:
            raise SandboxError(f"the sandbox at {self.url} does not accept the API key {self.api_key} "
                               f"(serve it with --api-key {self.api_key}, or --open-tenants)")
        if response.status_code == 404:
            raise SandboxError(f"{self.url} has no /_mock/{path}: is it an altoviz-mock sandbox of this version?")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code != 200:
            raise SandboxError(f"{self.url} answered {response.status_code}: "
                               f"{answer.get('detail') or response.text.strip()[:200]}")
        return answer

    def close(self) -> None:
        self.client.close()


def _connect(args: argparse.Namespace) -> Sandbox:
    return Sandbox(sandbox_url(args), sandbox_api_key(args))


def reset(args: argparse.Namespace) -> int:
    """POST /_mock/reset for the key's tenant."""
    sandbox = _connect(args)
    try:
        sandbox.post("reset")
    except SandboxError as exc:
        return console.fail(str(exc), command="reset")
    finally:
        sandbox.close()
    console.say(f"[green]✓[/] Tenant [bold]{console.escape(sandbox.api_key)}[/] of {console.escape(sandbox.url)} "
                "is back to its initial state")
    return 0


def _entry_line(entry: dict) -> str:
    """One request as `requests` prints it (rich markup)."""
    status = entry["status"]
    colour = "green" if status < 300 else "yellow" if status < 500 else "red"
    reason = entry["warnings"][0] if entry["warnings"] else entry["refusal"]
    line = (f"[dim]#{entry['id']} {entry['time'][11:23]}[/] {entry['method']} "
            f"{console.escape(entry['path'] + ('?' + entry['query'] if entry['query'] else ''))} "
            f"[{colour}]{status}[/] {console.escape(entry['operationId'] or '(no operation)')} "
            f"[dim]{entry['durationMs']:.1f} ms[/]")
    if entry["fault"]:
        line += f" [magenta]fault {console.escape(entry['fault'])}[/]"
    if reason:
        line += f" — {console.escape(reason)}"
    if entry["nearMisses"]:
        near = entry["nearMisses"][0]
        line += f" [dim](closest: {near['method']} {console.escape(near['path'])}, {console.escape(near['differs'])})[/]"
    return line


def _show(entries: list[dict], as_json: bool) -> None:
    for entry in entries:
        if as_json:
            print(json.dumps(entry, ensure_ascii=False), flush=True)
        else:
            console.say(_entry_line(entry))


def requests(args: argparse.Namespace) -> int:
    """Print the tenant's last requests (GET /_mock/requests), then with --follow the new ones,
    polling with `since=<last id>` every --interval seconds."""
    sandbox = _connect(args)
    filters = {name: value for name, value in (("operationId", args.operation), ("status", args.status)) if value}
    try:
        newest = sandbox.get("requests", {"pageSize": 1})["items"]
        last = newest[0]["id"] if newest else 0
        if args.limit:
            _show(list(reversed(sandbox.get("requests", {**filters, "pageSize": args.limit})["items"])), args.json)
        while args.follow:
            time.sleep(args.interval)
            arrived, number = [], 1
            while True:  # more than a page may have arrived since the last poll
                page = sandbox.get("requests", {**filters, "since": str(last), "pageSize": 500, "page": number})
                arrived += page["items"]
                if number * 500 >= page["total"]:
                    break
                number += 1
            if arrived:
                _show(list(reversed(arrived)), args.json)
                last = arrived[0]["id"]
    except SandboxError as exc:
        return console.fail(str(exc), command="requests")
    except KeyboardInterrupt:
        return 0
    finally:
        sandbox.close()
    return 0


def _describe(documents: dict[str, int]) -> str:
    names = (("Customers", "customers"), ("Contacts", "contacts"), ("Suppliers", "suppliers"),
             ("Products", "products"), ("ProductFamilies", "product families"))
    return ", ".join(f"{documents.get(kind, 0)} {label}" for kind, label in names)


def seed(args: argparse.Namespace) -> int:
    """Reseed the key's tenant: in one call for small sets, in timed steps behind a progress bar for large ones."""
    env = getattr(args, "env", {})
    seed_value = args.seed if args.seed is not None else ENV["ALTOVIZ_MOCK_SEED"][1](
        env.get("ALTOVIZ_MOCK_SEED") or str(DEFAULT_SEED))
    sandbox = _connect(args)
    began = time.monotonic()
    try:
        if args.size <= 100:
            answer = sandbox.post("seed", {"seed": seed_value, "size": args.size})
        else:
            answer = _seed_in_steps(sandbox, seed_value, args.size)
    except SandboxError as exc:
        return console.fail(str(exc), command="seed")
    finally:
        sandbox.close()
    console.say(f"[green]✓[/] Seeded tenant [bold]{console.escape(sandbox.api_key)}[/] of "
                f"{console.escape(sandbox.url)} with fixture set {seed_value}, size {args.size}: "
                f"{_describe(answer.get('documents') or {})} [dim]({time.monotonic() - began:.1f} s)[/]")
    return 0


def _seed_in_steps(sandbox: Sandbox, seed_value: int, size: int) -> dict:
    body = {"seed": seed_value, "size": size}
    with console.progress_bar() as bar:
        task = bar.add_task("Seeding", total=None)
        start, count = 0, FIRST_STEP
        while True:
            began = time.monotonic()
            answer = sandbox.post("seed", {**body, "start": start, "count": count})
            start = answer["done"]
            bar.update(task, completed=start, total=answer["total"])
            if start >= answer["total"]:
                return answer
            # Creating gets slower as the tenant grows: size each step to take about STEP_SECONDS.
            elapsed = max(time.monotonic() - began, 1e-3)
            count = max(10, min(MAX_SEED_STEP, int(count * STEP_SECONDS / elapsed)))
