"""The task3 page in headless Chromium: the API's answer appears, and its absence is explained."""

import pytest

from support import REPO, build_image, check_page_hello_then_error, running
from tools.docker import docker

pytestmark = [pytest.mark.docker, pytest.mark.browser]


def test_task3_page_shows_hello_then_error(page):
    build_image(REPO / "task3" / "back-end", "softy-pinko-back-end:task3")
    build_image(REPO / "task3" / "front-end", "softy-pinko-front-end:task3")
    # The page calls http://localhost:5252 from http://localhost:9000: the curriculum's ports.
    with (
        running("softy-pinko-back-end:task3", 5252, host_port=5252) as (api, _),
        running("softy-pinko-front-end:task3", 9000, host_port=9000) as (_, url),
    ):
        check_page_hello_then_error(
            page, "http://localhost:9000/", lambda: docker("stop", api), "task3"
        )
