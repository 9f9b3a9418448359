"""Load generators for bench/http_bench.py: wrk (Debian's) when present, else a Python asyncio one.

Both run a scenario against one base URL on loopback with N keep-alive connections for a bounded
time (and, for the Python one, a bounded number of requests), and report requests, non-2xx
answers, requests per second and latency percentiles.

A scenario is a list of steps run in order on a connection, each (method, path, body); a path may
contain `{id}`, replaced by the `id` of the previous step's JSON answer (create, then finalize).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

Step = tuple[str, str, bytes | None]


@dataclass
class Result:
    requests: int
    non_2xx: int
    errors: int  # connection errors and timeouts
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _loopback(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"benchmarks only target loopback, not {parts.hostname}")
    return parts.hostname, parts.port or 80


# --- wrk ------------------------------------------------------------------------------------------

def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for this text


def wrk_script(steps: list[Step], headers: dict[str, str]) -> str:
    """A wrk Lua script running `steps` in a cycle; `{id}` comes from the previous answer.

    wrk keeps one Lua state per thread, shared by that thread's connections, and `response()`
    is not told which request it answers: ids taken from answers go into a queue, and a step
    needing one waits for one in it (the first step is sent meanwhile). With one or two steps
    that keeps every connection busy and every created document finalized once.
    """
    lines = [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    if len(steps) == 1:
        method, path, body = steps[0]
        lines.append(f"wrk.method = {_lua_string(method)}")
        lines.append(f"wrk.path = {_lua_string(path)}")
        if body is not None:
            lines.append(f"wrk.body = {_lua_string(body.decode())}")
        return "\n".join(lines) + "\n"
    if len(steps) != 2 or "{id}" in steps[0][1] or "{id}" not in steps[1][1]:
        raise ValueError("wrk scenarios: one step, or a create step then a step on its {id}")
    (m1, p1, b1), (m2, p2, b2) = steps
    prefix, suffix = p2.split("{id}")
    lines += [
        "local ids = {}",
        "local first",
        "init = function(args)  -- wrk.init has set the Host header by now",
        f"  first = wrk.format({_lua_string(m1)}, {_lua_string(p1)}, nil, {_lua_string((b1 or b'').decode())})",
        "end",
        "request = function()",
        "  local id = table.remove(ids)",
        "  if id then",
        f"    return wrk.format({_lua_string(m2)}, {_lua_string(prefix)} .. id .. {_lua_string(suffix)}, nil, "
        f"{_lua_string((b2 or b'').decode())})",
        "  end",
        "  return first",
        "end",
        "response = function(status, headers, body)",
        "  if status >= 200 and status < 300 and body:find('\"isDraft\":true', 1, true) then",
        "    local id = body:match('^%s*{%s*\"id\"%s*:%s*(%-?%d+)')",
        "    if id then table.insert(ids, id) end",
        "  end",
        "end",
    ]
    return "\n".join(lines) + "\n"


_DURATION = re.compile(r"([\d.]+)(us|ms|s|m)\b")


def _ms(text: str) -> float:
    value, unit = _DURATION.match(text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(base_url: str, steps: list[Step], headers: dict[str, str], *, connections: int,
            seconds: float, threads: int = 1) -> Result:
    _loopback(base_url)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "scenario.lua"
        script.write_text(wrk_script(steps, headers))
        cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
               "--timeout", "5s", "-s", str(script), base_url.rstrip("/") + steps[0][1]]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)\.?0*%\s+(\S+)\s*$", out, flags=re.M))
    if "50" not in latency or "99" not in latency:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    requests, took = re.search(r"(\d+) requests in ([\d.]+\w+),", out).groups()
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return Result(requests=int(requests), non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
                  errors=sum(map(int, socket_errors.groups())) if socket_errors else 0,
                  seconds=_ms(took) / 1000, p50_ms=_ms(latency["50"]), p99_ms=_ms(latency["99"]))


# --- Python asyncio -------------------------------------------------------------------------------

class Connection:
    """One keep-alive HTTP/1.1 connection; requests one at a time."""

    def __init__(self, host: str, port: int, headers: dict[str, str]):
        self.host, self.port = host, port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        extra = f"Content-Length: {len(body)}\r\n" if body is not None else ""
        self.writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{extra}\r\n".encode("latin-1") + (body or b""))
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and "close" in value.lower():
                close = True
        if chunked:
            data = bytearray()
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                data += await self.reader.readexactly(size)
                await self.reader.readline()
            payload = bytes(data)
        else:
            payload = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _drive(base_url: str, steps: list[Step], headers: dict[str, str], connections: int,
                 seconds: float, max_requests: int) -> Result:
    host, port = _loopback(base_url)
    latencies: list[float] = []
    counts = {"non_2xx": 0, "errors": 0, "sent": 0}
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        conn = Connection(host, port, headers)
        try:
            while time.perf_counter() < deadline and counts["sent"] < max_requests:
                previous = b""
                for method, path, body in steps:
                    if "{id}" in path:
                        try:
                            path = path.replace("{id}", str(json.loads(previous)["id"]))
                        except (ValueError, KeyError, TypeError):
                            break
                    counts["sent"] += 1
                    began = time.perf_counter()
                    try:
                        status, previous = await asyncio.wait_for(conn.request(method, path, body), 10)
                    except (OSError, asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError):
                        counts["errors"] += 1
                        conn.close()
                        break
                    latencies.append(time.perf_counter() - began)
                    if not 200 <= status < 300:
                        counts["non_2xx"] += 1
                        break
        finally:
            conn.close()

    began = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(connections))), seconds + 30)
    took = time.perf_counter() - began
    ordered = sorted(latencies) or [0.0]
    return Result(requests=len(latencies), non_2xx=counts["non_2xx"], errors=counts["errors"], seconds=took,
                  p50_ms=ordered[len(ordered) // 2] * 1000,
                  p99_ms=ordered[min(len(ordered) - 1, round(len(ordered) * 0.99))] * 1000)


def run_python(base_url: str, steps: list[Step], headers: dict[str, str], *, connections: int,
               seconds: float, max_requests: int = 200_000) -> Result:
    return asyncio.run(_drive(base_url, steps, headers, connections, seconds, max_requests))


def run(generator: str, base_url: str, steps: list[Step], headers: dict[str, str], *, connections: int,
        seconds: float) -> Result:
    if generator == "wrk":
        return run_wrk(base_url, steps, headers, connections=connections, seconds=seconds)
    return run_python(base_url, steps, headers, connections=connections, seconds=seconds)


def sequential(base_url: str, steps: list[Step], headers: dict[str, str], count: int) -> list[float]:
    """Latencies (ms) of `count` rounds of `steps` on one connection, one request at a time."""

    async def go() -> list[float]:
        host, port = _loopback(base_url)
        conn = Connection(host, port, headers)
        out: list[float] = []
        try:
            for _ in range(count):
                previous = b""
                for method, path, body in steps:
                    if "{id}" in path:
                        path = path.replace("{id}", str(json.loads(previous)["id"]))
                    began = time.perf_counter()
                    status, previous = await asyncio.wait_for(conn.request(method, path, body), 30)
                    out.append((time.perf_counter() - began) * 1000)
                    if not 200 <= status < 300:
                        raise RuntimeError(f"{method} {path}: {status} {previous[:300]!r}")
        finally:
            conn.close()
        return out

    return asyncio.run(go())


def summary(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {"mean": statistics.fmean(ordered), "p50": ordered[len(ordered) // 2],
            "p99": ordered[min(len(ordered) - 1, round(len(ordered) * 0.99))], "max": ordered[-1]}
