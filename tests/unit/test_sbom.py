"""sbom.py's reading of an image's files, without Docker."""

from softy_pinko_docker import sbom

STATUS = """\
Package: base-files
Status: install ok installed
Architecture: amd64
Version: 13.8+deb13u8

Package: removed-one
Status: deinstall ok config-files
Version: 1.0

Package: nginx
Status: install ok installed
Architecture: amd64
Version: 1.30.6-2
Description: small, powerful, scalable web/proxy server
 continued on a second line
"""


def test_only_installed_debian_packages_are_listed():
    found = sbom.parse_dpkg_status(STATUS)
    assert [(p["Package"], p["Version"]) for p in found] == [
        ("base-files", "13.8+deb13u8"),
        ("nginx", "1.30.6-2"),
    ]


def test_components_carry_package_urls_for_their_ecosystem():
    contents = sbom.Contents(
        os_release=sbom.parse_os_release('ID=debian\nVERSION_CODENAME=trixie\nNAME="Debian"\n'),
        debian=sbom.parse_dpkg_status(STATUS),
        python=[
            sbom.python_dist(
                "opt/venv/lib/python3.13/site-packages/flask-3.1.3.dist-info/METADATA",
                "Metadata-Version: 2.4\nName: Flask\nVersion: 3.1.3\n\nLong description\n",
            )
        ],
    )
    purls = [str(c.purl) for c in sbom.components(contents)]
    assert purls == [
        "pkg:deb/debian/base-files@13.8%2Bdeb13u8?arch=amd64&distro=debian-trixie",
        "pkg:deb/debian/nginx@1.30.6-2?arch=amd64&distro=debian-trixie",
        "pkg:pypi/flask@3.1.3",
    ]


def test_every_task_has_images_to_describe():
    single = set(sbom.SINGLE_IMAGES)
    composed = {p.parent.name for p in sbom.REPO.glob("task*/docker-compose.yml")}
    tasks = {p.name for p in sbom.REPO.glob("task[0-9]*") if p.is_dir()}
    assert single | composed == tasks and not single & composed
