"""A CycloneDX SBOM for each of the project's images: the Debian packages and the Python
distributions inside, read from the image's files (nothing in the image is run).

    softy-pinko-docker sbom [taskN ...]    build the tasks' images (all by default), write
                                        reports/sbom/<image>.cdx.json, print a count per image

An image's filesystem comes from `docker export` of a container that is created, never started:
dpkg's status database, /etc/os-release, and every `*.dist-info/METADATA` under a site- or
dist-packages folder. cyclonedx-python-lib (the CycloneDX project's own) writes and validates
the document; the serial number and timestamp come from the image and its commit, so the same
image always gives the same file.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.parser
import json
import re
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from cyclonedx.model import Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL
from packaging.utils import canonicalize_name

from softy_pinko_docker import REPO, cli
from softy_pinko_docker.baseimages import STANDIN_LABEL
from softy_pinko_docker.compose import ComposeProject
from softy_pinko_docker.docker import ToolError, build, docker, docker_json, image, run
from softy_pinko_docker.dockerfiles import final_base

OUT = REPO / "reports" / "sbom"
# Tasks that are single images, not Compose files: the image tags the curriculum gives them.
SINGLE_IMAGES = {
    "task0": {".": "softy-pinko:task0"},
    "task1": {".": "softy-pinko:task1"},
    "task2": {"back-end": "softy-pinko-back-end:task2", "front-end": "softy-pinko-front-end:task2"},
    "task3": {"back-end": "softy-pinko-back-end:task3", "front-end": "softy-pinko-front-end:task3"},
}
_DIST_INFO = re.compile(r"/(site|dist)-packages/[^/]+\.dist-info/(METADATA|RECORD)$")


@dataclasses.dataclass
class Contents:
    """What an image holds, as its files say."""

    os_release: dict[str, str] = dataclasses.field(default_factory=dict)
    debian: list[dict[str, str]] = dataclasses.field(default_factory=list)
    python: list[dict[str, str]] = dataclasses.field(default_factory=list)  # name, version, ...


def parse_dpkg_status(text: str) -> list[dict[str, str]]:
    """Installed packages of dpkg's status file (one paragraph per package)."""
    installed = []
    for paragraph in text.split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): ?(.*)$", paragraph, re.MULTILINE))
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            installed.append(fields)
    return sorted(installed, key=lambda f: f["Package"])


def parse_os_release(text: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r"^([A-Z_]+)=(.*)$", text, re.MULTILINE)}


def read_image(reference: str) -> Contents:
    """Stream the image's filesystem and keep the few files an SBOM needs."""
    container = docker("create", reference).strip()
    contents, records = Contents(), {}
    try:
        # Our own stream rather than run(): the export is hundreds of MB of binary tar.
        with (
            subprocess.Popen(["docker", "export", container], stdout=subprocess.PIPE) as proc,
            tarfile.open(fileobj=proc.stdout, mode="r|") as archive,
        ):
            for member, data in interesting(archive):
                if member in ("etc/os-release", "usr/lib/os-release"):
                    contents.os_release = contents.os_release or parse_os_release(data)
                elif member == "var/lib/dpkg/status":
                    contents.debian = parse_dpkg_status(data)
                elif member.endswith("/RECORD"):
                    records[member.rsplit("/", 1)[0]] = data
                else:
                    contents.python.append(python_dist(member, data))
    finally:
        run(["docker", "rm", "-f", container], check=False)
    for dist in contents.python:
        dist["record"] = records.get(dist["folder"], "")
    contents.python.sort(key=lambda d: (d["name"], d["version"]))
    return contents


def interesting(archive: tarfile.TarFile) -> Iterator[tuple[str, str]]:
    wanted = ("etc/os-release", "usr/lib/os-release", "var/lib/dpkg/status")
    for member in archive:
        if member.isfile() and (member.name in wanted or _DIST_INFO.search("/" + member.name)):
            extracted = archive.extractfile(member)
            if extracted is not None:
                yield member.name, extracted.read().decode("utf-8", "replace")


def python_dist(member: str, metadata: str) -> dict[str, str]:
    headers = email.parser.Parser().parsestr(metadata, headersonly=True)
    return {
        "name": canonicalize_name(headers.get("Name", "")),
        "version": headers.get("Version", ""),
        "license": headers.get("License-Expression", ""),
        "folder": member.rsplit("/", 1)[0],
    }


def components(contents: Contents) -> list[Component]:
    distro = contents.os_release.get("ID", "debian")
    release = contents.os_release.get("VERSION_CODENAME") or contents.os_release.get("VERSION_ID")
    found = []
    for pkg in contents.debian:
        qualifiers = {"arch": pkg.get("Architecture", ""), "distro": f"{distro}-{release}"}
        purl = PackageURL("deb", distro, pkg["Package"], pkg.get("Version"), qualifiers)
        found.append(Component(name=pkg["Package"], version=pkg.get("Version"), purl=purl))
    for dist in contents.python:
        purl = PackageURL("pypi", None, dist["name"], dist["version"])
        found.append(Component(name=dist["name"], version=dist["version"], purl=purl))
    for component in found:
        component.bom_ref.value = str(component.purl)
    return found


def base_of(context: str) -> list[Property]:
    """The base image a build used, as SBOM properties: its tag, its image ID, and its registry
    digest when it was pulled (a stand-in, built offline, has none and says so)."""
    base = final_base(Path(context))
    found = docker_json("image", "inspect", base) if base else []
    if not found:
        return []
    digests = found[0].get("RepoDigests") or []
    labels = (found[0].get("Config") or {}).get("Labels") or {}
    digest = (
        digests[0]
        if digests
        else "none: "
        + ("a stand-in built offline" if labels.get(STANDIN_LABEL) == "true" else "built locally")
    )
    return [
        Property(name="softy-pinko:base.name", value=base),
        Property(name="softy-pinko:base.id", value=found[0]["Id"]),
        Property(name="softy-pinko:base.digest", value=digest),
    ]


def bom_of(reference: str, contents: Contents, base: list[Property]) -> str:
    """The SBOM document of one image, validated against CycloneDX 1.6's schema."""
    info = image(reference)
    if info is None:
        raise ToolError(f"no image {reference}: build it first (make sbom builds it)")
    labels = info.labels
    created = labels.get("org.opencontainers.image.created", "")
    try:
        timestamp = datetime.datetime.fromisoformat(created)
    except ValueError:
        timestamp = datetime.datetime.fromtimestamp(0, datetime.UTC)
    subject = Component(
        name=reference,
        version=info.id,
        type=ComponentType.CONTAINER,
        bom_ref=reference,
        properties=[*base, *(Property(name=k, value=v) for k, v in sorted(labels.items()))],
    )
    inside = components(contents)
    bom = Bom(
        components=inside,
        metadata=BomMetaData(component=subject, timestamp=timestamp),
        serial_number=uuid.uuid5(uuid.NAMESPACE_URL, f"{reference}@{info.id}"),
    )
    bom.register_dependency(subject, inside)  # the image holds each; their own graph is unknown
    document = JsonV1Dot6(bom).output_as_string(indent=2)
    invalid = JsonStrictValidator(SchemaVersion.V1_6).validate_str(document)
    if invalid:
        raise ToolError(f"the SBOM of {reference} is not valid CycloneDX 1.6: {invalid}")
    return document


def images_of(task: str) -> dict[str, str]:
    """{image: build context} of a task, built when missing or stale (builds are cached)."""
    if task in SINGLE_IMAGES:
        found = {tag: str(REPO / task / ctx) for ctx, tag in SINGLE_IMAGES[task].items()}
        for tag, context in found.items():
            build(tag, context)
        return found
    project = ComposeProject.for_task(task, f"sbom-{task}")
    project.run("build", "--quiet", timeout=900)
    config = json.loads(project.run("config", "--format", "json").stdout)
    return {svc["image"]: svc["build"]["context"] for svc in config["services"].values()}


def write(reference: str, context: str) -> Path:
    contents = read_image(reference)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{reference.replace(':', '_').replace('/', '_')}.cdx.json"
    path.write_text(bom_of(reference, contents, base_of(context)) + "\n")
    print(
        f"[sbom] {reference}: {len(contents.debian)} Debian packages, "
        f"{len(contents.python)} Python distributions -> {path.relative_to(REPO)}",
        flush=True,
    )
    return path


def main(argv: list[str]) -> int:
    parser = cli.parser(argv, "softy_pinko_docker.sbom", __doc__)
    parser.add_argument("tasks", nargs="*", metavar="TASK", help="default: every task")
    asked = parser.parse_args(argv[1:]).tasks
    tasks = asked or sorted(p.name for p in REPO.glob("task[0-9]*") if p.is_dir())
    for task in tasks:
        if not (REPO / task).is_dir():
            raise ToolError(f"no task {task}: name one of task0 ... task6")
        for reference, context in sorted(images_of(task).items()):
            write(reference, context)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
