"""WAL checkpoints in a thread of their own, not in a request's COMMIT on the event loop.

The seam (docs/decisions.md, Database). In WAL mode with `synchronous=NORMAL`
a commit writes its pages to the WAL and syncs nothing; the syncs are the
checkpoint's, which copies the WAL back into the database file and syncs
both. By default SQLite runs one inside whichever COMMIT finds the WAL over
1,000 pages (every ~110-200 ticks), so a write route's request synced the
disk on the event loop now and then (3-22 ms seen), and every request in
flight waited. Under wrk that tail set the tick's p99 (bench/README.md, "the
tick, fifth round": 51-56 ms with the database on disk, 39 ms on tmpfs).

SQLite lets any connection checkpoint (https://www.sqlite.org/wal.html,
"Checkpointing"): a `Checkpointer` holds its own connection (the standard
library's `sqlite3`, which releases the GIL while SQLite works) and runs a
PASSIVE checkpoint every `INTERVAL_SECONDS`: it copies what no reader still
needs and never waits for a reader or a writer. The serving connections keep
an automatic checkpoint, at `ON_LOOP_PAGES` instead of 1,000, as a bound on
the WAL should this thread fall behind or fail. Durability is unchanged:
the same checkpoints sync the same files, from another thread.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.2
# The serving connections' wal_autocheckpoint (pages, ~4 KiB each): reached
# only if this thread falls behind; the default is 1,000.
ON_LOOP_PAGES = 10_000
THREAD_NAME = "sqlite-checkpoints"


class Checkpointer:
    """A daemon thread running PASSIVE checkpoints on one SQLite file until `stop()`."""

    def __init__(self, path: str, *, interval: float = INTERVAL_SECONDS) -> None:
        self.path = path
        self.interval = interval
        # (busy, WAL frames, frames checkpointed) of the last checkpoint; None before the first.
        self.last: tuple[int, int, int] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)

    def start(self) -> Checkpointer:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            # Unreachable (the server's own connections fail too, and /readyz says so):
            # no thread, and the serving connections' own bound holds.
            log.warning("WAL checkpoints: cannot open the database; SQLite's own checkpoints only")
            return
        failing = False
        try:
            while not self._stopping.wait(self.interval):
                try:
                    busy, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as error:
                    # Tried again next time; meanwhile the serving connections' own bound holds.
                    # Said once when it starts failing, not five times a second (the server's
                    # own requests report a broken database, and /readyz says so).
                    if not failing:
                        log.warning("WAL checkpoints failing (%s); SQLite's own checkpoints meanwhile", error)
                    failing = True
                    continue
                if failing:
                    log.info("WAL checkpoints resumed")
                failing = False
                self.last = (busy, frames, done)
        finally:
            conn.close()
