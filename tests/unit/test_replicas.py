"""Reading the engine's counters (replicas.py): the parts that need no engine."""

import pytest

from softy_pinko_docker import replicas


@pytest.mark.parametrize(
    "line",
    [
        '172.18.0.4 - - [01/Dec/2026 14:30:00] "GET /api/hello HTTP/1.0" 200 -',  # werkzeug
        '172.18.0.4 - - [01/Dec/2026:14:30:00 +0000] "GET /api/hello HTTP/1.1" 200 13 "-" "-"',
        '{"method":"GET","uri":"/api/hello","status":200}',  # a JSON access log
        '"GET /api/hello?x=1 HTTP/1.1" 200',
    ],
)
def test_an_api_request_is_recognised_in_any_access_log_format(line):
    assert replicas.API_REQUEST.search(line)


@pytest.mark.parametrize(
    "line",
    [
        '"GET /api/health HTTP/1.1" 200',  # the healthcheck
        '"GET /api/hello-world HTTP/1.1" 404',
        " * Running on http://127.0.0.1:5252",
        '"POST /api/hello HTTP/1.1" 405',
    ],
)
def test_other_lines_are_not_counted(line):
    assert not replicas.API_REQUEST.search(line)


def test_engine_timestamps_compare_as_instants_not_as_text():
    # RFC 3339 with trailing zeros trimmed: as text, ".1Z" sorts after ".12Z".
    earlier, later = "2026-12-01T14:30:00.1Z", "2026-12-01T14:30:00.12Z"
    assert replicas._instant(earlier) < replicas._instant(later)
    assert replicas._instant("2026-12-01T14:30:00Z") == pytest.approx(1796135400.0)


@pytest.mark.parametrize(
    "line", ['"GET /api/hello/ HTTP/1.1" 404', '"GET /login?next=/api/hello HTTP/1.1" 302']
)
def test_another_path_that_names_the_api_is_not_counted(line):
    assert not replicas.API_REQUEST.search(line)


def fake_replica(name: str) -> replicas.Container:
    return replicas.Container(
        id=name, name=name, service="back-end", number=0, state="running", health="",
        health_log="", exit_code=0, image="", config_hash="", image_label="", hostname=name,
        user="", restarts=0, started_at="", labels={}, host_config={}, networks={}, mounts=[],
    )  # fmt: skip


def test_a_sample_that_fails_halfway_loses_nothing(monkeypatch):
    """The positions move only once every replica is read: the next sample counts it all."""
    two = [fake_replica("back-end-1"), fake_replica("back-end-2")]
    lines = {"back-end-1": 10, "back-end-2": 12}
    broken = {"now": True}

    def log_lines(container_id, since):  # the engine's answer: lines after `since`
        if container_id == "back-end-2" and broken["now"]:
            raise replicas.ToolError("`docker logs` did not finish in 30s")
        return (lines[container_id] if since == counter.started else 0), since + 1

    monkeypatch.setattr(replicas, "back_ends", lambda host, service: two)
    monkeypatch.setattr(replicas, "api_log_lines", log_lines)
    monkeypatch.setattr(replicas, "received_bytes", lambda c: 1000)
    counter = replicas.EngineCounter("http://127.0.0.1:8080")
    with pytest.raises(replicas.ToolError):
        counter.sample()
    broken["now"] = False
    said = counter.sample()
    assert said.logged == {"back-end-1": 10, "back-end-2": 12}, "back-end-1's lines kept"
    assert counter._log_since == {
        "back-end-1": counter.started + 1,
        "back-end-2": counter.started + 1,
    }
