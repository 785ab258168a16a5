"""Load test of the task6 stack: is the proxy's round-robin even across the API replicas?

    locust -f loadtest                                    # web UI on http://localhost:8089
    locust -f loadtest --config loadtest/locust.conf      # headless, what `make loadtest` runs

Each simulated user calls GET /api/hello through the proxy and tallies the ``X-Served-By``
header (the replica's hostname). At the end a table shows each replica's share and its
deviation from an even split, then the verdict; the exit code is non-zero when it fails.
Options: --expected-replicas N (default: counted from the running stack), --max-p95-ms, and
--balance-window S: judge the round-robin on the last S seconds only, for a run during which
the replicas changed (a rolling deploy); failures and latency still count for the whole run.
"""

from __future__ import annotations

import argparse
import collections
import os
import time
from pathlib import Path

# Locust puts this folder on the import path; a leading underscore keeps Locust from loading
# the helper as a locustfile.
import _balance
from locust import FastHttpUser, constant_throughput, events, task
from locust.env import Environment

# Answers per replica, per second of the run (a few counters, however long the run).
served_by: collections.defaultdict[int, collections.Counter[str]] = collections.defaultdict(
    collections.Counter
)
REPORTS = Path(os.environ.get("REPORTS_DIR", "reports")) / "locust"


@events.init_command_line_parser.add_listener
def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--expected-replicas",
        type=int,
        default=0,
        help="API replicas that must answer (0: count them in the running stack)",
    )
    parser.add_argument(
        "--max-p95-ms",
        type=float,
        default=500.0,
        help="fail when the 95th percentile latency exceeds this (ms)",
    )
    parser.add_argument(
        "--balance-window",
        type=int,
        default=0,
        help="judge the round-robin on the last this many seconds (0: all)",
    )


@events.init.add_listener
def make_report_folder(environment: Environment, **_kwargs: object) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)


class ApiUser(FastHttpUser):
    """One visitor calling the API through the proxy, ten times a second at most."""

    host = "http://localhost"
    wait_time = constant_throughput(10)

    @task
    def hello(self) -> None:
        with self.client.get("/api/hello", catch_response=True) as response:
            if response.status_code != 200 or response.text != "Hello, World!":
                response.failure(
                    f"unexpected answer {response.status_code}: {(response.text or '')[:60]!r}"
                )
                return
            served_by[int(time.monotonic())][response.headers.get("X-Served-By") or "(none)"] += 1


@events.quitting.add_listener
def verdict(environment: Environment, **_kwargs: object) -> None:
    options = environment.parsed_options
    assert options is not None, "Locust parses its options before it quits"
    stats = environment.stats.total
    expected = options.expected_replicas or _balance.detect_replicas(
        environment.host or ApiUser.host
    )
    p95 = stats.get_response_time_percentile(0.95) if stats.num_requests else None
    counts = _balance.tally(served_by, options.balance_window)
    result = _balance.judge(counts, stats.num_failures, expected, p95, options.max_p95_ms)
    window = (
        f", round-robin judged on the last {options.balance_window} s"
        if options.balance_window
        else ""
    )
    print(
        f"\nRound-robin over {expected or len(counts)} replica(s), "
        f"{stats.num_requests} requests, {stats.num_failures} failed, p95 {p95 or 0:.0f} ms, p50 "
        f"{stats.get_response_time_percentile(0.5) or 0:.0f} ms{window}\n"
    )
    print(_balance.table(result))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(
                f"### Load test: round-robin over {expected or len(counts)} replicas\n\n"
                f"{stats.num_requests} requests, {stats.num_failures} failed, "
                f"p50 {stats.get_response_time_percentile(0.5) or 0:.0f} ms, "
                f"p95 {p95 or 0:.0f} ms\n\n{_balance.table(result, markdown=True)}\n\n"
            )
    (REPORTS / "verdict.json").write_text(_balance.to_json(result))
    # Only ever raise the exit code: Locust's own reasons to fail stand.
    if not result.ok:
        environment.process_exit_code = 1
