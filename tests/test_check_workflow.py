"""The reusable workflow (.github/workflows/check.yml) as a learner calls it, under act.

A learner's repository is made here: a copy of this repository's task0 and task3, the caller
workflow docs/check.md shows (the reusable workflow beside it, used from a local path),
committed. act runs it on this host (its self-hosted mode), with the checker installed from a
clone of this repository, and actions/upload-artifact replaced by the stand-in `make act` uses
(.github/act/upload-artifact: act cannot fetch a remote action offline), which keeps the folder.
A second copy with a defect in task0 shows the job red, with the annotation on the learner's
line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from softy_pinko_docker.docker import run
from support import REPO

pytestmark = pytest.mark.docker

# The pinned upload action, and the stand-in tools/act.sh maps it to under act.
UPLOAD = re.search(
    r"actions/upload-artifact@[0-9a-f]{40}", (REPO / ".github/workflows/check.yml").read_text()
)[0]
UPLOAD_STAND_IN = REPO / ".github/act/upload-artifact"
DOWNLOAD = re.search(
    r"actions/download-artifact@[0-9a-f]{40}", (REPO / ".github/workflows/cohort.yml").read_text()
)[0]
DOWNLOAD_STAND_IN = REPO / ".github/act/download-artifact"


@pytest.fixture(scope="module")
def checker(tmp_path_factory) -> Path:
    """What `pip install git+https://github.com/…@<sha>` installs: this repository, committed."""
    clone = tmp_path_factory.mktemp("checker") / "softy-pinko-docker"
    run(["git", "clone", "--quiet", str(REPO), str(clone)])
    return clone


def caller(checker: Path) -> str:
    """docs/check.md's caller workflow, the reusable one used from a local path, the checker
    from the clone."""
    text = (REPO / "docs/check.md").read_text()
    shown = re.search(r"```yaml\n(# \.github/workflows/softy-pinko\.yml.*?)```", text, re.S)
    assert shown, "docs/check.md shows the caller workflow"
    assert shown.group(1) in (REPO / "README.md").read_text(), "the README shows the same"
    workflow = shown.group(1).replace(
        "softy-pinko/softy-pinko-docker/.github/workflows/check.yml@main",
        "./.github/workflows/check.yml",
    )
    assert "./.github/workflows/check.yml" in workflow, workflow
    workflow = workflow.replace('tasks: ""', "tasks: task0,task3")
    return workflow.replace("    with:\n", f"    with:\n      checker: {checker}\n", 1)


def learner(root: Path, checker: Path, defect: tuple[str, str] | None = None) -> Path:
    repository = root / "learner"
    for task in ("task0", "task3"):  # task3: the installed checker opens the page in Chromium
        shutil.copytree(REPO / task, repository / task)
    workflows = repository / ".github/workflows"
    workflows.mkdir(parents=True)
    shutil.copy(REPO / ".github/workflows/check.yml", workflows / "check.yml")
    (workflows / "softy-pinko.yml").write_text(caller(checker))
    if defect:
        dockerfile = repository / "task0/Dockerfile"
        assert defect[0] in dockerfile.read_text()
        dockerfile.write_text(dockerfile.read_text().replace(*defect, 1))
    git = ["git", "-C", str(repository), "-c", "user.name=learner", "-c", "user.email=l@example"]
    run([*git, "init", "--quiet"])
    run([*git, "add", "--all"])
    run([*git, "commit", "--quiet", "--message", "task0"])
    return repository


def act(repository: Path, tmp_path: Path) -> tuple[int, str, Path]:
    """(exit code, act's output, the artifacts the job uploaded)."""
    artifacts = tmp_path / "artifacts"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    said = run(
        [str(REPO / ".venv/bin/act"), "push", "-P", "ubuntu-24.04=-self-hosted"]
        + ["--local-repository", f"{UPLOAD}={UPLOAD_STAND_IN}"]
        + ["--env", f"STAND_IN_ARTIFACTS={artifacts}"],
        cwd=repository,
        env=env,
        inherit_env=False,
        check=False,
        timeout=900,
    )
    output = said.stdout + said.stderr
    print(output[-3000:])
    return said.returncode, output, artifacts / "softy-pinko-check"


def test_a_learner_s_caller_workflow_is_green_with_its_summary_and_results(checker, tmp_path):
    code, output, uploaded = act(learner(tmp_path, checker), tmp_path)
    assert code == 0 and "🏁  Job succeeded" in output, output[-3000:]
    assert "## softy-pinko-check: pass" in output, "the job summary"
    assert "status=pass" in output, "the workflow's status output"
    results = json.loads((uploaded / "results.json").read_text())
    assert results["status"] == "pass" and (uploaded / "junit.xml").is_file()
    assert {t["name"].split(".")[0] for t in results["tests"]} == {"task0", "task3"}
    page = next(t for t in results["tests"] if t["name"] == "task3.page_shows_the_api_s_answer")
    assert page["status"] == "pass", page


def test_a_defect_makes_it_red_with_the_annotation_on_the_learner_s_line(checker, tmp_path):
    repository = learner(tmp_path, checker, ("apt-get upgrade -y", "apt-get upgrade"))
    lines = (repository / "task0/Dockerfile").read_text().splitlines()
    upgrade = next(n for n, text in enumerate(lines) if "apt-get upgrade" in text)
    # The annotation is on the RUN instruction that holds the command.
    line = 1 + max(n for n in range(upgrade + 1) if lines[n].startswith("RUN "))
    code, output, uploaded = act(repository, tmp_path)
    assert code != 0 and "🏁  Job failed" in output, output[-3000:]
    annotation = f"::error file=task0/Dockerfile,line={line},title=task0.updates_and_upgrades_apt::"
    assert annotation in output, output[-3000:]
    assert "status=fail" in output
    results = json.loads((uploaded / "results.json").read_text())  # uploaded although it failed
    assert results["status"] == "fail"


# --- a cohort on a matrix of runners ------------------------------------------------------------
def test_a_cohort_checked_in_two_shards_merges_into_one_table(checker, tmp_path):
    """The reviewer's workflow (cohort.yml) under act: four repositories (this one's task0, one
    with a misspelled greeting, one that is not there) in two shards, merged in the list's
    order; the merge job is red, since one repository could not be judged, and says which."""
    learners = tmp_path / "learners"
    for name in ("ada", "bob", "cy"):
        shutil.copytree(REPO / "task0", learners / name / "task0")
    greeting = learners / "bob/task0/Dockerfile"
    greeting.write_text(greeting.read_text().replace('"Hello, World!"', '"Hello World!"'))
    listed = [learners / "ada", learners / "bob", learners / "nobody", learners / "cy"]
    reviewer = tmp_path / "reviewer"
    (reviewer / ".github/workflows").mkdir(parents=True)
    shutil.copy(REPO / ".github/workflows/cohort.yml", reviewer / ".github/workflows")
    (reviewer / "cohort.txt").write_text("".join(f"{path}\n" for path in listed))
    git = ["git", "-C", str(reviewer), "-c", "user.name=r", "-c", "user.email=r@example"]
    run([*git, "init", "--quiet"])
    run([*git, "add", "--all"])
    run([*git, "commit", "--quiet", "--message", "the cohort"])
    artifacts = tmp_path / "artifacts"
    said = run(
        [str(REPO / ".venv/bin/act"), "workflow_dispatch", "-P", "ubuntu-24.04=-self-hosted"]
        + ["-W", ".github/workflows/cohort.yml"]
        + ["--input", "shards=2", "--input", "tasks=task0", "--input", f"checker={checker}"]
        + ["--local-repository", f"{UPLOAD}={UPLOAD_STAND_IN}"]
        + ["--local-repository", f"{DOWNLOAD}={DOWNLOAD_STAND_IN}"]
        + ["--env", f"STAND_IN_ARTIFACTS={artifacts}"],
        cwd=reviewer,
        env={k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")},
        inherit_env=False,
        check=False,
        timeout=900,
    )
    output = said.stdout + said.stderr
    assert said.returncode != 0 and "not judged:" in output, output[-3000:]
    assert sorted(p.name for p in artifacts.iterdir()) == [
        "cohort", "cohort-shard-1", "cohort-shard-2"
    ], output[-3000:]  # fmt: skip
    table = (artifacts / "cohort/batch.md").read_text().splitlines()[2:]
    assert [row.split(" | ")[0].removeprefix("| ") for row in table] == [str(p) for p in listed]
    assert [row.split(" | ")[1] for row in table] == ["pass", "fail", "unavailable", "pass"]
    for written in ("batch.html", "batch.csv", "time.md", "ada/results.json"):
        assert (artifacts / "cohort" / written).is_file(), written
