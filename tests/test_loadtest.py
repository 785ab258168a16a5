"""`locust -f loadtest` against task6: it passes on an even stack and fails when it should."""

import contextlib
import csv
import json
import os
import subprocess
import sys
import time

import pytest
import requests
from conftest import Release

from softy_pinko_docker.compose import copy_task, free_port
from softy_pinko_docker.docker import docker
from support import REPO, screenshot, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.load]


def locust_cmd(url: str, seconds: int, *extra: str) -> list[str]:
    """The locustfile, headless with the repo's config, bounded in users and time."""
    locust = os.path.join(os.path.dirname(sys.executable), "locust")
    return [
        locust,
        "-f",
        "loadtest",
        "--config",
        "loadtest/locust.conf",
        "-H",
        url,
        "-u",
        "10",
        "-r",
        "10",
        "-t",
        f"{seconds}s",
        *extra,
    ]


ENV = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}


def run_locust(url: str, *extra: str, seconds: int = 8) -> subprocess.CompletedProcess:
    return subprocess.run(
        locust_cmd(url, seconds, *extra),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        env=ENV,
        check=False,
    )


@pytest.fixture
def task6(stacks):
    six = stacks("task6")
    six.scale_api(3)
    return six


def test_locust_fails_when_fewer_replicas_answer_than_expected(task6):
    run = run_locust(task6.url, "--expected-replicas", "4", seconds=5)
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "verdict: FAIL" in output and "only 3 of 4 expected replicas answered" in output


def test_locust_fails_on_a_skewed_stack(task6):
    """A frozen replica (docker pause) gets no answers out: its share falls, requests time out."""
    victim = task6.replicas()[0]
    docker("pause", victim)
    try:
        run = run_locust(task6.url, "--max-p95-ms", "500", seconds=6)
    finally:
        docker("unpause", victim)
    output = run.stdout + run.stderr
    print(output[-1200:])
    assert run.returncode != 0, output
    assert "verdict: FAIL" in output


def test_locust_passes_on_an_even_stack_and_writes_reports(task6):
    run = run_locust(task6.url)
    output = run.stdout + run.stderr
    print(output[-1500:])
    assert run.returncode == 0, output
    assert "Round-robin over 3 replica(s)" in output, "replicas auto-detected from the stack"
    assert "verdict: PASS" in output
    for hostname in task6.hostnames():
        assert hostname in output
    report = (REPO / "reports" / "locust" / "report.html").read_text()
    assert len(report) > 10_000 and '<section id="round-robin"' in report
    assert "Round-robin: PASS" in report
    assert all(f"<td>{hostname}</td>" in report for hostname in task6.hostnames())
    assert (REPO / "reports" / "locust" / "stats_stats.csv").exists()
    with open(REPO / "reports" / "locust" / "stats_round_robin.csv", newline="") as table:
        rows = list(csv.DictReader(table))
    assert sorted(r["replica"] for r in rows[:-1]) == sorted(task6.hostnames())
    assert rows[-1]["replica"] == "verdict: PASS"


def _history(prefix) -> tuple[int, int]:
    """(unix time, requests so far) of the newest row of Locust's stats history CSV."""
    try:
        with open(f"{prefix}_stats_history.csv", newline="") as rows:
            last = list(csv.DictReader(rows))[-1]
        return int(last["Timestamp"]), int(last["Total Request Count"])
    except (OSError, IndexError, KeyError, ValueError):
        return 0, 0


def test_locust_passes_through_a_rolling_deploy(releases, tmp_path):
    """What CI's load test job also runs: Locust against the stack while a changed back-end is
    rolled out (`make up` on the running stack) in the middle of the run. Zero failed requests,
    and the round-robin is even over the new replicas, judged on the run's last 10 s."""
    release = releases("task6")
    release.change(
        "back-end/api.py",
        '        return Response("Hello, World!"',
        '        # shipped under Locust\n        return Response("Hello, World!"',
    )
    old = set(release.hostnames())
    prefix = tmp_path / "locust"
    locust = subprocess.Popen(
        locust_cmd(
            release.url,
            300,
            "--expected-replicas",
            "2",
            "--balance-window",
            "10",
            "--csv",
            str(prefix),
            "--html",
            str(tmp_path / "report.html"),
        ),
        cwd=REPO,
        env={**ENV, "REPORTS_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: _history(prefix)[1] >= 300, 60, "Locust to send 300 requests")
        release.deploy(replicas=2)
        deployed = int(time.time())
        # Ten seconds and more of load on the new replicas alone, for the balance window.
        wait_until(
            lambda: _history(prefix)[0] >= deployed + 12,
            60,
            "Locust's stats to reach 12 s after the deploy",
        )
    finally:
        locust.terminate()  # Locust stops on SIGTERM as at the end of its run: verdict, exit code
        output = locust.communicate(timeout=60)[0]
    print(output[-1500:])
    new = set(release.hostnames())
    assert new and not new & old, "every replica was replaced during the run"
    assert locust.returncode == 0, output
    assert "verdict: PASS" in output and " 0 failed," in output
    assert all(hostname in output for hostname in new)


@contextlib.contextmanager
def locust_web_ui(url: str, tmp_path, autostart: bool = True):
    """Locust as people run it: `locust -f loadtest`, web UI on a free port, the run bounded
    and started (--autostart) unless a browser starts it; stopped, its output shown."""
    port = free_port()
    locust = os.path.join(os.path.dirname(sys.executable), "locust")
    start = ["--autostart", "--autoquit", "1"] if autostart else []
    process = subprocess.Popen(
        [locust, "-f", "loadtest", "-H", url, "-u", "10", "-r", "10", "-t", "60s", *start]
        + ["--web-host", "127.0.0.1", "--web-port", str(port)],
        cwd=REPO,
        env={**ENV, "REPORTS_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    web = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{web}/round-robin", timeout=2).ok, 30, "Locust's web UI")
        yield web
    finally:
        process.terminate()
        print(process.communicate(timeout=60)[0][-1500:])


def tab_state(web: str) -> dict:
    return requests.get(f"{web}/round-robin", timeout=5).json()


def test_the_round_robin_tab_is_live_and_restarts_with_reset_stats(task6, tmp_path):
    with locust_web_ui(task6.url, tmp_path) as web:
        passed = wait_until(
            lambda: (state := tab_state(web))["verdict"] == "PASS" and state, 40, "a PASS"
        )
        assert passed["expected_replicas"] == 3, "detected from the running stack"
        assert sorted(r["replica"] for r in passed["replicas"]) == sorted(task6.hostnames())
        assert passed["failures"] == 0
        extended = requests.get(f"{web}/stats/requests", timeout=5).json()["extended_stats"]
        assert extended[0]["key"] == "round-robin"
        assert extended[0]["data"][-1]["replica"] in ("verdict: PASS", "verdict: FAIL")
        assert requests.get(f"{web}/round-robin/csv", timeout=5).text.startswith("replica,")
        before = passed["requests"]
        assert requests.post(f"{web}/stats/reset", timeout=5).ok
        after = tab_state(web)
        assert after["requests"] < min(before, 60), (before, after["requests"])


def test_distributed_workers_tallies_are_summed_by_the_master(task6, tmp_path):
    """A master and two workers: the verdict is judged on the sum of both workers' tallies,
    which equals the master's count of successful API requests."""
    port = str(free_port())
    locust = os.path.join(os.path.dirname(sys.executable), "locust")
    workers = [
        subprocess.Popen(
            [locust, "-f", "loadtest", "--worker", "--master-port", port],
            cwd=REPO,
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        prefix = tmp_path / "dist"
        run = run_locust(
            task6.url,
            *("--master", "--master-bind-port", port, "--expect-workers", "2"),
            *("--expect-workers-max-wait", "30", "--csv", str(prefix)),
        )
    finally:
        for worker in workers:  # a master that quits tells its workers to quit
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    with open(f"{prefix}_stats.csv", newline="") as rows:
        api = next(r for r in csv.DictReader(rows) if r["Name"] == "/api/hello")
    with open(f"{prefix}_round_robin.csv", newline="") as rows:
        table = list(csv.DictReader(rows))
    summed = sum(int(r["requests"]) for r in table[:-1])
    assert summed == int(api["Request Count"]) - int(api["Failure Count"]) > 0, output
    assert table[-1]["replica"] == "verdict: PASS" and len(table) == 4


@pytest.mark.browser
def test_the_round_robin_tab_in_locusts_web_ui(task6, tmp_path, page):
    """A person's run: open the web UI, start the swarm from its form, open the tab."""
    with locust_web_ui(task6.url, tmp_path, autostart=False) as web:
        page.goto(web)
        page.get_by_role("button", name="Start").click()
        page.get_by_role("tab", name="Round-robin").click()
        page.get_by_text("verdict: PASS").wait_for(timeout=40_000)
        for hostname in task6.hostnames():
            assert page.get_by_text(hostname, exact=True).count() == 1
        assert page.get_by_text("█", exact=False).count() >= 3, "a bar per replica"
        screenshot(page, "locust-round-robin")


# --- a task6 whose back-end names itself nowhere: the engine tells the replicas apart ---------
HEADER_LINE = '        response.headers["X-Served-By"] = app.config["SERVED_BY"]\n'


@pytest.fixture(scope="module")
def headerless(tmp_path_factory):
    """task6 as a learner's repository has it: two back-ends that send no X-Served-By."""
    tag = "headerless-test"
    six = Release(
        copy_task("task6", tmp_path_factory.mktemp("headerless") / "task6", tag),
        "sp-test-headerless",
        {"PROXY_PORT": str(free_port())},
        tag=tag,
    )
    six.change("back-end/api.py", HEADER_LINE, "")
    six.start(replicas=2)
    try:
        yield six
    finally:
        six.down()
        assert six.containers() == []


def headerless_run(six, *extra: str):
    answer = requests.get(f"{six.url}/api/hello", timeout=5)
    assert answer.status_code == 200 and "X-Served-By" not in answer.headers
    run = run_locust(six.url, *extra)
    output = run.stdout + run.stderr
    print(output[output.find("Round-robin over") :][:1500])
    return run, output


def test_locust_tells_the_replicas_apart_by_their_access_logs_without_a_header(headerless):
    run, output = headerless_run(headerless)
    assert run.returncode == 0, output
    assert "verdict: PASS" in output and " 0 failed" in output
    assert "replicas counted from the back-ends' access logs" in output
    assert all(name in output for name in headerless.replicas()), "a row per container"
    verdict = json.loads((REPO / "reports" / "locust" / "verdict.json").read_text())
    assert verdict["counted_from"] == "logs" and len(verdict["rows"]) == 2


def test_locust_tells_them_apart_by_their_network_counters_when_asked(headerless):
    run, output = headerless_run(headerless, "--replica-count-from", "network")
    assert run.returncode == 0, output
    assert "verdict: PASS" in output and " 0 failed" in output
    assert "replicas counted from the back-ends' network counters" in output


def test_the_round_robin_tab_counts_a_headerless_task6_from_the_engine(headerless, tmp_path):
    with locust_web_ui(headerless.url, tmp_path) as web:
        # "auto" is judged again at each poll: the logs once they account for the answers.
        passed = wait_until(
            lambda: (
                (s := tab_state(web))["verdict"] == "PASS" and s["counted_from"] == "logs" and s
            ),
            timeout=40,
            what="the tab's verdict to be PASS, counted from the access logs",
        )
        assert sorted(r["replica"] for r in passed["replicas"]) == headerless.replicas()


def test_locust_fails_a_proxy_that_pins_one_replica(headerless):
    """`hash $remote_addr;` sends every request of one client to one replica: the other serves
    nothing, and the engine's count shows it although no answer says so."""
    with headerless.changed(
        "proxy/proxy.conf",
        "    zone back-end 256k;\n",
        "    zone back-end 256k;\n    hash $remote_addr;\n",
    ):
        headerless.start(replicas=2)
    run, output = headerless_run(headerless)
    assert run.returncode != 0, output
    assert "verdict: FAIL" in output and "pp from an even" in output
    verdict = json.loads((REPO / "reports" / "locust" / "verdict.json").read_text())
    served = sorted(row[1] for row in verdict["rows"])
    assert len(served) == 2 and served[0] == 0 < served[1], verdict["rows"]
