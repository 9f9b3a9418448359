"""bench/http_bench.py's attribution of py-spy samples to layers (docs/benchmarks.md's profile table)
and the journal's and live layer's targets it reports (issues 14 and 16)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import http_bench  # noqa: E402

UVICORN = "run_asgi (uvicorn/protocols/http/httptools_impl.py:401)"
JOURNAL_CALL = "RequestJournal.__call__ (mock_server/journal.py:586)"
CANONICAL_CALL = "Canonical.__call__ (mock_server/canonical.py:300)"
ROUTING = "RoutingMiddleware.__call__ (connexion/middleware/routing.py:154)"


def raw(*stacks: tuple[list[str], int]) -> str:
    return "\n".join(";".join(frames) + f" {count}" for frames, count in stacks)


def test_a_sample_goes_to_its_innermost_layer_the_journals_finish_is_the_journals_and_its_log_line_apart():
    profile = http_bench.layers(raw(
        ([UVICORN, JOURNAL_CALL, CANONICAL_CALL, ROUTING], 40),  # the router's own work
        ([UVICORN, JOURNAL_CALL, CANONICAL_CALL, "parse_qsl (urllib/parse.py:700)"], 10),
        ([UVICORN, JOURNAL_CALL, "_finish (mock_server/journal.py:610)", "log (logging/__init__.py:1500)",
          "scan (mock_server/store.py:762)"], 25),  # under the journal's _finish: the journal's
        ([UVICORN, JOURNAL_CALL, "recording_send (mock_server/journal.py:583)", "send (uvicorn/x.py:1)"], 25),
        ([UVICORN, JOURNAL_CALL, "_finish (mock_server/journal.py:610)", "_log (mock_server/journal.py:650)",
          "emit (logging/__init__.py:1100)"], 20),  # the access-log line: a row of its own
    ))
    assert profile["samples"] == 120
    assert profile["layers"] == {"Connexion/Starlette middleware (routing, security, context)": 100 * 40 / 120,
                                 http_bench.JOURNAL: 100 * 25 / 120, "uvicorn (HTTP parsing, socket writes)": 100 * 25 / 120,
                                 http_bench.ACCESS_LOG: 100 * 20 / 120, http_bench.LIVE: 100 * 10 / 120}


def test_the_targets_are_reported_met_or_missed():
    prof = {"GET by id": {"samples": 200, "layers": {http_bench.JOURNAL: 12.5, http_bench.LIVE: 3.0}}}
    journal, live = http_bench.target_lines(prof)
    assert journal.startswith("- journal: 12.5 % of GET by id (target < 10 %): **missed**")
    assert live.startswith("- live layer: 3.0 % of GET by id (target < 15 %): met")
    assert http_bench.target_lines({}) == []


class Server:
    def __init__(self, name: str):
        self.url = f"http://127.0.0.1/{name}"
        self.cpu = 0.0

    def cpu_seconds(self) -> float:
        return self.cpu


def test_side_by_side_servers_take_turns_and_each_ratio_pairs_windows_measured_back_to_back(monkeypatch):
    """The machine slows down window after window. Each round's ratio compares two neighbouring windows,
    so it stays near the servers' true ratio (2); the order swapped each round (A B, B A, A B) puts the
    drift's bias on either side of it in turn."""
    servers = {"sandbox": Server("sandbox"), "prism": Server("prism")}
    calls = []

    def run(generator, url, steps, headers, *, connections, seconds):
        name = url.rsplit("/", 1)[1]
        calls.append(name)
        speed = 1.0 - 0.05 * len(calls)  # every window slower than the one before
        requests = round(2000 * speed * (2 if name == "sandbox" else 1) * seconds)
        servers[name].cpu += requests * 1e-3
        return http_bench.loadgen.Result(requests=requests, non_2xx=0, errors=0, seconds=seconds,
                                         p50_ms=len(calls), p99_ms=10.0 * len(calls))

    monkeypatch.setattr(http_bench.loadgen, "run", run)
    side = http_bench.measure_side_by_side(servers, [], "wrk", 16, seconds=4, warmup=1, rounds=3)
    assert calls == ["sandbox", "prism", "sandbox", "prism", "prism", "sandbox", "sandbox", "prism"]
    assert len(side["ratios"]) == 3
    first, second, third = side["ratios"]
    assert first == pytest.approx(2 * 0.85 / 0.80)  # windows 3 and 4 (1 and 2 were the warm-ups)
    assert second == pytest.approx(2 * 0.70 / 0.75)  # Prism first, in window 5: the faster one
    assert third == pytest.approx(2 * 0.65 / 0.60)  # windows 7 and 8
    assert http_bench.median(side["ratios"]) == first
    assert side["sandbox"]["cpu_us"] == pytest.approx(1000.0)  # CPU over requests, warm-up excluded
    assert side["sandbox"]["p99"] == 60.0 and side["sandbox"]["p99_max"] == 70.0  # windows 3, 6, 7


def test_host_steal_is_the_stolen_share_of_the_cpu_time_between_two_readings(tmp_path):
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text("cpu  100 0 50 800 10 0 0 40 0 0\ncpu0 50 0 25 400 5 0 0 20 0 0\n", encoding="ascii")
    before = http_bench.cpu_times(str(stat))
    stat.write_text("cpu  160 0 70 900 10 0 0 90 0 0\n", encoding="ascii")
    after = http_bench.cpu_times(str(stat))
    assert before == (40, 1000) and after == (90, 1230)
    assert http_bench.steal_share(before, after) == pytest.approx(100 * 50 / 230)
    assert http_bench.steal_share(before, before) is None  # no time passed: nothing to tell
    assert http_bench.cpu_times(str(tmp_path / "missing")) is None
    assert http_bench.steal_share(None, after) is None
