"""What lives as long as the process, moved out of the cycle collector's reach (`gc.freeze`).

Modules, SQLAlchemy metadata, compiled templates and statements, FastAPI's
analysis of each route and pydantic's validators live as long as the process.
Every full collection walked all of them: a 50-70 ms pause every few seconds
under load, which set the p99 (measured with a gc.callbacks hook under wrk;
bench/README.md). Frozen, a full collection walks only what requests left
behind. Frozen objects are still freed by reference counting; only cycles
among them are never collected. https://docs.python.org/3/library/gc.html#gc.freeze

Two moments freeze: the end of start-up (app/main.py), and the end of each
route's first request (app/web/lazy_route.py), since routes are analysed on
first use (docs/decisions.md#cold-start) and a route's first request also
compiles its templates and statements. That is a bounded number of freezes
(one per route), so what else is alive at those moments and later becomes
cyclic garbage (another request in flight) stays frozen in bounded amount.
"""

from __future__ import annotations

import gc


def freeze() -> None:
    """Freeze everything alive now, after collecting the young generations.

    Only the young ones: their garbage is freed rather than frozen, and a full
    collection would walk everything the freeze is meant to spare it.
    """
    if gc.isenabled():
        gc.collect(1)
    gc.freeze()
