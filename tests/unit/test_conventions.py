"""What the curriculum's checker reads as it is (../shared/CONVENTIONS.md), byte for byte."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_scaling_command_file_holds_the_curriculum_command():
    """task6/2-api-servers.txt: "the exact docker-compose command", with its newline."""
    command = (REPO / "task6" / "2-api-servers.txt").read_bytes()
    assert command == b"docker-compose up --scale back-end=2\n"
