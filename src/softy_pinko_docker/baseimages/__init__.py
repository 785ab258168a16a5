"""Make every base image named by the repo's Dockerfiles available locally.

For each base (``FROM`` lines, multi-stage and ``ARG`` defaults included) that is missing, try
``docker pull``. When the registry cannot be reached, build a *stand-in* from Debian packages:
an image tagged with the official name, labelled as a stand-in, that behaves like the official
image for everything this repo's Dockerfiles rely on. Stand-ins are cached: a label carries a
key computed from their inputs (the recipe, the code that builds it, and for Python the
requirements files), and an image is rebuilt only when that key changes.

Online, a base with a digest recorded in base-images.lock is pulled by that digest (and tagged
with its name), so a build a month later starts from the same bytes; the Dockerfiles keep their
readable tags, which a stand-in can carry offline and a digest could not. `record` (run by
`make lock`) pulls each base by its tag and writes its digest there.

- inventory.py   which bases the Dockerfiles name, and the locks a Python stand-in's wheels obey
- recipes.py     what each stand-in is: the shell scripts and Dockerfiles of stand-ins/
- standins.py    building one: debootstrap, the recipe's scripts, the wheelhouse, `docker build`
- registry.py    pulling, tried again while the registry is only busy; the digest lock
- command.py     `softy-pinko-docker bases`: ensure, list, status, runner, cluster, record
"""

from __future__ import annotations

STANDIN_LABEL = "org.softy-pinko.standin"
# Where a stand-in's bootstrapped filesystem is cached (`make clean` keeps it).
ROOTFS_REPOSITORY = "softy-pinko-standin-rootfs"
KEY_LABEL = "org.softy-pinko.standin.key"


def log(message: str) -> None:
    print(f"[bases] {message}", flush=True)
