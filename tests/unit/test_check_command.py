"""The checker's command as a person meets it: every mistake in how it was run is one line in the
words of the command they typed, exit 2, before any check starts; its help names the command,
the defaults, the exit codes and where to read more. (Nothing here needs an engine: each mistake
is found before the checker asks for one.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from softy_pinko_docker.check.__main__ import DOCS
from softy_pinko_docker.docker import Completed, run
from support import REPO, mistakes


def checker(*args: str, env: dict[str, str] | None = None) -> Completed:
    return run(
        [sys.executable, "-m", "softy_pinko_docker.check", *args],
        cwd=REPO,
        timeout=60,
        env={"SOFTY_PINKO_CHECK_VIA": "", **(env or {})},
        check=False,
    )


@pytest.mark.parametrize(
    "mistake",
    [
        "no repository",
        "a folder that is not there",
        "a file",
        "a task that is not one",
        "results where nothing can be written",
        "an option that is not one",
    ],
)
def test_a_mistake_in_how_it_is_run_is_one_line_before_any_check(mistake, tmp_path):
    args, expected = mistakes(tmp_path)[mistake]
    said = checker(*args)
    assert said.returncode == 2, said
    assert said.stdout == "", "nothing was checked, so nothing is printed on stdout"
    assert said.stderr.count("\n") == 1 and said.stderr.startswith(
        "python -m softy_pinko_docker.check: "
    )
    assert expected in said.stderr, said.stderr


def test_through_make_the_messages_name_make_s_variables():
    said = checker("--tasks", "task7", str(REPO), env={"SOFTY_PINKO_CHECK_VIA": "make"})
    assert said.returncode == 2
    assert said.stderr == (
        "make check: no task task7: TASKS takes task0, task1, task2, task3, task4, task5, task6\n"
    )
    said = checker(env={"SOFTY_PINKO_CHECK_VIA": "make"})
    assert said.stderr == (
        "make check: name the repository to check: make check REPO=path/to/repository\n"
    )


def test_help_names_the_command_its_defaults_exit_codes_and_docs():
    said = checker("--help")
    assert said.returncode == 0 and said.stdout.startswith(
        "usage: python -m softy_pinko_docker.check "
    )
    for told in ("default: all seven", "default: reports/check", "exit codes:", "130", DOCS):
        assert told in said.stdout, told
    assert "--quiet" in said.stdout and "--version" in said.stdout
    version = checker("--version")
    assert version.returncode == 0 and version.stdout.startswith(
        "python -m softy_pinko_docker.check 1."
    )


def test_results_go_outside_the_repository_checked(tmp_path, monkeypatch):
    from softy_pinko_docker.check.__main__ import default_output

    learner = tmp_path / "learner"
    (learner / "task0").mkdir(parents=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(learner / "task0")
    assert default_output(learner) == tmp_path / "cache/softy-pinko-check/learner"
    monkeypatch.chdir(tmp_path)
    assert default_output(learner) == tmp_path / "reports/check"


def test_a_batch_list_that_is_not_there_is_one_line(tmp_path):
    said = run(
        [sys.executable, "-m", "softy_pinko_docker.check.batch", f"@{tmp_path}/cohort.txt"],
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert said.returncode == 2 and said.stdout == ""
    assert said.stderr == (
        f"error: @{tmp_path}/cohort.txt: no file {tmp_path}/cohort.txt: REPOS=@file names a file "
        "listing the repositories, one a line\n"
    )


# --- the project's one command -------------------------------------------------------------------
SUBCOMMANDS = ["stack", "swarm", "cluster", "bases", "check", "batch", "bench", "charts", "lock",
               "sbom", "browser"]  # fmt: skip
HELP_ASKED = [
    *([name, "--help"] for name in SUBCOMMANDS),
    ["cluster", "up", "--nodes", "2", "--help"],  # documented, once ignored, and it started one
    ["stack", "up", "--help"],
    ["lock", "refresh", "--help"],
    ["bases", "ensure", "--help"],
]


@pytest.fixture
def nothing_may_start(tmp_path) -> tuple[dict[str, str], Path]:
    """A PATH on which every program the tools start only writes its name to a log."""
    bin_, log = tmp_path / "bin", tmp_path / "started.log"
    bin_.mkdir()
    programs = ["docker", "docker-compose", "pip", "pip3", "apt-get", "sudo", "debootstrap", "git",
                "act", "locust", "wrk", "chromium", "google-chrome", "curl"]  # fmt: skip
    for program in programs:
        (bin_ / program).write_text(f'#!/bin/sh\necho "{program} $*" >> {log}\nexit 1\n')
        (bin_ / program).chmod(0o755)
    return {"PATH": f"{bin_}:/usr/bin:/bin"}, log


def test_the_one_command_lists_every_subcommand():
    said = run([sys.executable, "-m", "softy_pinko_docker", "--help"], cwd=REPO)
    assert said.stdout.startswith("usage: python -m softy_pinko_docker ")
    for name in SUBCOMMANDS:
        assert f"\n    {name} " in said.stdout, name


@pytest.mark.parametrize("args", HELP_ASKED, ids=" ".join)
def test_help_of_every_subcommand_starts_nothing(args, nothing_may_start):
    env, log = nothing_may_start
    said = run([sys.executable, "-m", "softy_pinko_docker", *args], cwd=REPO, env=env, check=False)
    assert said.returncode == 0, said.stderr
    assert said.stdout.startswith(f"usage: python -m softy_pinko_docker {args[0]}"), said.stdout
    assert not log.exists(), f"--help started: {log.read_text()}"


def test_without_an_engine_or_docker_itself_it_says_which(nothing_may_start, tmp_path):
    env, log = nothing_may_start  # a `docker` that answers nothing: no engine
    said = checker("--output", str(tmp_path / "out"), str(REPO), env=env)
    assert said.returncode == 2 and said.stderr == (
        "python -m softy_pinko_docker.check: the checker needs a running Docker Engine "
        "(`docker info` "
        "failed): start it, or set DOCKER_HOST to one\n"
    )
    said = checker("--output", str(tmp_path / "out"), str(REPO), env={"PATH": str(tmp_path)})
    assert said.returncode == 2 and said.stderr == (
        "python -m softy_pinko_docker.check: the checker needs Docker: no `docker` command "
        "here; install it\n"
    )
