"""The shape the code keeps, checked so it cannot drift: short functions, one way to run a
command, errors that reach a user as one line, and a README whose Layout matches the files."""

import ast
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "src/softy_pinko_docker"
# Every module of the code, in every folder of the package (check/ too), not only the first floor.
TOOLS = sorted([*(REPO / PACKAGE).rglob("*.py"), *(REPO / "loadtest").rglob("*.py")])
# The installed commands' entry functions: they end the process as `if __name__` blocks do.
ENTRY_POINTS = {
    target.split(":")[1]
    for target in tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "scripts"
    ].values()
}
PYTHON = sorted(
    REPO / line
    for line in subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
)
# Where a process is started other than through docker.run, and why.
OTHER_PROCESSES = {
    f"{PACKAGE}/docker.py": "the one runner",
    f"{PACKAGE}/baseimages/standins.py": "tar piped into `docker import`",
    f"{PACKAGE}/bench/wrk.py": "wrk, whose own CPU time wait4() reads",
    f"{PACKAGE}/sbom.py": "`docker export`, hundreds of MB of tar streamed into tarfile",
    "tests/test_loadtest.py": "Locust, run in the background while the test deploys",
    "tests/test_deploy.py": "the stack subcommand, exactly as `make up` runs it",
    "tests/test_swarm.py": "the swarm subcommand as `make swarm-up` runs it; `docker events`, live",
    "tests/test_curriculum.py": "the curriculum's commands, verbatim, under a pseudo-terminal",
    "tests/unit/test_structure.py": "git ls-files",
    "tests/test_check.py": "the checker, interrupted mid-build by a signal",
    "tests/test_batch.py": "a batch stopped halfway by a signal to its process group",
    f"{PACKAGE}/check/batch.py": "a checker per repository, stopped with its process group",
}


def functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text())
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


@pytest.mark.parametrize("path", TOOLS, ids=lambda p: str(p.relative_to(REPO)))
def test_no_function_in_tools_is_over_50_lines(path):
    long = [
        f"{f.name} ({f.end_lineno - f.lineno + 1} lines)"
        for f in functions(path)
        if (f.end_lineno or f.lineno) - f.lineno + 1 > 50
    ]
    assert not long, f"{path.name}: {', '.join(long)}"


@pytest.mark.parametrize("path", PYTHON, ids=lambda p: str(p.relative_to(REPO)))
def test_nothing_edits_the_import_path(path):
    edits = re.search(r"sys\.path\.(insert|append)|site\.addsitedir", path.read_text())
    assert path == Path(__file__) or not edits, "imports work from the repo root (pyproject)"


@pytest.mark.parametrize("path", TOOLS, ids=lambda p: str(p.relative_to(REPO)))
def test_only_an_entry_point_ends_the_process(path):
    """`sys.exit` only under `if __name__ == "__main__":` or in an installed command's entry
    function, and no `raise SystemExit`."""
    tree = ast.parse(path.read_text())
    guarded = {
        id(n)
        for block in tree.body
        if (isinstance(block, ast.If) and "__main__" in ast.unparse(block.test))
        or (isinstance(block, ast.FunctionDef) and block.name in ENTRY_POINTS)
        for n in ast.walk(block)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ("sys.exit", "exit"):
            assert id(node) in guarded, f"{path.name}:{node.lineno} ends the process"
        if isinstance(node, ast.Raise) and node.exc is not None:
            assert "SystemExit" not in ast.unparse(node.exc), f"{path.name}:{node.lineno}"


@pytest.mark.parametrize("path", PYTHON, ids=lambda p: str(p.relative_to(REPO)))
def test_processes_start_through_the_one_runner(path):
    relative = str(path.relative_to(REPO))
    uses = re.findall(r"\bsubprocess\.(run|Popen|call|check_output|check_call)\b", path.read_text())
    assert not uses or relative in OTHER_PROCESSES, f"{relative} starts processes itself"


@pytest.mark.parametrize("path", PYTHON, ids=lambda p: str(p.relative_to(REPO)))
def test_only_compose_py_drives_compose(path):
    relative = str(path.relative_to(REPO))
    drives = re.search(
        r'["\']docker["\'],\s*["\']compose["\']|docker\(\s*["\']compose', path.read_text()
    )
    assert not drives or relative == "src/softy_pinko_docker/compose.py", (
        f"{relative} drives Compose itself"
    )


def layout_entries() -> list[str]:
    """The paths that README.md's Layout tree names, as paths from the repo root."""
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    paths, parents = [], []
    for line in block.splitlines()[1:]:
        match = re.match(r"^([│ ]*)[├└]── ([^\s,]+(?:, [^\s,]+)*)", line)  # "lint.sh, act.sh"
        if not match:
            continue
        depth = len(match.group(1)) // 4
        parents[depth:] = [match.group(2).split(",")[0].rstrip("/")]
        for name in match.group(2).split(","):  # "lint.sh, act.sh"
            paths.append("/".join([*parents[:depth], name.strip().rstrip("/")]))
    return paths


def test_every_test_module_has_a_basename_of_its_own():
    """pytest imports test modules by basename (no packages under tests/): two files with one
    name make the whole run fail at collection, whichever subset a job selects."""
    names = [p.name for p in PYTHON if p.parts[len(REPO.parts)] == "tests"]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_the_readme_layout_names_files_that_exist():
    missing = [p for p in layout_entries() if "…" not in p and not (REPO / p).exists()]
    assert not missing, f"README.md's Layout names missing files: {missing}"


def test_the_readme_layout_lists_every_tool_and_top_level_entry():
    listed = set(layout_entries())
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    top = {p.split("/")[0] for p in tracked if not p.startswith((".", "task"))}
    # The package's modules and subpackages, one floor down.
    modules = {
        "/".join(p.split("/")[:3])
        for p in tracked
        if p.startswith(f"{PACKAGE}/") and not p.endswith("__init__.py")
    }
    assert top <= {p.split("/")[0] for p in listed}, f"not in the Layout: {top - listed}"
    assert modules <= listed, f"modules not in the Layout: {sorted(modules - listed)}"


@pytest.mark.parametrize(
    "path",
    sorted((REPO / "src/softy_pinko_docker/check").glob("task[0-9].py")),
    ids=lambda p: p.name,
)
def test_a_check_names_what_it_needs_by_reference(path):
    """check50's way: `needs=(dockerfile_exists,)`, the function itself, which a reader (and
    an editor) can follow; a string only the registry could resolve would drift unseen."""
    strings = [
        f"{path.name}:{node.lineno}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.keyword) and node.arg == "needs"
        for item in ast.walk(node.value)
        if isinstance(item, ast.Constant) and isinstance(item.value, str)
    ]
    assert not strings, f"a need named by a string: {strings}"
