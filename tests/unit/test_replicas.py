"""Reading the engine's counters (tools/replicas.py): the parts that need no engine."""

import pytest

from tools import replicas


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
