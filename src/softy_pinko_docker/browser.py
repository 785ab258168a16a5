"""The browser the tests drive: one choice for every run, checked against the pinned Playwright.

CHROMIUM names it: the path of a Chrome or Chromium, or `playwright` for Playwright's own build
of Chromium, the exact one this Playwright release is tested with (CI installs it on GitHub with
`python -m playwright install chromium`). Unset: a `chromium` or `google-chrome` on PATH
(Debian's chromium here, which `make test` installs when there is none).

A browser more than MAX_LAG major versions older than Playwright's Chromium is refused:
Playwright drives Chromium through its DevTools protocol, which moves with every release, and
such a browser fails in ways that look like a broken page. Newer is fine (that is Chrome stable).

    softy-pinko-docker browser     which browser the tests will run, and its version (installing
                                Debian's chromium first when it must, as a browser test run does)
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import os
import re
import shutil
import sys
from pathlib import Path

from softy_pinko_docker import REPO, cli
from softy_pinko_docker.docker import ToolError, run

# Headless, in a container or on a runner: no sandbox (it needs user namespaces), and nothing
# that reaches out on its own (updates, sync, QUIC).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
MAX_LAG = 6  # Chromium ships a major version every four weeks: about half a year


@dataclasses.dataclass(frozen=True)
class Browser:
    path: str | None  # None: Playwright's own Chromium, which Playwright finds by itself
    version: str  # e.g. "156.0.8078.108"
    playwright: str  # the pinned Playwright's version
    expected: str  # the Chromium version that Playwright release is built for

    @property
    def lag(self) -> int:
        return major(self.expected) - major(self.version)

    def describe(self) -> str:
        where = self.path or "Playwright's own build"
        return (
            f"Chromium {self.version} ({where}); Playwright {self.playwright} is built for "
            f"Chromium {self.expected}"
        )


def major(version: str) -> int:
    found = re.match(r"(\d+)", version)
    return int(found.group(1)) if found else 0


def playwright_chromium() -> tuple[str, str]:
    """(version, revision) of the Chromium the installed Playwright is built for."""
    import playwright

    listed = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    for entry in json.loads(listed.read_text())["browsers"]:
        if entry["name"] == "chromium":
            return str(entry["browserVersion"]), str(entry["revision"])
    raise ToolError(f"no chromium in {listed}: is Playwright installed? (`make bootstrap`)")


def playwright_installed(revision: str) -> bool:
    """Has `python -m playwright install chromium` put this revision in place?"""
    home = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache/ms-playwright")
    return (home / f"chromium-{revision}").is_dir()


def installed_path(choice: str) -> str:
    path = choice if os.sep in choice else shutil.which(choice)
    if not path or not Path(path).exists():
        raise ToolError(
            f"CHROMIUM={choice}: no such browser; give a path to a Chrome or "
            "Chromium, or `playwright` (then `python -m playwright install chromium`)"
        )
    return path


def choose() -> Browser:
    """The browser of this run (see the module doc); raises ToolError if it is unusable."""
    pinned = importlib.metadata.version("playwright")
    expected, revision = playwright_chromium()
    choice = os.environ.get("CHROMIUM", "")
    if choice == "playwright":
        if not playwright_installed(revision):
            raise ToolError(
                f"CHROMIUM=playwright, but Playwright's Chromium {expected} is not "
                "installed: run `.venv/bin/python -m playwright install chromium`"
            )
        return Browser(None, expected, pinned, expected)
    if not choice:
        choice = next((c for c in ("chromium", "google-chrome") if shutil.which(c)), "")
        if not choice:
            raise ToolError(
                "no browser for the tests: `make test` installs Debian's chromium, "
                "or set CHROMIUM to a Chrome's path, or to `playwright`"
            )
    path = installed_path(choice)
    said = run([path, "--version"], timeout=30).stdout
    found = re.search(r"(\d+\.\d+\.\d+\.\d+)", said)
    if not found:
        raise ToolError(f"{path} --version said {said.strip()!r}: not a Chrome or Chromium")
    browser = Browser(path, found.group(1), pinned, expected)
    if browser.lag > MAX_LAG:
        raise ToolError(
            f"{browser.describe()}: {browser.lag} major versions older, more than "
            f"{MAX_LAG}; set CHROMIUM=playwright and run `python -m playwright "
            "install chromium`, or point CHROMIUM at a newer browser"
        )
    return browser


def prepare() -> tuple[Browser, str]:
    """The browser of this run, installed first when the choice needs it (Debian's chromium, by
    tools/bootstrap.sh, when CHROMIUM is unset and there is none), announced in the job summary
    on GitHub: (the browser, one line saying which it is). Only runs that select a browser test
    call this, so no other job installs a browser."""
    line = ""
    chosen = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("google-chrome")
    # Only a checkout installs one (bootstrap.sh also keeps its .venv): an installed checker has
    # neither, and choose() says what to install.
    if not chosen and (REPO / "tools/requirements-dev.txt").is_file():
        installed = run([str(REPO / "tools/bootstrap.sh"), "--packages", "chromium"], timeout=900)
        line = "".join(f"{s}\n" for s in installed.stdout.splitlines() if "installing" in s)
    browser = choose()
    line += f"[browser] {browser.describe()}"
    if browser.lag > 0:
        line += f" ({browser.lag} major versions older, within {MAX_LAG})"
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(f"Browser for the tests: {browser.describe()}\n\n")
    return browser, line


def main(argv: list[str]) -> int:
    cli.parser(argv, "softy_pinko_docker.browser", __doc__).parse_args(argv[1:])
    print(prepare()[1], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
