"""Tenants as a bounded resource: RSS and open descriptors of `serve --open-tenants` with 100,
1,000 and 10,000 keys, every one answered, /_mock/health answering throughout, a restart serving
them all.

    python bench/tenants_bench.py [--tenants 100,1000,10000] [--nofile 1024] [--write-docs]

For each size a fresh server (on-disk data, `--empty`, default `--max-open-tenants`) runs under
RLIMIT_NOFILE = `--nofile` (set with prlimit once it listens, as `ulimit -n` would). Each key does
one GET of its customers; every tenth key also creates one. /_mock/health is asked after every
50 keys. Then the server is stopped (SIGTERM), started again on the same data under the same limit,
and every key is read again: the writers must find their customer, the others an empty list.
Loopback only; every wait is bounded; every server is stopped.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- tenants:begin -->", "<!-- tenants:end -->"
THREADS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path, nofile: int):
        self.data_dir, self.nofile = data_dir, nofile
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "Server":
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALTOVIZ_MOCK_")}
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mock_server.cli", "serve", "--port", str(self.port), "--data",
             str(self.data_dir), "--open-tenants", "--empty"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=env, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode})")
            try:
                if httpx.get(f"{self.url}/_mock/health", timeout=1, trust_env=False).status_code == 200:
                    resource.prlimit(self.proc.pid, resource.RLIMIT_NOFILE, (self.nofile, self.nofile))
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError("server not healthy")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def visit(server: Server, keys: list[str], writers: set[str], *, check: bool) -> dict:
    """Every key once (THREADS clients); counts of answers, failures, health answers, peak fds."""
    failures, health, peak = [], [], [0]
    lock = threading.Lock()

    def work(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=60, trust_env=False) as c:
            for n, key in enumerate(keys[worker::THREADS]):
                headers = {"X-API-KEY": key}
                try:
                    response = c.get("/v1/Customers", headers=headers)
                    expected = 1 if check and key in writers else 0
                    if response.status_code != 200 or len(response.json()) != expected:
                        failures.append(f"GET {key}: {response.status_code}")
                    if not check and key in writers:
                        created = c.post("/v1/Customers", headers=headers,
                                         json={"type": "Business", "companyName": f"Atelier {key} SARL"})
                        if created.status_code != 200:
                            failures.append(f"POST {key}: {created.status_code}")
                    if n % (50 // THREADS or 1) == 0:
                        health.append(c.get("/_mock/health").status_code)
                        fds = server.fds()
                        with lock:
                            peak[0] = max(peak[0], fds)
                except httpx.HTTPError as exc:
                    failures.append(f"{key}: {exc!r}")

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=1800)
    return {"failures": failures, "health_ok": health.count(200), "health": len(health), "peak_fds": peak[0],
            "seconds": time.monotonic() - started, "rss": server.rss_mb(), "fds": server.fds()}


def measure(count: int, nofile: int) -> dict:
    keys = [f"bench-tenant-{n:05d}" for n in range(count)]
    writers = set(keys[::10])
    with tempfile.TemporaryDirectory() as data_dir:
        server = Server(Path(data_dir), nofile).start()
        try:
            idle = {"rss": server.rss_mb(), "fds": server.fds()}
            first = visit(server, keys, writers, check=False)
        finally:
            server.stop()
        directories = sum(1 for p in Path(data_dir).iterdir() if p.is_dir() and p.name != "files")
        server = Server(Path(data_dir), nofile).start()
        try:
            again = visit(server, keys, writers, check=True)
        finally:
            server.stop()
    return {"count": count, "writers": len(writers), "idle": idle, "first": first, "again": again,
            "directories": directories}


def render(results: list[dict], nofile: int, argv: str) -> str:
    out = [f"`python bench/tenants_bench.py {argv}` ({time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} CPUs, "
           f"Python {platform.python_version()}; RLIMIT_NOFILE {nofile}; default --max-open-tenants 256)", "",
           "| tenants | writers | dirs on disk | RSS idle / after (MB) | fds idle / peak / after | health answered "
           "| failures | restart: RSS (MB) / peak fds / failures |",
           "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        f, a = r["first"], r["again"]
        out.append(f"| {r['count']:,} | {r['writers']:,} | {r['directories']:,} | {r['idle']['rss']:.0f} / {f['rss']:.0f} "
                   f"| {r['idle']['fds']} / {f['peak_fds']} / {f['fds']} | {f['health_ok']} of {f['health']} "
                   f"| {len(f['failures'])} | {a['rss']:.0f} / {a['peak_fds']} / {len(a['failures'])} |")
    return "\n".join(out)


def write_docs(text: str) -> None:
    docs = DOCS.read_text()
    section = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in docs:
        start, end = docs.index(BEGIN), docs.index(END) + len(END)
        docs = docs[:start] + section + docs[end:]
    else:
        docs = docs.rstrip("\n") + "\n\n## Tenants\n\n" + section + "\n"
    DOCS.write_text(docs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", default="100,1000,10000", help="keys per run, comma-separated")
    parser.add_argument("--nofile", type=int, default=1024, help="RLIMIT_NOFILE of the server")
    parser.add_argument("--write-docs", action="store_true", help="update the Tenants section of docs/benchmarks.md")
    args = parser.parse_args()
    results = []
    for count in (int(n) for n in args.tenants.split(",")):
        results.append(measure(count, args.nofile))
        for run in ("first", "again"):
            if results[-1][run]["failures"]:
                print(f"{count} tenants, {run}: {results[-1][run]['failures'][:5]}", file=sys.stderr)
    text = render(results, args.nofile, " ".join(sys.argv[1:]))
    print(text)
    if args.write_docs:
        write_docs(text)
    return 0 if all(not r[run]["failures"] for r in results for run in ("first", "again")) else 1


if __name__ == "__main__":
    sys.exit(main())
