"""Every task's back-end, through Flask's test client (no Docker, no network)."""

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# task1's api.py is at the task's root; from task2 on it is in back-end/.
BACK_ENDS = sorted(
    p.parent for p in [*REPO.glob("task*/api.py"), *REPO.glob("task*/back-end/api.py")]
)


def task_name(back_end: Path) -> str:
    return back_end.relative_to(REPO).parts[0]


def task_of(back_end: Path) -> int:
    return int(task_name(back_end).removeprefix("task"))


def load_app(back_end: Path, config=None):
    spec = importlib.util.spec_from_file_location(f"api_{task_name(back_end)}", back_end / "api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.create_app({"TESTING": True, **(config or {})})


# Where the page calls the API from another origin (localhost:9000 -> localhost:5252).
CROSS_ORIGIN_BACK_ENDS = [p for p in BACK_ENDS if task_of(p) in (3, 4)]


@pytest.fixture(params=BACK_ENDS, ids=task_name)
def back_end(request):
    return request.param


@pytest.fixture
def client(back_end):
    return load_app(back_end).test_client()


def test_every_api_task_has_a_back_end():
    assert [task_name(p) for p in BACK_ENDS] == [f"task{n}" for n in range(1, 7)]


def test_hello_is_plain_text(client):
    response = client.get("/api/hello")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "Hello, World!"
    assert response.mimetype == "text/plain"


def test_health_is_json_ok(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


@pytest.mark.parametrize(
    "method,path,status",
    [
        ("GET", "/api/nope", 404),
        ("GET", "/", 404),
        ("POST", "/api/hello", 405),
        ("DELETE", "/api/hello", 405),
    ],
)
def test_errors_are_one_line_json(client, method, path, status):
    response = client.open(path, method=method)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = json.loads(response.get_data(as_text=True))
    assert body["status"] == status and isinstance(body["error"], str)
    assert "<html" not in response.get_data(as_text=True).lower()
    if status == 405:
        assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}


def test_oversized_body_is_refused_as_json(client):
    response = client.post("/api/hello", data=b"x" * 4096)
    assert response.status_code in (405, 413)
    assert response.mimetype == "application/json"


def test_unexpected_error_is_500_json_without_traceback(back_end):
    app = load_app(back_end, {"TESTING": False, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/api/boom")
    def boom():
        raise RuntimeError("secret detail")

    response = app.test_client().get("/api/boom")
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal server error", "status": 500}
    assert "secret detail" not in response.get_data(as_text=True)


@pytest.mark.parametrize("back_end", CROSS_ORIGIN_BACK_ENDS, ids=task_name)
def test_cors_allows_exactly_the_front_end_origin(back_end):
    client = load_app(back_end).test_client()
    allowed = client.get("/api/hello", headers={"Origin": "http://localhost:9000"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:9000"
    assert "Origin" in allowed.headers["Vary"]
    other = client.get("/api/hello", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    custom = load_app(back_end, {"CORS_ORIGIN": "http://localhost:8080"}).test_client()
    assert (
        custom.get("/api/hello", headers={"Origin": "http://localhost:8080"}).headers[
            "Access-Control-Allow-Origin"
        ]
        == "http://localhost:8080"
    )


@pytest.mark.parametrize("back_end", CROSS_ORIGIN_BACK_ENDS, ids=task_name)
def test_cors_preflight_is_answered_for_the_front_end_origin_only(back_end):
    client = load_app(back_end).test_client()
    asked = {"Origin": "http://localhost:9000", "Access-Control-Request-Method": "GET"}
    allowed = client.options("/api/hello", headers=asked)
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:9000"
    assert "GET" in allowed.headers["Access-Control-Allow-Methods"]
    other = client.options("/api/hello", headers={**asked, "Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
