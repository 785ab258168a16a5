"""Verdicts a reviewer would sign: the checker on learners' repositories as learners write them.

A plain, correct solution written the way learners write it passes every check of all seven
tasks; correct solutions in other styles pass; hundreds of broken copies (files removed, emptied,
filled with bytes that are not text, given a BOM or CRLF, misnamed, moved one folder down) are
never an ERROR, never exit 2, never show a path outside the repository or a Python value; and
each mistake seen in public learners' repositories gets the verdict and the cause the statements
and the engines give it (`../shared/CURRICULUM.md`).
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from learners import STYLES, Style, edit, plain_solution, styled

from softy_pinko_docker.check import TASKS
from softy_pinko_docker.docker import run
from support import REPO, checker

pytestmark = pytest.mark.docker


def check(root: Path, tasks: list[str], out: Path, files_only: bool = False) -> dict:
    """The checker's results.json, with its exit code and its tests by name."""
    code, said = checker(root, tasks, out, files_only)
    said["exit"] = code
    said["by_name"] = {t["name"]: t for t in said["tests"]}
    return said


def not_passed(said: dict, allowed: tuple[str, ...] = ()) -> list[str]:
    return [
        f"{t['name']}: {t['status']}: {t['message']} | fix: {t['fix']}"
        for t in said["tests"]
        if t["status"] != "pass" and not (t["status"] == "warn" and t["name"] in allowed)
    ]


# --- correct work, as learners write it ----------------------------------------------------------
@pytest.mark.browser
def test_a_plain_learner_solution_passes_all_seven_tasks_with_nothing_skipped(tmp_path):
    said = check(plain_solution(tmp_path / "learner"), TASKS, tmp_path / "out")
    assert not not_passed(said) and said["exit"] == 0, "\n".join(not_passed(said))
    assert {t["task_id"] for t in said["tests"]} == set(TASKS)


@pytest.mark.browser
@pytest.mark.parametrize("style", STYLES.values(), ids=STYLES.keys())
def test_a_correct_solution_in_another_style_passes(style: Style, tmp_path):
    said = check(styled(tmp_path / "learner", style), list(style.tasks), tmp_path / "out")
    assert not not_passed(said, style.warns), "\n".join(not_passed(said, style.warns))
    assert said["exit"] == 0


def test_the_styles_are_at_least_ten():
    assert len(STYLES) >= 10


# --- broken copies ------------------------------------------------------------------------------
# What a message shows of Python rather than words: a list or tuple of values, None, a repr.
PYTHON_VALUE = re.compile(
    r"\[\(|\(\s*'|\[\s*'|\{\s*'|\bNone\b|\bTrue\b|\bFalse\b|<[\w.]+ object at|Traceback"
)
MUTATIONS = ("remove", "empty", "bytes", "bom", "crlf", "misname", "down", "nest", "context")
# The files the checks read, and folders: what a mutation breaks (the site's images and this
# repository's extra files would only dilute the draw).
READ = re.compile(r"ockerfile|\.conf$|\.ya?ml$|\.txt$|\.py$|\.html$|\.js$|^\.gitmodules$|ignore$")


def _sources(tmp: Path) -> dict[str, Path]:
    """The two repositories broken copies are made of: the plain learner solution, and this
    repository's tasks."""
    plain = plain_solution(tmp / "plain")
    ours = tmp / "ours"
    for task in TASKS:
        shutil.copytree(REPO / task, ours / task)
    return {"plain": plain, "ours": ours}


def mutate(root: Path, how: str, pick: int) -> list[str]:
    """Break `root` one way; the tasks to check."""
    entries = sorted(p for p in root.rglob("*") if p.is_dir() or READ.search(p.name))
    target = entries[pick % len(entries)]
    task = target.relative_to(root).parts[0]
    if how == "nest":
        inner = root / "learner-repository"
        inner.mkdir()
        for entry in list(root.iterdir()):
            if entry != inner:
                entry.rename(inner / entry.name)
        return TASKS
    if how == "context":
        composes = sorted(root.glob("task*/docker-compose.yml"))
        compose = composes[pick % len(composes)]
        text = compose.read_text()
        compose.write_text(re.sub(r"context: \S+", "context: ./nowhere", text, count=1))
        return [compose.parent.name]
    if how == "remove":
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    elif how == "down" and target != root / task:
        down = target.parent / "moved"
        down.mkdir(exist_ok=True)
        target.rename(down / target.name)
    elif how == "misname":
        target.rename(target.with_name(target.name.swapcase() + "x"))
    elif target.is_file():
        data = target.read_bytes()
        target.write_bytes(
            {
                "empty": b"",
                "bytes": bytes(range(256)) * 4,
                "bom": b"\xef\xbb\xbf" + data,
                "crlf": data.replace(b"\n", b"\r\n"),
            }.get(how, data)
        )
    return [task]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return _sources(tmp_path_factory.mktemp("sources"))


@settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    source=st.sampled_from(["plain", "ours"]),
    how=st.sampled_from(MUTATIONS),
    pick=st.integers(min_value=0, max_value=10**6),
)
def test_a_broken_copy_is_a_verdict_never_an_error(sources, tmp_path_factory, source, how, pick):
    """Files-only (what the file checks read is what they are given); whatever is broken, the
    checker says so as a learner's failure or warning, in the repository's own paths."""
    root = tmp_path_factory.mktemp("broken") / "learner"
    shutil.copytree(sources[source], root)
    tasks = mutate(root, how, pick)
    out = root.parent / "out"
    said = check(root, tasks, out, files_only=True)
    errors = [t for t in said["tests"] if t["status"] == "error"]
    assert not errors and said["exit"] in (0, 1), (how, pick, errors)
    for test in said["tests"]:
        shown = " ".join(str(test[k] or "") for k in ("message", "fix", "file"))
        assert "/tmp/" not in shown and str(root) not in shown, (how, pick, test)
        assert not PYTHON_VALUE.search(shown), (how, pick, test)
        if test["status"] == "fail":
            assert test["fix"], test
        if test["file"]:
            assert not Path(test["file"]).is_absolute() and ".." not in Path(test["file"]).parts


# --- the mistakes seen in public learners' repositories -----------------------------------------
def plain(tmp_path: Path) -> Path:
    return plain_solution(tmp_path / "learner")


def files_only(root: Path, tasks: list[str], tmp_path: Path) -> dict:
    return check(root, tasks, tmp_path / "out", files_only=True)


def test_a_proxy_folder_compose_cannot_find_is_a_failure_naming_the_line_and_folder(tmp_path):
    """`build: ./proxy` while the proxy sits elsewhere: a learner's mistake, not an ERROR, and
    no check reads the proxy's files before one has found them."""
    root = plain(tmp_path)
    (root / "task6/proxy").rename(root / "task6/nginx")
    said = files_only(root, ["task6"], tmp_path)
    found = said["by_name"]["task6.dockerfiles_found"]
    assert found["status"] == "fail" and said["exit"] == 1, found
    assert "no folder task6/proxy/" in found["message"] and "task6/nginx/" in found["message"]
    assert found["file"] == "task6/docker-compose.yml" and found["line"] == 16, found
    for name in ("proxy_files", "proxy_routes"):
        assert said["by_name"][f"task6.{name}"]["status"] == "skip"


def test_a_byte_order_mark_is_read_as_docker_reads_it_and_as_nginx_does(tmp_path):
    root = plain(tmp_path)
    for name in ("Dockerfile", "proxy.conf"):
        path = root / "task5/proxy" / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    said = files_only(root, ["task5"], tmp_path)
    assert said["by_name"]["task5.proxy_based_on_latest_nginx"]["status"] == "pass"
    routes = said["by_name"]["task5.proxy_routes"]
    assert routes["status"] == "fail" and "byte-order mark" in routes["message"], routes
    assert (routes["file"], routes["line"]) == ("task5/proxy/proxy.conf", 1)


@pytest.mark.parametrize(
    "base,status",
    [
        ("ubuntu:22.04", "fail"),
        ("ubuntu:jammy", "fail"),
        ("ubuntu:24.04", "warn"),
        ("ubuntu", "pass"),
    ],
)
def test_the_latest_ubuntu_an_older_release_fails_today_s_by_number_warns(base, status, tmp_path):
    root = plain(tmp_path)
    edit(root / "task0/Dockerfile", "FROM ubuntu:latest", f"FROM {base}")
    said = files_only(root, ["task0"], tmp_path)
    assert said["by_name"]["task0.based_on_latest_ubuntu"]["status"] == status


def test_task6_names_the_back_end_and_its_rename_fix_names_every_place(tmp_path):
    root = plain(tmp_path)
    for rel in ("task6/docker-compose.yml", "task6/proxy/proxy.conf"):
        path = root / rel
        path.write_text(
            path.read_text().replace("back-end:", "backend:").replace("- back-end", "- backend")
        )
    said = files_only(root, ["task6"], tmp_path)
    named = said["by_name"]["task6.back_end_named_back_end"]
    assert named["status"] == "fail", named
    for place in ("task6/docker-compose.yml:2", "task6/docker-compose.yml:13",
                  "task6/docker-compose.yml:23", "task6/proxy/proxy.conf:9"):  # fmt: skip
        assert place in named["fix"], named


def test_a_lone_container_port_is_a_warning_that_says_what_compose_does(tmp_path):
    root = plain(tmp_path)
    edit(
        root / "task5/docker-compose.yml",
        "    image: softy-pinko-back-end:task5\n",
        '    image: softy-pinko-back-end:task5\n    ports:\n      - "5252"\n',
    )
    said = files_only(root, ["task5"], tmp_path)
    lone = said["by_name"]["task5.only_the_proxy_publishes"]
    assert lone["status"] == "warn" and "random host port" in lone["message"], lone
    assert said["exit"] == 0


def test_container_names_say_what_compose_names_them(tmp_path):
    root = styled(tmp_path / "learner", STYLES["services named backend and frontend"])
    said = files_only(root, ["task4"], tmp_path)
    names = said["by_name"]["task4.container_names"]
    assert names["status"] == "warn" and "task4-backend-1 and task4-frontend-1" in names["message"]


def test_a_registered_submodule_not_checked_out_is_not_judged_never_failed(tmp_path):
    root = plain(tmp_path)
    site = "task2/front-end/softy-pinko-front-end"
    shutil.rmtree(root / site)
    (root / site).mkdir()
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    run([*git, "init", "-q"])
    (root / ".gitmodules").write_text(
        f'[submodule "site"]\n\tpath = {site}\n'
        "\turl = https://github.com/atlas-school/softy-pinko-front-end\n"
    )
    run([*git, "update-index", "--add", "--cacheinfo", f"160000,{'a' * 40},{site}"])
    said = files_only(root, ["task2"], tmp_path)
    found = said["by_name"]["task2.site_files"]
    assert found["status"] == "warn" and "could not be judged" in found["message"], found
    assert "--recurse-submodules" in found["fix"] and said["exit"] == 0


def test_tasks_one_folder_down_are_named_where_they_are(tmp_path):
    root = plain(tmp_path)
    inner = root / "holbertonschool-softy-pinko-docker"
    inner.mkdir()
    for task in TASKS:
        (root / task).rename(inner / task)
    said = files_only(root, TASKS, tmp_path)
    first = said["by_name"]["task0.dockerfile_exists"]
    assert "your tasks are in holbertonschool-softy-pinko-docker/" in first["message"], first
    assert "git mv holbertonschool-softy-pinko-docker/task* ." in first["fix"]
    assert said["exit"] == 1


@pytest.mark.parametrize(
    "wrong,right,check_name",
    [
        ("task6/2-api-server.txt", "task6/2-api-servers.txt", "task6.command_file"),
        ("task0/0.dockerfile", "task0/Dockerfile", "task0.dockerfile_exists"),
        ("task6/proxy/docker-compose.yml", "task6/docker-compose.yml", "task6.compose_file_exists"),
        ("task2/front-end/sofy-pinko-front-end.conf", "task2/front-end/softy-pinko-front-end.conf",
         "task2.front_end_files"),
    ],
)  # fmt: skip
def test_a_near_miss_is_offered_by_its_nearest_name(wrong, right, check_name, tmp_path):
    root = plain(tmp_path)
    (root / right).rename(root / wrong)
    said = files_only(root, [check_name.split(".")[0]], tmp_path)
    found = said["by_name"][check_name]
    assert found["status"] == "fail" and wrong in found["message"], found
    assert f"{wrong} {right}" in found["fix"], found


def test_every_back_end_s_base_is_reported(tmp_path):
    root = plain(tmp_path)
    for path in root.glob("task*/back-end/Dockerfile"):
        edit(path, "FROM ubuntu:latest", "FROM python:3.9")
    said = files_only(root, TASKS[2:], tmp_path)
    assert said["by_name"]["task2.back_end_based_on_latest_ubuntu"]["status"] == "fail"
    for task in TASKS[3:]:
        found = said["by_name"][f"{task}.back_end_based_on_latest_ubuntu"]
        assert found["status"] == "warn" and "FROM python:3.9" in found["message"], found


def test_pip_refused_offers_the_statement_s_own_remedy_first(tmp_path):
    root = plain(tmp_path)
    edit(root / "task1/Dockerfile", "RUN rm /usr/lib/python*/EXTERNALLY-MANAGED\n", "")
    said = check(root, ["task1"], tmp_path / "out")
    built = said["by_name"]["task1.builds"]
    assert built["status"] == "fail" and "externally managed" in built["message"], built
    assert built["fix"].index("rm /usr/lib/python*/EXTERNALLY-MANAGED") < built["fix"].index(
        "--break-system-packages"
    )


def test_ports_are_said_in_words(tmp_path):
    root = plain(tmp_path)
    edit(root / "task4/docker-compose.yml", '"9000:9000"', '"9000:80"')
    said = files_only(root, ["task4"], tmp_path)
    ports = said["by_name"]["task4.ports_5252_and_9000"]
    assert ports["status"] == "fail" and 'found ports "9000:80"' in ports["message"], ports


@pytest.mark.browser
def test_a_page_nginx_cannot_find_is_blamed_on_the_site_at_once_not_on_the_proxy(tmp_path):
    """A .dockerignore leaves the page out of the front-end's image: through the proxy, Nginx
    answers 403. The checker names the site's folder, and does not wait for a page that will
    not come."""
    root = plain(tmp_path)
    (root / "task5/front-end/.dockerignore").write_text("**/*.html\n")
    started = time.monotonic()
    said = check(root, ["task5"], tmp_path / "out")
    took = time.monotonic() - started
    routes = said["by_name"]["task5.proxy_routes_both"]
    assert routes["status"] == "fail" and "403" in routes["message"], routes
    assert routes["file"] == "task5/front-end/softy-pinko-front-end", routes
    assert took < 120, f"{took:.0f}s"


def test_the_file_checks_decide_what_is_not_waited_on(tmp_path):
    """A site the file checks know is missing: nothing is built, started or opened for it."""
    root = plain(tmp_path)
    (root / "task5/front-end/softy-pinko-front-end/index.html").unlink()
    said = check(root, ["task5"], tmp_path / "out")
    assert said["by_name"]["task5.site_files"]["status"] == "fail"
    for name in ("proxy_routes_both", "page_shows_the_api_s_answer", "page_calls_relative_api"):
        assert said["by_name"][f"task5.{name}"]["status"] == "skip", name


def test_a_heredoc_this_engine_cannot_build_is_not_judged_never_failed(tmp_path):
    """Docker 23 and later build heredocs; an older engine, offline, cannot: the machine's
    limit, said as such (on a newer engine the build is judged)."""
    from softy_pinko_docker.check.running import engine_major

    root = plain(tmp_path)
    edit(root / "task0/Dockerfile", "RUN apt-get upgrade -y\n",
         "RUN apt-get upgrade -y\nRUN <<EOF\necho a step\nEOF\n")  # fmt: skip
    said = check(root, ["task0"], tmp_path / "out")
    built = said["by_name"]["task0.builds"]
    if engine_major() < 23:
        assert built["status"] == "warn" and "heredocs" in built["message"], built
    else:
        assert built["status"] == "pass", built
    assert said["exit"] == 0
