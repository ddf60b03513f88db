"""docker/: the compose file and the Dockerfile agree with the code they run.

No Docker engine runs on the CI machines, so the images are not built here; what can drift
silently is checked instead: every command a service runs parses with autorl's own CLI, every
``AUTORL_*`` variable it sets is one autorl reads, and every path the Dockerfile copies exists.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from autorl.api.settings import ENV_NAMES
from autorl.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
KNOWN_VARIABLES = set(ENV_NAMES.values())


def autorl_commands(command: list[str]) -> list[list[str]]:
    """The autorl invocations in a service command (``sh -c "a && exec b"`` included)."""
    if command[:2] == ["sh", "-c"]:
        parts = re.split(r"&&|;", command[2])
        words = [shlex.split(part) for part in parts]
        words = [w[1:] if w[:1] == ["exec"] else w for w in words]
    else:
        words = [command]
    return [w[1:] for w in words if w and w[0] == "autorl"]


@pytest.mark.parametrize("service", ["api", "worker", "worker-gpu"])
def test_service_commands_parse_with_the_cli(service):
    commands = autorl_commands(SERVICES[service]["command"])
    assert commands, f"{service} runs no autorl command"
    for args in commands:
        build_parser().parse_args(args)  # SystemExit on an unknown option or subcommand


def test_the_api_migrates_before_serving_and_workers_wait_for_it():
    assert [c[:2] for c in autorl_commands(SERVICES["api"]["command"])] == [
        ["db", "upgrade"],
        ["serve", "--host"],
    ]
    for worker in ("worker", "worker-gpu"):
        assert SERVICES[worker]["depends_on"]["api"]["condition"] == "service_healthy"
    assert SERVICES["worker-gpu"]["profiles"] == ["gpu"]
    assert "pgdata" in COMPOSE["volumes"]


def test_services_set_only_variables_autorl_reads():
    for name, service in SERVICES.items():
        for variable in service.get("environment", {}):
            if variable.startswith("AUTORL_"):
                assert variable in KNOWN_VARIABLES, f"{name} sets unknown {variable}"
        storage = service.get("environment", {}).get("AUTORL_STORAGE", "")
        assert name == "postgres" or storage.startswith("postgresql+psycopg://")


def test_dockerfile_copies_paths_that_exist_and_installs_the_service_extras():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    copied = re.findall(r"^COPY (.+) \S+$", dockerfile, flags=re.MULTILINE)
    sources = [src for line in copied for src in line.split()]
    assert sources, "no COPY lines found"
    for source in sources:
        assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    assert '".[postgres,api]"' in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "storage/*.db" in ignored
