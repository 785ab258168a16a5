"""The engine layer's errors say their cause, so a caller catches the one it can handle: a
command or a wait that did not end in time, something that is not there, a refusal."""

from __future__ import annotations

import sys

import pytest

from softy_pinko_docker.docker import Missing, Refused, TimedOut, ToolError, poll, run


def test_a_command_that_does_not_end_in_time_timed_out():
    with pytest.raises(TimedOut, match="did not finish in 0s"):
        run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.2)


def test_a_program_that_is_not_there_is_missing():
    with pytest.raises(Missing, match="could not run"):
        run(["softy-pinko-no-such-program"])


def test_a_command_that_fails_is_a_refusal_with_its_last_line():
    with pytest.raises(Refused, match=r"failed \(exit 3\): no"):
        run([sys.executable, "-c", "import sys; print('no', file=sys.stderr); sys.exit(3)"])


def test_a_wait_that_ends_without_its_state_timed_out():
    with pytest.raises(TimedOut, match="waiting for nothing"):
        poll(lambda: None, timeout=0.1, interval=0.05, what="nothing")


def test_each_is_a_tool_error_for_callers_that_handle_any():
    assert all(issubclass(kind, ToolError) for kind in (TimedOut, Missing, Refused))
