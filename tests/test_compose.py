"""task4: the two services as one Compose application."""

import pytest

from softy_pinko_docker.compose import ComposeProject
from support import check_page_hello_then_error, get, json_body

pytestmark = pytest.mark.docker


def project(**env: str) -> ComposeProject:
    return ComposeProject.for_task("task4", "sp-test-task4", env)


@pytest.fixture(scope="module")
def task4():
    """The task4 stack on the curriculum's default ports (the page calls localhost:5252)."""
    four = project()
    four.down()
    print(f"task4 healthy after {four.up():.1f}s")
    try:
        yield four
    finally:
        four.down()
        assert four.containers() == [], "compose down left containers behind"


def test_compose_file_declares_the_curriculum_services():
    # Empty port variables fall back to the file's defaults, whatever the caller's environment.
    services = project(BACK_END_PORT="", FRONT_END_PORT="").config()["services"]
    assert set(services) == {"back-end", "front-end"}
    for name, port in (("back-end", 5252), ("front-end", 9000)):
        service = services[name]
        assert service["build"]["dockerfile"] == "Dockerfile"
        assert service["image"].startswith("softy-pinko-")
        assert service["ports"][0]["target"] == port
        assert service["ports"][0]["published"] == str(port)
    assert services["front-end"]["depends_on"]["back-end"]["condition"] == "service_healthy"


def test_host_ports_are_overridable():
    services = project(BACK_END_PORT="15252", FRONT_END_PORT="19000").config()["services"]
    assert services["back-end"]["ports"][0]["published"] == "15252"
    assert services["front-end"]["ports"][0]["published"] == "19000"
    assert services["back-end"]["environment"]["CORS_ORIGIN"] == "http://localhost:19000"


def test_up_wait_leaves_both_services_healthy(task4):
    assert task4.unhealthy() == []
    assert sorted(c.service for c in task4.containers()) == ["back-end", "front-end"]


def test_stack_answers_on_the_default_ports(task4):
    hello = get("http://127.0.0.1:5252/api/hello", headers={"Origin": "http://localhost:9000"})
    assert hello.status_code == 200 and hello.text == "Hello, World!"
    assert hello.headers["Access-Control-Allow-Origin"] == "http://localhost:9000"
    page = get("http://127.0.0.1:9000/")
    assert page.status_code == 200 and 'id="dynamic-content"' in page.text
    assert json_body(get("http://127.0.0.1:5252/api/nope"))["status"] == 404


@pytest.mark.browser
def test_task4_page_shows_hello_then_error(task4, page):
    check_page_hello_then_error(
        page, "http://localhost:9000/", lambda: task4.run("stop", "back-end"), "task4"
    )
