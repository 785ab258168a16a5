"""`locust -f loadtest` against task6: it passes on an even stack and fails when it should."""

import csv
import os
import subprocess
import sys
import time

import pytest

from support import REPO, wait_until
from tools.docker import docker

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
    assert (REPO / "reports" / "locust" / "report.html").stat().st_size > 10_000
    assert (REPO / "reports" / "locust" / "stats_stats.csv").exists()


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
