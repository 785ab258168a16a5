"""The batch's parts that need no engine: its options, its workers' default, its estimate, its
exit code, and what it shows when no terminal watches."""

import io

import pytest
from rich.console import Console

from softy_pinko_docker.check import batch, progress, table


def test_the_options_reach_each_checker_as_its_own(tmp_path):
    options = batch.Options(60, "task0,task3", True, tmp_path / "v", True)
    assert options.arguments() == [
        "--tasks", "task0,task3", "--files-only", "--verdicts", str(tmp_path / "v"), "--fresh",
    ]  # fmt: skip
    assert batch.Options().arguments() == []


def test_the_default_workers_are_said_and_fit_the_machine():
    jobs, why = batch.default_jobs()
    assert 1 <= jobs <= 4
    assert "cores" in why and "GiB" in why


def test_the_estimate_uses_each_task_s_past_durations():
    past = {"task0": [2.0, 4.0, 100.0], "task1": [10.0]}
    assert progress.estimate(past, ["task0", "task1"]) == 4.0 + 10.0
    assert progress.estimate({}, ["task5"]) == progress.DEFAULT_TASK_S


def test_outside_a_terminal_each_finished_repository_is_one_plain_line(tmp_path):
    out = io.StringIO()
    shown = progress.Progress(2, 1, 30.0, Console(file=out, force_terminal=False, width=200))
    shown.started("ada", tmp_path / "ada.log")
    assert shown.left_s() <= 60.0
    shown.finished("ada", "ada: pass in 12s")
    assert out.getvalue() == "[1/2] ada: pass in 12s\n"
    assert shown.left_s() == 30.0
    # A long line stays one line in an 80-column log, and a learner's brackets are not markup.
    narrow = io.StringIO()
    shown = progress.Progress(1, 1, 30.0, Console(file=narrow, force_terminal=False, width=80))
    line = "bob: fail in 9s: task1.builds: expected [bold]pip3 install[/bold] to succeed, " * 2
    shown.finished("bob", line)
    assert narrow.getvalue() == f"[1/1] {line}\n"


def test_a_batch_where_a_repository_was_not_judged_exits_1_and_says_why(tmp_path, capsys):
    said = batch.main(
        [
            "softy-pinko-check-batch",
            "--cache",
            str(tmp_path / "verdicts"),
            "--output",
            str(tmp_path / "table"),
            str(tmp_path / "nowhere"),
        ]
    )
    assert said == 1
    err = capsys.readouterr().err
    assert err == f"not judged: {tmp_path / 'nowhere'}: unavailable: not a folder\n"
    assert "unavailable" in (tmp_path / "table/batch.md").read_text()


def test_a_checker_that_ends_without_results_is_reported_in_its_own_words(tmp_path):
    (tmp_path / "ada").mkdir()
    (tmp_path / "ada/checker.log").write_text(
        "checking …\nsofty-pinko-check: the checker needs a running Docker Engine\n"
    )
    row = batch.row_of("ada", tmp_path / "ada", tmp_path, 3.0)
    assert row.status == "error"
    assert row.first == (
        "the checker stopped: softy-pinko-check: the checker needs a running Docker Engine"
    )


@pytest.mark.parametrize(
    ("check", "phase"),
    [
        ("task0.builds", "building"),
        ("task4.images_build", "building"),
        ("task4.stack_starts", "starting"),
        ("task2.front_end_config_loads", "starting"),
        ("task1.answers_hello_world_on_5252", "answering"),
        ("task3.page_shows_the_api_s_answer", "answering"),
        ("task6.even_under_load", "answering"),
        ("task2.site_files", "reading"),
    ],
)
def test_each_check_s_time_goes_to_what_it_does(check, phase):
    assert table.phase_of(check) == phase


def test_where_the_time_went_leaves_out_the_verdicts_reused():
    def row(name: str, reused: bool) -> table.Row:
        results = {
            "tasks": [{"name": "task0", "reused": reused}],
            "tests": [
                {"name": "task0.builds", "task_id": "task0", "duration_s": 10.0},
                {"name": "task0.prints_hello_world", "task_id": "task0", "duration_s": 2.0},
            ],
        }
        return table.Row(name, "pass", 13.0, results=results)

    spent = table.time_spent([row("ada", False), row("bob", True)])
    assert "| task0 | 2 | 10 | 0 | 0 | 12 |" in spent, spent


def test_shards_split_the_list_evenly_and_keep_each_repository_s_place():
    named = {f"repo{n}": f"name{n}" for n in range(5)}
    one, two = batch.shard(named, "1/2"), batch.shard(named, "2/2")
    assert one == {"repo0": ("name0", 0), "repo2": ("name2", 2), "repo4": ("name4", 4)}
    assert two == {"repo1": ("name1", 1), "repo3": ("name3", 3)}
    assert batch.shard(named, None)["repo3"] == ("name3", 3)
    with pytest.raises(batch.ToolError, match="--shard 3/2: I/N"):
        batch.shard(named, "3/2")


def test_shards_checked_apart_merge_into_the_table_one_batch_writes(tmp_path):
    rows = [
        table.Row(f"repo{n}", "pass", 1.0, {"task0": "pass"}, folder=f"name{n}", name=f"name{n}",
                  index=n)
        for n in range(4)
    ]  # fmt: skip
    for row in rows:
        (tmp_path / f"shard{row.index % 2}" / row.folder).mkdir(parents=True)
        (tmp_path / f"shard{row.index % 2}" / row.folder / "results.json").write_text("{}")
    table.write(rows[0::2], tmp_path / "shard0")
    table.write(rows[1::2], tmp_path / "shard1")
    (tmp_path / "all").mkdir()
    together = table.merged([tmp_path / "shard1", tmp_path / "shard0"], tmp_path / "all")
    assert [row.repository for row in together] == ["repo0", "repo1", "repo2", "repo3"]
    assert table.markdown(together) == table.markdown(rows)
    assert (tmp_path / "all/name3/results.json").is_file()
    with pytest.raises(batch.ToolError, match="no batch.json"):
        table.merged([tmp_path / "nowhere"], tmp_path / "all")
