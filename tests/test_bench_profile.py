"""bench/http_bench.py's attribution of py-spy samples to layers (docs/benchmarks.md's profile table)
and the journal's and live layer's targets it reports (issues 14 and 16)."""

from __future__ import annotations

import sys
from pathlib import Path

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
