"""dockerfiles.py: Dockerfiles read as BuildKit reads them, for every part of the project."""

import pytest

from softy_pinko_docker import dockerfiles

MULTI_STAGE = """\
# syntax comments and blank lines are ignored

ARG PY_TAG=3.13-slim
ARG REGISTRY
FROM --platform=$BUILDPLATFORM python:${PY_TAG} AS build
RUN pip wheel -r requirements.txt
FROM build AS test
FROM ${REGISTRY:-docker.io/library/}nginx:1.30 \\
    AS web
COPY --from=build /wheels /wheels
FROM scratch
FROM python:3.13-slim
"""


def test_bases_follow_arg_defaults_and_skip_stages_and_scratch():
    assert dockerfiles.bases(dockerfiles.parse(MULTI_STAGE)) == [
        "python:3.13-slim",
        "docker.io/library/nginx:1.30",
    ]


def test_arg_after_first_from_does_not_change_bases():
    text = "ARG TAG=1\nFROM img:$TAG\nARG TAG=2\nFROM other:$TAG\n"
    # A global ARG is the only kind FROM sees; the later ARG belongs to a stage.
    assert dockerfiles.bases(dockerfiles.parse(text)) == ["img:1", "other:1"]


@pytest.mark.parametrize(
    "text",
    [
        "\ufeffFROM ubuntu:latest\nRUN apt-get update\n",  # a byte-order mark: Docker drops it
        "FROM ubuntu:latest\r\nRUN apt-get update\r\n",  # CRLF
        "FROM \\\n\nubuntu:latest\nRUN apt-get \\\n# a comment inside\n  update\n",
        "# escape=`\nFROM ubuntu:latest\nRUN apt-get `\n  update\n",
    ],
    ids=["BOM", "CRLF", "blank line and comment in a continuation", "escape directive"],
)
def test_what_docker_reads_is_what_every_part_reads(text):
    found = dockerfiles.parse(text)
    assert [i.keyword for i in found] == ["FROM", "RUN"]
    assert dockerfiles.bases(found) == ["ubuntu:latest"]
    assert found[1].value.split() == ["apt-get", "update"]


def test_forms_flags_heredocs_and_lines():
    found = dockerfiles.parse(
        'from ubuntu\nCOPY --chown=1:1 a b /dest/\nCMD ["echo", "Hello, World!"]\n'
        "RUN <<EOT\necho hi\nEOT\nWORKDIR /app\n"
    )
    assert [(i.keyword, i.line, i.end_line) for i in found] == [
        ("FROM", 1, 1), ("COPY", 2, 2), ("CMD", 3, 3), ("RUN", 4, 6), ("WORKDIR", 7, 7),
    ]  # fmt: skip
    assert found[1].flags == ("--chown=1:1",) and found[1].arguments == ("a", "b", "/dest/")
    assert found[2].exec_form and found[2].arguments == ("echo", "Hello, World!")
    assert found[3].heredocs == ("echo hi\n",)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\x00\x01 \n"])
def test_a_file_docker_would_refuse_is_unreadable(text):
    with pytest.raises(dockerfiles.Unreadable, match="no instructions"):
        dockerfiles.parse(text)
