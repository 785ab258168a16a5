"""`make bench`, part 3: what the images weigh and what building a back-end costs.

1. Every image of every task: its size and what it adds to its base (`docker image inspect`).
2. Beside them, a naive curriculum back-end as a learner first writes it (task1's api.py on
   Ubuntu, `apt-get install python3-pip`, `pip3 install flask`; today's Ubuntu needs
   `--break-system-packages` for that, PEP 668), built here for the comparison.
3. task6's back-end built from nothing but its base (`--no-cache`: APT, the venv, the locked
   packages), then again after a one-line change to api.py (warm: only the code layer).

The builds run in a temporary copy of the back-end under their own tags, removed at the end.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from softy_pinko_docker import REPO, sbom
from softy_pinko_docker.docker import ToolError, build, image, remove_images
from softy_pinko_docker.dockerfiles import final_base

TAG = "bench-images"
NAIVE_DOCKERFILE = """\
FROM ubuntu:latest
RUN apt-get update && apt-get upgrade -y && apt-get install -y python3 python3-pip
RUN pip3 install --break-system-packages flask
WORKDIR /app
COPY api.py .
EXPOSE 5252
CMD ["python3", "api.py"]
"""


def size(reference: str, base: str) -> dict[str, Any]:
    built, parent = image(reference), image(base)
    if built is None or parent is None:
        raise ToolError(f"{reference} or {base} is missing: `make bases`, then build it")
    return {
        "mb": round(built.size / 1e6, 1),
        "base": base,
        "over_base_mb": round((built.size - parent.size) / 1e6, 3),
    }


def size_of(reference: str, context: Path) -> dict[str, Any]:
    """The image's size over the base that its Dockerfile (in `context`) names last."""
    return size(reference, final_base(context))


def task_images() -> dict[str, dict[str, Any]]:
    """{image: its size} for every task's images (built when missing or stale)."""
    return {
        reference: size_of(reference, Path(context))
        for task in sorted(p.name for p in REPO.glob("task[0-9]*") if p.is_dir())
        for reference, context in sbom.images_of(task).items()
    }


def timed(step: Callable[[], None]) -> float:
    started = time.monotonic()
    step()
    return round(time.monotonic() - started, 1)


def measure(log: Callable[[str], None]) -> dict[str, Any]:
    log("image sizes of every task")
    results: dict[str, Any] = {"sizes": task_images()}
    work = Path(tempfile.mkdtemp(prefix="bench-images-"))
    tags = [f"{TAG}:naive", f"{TAG}:cold", f"{TAG}:warm"]
    try:
        naive = work / "naive"
        naive.mkdir()
        shutil.copy(REPO / "task1" / "api.py", naive)
        (naive / "Dockerfile").write_text(NAIVE_DOCKERFILE)
        log("a naive curriculum back-end (python3-pip with its recommends, pip3 install flask)")
        results["naive_build_s"] = timed(lambda: build(tags[0], naive, no_cache=True))
        results["naive"] = size(tags[0], "ubuntu:latest")
        back_end = shutil.copytree(REPO / "task6" / "back-end", work / "back-end")
        log("task6's back-end, cold (--no-cache: from its base)")
        results["cold_build_s"] = timed(lambda: build(tags[1], back_end, no_cache=True))
        with (back_end / "api.py").open("a") as api:
            api.write("\n# a one-line change\n")
        log("task6's back-end, warm (api.py changed)")
        results["warm_build_s"] = timed(lambda: build(tags[2], back_end))
    finally:
        remove_images(f"{TAG}:*")
        shutil.rmtree(work, ignore_errors=True)
    return results


def over_base(size: dict[str, Any]) -> str:
    """`+41.3 MB over ubuntu:latest`, or in kB where a config file is all an image adds."""
    added = size["over_base_mb"]
    return f"+{added:.1f} MB" if abs(added) >= 0.1 else f"+{added * 1e3:.1f} kB"


def table(results: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        (f"image {name}", f"{s['mb']:.1f} MB, {over_base(s)} over {s['base']}")
        for name, s in results["sizes"].items()
    ]
    naive = results["naive"]
    rows.append(
        (
            "naive curriculum back-end (python3-pip, pip3 install flask)",
            f"{naive['mb']:.1f} MB, {over_base(naive)} over {naive['base']}, "
            f"built in {results['naive_build_s']:.1f} s",
        )
    )
    rows.append(("task6 back-end build, cold (--no-cache)", f"{results['cold_build_s']:.1f} s"))
    rows.append(("task6 back-end build, warm (api.py changed)", f"{results['warm_build_s']:.1f} s"))
    return rows
