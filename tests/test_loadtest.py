"""`locust -f loadtest` against task6: it passes on an even stack and fails when it should."""
import os
import subprocess
import sys

import pytest

from support import REPO

pytestmark = [pytest.mark.docker, pytest.mark.load]


def run_locust(url: str, *extra: str, seconds: int = 8) -> subprocess.CompletedProcess:
    """The locustfile, headless with the repo's config, bounded in users and time."""
    locust = os.path.join(os.path.dirname(sys.executable), "locust")
    cmd = [locust, "-f", "loadtest", "--config", "loadtest/locust.conf", "-H", url,
           "-u", "10", "-r", "10", "-t", f"{seconds}s", *extra]
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=seconds + 60,
                          env=env)


@pytest.fixture
def task6(stacks):
    six = stacks("task6")
    six.scale(3)
    return six


def test_locust_fails_when_fewer_replicas_answer_than_expected(task6):
    run = run_locust(task6.url, "--expected-replicas", "4", seconds=5)
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "verdict: FAIL" in output and "only 3 of 4 expected replicas answered" in output


def test_locust_fails_on_a_skewed_stack(task6):
    """A frozen replica (docker pause) gets no answers out: its share falls, requests time out."""
    victim = task6.replicas()[0]
    subprocess.run(["docker", "pause", victim], check=True, capture_output=True)
    try:
        run = run_locust(task6.url, "--max-p95-ms", "500", seconds=6)
    finally:
        subprocess.run(["docker", "unpause", victim], check=True, capture_output=True)
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
    for replica in task6.replicas():
        hostname = subprocess.run(["docker", "inspect", "--format", "{{.Config.Hostname}}",
                                   replica], capture_output=True, text=True).stdout.strip()
        assert hostname in output
    assert (REPO / "reports" / "locust" / "report.html").stat().st_size > 10_000
    assert (REPO / "reports" / "locust" / "stats_stats.csv").exists()
