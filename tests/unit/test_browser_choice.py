"""browser.py: which browser the tests drive, and when it is refused, without a browser."""

import pytest

from softy_pinko_docker import browser
from softy_pinko_docker.docker import Completed, ToolError, run

PLAYWRIGHT_CHROMIUM = ("159.0.8154.6", "1255")


@pytest.fixture(autouse=True)
def pinned_playwright(monkeypatch, tmp_path):
    monkeypatch.setattr(browser, "playwright_chromium", lambda: PLAYWRIGHT_CHROMIUM)
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "ms-playwright"))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def fake_browser(tmp_path, says: str) -> str:
    path = tmp_path / "chrome"
    path.write_text(f"#!/bin/sh\necho '{says}'\n")
    path.chmod(0o755)
    return str(path)


def test_a_chromium_a_few_majors_older_is_chosen_and_named(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "CHROMIUM", fake_browser(tmp_path, "Chromium 156.0.8078.108 built on Debian")
    )
    chosen = browser.choose()
    assert (chosen.version, chosen.lag) == ("156.0.8078.108", 3)
    assert chosen.describe() == (
        f"Chromium 156.0.8078.108 ({tmp_path / 'chrome'}); Playwright "
        f"{chosen.playwright} is built for Chromium 159.0.8154.6"
    )


def test_a_newer_chrome_is_fine(tmp_path, monkeypatch):
    monkeypatch.setenv("CHROMIUM", fake_browser(tmp_path, "Google Chrome 163.0.1.2"))
    assert browser.choose().lag == -4


def test_a_browser_too_old_for_the_pinned_playwright_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CHROMIUM", fake_browser(tmp_path, "Chromium 152.0.1.2"))
    with pytest.raises(ToolError, match=r"7 major versions older, more than 6; set CHROMIUM="):
        browser.choose()


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ("/nowhere/chrome", "CHROMIUM=/nowhere/chrome: no such browser"),
        ("playwright", "Playwright's Chromium 159.0.8154.6 is not installed: run"),
    ],
)
def test_a_named_browser_that_is_not_there_is_one_clear_error(monkeypatch, choice, message):
    monkeypatch.setenv("CHROMIUM", choice)
    with pytest.raises(ToolError, match=message):
        browser.choose()


def test_not_a_browser_is_said_so(tmp_path, monkeypatch):
    monkeypatch.setenv("CHROMIUM", fake_browser(tmp_path, "hello"))
    with pytest.raises(ToolError, match="said 'hello': not a Chrome or Chromium"):
        browser.choose()


def test_playwrights_own_build_once_installed(tmp_path, monkeypatch):
    (tmp_path / "ms-playwright" / "chromium-1255").mkdir(parents=True)
    monkeypatch.setenv("CHROMIUM", "playwright")
    chosen = browser.choose()
    assert (chosen.path, chosen.version, chosen.lag) == (None, "159.0.8154.6", 0)


def test_prepare_installs_a_missing_browser_names_it_and_writes_the_job_summary(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("CHROMIUM", raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    asked = []

    def bootstrap_or_run(cmd, **kwargs):
        if cmd[0].endswith("tools/bootstrap.sh"):
            asked.append(cmd[1:])  # what apt would do: a chromium on PATH
            (bin_dir / "chromium").symlink_to(fake_browser(tmp_path, "Chromium 156.0.8078.108"))
            return Completed(0, "[bootstrap] installing host packages: chromium\n", "")
        return run(cmd, **kwargs)

    monkeypatch.setattr(browser, "run", bootstrap_or_run)
    chosen, said = browser.prepare()
    assert asked == [["--packages", "chromium"]]
    assert said.splitlines() == [
        "[bootstrap] installing host packages: chromium",
        f"[browser] {chosen.describe()} (3 major versions older, within 6)",
    ]
    assert summary.read_text() == f"Browser for the tests: {chosen.describe()}\n\n"


def test_prepare_installs_nothing_when_a_browser_is_chosen(tmp_path, monkeypatch):
    """An installed checker has no bootstrap.sh of its own to run (nor a .venv to keep)."""
    monkeypatch.setenv("CHROMIUM", fake_browser(tmp_path, "Chromium 159.0.8154.6"))

    def no_bootstrap(cmd, **kwargs):
        assert not cmd[0].endswith("tools/bootstrap.sh"), cmd
        return run(cmd, **kwargs)

    monkeypatch.setattr(browser, "run", no_bootstrap)
    chosen, said = browser.prepare()
    assert said == f"[browser] {chosen.describe()}"
