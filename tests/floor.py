"""The test floor: a whole-suite run must collect at least tests/min-tests.txt tests.

A conftest that stops importing, a skip that spreads or a renamed folder would
otherwise still end green with fewer tests. Raise the floor when tests are
added. tests/conftest.py imports the two hooks below; tests/test_floor.py runs
them in a small suite of its own, with and without xdist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

MIN_TESTS_FILE = Path(__file__).resolve().parent / "min-tests.txt"


def _is_whole_suite(config: pytest.Config) -> bool:
    """No paths, -k or -m narrowed the run: it collects the configured testpaths."""
    narrowed = config.option.keyword or config.option.markexpr or config.option.deselect
    return config.args_source != pytest.Config.ArgsSource.ARGS and not narrowed


def check_test_floor(config: pytest.Config, collected: int) -> None:
    """Raise UsageError (pytest exits 4) when a whole-suite run collected fewer tests than the floor."""
    if not _is_whole_suite(config):
        return
    floor = int(MIN_TESTS_FILE.read_text().split()[0])
    if collected < floor:
        raise pytest.UsageError(
            f"collected {collected} tests, fewer than the floor of {floor} in {MIN_TESTS_FILE.name}: "
            "a test file stopped being collected (or lower the floor on purpose)"
        )


def pytest_collection_finish(session: pytest.Session) -> None:
    # An xdist worker leaves the check to the controller (below): a UsageError in a
    # worker only crashes that worker, and the run ends in an INTERNALERROR.
    if not hasattr(session.config, "workerinput"):
        check_test_floor(session.config, len(session.items))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Under xdist (scripts/test.sh runs `-n auto`) the controller collects nothing itself:
    each worker sends the ids it collected, and the same floor applies to them."""
    check_test_floor(node.config, len(ids))
