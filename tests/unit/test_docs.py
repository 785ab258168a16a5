"""The Markdown pages hold together: every relative link reaches a file, every #anchor a heading
(GitHub's slugs), and the READMEs stay short enough that the curriculum step comes first."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted(
    page
    for pattern in ("README.md", "task*/README.md", "docs/*.md", "BENCHMARKS.md", "SECURITY.md")
    for page in REPO.glob(pattern)
)
TASK_READMES = sorted(REPO.glob("task*/README.md"))
LINK = re.compile(r"\]\(([^)\s]+)\)")  # [text](target) and ![alt](target)
HEADING = re.compile(r"^#{1,6}\s+(.+?)(?:\s+#+)?\s*$")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:")  # https:, mailto:, ...


def prose(page: Path) -> list[str]:
    """The page's lines outside fenced code blocks: links and headings there are only text."""
    lines, fenced = [], False
    for line in page.read_text().splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor: a link shows its text, lowercase, punctuation dropped, spaces -> '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's slug; a repeated one gets -1, -2, ... as on GitHub."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose(page):
        if match := HEADING.match(line):
            base = slug(match.group(1))
            found.add(f"{base}-{seen[base]}" if base in seen else base)
            seen[base] = seen.get(base, 0) + 1
    return found


def relative_links(page: Path) -> list[str]:
    code = re.compile(r"`[^`]*`")  # a link written inside inline code is an example
    targets = [t for line in prose(page) for t in LINK.findall(code.sub("", line))]
    return [t for t in targets if not SCHEME.match(t)]


def test_the_pages_are_found():
    names = {str(p.relative_to(REPO)) for p in PAGES}
    assert {"README.md", *(f"task{n}/README.md" for n in range(7))} <= names


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Ship a change without failing a request", "ship-a-change-without-failing-a-request"),
        ("What `make` installs", "what-make-installs"),
        ("Task 6: scale the API out", "task-6-scale-the-api-out"),
        ("CI: GitHub Actions, and `act`", "ci-github-actions-and-act"),
        ("task0 … task6 — in [one](x.md) page", "task0--task6--in-one-page"),
        ("tools_and_tests", "tools_and_tests"),
    ],
)
def test_slugs_follow_github(heading, expected):
    assert slug(heading) == expected


def test_a_repeated_heading_gets_a_number(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Tests\n## Tests\n```\n# Tests\n```\n## Tests ##\n")
    assert anchors(page) == {"tests", "tests-1", "tests-2"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in relative_links(page):
        name, _, anchor = target.partition("#")
        linked = (page.parent / name).resolve() if name else page
        if not linked.is_relative_to(REPO):
            broken.append(f"{target}: outside the repository")
        elif not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            broken.append(f"{target}: no heading #{anchor} in {linked.relative_to(REPO)}")
    assert not broken, f"{page.relative_to(REPO)}: {broken}"


@pytest.mark.parametrize("readme", TASK_READMES, ids=lambda p: p.parent.name)
def test_a_task_readme_fits_in_150_lines(readme):
    lines = len(readme.read_text().splitlines())
    assert lines <= 150, f"{readme.relative_to(REPO)}: {lines} lines; move depth to docs/"


def test_the_top_readme_fits_in_250_lines():
    lines = len((REPO / "README.md").read_text().splitlines())
    assert lines <= 250, f"README.md: {lines} lines; move depth to docs/"


def test_the_checker_s_table_of_statements_is_the_checks_own():
    """docs/check.md's table of every check, the statement's words and its verdict is what
    `python -m softy_pinko_docker.check --statements` makes from the checks' declarations."""
    from softy_pinko_docker.check import CHECKS, STATEMENTS, report

    page = (REPO / "docs/check.md").read_text()
    table = page.split("<!-- statements:", 1)[1].split("-->\n", 1)[1]
    assert table.split("<!-- end of statements -->")[0] == report.statements_markdown()
    for task, checks in CHECKS.items():
        assert {c.name for c in checks} == set(STATEMENTS[task]), task
        for chk in checks:  # a check that only ever warns says so in its table row
            assert chk.advisory == STATEMENTS[task][chk.name][1].startswith("always: "), chk.id


# --- the site's "How it's built" says what the files do ---------------------------------------
def _base(path: str) -> str:
    from softy_pinko_docker import dockerfiles

    return dockerfiles.bases(dockerfiles.read(REPO / path))[0]


def _installs_python_from_apt(path: str) -> bool:
    text = (REPO / path).read_text()
    return bool(re.search(r"apt-get install[^\n]*\bpython3\b", text))


# Each step the page lists, and what must hold in the files for it to be true (of task6's stack,
# the one every page describes).
CLAIMS = {
    "Containerize the API.": (
        "The latest Ubuntu, with Python 3 from APT, runs the Flask app on port 5252.",
        lambda: (
            _base("task6/back-end/Dockerfile") == "ubuntu:latest"
            and _installs_python_from_apt("task6/back-end/Dockerfile")
            and "flask==" in (REPO / "task6/back-end/requirements.txt").read_text()
            and "5252" in (REPO / "task6/back-end/gunicorn.conf.py").read_text()
        ),
    ),
    "Serve the front-end.": (
        "An Nginx image ships these static files straight from disk.",
        lambda: _base("task6/front-end/Dockerfile") == "nginx:latest",
    ),
    "Put a proxy in front.": (
        "A third Nginx routes /api to the back-end and everything else to the front-end.",
        lambda: (
            _base("task6/proxy/Dockerfile") == "nginx:latest"
            and bool(
                re.search(r"location (=|\^~) /api\b", (REPO / "task6/proxy/proxy.conf").read_text())
            )
            and "proxy_pass http://back-end;" in (REPO / "task6/proxy/proxy.conf").read_text()
            and "upstream front-end {" in (REPO / "task6/proxy/proxy.conf").read_text()
        ),
    ),
    "Scale out.": (
        "Compose starts several identical back-end replicas; the proxy balances requests "
        "across them.",
        lambda: "--scale back-end=" in (REPO / "task6/2-api-servers.txt").read_text(),
    ),
}
SITES = sorted(REPO.glob("task*/front-end/softy-pinko-front-end/index.html"))


@pytest.mark.parametrize("site", SITES, ids=lambda p: p.parts[-4])
def test_the_site_says_how_it_is_built_as_the_files_build_it(site):
    html = site.read_text()
    steps = re.findall(r"<li><strong>(.+?)</strong>(.+?)</li>", html, re.S)
    assert steps, f"{site}: no steps in How it's built"
    for title, text in steps:
        words = " ".join(re.sub(r"<[^>]+>", "", text).split())
        assert title in CLAIMS, f"{site}: {title!r} says something no test holds to the files"
        said, true = CLAIMS[title]
        assert words == said, f"{site}: {title} {words!r}"
        assert true(), f"{title} {said}: the files say otherwise"
