"""Load test of the task6 stack: is the proxy's round-robin even across the API replicas?

    locust -f loadtest                                    # web UI on http://localhost:8089
    locust -f loadtest --config loadtest/locust.conf      # headless, what `make loadtest` runs

Two kinds of user, picked with Locust's usual user-class selection (`locust -f loadtest
ApiUser`): ApiUser, a program calling GET /api/hello ten times a second, and VisitorUser, a
browser that loads the page, its stylesheet, scripts and images, then calls the API once as the
page's script does, and reads for a few seconds. The API answers are tallied per replica (the
page and its assets are not: the front-end serves them): by each answer's ``X-Served-By`` header
(the replica's hostname) when the back-end sends one, as this repository's does; otherwise from
the engine, which counts for any task6 (a learner's back-end names itself nowhere): each
back-end container's access-log lines for GET /api/hello, or, for a server that logs nothing,
the bytes each container received (replicas.py). --replica-count-from picks one.

In the web UI a "Round-robin" tab shows, live, a row and a bar per replica and the running
verdict; it restarts with "Reset stats". Run distributed (--master / --worker), the workers send
their tallies to the master with their stats reports and the master judges the sum. At the end a
table shows each replica's share and its deviation from an even split, then the verdict, also in
the HTML report and as <csv prefix>_round_robin.csv; the exit code is non-zero when it fails.
Options: --expected-replicas N (default: counted from the running stack), --max-p95-ms, and
--balance-window S: judge the round-robin on the last S seconds only, for a run during which
the replicas changed (a rolling deploy); failures and latency still count for the whole run.
The engine is read where the master (or the single process) runs, once a second.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import gevent
import gevent.lock
from flask import Response, jsonify, request
from locust import FastHttpUser, between, constant_throughput, events, task
from locust.env import Environment
from locust.runners import WorkerRunner

# A leading underscore keeps Locust, given this folder (`locust -f`), from loading the helper as
# a locustfile.
from softy_pinko_docker.loadtest import _balance

# API answers per replica, per wall-clock second (comparable between a master and its workers).
# On a worker it holds only what the next report to the master will carry.
served_by: collections.defaultdict[int, collections.Counter[str]] = collections.defaultdict(
    collections.Counter
)
# The engine's counters of each back-end container, per second, on the master only.
logged: collections.defaultdict[int, collections.Counter[str]] = collections.defaultdict(
    collections.Counter
)
received: collections.defaultdict[int, collections.Counter[str]] = collections.defaultdict(
    collections.Counter
)
TAB = "round-robin"
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
    parser.add_argument(
        "--replica-count-from",
        choices=_balance.SOURCES,
        default="auto",
        help="what tells which replica served: the X-Served-By header, the back-ends' access "
        "logs or their network counters (auto: the header when answers carry one, else the logs "
        "when they count the requests, else the network)",
    )
    parser.add_argument(
        "--back-end-service",
        default="back-end",
        help="the Compose service whose containers are the replicas (for the engine's counters)",
    )


@events.init.add_listener
def make_report_folder(environment: Environment, **_kwargs: object) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)


def call_api(client: Any) -> None:
    """GET /api/hello, checked, and its replica tallied."""
    with client.get("/api/hello", catch_response=True) as response:
        if response.status_code != 200 or response.text != "Hello, World!":
            response.failure(
                f"unexpected answer {response.status_code}: {(response.text or '')[:60]!r}"
            )
            return
        name = response.headers.get("X-Served-By") or _balance.NO_HEADER
        served_by[int(time.time())][name] += 1


class ApiUser(FastHttpUser):
    """A program calling the API through the proxy, ten times a second at most."""

    host = "http://localhost"
    weight = 1
    wait_time = constant_throughput(10)

    @task
    def hello(self) -> None:
        call_api(self.client)


ASSET = re.compile(r'(?:href|src)="(/[^"#?]+\.(?:css|js|svg))"')


class VisitorUser(FastHttpUser):
    """A browser on its first visit: the page, every stylesheet, script and image it names,
    then the API call the page's script makes; then a few seconds of reading."""

    host = "http://localhost"
    weight = 3
    wait_time = between(2, 5)

    @task
    def visit(self) -> None:
        with self.client.get("/", catch_response=True) as page:
            if page.status_code != 200 or "dynamic-content" not in (page.text or ""):
                page.failure(f"the page answered {page.status_code}")
                return
            assets = sorted(set(ASSET.findall(page.text or "")))
        for asset in assets:
            self.client.get(asset, name="/[assets]")
        call_api(self.client)


_expected_cache: dict[str, tuple[float, int | None]] = {}


def expected_replicas(environment: Environment) -> int | None:
    """--expected-replicas, or the replicas running behind the host (asked at most every 5 s:
    the tab polls every 2 s)."""
    options = environment.parsed_options
    if options is not None and options.expected_replicas:
        return int(options.expected_replicas)
    host = environment.host or ApiUser.host
    asked, found = _expected_cache.get(host, (0.0, None))
    if time.monotonic() - asked > 5:
        found = _balance.detect_replicas(host, back_end_service(environment))
        _expected_cache[host] = (time.monotonic(), found)
    return found


def back_end_service(environment: Environment) -> str:
    options = environment.parsed_options
    return str(options.back_end_service) if options is not None else "back-end"


def per_replica(environment: Environment, window: int = 0) -> tuple[dict[str, int], str]:
    """Answers per replica, and which counter gave them (see _balance.replica_counts)."""
    options = environment.parsed_options
    answers = _balance.tally(served_by, window)
    sampled = max(logged, default=0)
    return _balance.replica_counts(
        answers,
        _balance.tally(logged, window),
        _balance.tally(received, window),
        options.replica_count_from if options is not None else "auto",
        settled=sum(
            _balance.tally({s: c for s, c in served_by.items() if s < sampled}, window).values()
        ),
    )


class EngineSampler:
    """The engine's counters read once a second while a test runs, into `logged` and
    `received` (a greenlet: Locust runs on gevent, and the docker CLI calls yield to it)."""

    def __init__(self) -> None:
        self.counter: Any = None
        self.greenlet: Any = None
        self.running = False
        # One sample at a time: the loop, the tab's poll and the verdict may ask together.
        self.lock = gevent.lock.Semaphore()

    def start(self, environment: Environment) -> None:
        from softy_pinko_docker.replicas import EngineCounter  # the repo's Docker layer

        self.stop()
        self.counter = EngineCounter(
            environment.host or ApiUser.host, back_end_service(environment)
        )
        self.sample(keep=False)  # the baseline: what the replicas had done before the test
        self.running = True
        self.greenlet = gevent.spawn(self._loop)

    def _loop(self) -> None:
        while self.running:
            gevent.sleep(1)
            self.sample()

    def sample(self, keep: bool = True) -> None:
        if self.counter is None:
            return
        with self.lock:
            second = int(time.time())
            try:
                moved = self.counter.sample()
            except Exception as error:  # noqa: BLE001 - the engine gone mid-run: say so, go on
                print(f"the engine's counters could not be read: {error}")
                return
            if keep:
                logged[second].update(moved.logged)
                received[second].update(moved.received)

    def stop(self) -> None:
        """Let the loop finish the sample it is taking (killed mid-sample, it would lose it)."""
        self.running = False
        if self.greenlet is not None:
            self.greenlet.join(timeout=60)
            self.greenlet.kill(block=True)  # only if the engine hung past the join
            self.greenlet = None


sampler = EngineSampler()


@events.test_start.add_listener
def start_sampling(environment: Environment, **_kwargs: object) -> None:
    if not isinstance(environment.runner, WorkerRunner):
        sampler.start(environment)


@events.test_stop.add_listener
def stop_sampling(environment: Environment, **_kwargs: object) -> None:
    if not isinstance(environment.runner, WorkerRunner):
        sampler.stop()
        sampler.sample()  # the last second's requests


def state(environment: Environment, window: int = 0) -> dict[str, object]:
    """The round-robin so far: what the tab, the report and the verdict show."""
    options = environment.parsed_options
    stats = environment.stats.total
    p95 = stats.get_response_time_percentile(0.95) if stats.num_requests else None
    tallied, source = per_replica(environment, window)
    return _balance.live(
        tallied,
        stats.num_failures,
        expected_replicas(environment),
        p95,
        options.max_p95_ms if options is not None else 500.0,
        source,
    )


@events.reset_stats.add_listener
def restart_tally() -> None:
    served_by.clear()
    logged.clear()
    received.clear()


@events.report_to_master.add_listener
def send_tally(client_id: str, data: dict[str, Any]) -> None:
    """A worker's tally since its last report rides on that report (Locust's own messaging)."""
    data[TAB] = {str(second): dict(counts) for second, counts in served_by.items()}
    served_by.clear()


@events.worker_report.add_listener
def add_tally(client_id: str, data: dict[str, Any]) -> None:
    for second, counts in (data.get(TAB) or {}).items():
        served_by[int(second)].update(counts)


@events.init.add_listener
def round_robin_tab(environment: Environment, **_kwargs: object) -> None:
    """The tab, fed as Locust's web UI is extended: a table declared in template_args, its rows
    added to every /stats/requests answer, and JSON and CSV routes of its own."""
    web_ui = environment.web_ui
    app = web_ui.app if web_ui is not None else None
    if web_ui is None or app is None or isinstance(environment.runner, WorkerRunner):
        return
    web_ui.template_args["extended_tabs"] = [{"title": "Round-robin", "key": TAB}]
    web_ui.template_args["extended_tables"] = [
        {
            "key": TAB,
            "structure": [{"key": k, "title": t} for k, t in _balance.TAB_COLUMNS.items()],
        }
    ]
    web_ui.template_args["extended_csv_files"] = [
        {"href": f"/{TAB}/csv", "title": "Download the round-robin table (CSV)"}
    ]

    @app.route(f"/{TAB}")
    def round_robin_json() -> Response:
        return jsonify(state(environment))

    @app.route(f"/{TAB}/csv")
    def round_robin_csv() -> Response:
        return Response(_balance.to_csv(state(environment)), mimetype="text/csv")

    @app.after_request
    def add_rows(response: Response) -> Response:
        if request.path == "/stats/requests" and response.is_json:
            data = response.get_json()
            data["extended_stats"] = [{"key": TAB, "data": _balance.tab_rows(state(environment))}]
            response.set_data(json.dumps(data))
        return response


@events.quitting.add_listener
def verdict(environment: Environment, **_kwargs: object) -> None:
    options = environment.parsed_options
    assert options is not None, "Locust parses its options before it quits"
    if isinstance(environment.runner, WorkerRunner):
        return  # the master judges the sum of every worker's tally
    stats = environment.stats.total
    expected = expected_replicas(environment)
    p95 = stats.get_response_time_percentile(0.95) if stats.num_requests else None
    sampler.stop()
    sampler.sample()
    tallied, source = per_replica(environment, options.balance_window)
    result = _balance.judge(tallied, stats.num_failures, expected, p95, options.max_p95_ms)
    window = (
        f", round-robin judged on the last {options.balance_window} s"
        if options.balance_window
        else ""
    )
    print(
        f"\nRound-robin over {expected or len(tallied)} replica(s), "
        f"{stats.num_requests} requests, {stats.num_failures} failed, p95 {p95 or 0:.0f} ms, p50 "
        f"{stats.get_response_time_percentile(0.5) or 0:.0f} ms{window}\n"
        f"replicas counted from {_balance.FROM[source]}\n"
    )
    print(_balance.table(result))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(
                f"### Load test: round-robin over {expected or len(tallied)} replicas\n\n"
                f"{stats.num_requests} requests, {stats.num_failures} failed, "
                f"p50 {stats.get_response_time_percentile(0.5) or 0:.0f} ms, "
                f"p95 {p95 or 0:.0f} ms; replicas counted from {_balance.FROM[source]}\n\n"
                f"{_balance.table(result, markdown=True)}\n\n"
            )
    (REPORTS / "verdict.json").write_text(_balance.to_json(result, source))
    write_reports(environment, state(environment, options.balance_window))
    # Only ever raise the exit code: Locust's own reasons to fail stand.
    if not result.ok:
        environment.process_exit_code = 1


def write_reports(environment: Environment, final: dict[str, object]) -> None:
    """The replica table and verdict beside Locust's CSV files and inside its HTML report, which
    Locust writes just before it quits."""
    options = environment.parsed_options
    if options is None:
        return
    if options.csv_prefix:
        Path(f"{options.csv_prefix}_round_robin.csv").write_text(_balance.to_csv(final))
    report = Path(options.html_file) if options.html_file else None
    if report is not None and report.exists():
        html = report.read_text(encoding="utf-8")
        section = _balance.html_section(final)
        report.write_text(html.replace("</body>", section + "</body>", 1), encoding="utf-8")
