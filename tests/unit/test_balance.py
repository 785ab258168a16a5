"""The load test's verdict logic (loadtest/_balance.py), without Locust or Docker."""

import pytest

from softy_pinko_docker.loadtest import _balance


def test_tolerance_shrinks_with_the_sample_but_not_below_one_point():
    small, large = _balance.tolerance_pp(3, 300), _balance.tolerance_pp(3, 300_000)
    assert small == pytest.approx(4 * (1 / 3 * 2 / 3 / 300) ** 0.5 * 100)  # 10.9 pp
    assert large == 1.0
    assert _balance.tolerance_pp(1, 100) == 100.0


def test_even_round_robin_passes():
    verdict = _balance.judge({"a": 1000, "b": 1001, "c": 999}, 0, 3, 12.0, 500)
    assert verdict.ok, verdict.reasons
    assert [row[0] for row in verdict.rows] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "counts,failures,expected,p95,reason",
    [
        ({"a": 1500, "b": 1500, "c": 100}, 0, 3, 10.0, "pp from an even"),  # a frozen replica
        ({"a": 1000, "b": 1000}, 0, 3, 10.0, "only 2 of 3"),  # a missing replica
        ({"a": 1000, "b": 1000}, 5, 2, 10.0, "5 request(s) failed"),
        ({"a": 1000, "b": 1000}, 0, 2, 900.0, "p95 latency"),
        ({}, 0, 2, None, "no successful request"),
    ],
)
def test_each_failure_reason_fails_the_verdict(counts, failures, expected, p95, reason):
    verdict = _balance.judge(counts, failures, expected, p95, 500)
    assert not verdict.ok
    assert any(reason in r for r in verdict.reasons), verdict.reasons


def test_table_shows_share_deviation_and_verdict():
    verdict = _balance.judge({"a": 600, "b": 400}, 0, 2, 5.0, 500)
    text = _balance.table(verdict)
    assert "a" in text and "60.00%" in text and "+10.00 pp" in text and "verdict: FAIL" in text
    markdown = _balance.table(verdict, markdown=True)
    assert markdown.startswith("| replica | requests | share | deviation from even |")
    assert "**verdict: FAIL" in markdown


def test_the_balance_window_keeps_only_the_last_seconds():
    # A rolling deploy: replicas a, b served seconds 100-104; c, d took over from 103 on.
    per_second = {
        100: {"a": 50, "b": 50},
        101: {"a": 50, "b": 50},
        102: {"a": 50, "b": 50},
        103: {"a": 10, "c": 40, "d": 50},
        104: {"c": 50, "d": 50},
        105: {"c": 50, "d": 50},
        106: {"c": 50, "d": 50},
    }
    assert _balance.tally(per_second) == {"a": 160, "b": 150, "c": 190, "d": 200}
    assert _balance.tally(per_second, window=3) == {"c": 150, "d": 150}
    assert _balance.judge(_balance.tally(per_second, window=3), 0, 2, 10.0, 500).ok
    assert not _balance.judge(_balance.tally(per_second), 0, 2, 10.0, 500).ok


def test_the_tab_says_too_few_requests_until_there_are_enough():
    state = _balance.live({"a": 10, "b": 10, "c": 9}, 0, 3, 5.0, 500)
    assert state["verdict"] == "too few requests yet"
    assert state["reasons"] == ["29 of the 90 requests needed"]


def test_the_tab_passes_an_even_split_with_a_bar_per_replica():
    state = _balance.live({"a": 500, "b": 500}, 0, 2, 5.0, 500)
    assert state["verdict"] == "PASS"
    assert [r["bar"] for r in state["replicas"]] == ["█" * 20, "█" * 20]
    rows = _balance.tab_rows(state)
    assert rows[-1]["replica"] == "verdict: PASS" and rows[-1]["requests"] == 1000
    assert rows[-1]["share"] == "2 of 2 replicas answered"


def test_a_failure_is_a_fail_at_once_and_says_why():
    state = _balance.live({"a": 3}, 1, 2, 5.0, 500)
    assert state["verdict"] == "FAIL"
    assert "1 request(s) failed" in state["reasons"]
    assert "only 1 of 2 expected replicas answered" in state["reasons"]


def test_the_csv_and_the_report_section_carry_the_table_and_the_verdict():
    state = _balance.live({"a": 500, "b": 499}, 0, 2, 5.0, 500)
    assert _balance.to_csv(state).splitlines() == [
        "replica,requests,share,deviation,tolerance",
        "a,500,50.05%,+0.05 pp,±6.33 pp",
        "b,499,49.95%,-0.05 pp,±6.33 pp",
        'verdict: PASS,999,2 of 2 replicas answered,"every replica within tolerance, '
        'nothing failed",±6.33 pp',
    ]
    section = _balance.html_section(state)
    assert section.startswith('<section id="round-robin"') and "Round-robin: PASS" in section
    assert "<td>a</td><td>500</td>" in section


# --- which counter tells the replicas apart -------------------------------------------------
ENGINE_LOGS = {"task6-back-end-1": 500, "task6-back-end-2": 499}
ENGINE_BYTES = {"task6-back-end-1": 300_000, "task6-back-end-2": 100_000}


def test_the_header_is_trusted_when_answers_carry_one():
    counts, source = _balance.replica_counts({"a1": 10, "b2": 12}, ENGINE_LOGS, ENGINE_BYTES)
    assert (counts, source) == ({"a1": 10, "b2": 12}, "header")


def test_without_the_header_the_access_logs_count_when_they_account_for_the_answers():
    counts, source = _balance.replica_counts({_balance.NO_HEADER: 1000}, ENGINE_LOGS, ENGINE_BYTES)
    assert (counts, source) == (ENGINE_LOGS, "logs")


def test_a_server_that_logs_nothing_is_counted_by_its_bytes_split_of_the_answers():
    counts, source = _balance.replica_counts(
        {_balance.NO_HEADER: 1000}, {"task6-back-end-1": 3, "task6-back-end-2": 0}, ENGINE_BYTES
    )
    assert source == "network"
    assert counts == {"task6-back-end-1": 750, "task6-back-end-2": 250}
    assert not _balance.judge(counts, 0, 2, 10.0, 500).ok  # a 75/25 split fails


def test_a_chosen_counter_is_used_even_when_another_would_be_picked():
    answers = {_balance.NO_HEADER: 1000}
    assert _balance.replica_counts(answers, ENGINE_LOGS, ENGINE_BYTES, "network")[1] == "network"
    assert _balance.replica_counts({"a": 5}, ENGINE_LOGS, ENGINE_BYTES, "logs")[1] == "logs"


@pytest.mark.parametrize(
    "total,weights,expected",
    [
        (10, {"a": 1, "b": 1, "c": 1}, {"a": 4, "b": 3, "c": 3}),  # the remainder, once
        (7, {"a": 0, "b": 5}, {"a": 0, "b": 7}),  # a replica that received nothing keeps 0
        (5, {"a": 0}, {}),  # no bytes at all: no split
    ],
)
def test_shares_become_counts_that_sum_to_the_total(total, weights, expected):
    assert _balance.shares_to_counts(total, weights) == expected


def test_the_tab_and_the_verdict_say_which_counter_was_used():
    state = _balance.live({"a": 100, "b": 100}, 0, 2, 10.0, 500, "logs")
    assert "access logs" in str(_balance.tab_rows(state)[-1]["bar"])
    assert '"counted_from": "network"' in _balance.to_json(
        _balance.judge({}, 0, 2, None, 1), "network"
    )
