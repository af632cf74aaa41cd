"""The store: the only layer that talks to the database.

Seam "the store on first use" (docs/decisions.md#cold-start): importing
SQLAlchemy and building every table and prepared statement was about a third
of a restart's CPU, and a start needs none of it (it checks the database's
revision with the standard library, app/store/database.py). So each module
below is registered here as a lazy module (the standard library's
`importlib.util.LazyLoader`): `from app.store import db` at the top of a web
module binds the name, and the module's code runs at the first attribute
read. `database.Database.engine`, the one way the app reaches the database,
calls `load()` before it creates the engine, so a first request runs every
module's code at once.

Python 3.11's lazy module is not safe for two threads reading it for the first
time (CPython gh-114763). It does not need to be here: every route and
dependency is `async def`, so requests touch the store on the event loop's
thread, and the threads that use the store (verification runs, exports)
are handed an engine, which `load()` preceded.
"""

from __future__ import annotations

import importlib.util
import sys

# Every module of this package except `database`, which start-up itself runs.
LAZY = ("audit_log", "backup", "db", "models", "prepared", "share_links", "steps", "verifications", "wizards")


def _register_lazily(name: str) -> None:
    full = f"{__name__}.{name}"
    if full in sys.modules:
        return
    spec = importlib.util.find_spec(full)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {full}")
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[full] = module
    spec.loader.exec_module(module)  # runs nothing yet: only marks the module lazy
    setattr(sys.modules[__name__], name, module)


def load() -> None:
    """Run every store module's code now (SQLAlchemy, the tables, the statements)."""
    for name in LAZY:
        sys.modules[f"{__name__}.{name}"].__name__  # noqa: B018 -- any first read of a lazy module executes it


for _name in LAZY:
    _register_lazily(_name)
