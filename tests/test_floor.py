"""The test floor and the empty run fail under xdist as they do in one process (docs/decisions.md#ci-time).

Under xdist the controller collects nothing itself (its session has no items):
the floor is checked on the ids each worker reports (tests/floor.py). These
run a small suite of three tests with the floor hooks and a floor file of
their own, in a child pytest, once per case.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

CONFTEST = """
from pathlib import Path

import tests.floor
from tests.floor import pytest_collection_finish, pytest_xdist_node_collection_finished  # noqa: F401

tests.floor.MIN_TESTS_FILE = Path(__file__).parent / "min-tests.txt"
"""

THREE_TESTS = """
def test_one():
    assert 1 + 1 == 2

def test_two():
    assert "a" * 2 == "aa"

def test_three():
    assert [1, 2][-1] == 2
"""


def run_suite(tmp_path: Path, floor: int, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = suite\naddopts = -p no:cacheprovider\n")
    (tmp_path / "suite").mkdir(exist_ok=True)
    (tmp_path / "suite" / "conftest.py").write_text(CONFTEST)
    (tmp_path / "suite" / "test_three.py").write_text(THREE_TESTS)
    (tmp_path / "suite" / "min-tests.txt").write_text(f"{floor}\n")
    # Only xdist among the installed plugins: loading them all costs seconds per process.
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "xdist.plugin", "-q", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("workers", [["-n", "2"], ["-n", "0"]], ids=["xdist", "one-process"])
def test_a_run_that_collects_fewer_tests_than_the_floor_fails(tmp_path: Path, workers: list[str]) -> None:
    result = run_suite(tmp_path, 4, *workers)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "collected 3 tests, fewer than the floor of 4" in result.stdout + result.stderr
    assert "INTERNALERROR" not in result.stdout + result.stderr


def test_a_run_at_the_floor_passes_under_xdist(tmp_path: Path) -> None:
    result = run_suite(tmp_path, 3, "-n", "2")
    assert result.returncode == pytest.ExitCode.OK, result.stdout + result.stderr
    assert "3 passed" in result.stdout


def test_a_narrowed_run_is_not_held_to_the_floor(tmp_path: Path) -> None:
    result = run_suite(tmp_path, 4, "-n", "2", "-k", "one")
    assert result.returncode == pytest.ExitCode.OK, result.stdout + result.stderr


def test_a_run_that_collects_nothing_fails_with_5_under_xdist(tmp_path: Path) -> None:
    result = run_suite(tmp_path, 0, "-n", "2", "-k", "no_test_has_this_name")
    assert result.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, result.stdout + result.stderr
