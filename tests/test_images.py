"""Each task's images on their own: build, run, and check them over HTTP (tasks 1-4)."""

from __future__ import annotations

import dataclasses
import time

import pytest

from softy_pinko_docker import dockerfiles
from softy_pinko_docker.docker import docker
from softy_pinko_docker.docker import image as image_info
from support import (
    REPO,
    build_image,
    get,
    image_size_mb,
    inspected,
    json_body,
    process_uids,
    running,
    wait_until,
)

pytestmark = pytest.mark.docker


@dataclasses.dataclass(frozen=True)
class Image:
    task: str
    component: str  # back-end | front-end
    tag: str
    folder: str = ""  # the build context in the task, when not the component's name

    @property
    def context(self):
        return REPO / self.task / (self.folder or self.component)

    @property
    def port(self) -> int:
        return 5252 if self.component == "back-end" else 9000

    def __str__(self):
        return f"{self.task}/{self.folder or self.component}".replace("/.", "")


# The curriculum's image tags; task1's files are at the task's root, as the curriculum has them.
API_IMAGES = [
    Image("task1", "back-end", "softy-pinko:task1", folder="."),
    Image("task2", "back-end", "softy-pinko-back-end:task2"),
    Image("task3", "back-end", "softy-pinko-back-end:task3"),
    Image("task4", "back-end", "softy-pinko-back-end:task4"),
]
WEB_IMAGES = [
    Image("task2", "front-end", "softy-pinko-front-end:task2"),
    Image("task3", "front-end", "softy-pinko-front-end:task3"),
    Image("task4", "front-end", "softy-pinko-front-end:task4"),
]


@pytest.fixture(scope="module", params=API_IMAGES, ids=str)
def api(request):
    build_image(request.param.context, request.param.tag)
    with running(request.param.tag, 5252) as (name, url):
        yield request.param, name, url


@pytest.fixture(scope="module", params=WEB_IMAGES, ids=str)
def web(request):
    build_image(request.param.context, request.param.tag)
    with running(request.param.tag, 9000) as (name, url):
        yield request.param, name, url


# --- back-end -------------------------------------------------------------------------------
def test_api_hello(api):
    _, _, url = api
    response = get(f"{url}/api/hello")
    assert response.status_code == 200
    assert response.text == "Hello, World!"
    assert response.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "method,path,status", [("GET", "/api/missing", 404), ("POST", "/api/hello", 405)]
)
def test_api_errors_are_json(api, method, path, status):
    _, _, url = api
    import requests

    response = requests.request(method, f"{url}{path}", timeout=5)
    assert response.status_code == status
    assert json_body(response)["status"] == status


def test_api_runs_as_non_root_in_app(api):
    image, name, _ = api
    assert "0" not in process_uids(name)
    assert image_info(image.tag).config["WorkingDir"] == "/app"


def test_api_image_adds_at_most_45_mb_to_its_ubuntu_base(api):
    """Python 3 from APT and the locked packages, without pip or APT's caches in the image."""
    image, _, _ = api
    base = dockerfiles.final_base(image.context)
    assert base == "ubuntu:latest", f"{image}: the back-end starts from task0's base, not {base}"
    added = image_size_mb(image.tag) - image_size_mb(base)
    print(f"{image}: {image_size_mb(image.tag):.1f} MB, {added:.1f} MB over {base}")
    assert added <= 45, f"{image.tag} adds {added:.1f} MB to {base}"


def test_api_runs_the_curriculum_way_too(api):
    """`python3 api.py`, as the curriculum starts it: Flask's own server on 0.0.0.0:5252."""
    image, _, _ = api
    with running(image.tag, 5252, args=["--health-cmd", "true"], command=["python3", "api.py"]) as (
        _,
        url,
    ):
        response = wait_until(lambda: get(f"{url}/api/hello"), 30, "python3 api.py to answer")
        assert response.status_code == 200 and response.text == "Hello, World!"
        assert response.headers["Server"].startswith("Werkzeug/"), "Flask's development server"


@pytest.mark.parametrize("image", API_IMAGES + WEB_IMAGES, ids=str)
def test_graceful_stop(image):
    """SIGTERM (API) or SIGQUIT (Nginx) stops the container cleanly, well inside its grace
    period."""
    build_image(image.context, image.tag)
    with running(image.tag, image.port) as (name, _):
        started = time.monotonic()
        docker("stop", "--time", "20", name)
        took = time.monotonic() - started
        code = inspected(name).exit_code
    assert took < 10, f"{name} took {took:.1f}s to stop"
    assert code == 0, f"{image} exited with {code} on docker stop"


# --- front-end ------------------------------------------------------------------------------
def test_web_serves_the_page(web):
    _, _, url = web
    response = get(f"{url}/")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Softy-Pinko" in response.text
    assert response.headers["Server"] == "nginx", "server_tokens off hides the version"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-cache" in response.headers["Cache-Control"]


def test_web_assets_are_cached_and_gzipped(web):
    _, _, url = web
    response = get(f"{url}/css/styles.css", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.headers["Content-Encoding"] == "gzip"
    assert "max-age=604800" in response.headers["Cache-Control"]


def test_web_custom_404(web):
    _, _, url = web
    response = get(f"{url}/no/such/page")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Softy-Pinko" in response.text
    assert "<center>nginx</center>" not in response.text, "Nginx's stock error page"


def test_web_refuses_other_methods(web):
    import requests

    _, _, url = web
    assert requests.post(f"{url}/", data="x", timeout=5).status_code == 405


def test_web_layout_follows_the_curriculum(web):
    image, name, _ = web
    conf = docker("exec", name, "cat", "/etc/nginx/conf.d/default.conf")
    assert conf == (image.context / "softy-pinko-front-end.conf").read_text()
    docker("exec", name, "test", "-f", "/var/www/html/softy-pinko-front-end/index.html")
    assert "0" not in process_uids(name)


@pytest.mark.parametrize("image", [i for i in WEB_IMAGES if i.task != "task2"], ids=str)
def test_page_fetches_hello_from_the_back_end(image):
    page = (image.context / "softy-pinko-front-end" / "index.html").read_text()
    script = (image.context / "softy-pinko-front-end" / "js" / "app.js").read_text()
    assert 'id="dynamic-content"' in page
    assert "http://localhost:5252/api/hello" in script
