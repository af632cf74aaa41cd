"""Where templates/, static/ and migrations/ are.

In a source checkout they sit at the top level of the repository; in an
installed wheel they are copied into the package (pyproject.toml force-include).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_path(name: str) -> Path:
    installed = _PACKAGE / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name
