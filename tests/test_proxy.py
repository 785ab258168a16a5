"""Tasks 5 and 6: the reverse proxy's routing, and task6's scaling under real operations.

Load goes to the proxy's port published on 127.0.0.1 only, bounded in requests and time.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import pytest

from softy_pinko_docker.compose import ComposeProject
from softy_pinko_docker.docker import docker
from softy_pinko_docker.load import Load
from support import check_page_hello_then_error, get, inspected, wait_until

pytestmark = pytest.mark.docker
TASKS = ["task5", "task6"]


@pytest.fixture
def task6(stacks):
    """The task6 stack with 3 healthy replicas at the start of each test."""
    six = stacks("task6")
    six.scale_api(3)
    return six


# --- routing (task5 and task6) ----------------------------------------------------------------
@pytest.mark.parametrize("task", TASKS)
def test_only_the_proxy_publishes_a_port(task):
    # An empty PROXY_PORT falls back to the file's default, whatever the caller's environment.
    config = ComposeProject.for_task(task, "config-check", {"PROXY_PORT": ""}).config()
    published = {name for name, svc in config["services"].items() if svc.get("ports")}
    assert published == {"proxy"}
    assert config["services"]["proxy"]["ports"][0]["published"] == "80"
    assert config["services"]["proxy"]["ports"][0]["target"] == 80


@pytest.mark.parametrize("task", TASKS)
def test_routing(stacks, task):
    url = stacks(task).url
    page = get(f"{url}/")
    assert page.status_code == 200 and 'id="dynamic-content"' in page.text
    assert page.headers["Content-Type"].startswith("text/html")
    hello = get(f"{url}/api/hello")
    assert hello.status_code == 200 and hello.text == "Hello, World!"
    assert hello.headers["Content-Type"].startswith("text/plain")
    missing_page = get(f"{url}/no/such/page")
    assert missing_page.status_code == 404 and "Softy-Pinko" in missing_page.text
    missing_api = get(f"{url}/api/no-such-thing")
    assert missing_api.status_code == 404
    assert missing_api.json() == {"error": "not found", "status": 404}
    assert get(f"{url}/healthz").text == "ok\n"


@pytest.mark.parametrize("task", TASKS)
def test_request_id_is_passed_or_created_and_logged(stacks, task):
    running_stack = stacks(task)
    given = get(f"{running_stack.url}/api/hello", headers={"X-Request-ID": "test-id-123"})
    assert given.headers["X-Request-ID"] == "test-id-123"
    made = get(f"{running_stack.url}/api/hello", headers={"X-Request-ID": "bad id; <script>"})
    assert made.headers["X-Request-ID"] != "bad id; <script>"
    assert len(made.headers["X-Request-ID"]) == 32
    created = get(f"{running_stack.url}/api/hello").headers["X-Request-ID"]

    def logged(service: str, needle: str) -> bool:
        out = running_stack.out("logs", "--no-log-prefix", service)
        return needle in out

    for request_id in ("test-id-123", created):
        back_end_line, proxy_line = f"request_id={request_id}", f'"request_id":"{request_id}"'
        wait_until(
            lambda line=back_end_line: logged("back-end", line),
            10,
            f"the back-end to log request id {request_id}",
        )
        wait_until(
            lambda line=proxy_line: logged("proxy", line),
            10,
            f"the proxy to log request id {request_id}",
        )


@pytest.mark.parametrize("task", TASKS)
def test_proxy_access_log_is_json_with_upstream_timings(stacks, task):
    running_stack = stacks(task)
    marker = f"log-check-{task}"
    get(f"{running_stack.url}/api/hello", headers={"X-Request-ID": marker})

    def entry():
        for line in running_stack.out("logs", "--no-log-prefix", "proxy").splitlines():
            if marker in line:
                return json.loads(line)
        return None

    record = wait_until(entry, 10, "the proxy's JSON access log line")
    assert record["status"] == 200 and record["uri"] == "/api/hello"
    assert record["upstream"].endswith(":5252")
    assert record["upstream_status"] == "200"
    float(record["upstream_response_time"]), float(record["request_time"])  # numbers, not "-"
    assert "request_time" in record and "upstream_connect_time" in record


@pytest.mark.parametrize("task", TASKS)
def test_forwarded_headers_reach_the_back_end(stacks, task):
    running_stack = stacks(task)
    marker = f"fwd-{task}"
    get(f"{running_stack.url}/api/hello", headers={"X-Request-ID": marker})
    # gunicorn logs the X-Forwarded-For it received first on each line.
    line = wait_until(
        lambda: next(
            (
                line
                for line in running_stack.out("logs", "--no-log-prefix", "back-end").splitlines()
                if marker in line
            ),
            None,
        ),
        10,
        "the back-end's access log line",
    )
    assert line.split()[0].count(".") == 3, f"no client address forwarded: {line}"


# --- task6: scaling and failover --------------------------------------------------------------
def test_head_and_keep_alive_through_the_one_write_response(task6):
    """task6's gunicorn sends head and body in one write; HEAD and reused connections still work."""
    import requests

    with requests.Session() as session:
        head = session.head(f"{task6.url}/api/hello", timeout=5)
        assert head.status_code == 200 and head.headers["Content-Length"] == "13"
        assert head.content == b""
        for _ in range(6):  # the same client connection, several replicas behind it
            again = session.get(f"{task6.url}/api/hello", timeout=5)
            assert again.status_code == 200 and again.text == "Hello, World!"
        missing = session.get(f"{task6.url}/api/nope", timeout=5)
        assert missing.json() == {"error": "not found", "status": 404}


def test_every_replica_names_itself(task6):
    hostnames = set(task6.hostnames())
    seen = {get(f"{task6.url}/api/hello").headers["X-Served-By"] for _ in range(9)}
    assert seen == hostnames


def test_round_robin_is_even_across_three_replicas(task6):
    with Load(f"{task6.url}/api/hello", threads=4, max_requests=3000, max_seconds=90) as load:
        load.wait()
    print(f"\nround-robin over 3 replicas: {load.summary()}")
    assert len(load.records) >= 3000, load.summary()
    load.assert_even(replicas=3)


def _new_replica_name(task6, before: list[str]) -> str:
    return wait_until(
        lambda: next(iter(set(task6.replicas()) - set(before)), None),
        30,
        "the new replica's container",
    )


def test_scale_up_under_load_new_replica_serves_within_5s(task6):
    task6.scale_api(2)
    with Load(f"{task6.url}/api/hello", max_seconds=60) as load:
        load.wait_for(200)
        before = task6.replicas()
        task6.scale_api(3, wait=False)
        new = _new_replica_name(task6, before)
        hostname = inspected(new).hostname
        wait_until(lambda: inspected(new).health == "healthy", 60, f"{new} to be healthy")
        healthy_at = time.monotonic()
        first = wait_until(
            lambda: next((r.at for r in load.records if r.served_by == hostname), None),
            15,
            f"{new} to serve a request",
        )
        load.wait_for(len(load.records) + 200)
    pickup = first - healthy_at
    print(f"\nnew replica {hostname}: first request {pickup:+.2f}s from healthy; {load.summary()}")
    assert pickup <= 5
    assert not load.failures, f"{load.summary()}\n{task6.proxy_trouble()}"


@pytest.mark.parametrize("how", ["docker kill", "docker stop"])
def test_losing_a_replica_under_load_costs_no_request(task6, how):
    victim = task6.replicas()[0]
    with Load(f"{task6.url}/api/hello", max_seconds=60) as load:
        load.wait_for(200)
        if how == "docker kill":
            docker("kill", victim)
        else:
            # What `docker compose stop` does to each container (SIGTERM, then the grace
            # period), for one replica: `docker compose stop back-end` would stop them all.
            docker("stop", victim)
        load.wait_for(len(load.records) + 600)
    print(f"\n{how} {victim}: {load.summary()}")
    assert not load.failures, f"{load.summary()}\n{task6.proxy_trouble()}"
    assert len(load.shares()) >= 2


def network_of(task6) -> str:
    return next(iter(task6.running("proxy")[0].networks))


@contextlib.contextmanager
def page_server(task6, *args: str):
    """One more page server in the proxy's rotation (tests/upstreams/lost_syn.py, run in an image
    that has Python), whose every answer closes its connection: the proxy connects anew for each
    request it sends there. Yields its container's name once it listens; removed at the end."""
    name = f"{task6.name}-page-server"
    docker(
        "run",
        "--detach",
        "--rm",
        "--name",
        name,
        "--network",
        network_of(task6),
        "--network-alias",
        "front-end",
        "--no-healthcheck",
        "--entrypoint",
        "python",
        "softy-pinko-back-end:task6",
        "-c",
        (Path(__file__).parent / "upstreams" / "lost_syn.py").read_text(),
        *args,
    )
    try:
        wait_until(
            lambda: "SYNs" in docker("logs", name) or "serving" in docker("logs", name),
            15,
            "the extra page server to listen",
        )
        yield name
    finally:
        docker("rm", "--force", name, check=False)


def served_by_page_server(load: Load, count: int) -> None:
    wait_until(
        lambda: sum(r.served_by == "lost-syn" for r in load.records) >= count,
        30,
        f"{count} page requests served by the extra page server",
    )


def test_a_lost_syn_costs_a_retransmission_not_a_failed_request(task6):
    """A SYN to a container just connected to the network can go unanswered, and Linux resends
    it 1 s later (measured from the proxy's side while rolling the front-end, where two page
    requests failed with 504 when the connect timeout was also 1 s). The proxy's connect
    timeout outlasts the retransmission, so such a request is served a second late by the
    container it chose: not failed over, not failed."""
    with page_server(task6) as upstream, Load(f"{task6.url}/", threads=2) as load:
        served_by_page_server(load, 5)
        log = docker("logs", upstream)
    first = next(r for r in load.records if r.served_by == "lost-syn")
    print(f"\nlost SYN: first answer from that server after {first.seconds:.2f}s; {load.summary()}")
    assert "a SYN was dropped" in log, log
    assert not load.failures, f"{load.summary()}\n{task6.proxy_trouble()}"
    assert first.seconds >= 0.9, (
        "the first request the proxy sent there should have waited for the retransmitted SYN"
        f" (took {first.seconds:.2f}s): it was failed over instead\n{task6.proxy_trouble()}"
    )


def test_a_page_server_that_vanishes_costs_no_page_request(task6):
    """A page server whose address stops answering at once (its network gone, as when its
    container has exited), while the proxy may still list it for up to a second: each request
    sent there waits out the connect timeout and must then be served by another."""
    with page_server(task6, "--at-once") as upstream, Load(f"{task6.url}/", threads=2) as load:
        served_by_page_server(load, 20)
        docker("network", "disconnect", network_of(task6), upstream)
        vanished = time.monotonic()
        wait_until(
            lambda: time.monotonic() - vanished > 4 and load.records[-1].ok,
            30,
            "4 s of load after it vanished (DNS re-read: 1 s; a connect timeout: 1.5 s)",
        )
    slow = [r for r in load.records if r.seconds > 1]
    print(f"\npage server vanished: {load.summary()}; {len(slow)} answers over 1 s")
    assert not load.failures, f"{load.summary()}\n{task6.proxy_trouble()}"


def test_scale_down_under_load_costs_no_request(task6):
    with Load(f"{task6.url}/api/hello", max_seconds=60) as load:
        load.wait_for(200)
        task6.scale_api(1, wait=False)
        wait_until(lambda: len(task6.replicas()) == 1, 30, "the scale-down to one replica")
        load.wait_for(len(load.records) + 600)
    print(f"\nscale 3 -> 1: {load.summary()}")
    assert not load.failures, f"{load.summary()}\n{task6.proxy_trouble()}"


def test_no_replica_gives_a_clear_503_then_recovers(task6):
    task6.scale_api(0, wait=False)
    wait_until(lambda: not task6.replicas(), 30, "every replica to be gone")
    # (a Response is falsy for 4xx/5xx, so wait on the status and ask again for the body)
    wait_until(
        lambda: get(f"{task6.url}/api/hello").status_code == 503, 10, "the proxy to answer 503"
    )
    response = get(f"{task6.url}/api/hello")
    assert response.status_code == 503
    assert response.json() == {"error": "service unavailable", "status": 503}
    assert response.headers["Retry-After"] == "2"
    assert get(f"{task6.url}/").status_code == 200, "the page is still served"
    task6.scale_api(2)
    wait_until(
        lambda: get(f"{task6.url}/api/hello").status_code == 200, 10, "the API to answer again"
    )


# --- the pages in a browser -------------------------------------------------------------------
@pytest.mark.browser
def test_task5_page_shows_hello_then_error(stacks, page):
    five = stacks("task5")
    check_page_hello_then_error(page, f"{five.url}/", lambda: five.run("stop", "back-end"), "task5")
    down = get(f"{five.url}/api/hello")
    assert down.status_code == 503
    assert down.json() == {"error": "service unavailable", "status": 503}
    five.run("start", "back-end")
    five.wait_healthy(timeout=60)


@pytest.mark.browser
def test_task6_panel_shows_every_replica(task6, page):
    from support import dynamic_content, screenshot

    page.goto(f"{task6.url}/")
    assert dynamic_content(page, "ready") == "Hello, World!"
    page.click("#burst-button")
    page.wait_for_selector("#burst-status[data-done=true]", timeout=30_000)
    bars = page.query_selector_all("#replica-bars li[data-replica]")
    counts = {
        bar.get_attribute("data-replica"): int(bar.get_attribute("data-count")) for bar in bars
    }
    hostnames = set(task6.hostnames())
    screenshot(page, "task6-replicas")
    assert set(counts) == hostnames
    assert sum(counts.values()) == 60
    assert max(counts.values()) - min(counts.values()) <= 2, counts
