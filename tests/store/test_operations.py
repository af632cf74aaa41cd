"""Operating the database: `connector-wizard db current|upgrade|backup`, and /readyz.

The CLI runs in-process through app.cli.main (the same code path as the
console script); the backup is opened afterwards as an ordinary SQLite file.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

from app.cli import main
from app.domain.plan import parse_plan
from app.main import create_app, engine_of
from app.settings import Settings
from app.store import checkpoints, db, share_links, steps, wizards
from app.store.backup import BackupError, backup_sqlite
from app.store.database import Database


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_db_current_says_whether_the_database_is_up_to_date(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(capsys, "db", "current", "--database-url", database_url)
    if database_url.startswith("sqlite"):
        # A SQLite file that does not exist is said so, not created (issue 15.13).
        assert status == 2 and "no SQLite database at" in err and "connector-wizard db upgrade" in err
        assert not Path(make_url(database_url).database or "").exists()
    else:
        assert status == 1
        assert "no migrations applied" in out and "connector-wizard db upgrade" in out
    status, out, _ = _run(capsys, "db", "upgrade", "--database-url", database_url)
    assert status == 0 and f"head {db.head_revision()}" in out
    status, out, _ = _run(capsys, "db", "current", "--database-url", database_url)
    assert status == 0
    assert f"at {db.head_revision()}, the latest migration: up to date" in out
    assert "***" in out or "sqlite" in out  # a PostgreSQL password is never printed
    password = make_url(database_url).password
    assert not password or password not in out


def test_db_current_on_an_unreachable_database_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(
        capsys, "db", "current", "--database-url", "postgresql+psycopg://wizard:s3cret@127.0.0.1:1/wizard"
    )
    assert status == 2
    assert out == ""
    assert err.startswith("connector-wizard: database postgresql+psycopg://wizard:***@127.0.0.1:1/wizard: ")
    assert "s3cret" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def _filled_sqlite(tmp_path: Path) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    now = db.utcnow()
    record, token = wizards.create_wizard(engine, plan=parse_plan({}), actor="ana", now=now, link_days=30)
    steps.set_step_done(engine, wizard_id=record.id, step_id="create-user", done=True, actor="ana", now=now)
    engine.dispose()
    return url, token


def test_backup_makes_a_checked_copy_that_opens_the_same_wizards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, token = _filled_sqlite(tmp_path)
    target = tmp_path / "backup.sqlite3"
    status, out, _ = _run(capsys, "db", "backup", str(target), "--database-url", url)
    assert status == 0
    assert f"backed up 1 wizards to {target}" in out and "integrity_check ok" in out
    assert not target.with_name("backup.sqlite3.partial").exists()
    # An ordinary, self-contained SQLite file that passes integrity_check.
    with sqlite3.connect(target) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    # ...and the app can serve from it.
    restored = db.make_engine(f"sqlite:///{target}")
    access = share_links.resolve(restored, token=token, now=db.utcnow())
    assert access is not None
    assert steps.step_states(restored, wizard_id=access.wizard.id)["create-user"].done
    restored.dispose()


def test_backup_while_the_server_writes(tmp_path: Path) -> None:
    # The online backup API copies a consistent snapshot while writes go on.
    url, _ = _filled_sqlite(tmp_path)
    engine = db.make_engine(url)
    stop = threading.Event()
    now = db.utcnow()

    def write() -> None:
        while not stop.is_set():
            wizards.create_wizard(engine, plan=parse_plan({}), actor="w", now=now, link_days=1)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        results = [backup_sqlite(engine, tmp_path / f"b{i}.sqlite3") for i in range(3)]
    finally:
        stop.set()
        writer.join(timeout=10)
        engine.dispose()
    assert all(result.wizards >= 1 for result in results)
    for result in results:
        with sqlite3.connect(result.path) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert raw.execute("PRAGMA foreign_key_check").fetchall() == []


def test_backup_refuses_to_overwrite_and_needs_a_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = _filled_sqlite(tmp_path)
    existing = tmp_path / "old.sqlite3"
    existing.write_bytes(b"keep me")
    status, _, err = _run(capsys, "db", "backup", str(existing), "--database-url", url)
    assert status == 2 and "already exists" in err
    assert existing.read_bytes() == b"keep me"
    status, _, err = _run(capsys, "db", "backup", "--database-url", url)
    assert status == 2 and "needs a PATH" in err
    status, _, err = _run(
        capsys, "db", "backup", str(tmp_path / "no" / "such" / "dir.sqlite3"), "--database-url", url
    )
    assert status == 2 and "is not a folder" in err


def test_backup_on_postgresql_points_to_pg_dump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Decided from the URL alone: no connection is made.
    url = "postgresql+psycopg://wizard:s3cret@127.0.0.1:1/wizard"
    status, out, err = _run(capsys, "db", "backup", str(tmp_path / "x.dump"), "--database-url", url)
    assert status == 2 and out == ""
    assert "pg_dump --format=custom" in err and "s3cret" not in err
    assert not (tmp_path / "x.dump").exists()
    with pytest.raises(BackupError, match="pg_dump"):
        backup_sqlite(db.make_engine(url), tmp_path / "y.dump")


def test_readyz_is_ok_at_head(client: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "migration": db.head_revision()}
    assert client.get("/healthz").json()["status"] == "ok"


def test_readyz_is_503_when_the_database_is_behind_head(client: Any) -> None:
    engine = engine_of(client.app)
    with db.writing(engine) as conn:
        conn.execute(text("DELETE FROM alembic_version"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "migration": None, "head": db.head_revision()}
    assert client.get("/healthz").status_code == 200  # liveness does not depend on the database


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_readyz_is_503_when_the_database_is_unreachable(settings: Any, tmp_path: Path, kind: str) -> None:
    app = create_app(settings)
    with TestClient(app) as client:
        live = app.state.database
        # The database goes away under a running server: a folder where the file
        # should be, or a PostgreSQL port nobody listens on.
        gone = f"sqlite:///{tmp_path}" if kind == "sqlite" else "postgresql+psycopg://u:p@127.0.0.1:1/x"
        app.state.database = Database(gone)
        try:
            response = client.get("/readyz")
        finally:
            app.state.database.close()
            app.state.database = live
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "unreachable"}
        assert client.get("/readyz").status_code == 200


@contextmanager
def _no_checkpoint_thread_left() -> Iterator[None]:
    """Fails if a checkpoints' thread (app/store/checkpoints.py) started inside the block outlives it."""
    before = set(threading.enumerate())
    yield
    left = [t for t in set(threading.enumerate()) - before if t.name == checkpoints.THREAD_NAME]
    assert left == []


def test_an_app_whose_migrations_fail_does_not_start(tmp_path: Path) -> None:
    # Fail closed: the lifespan raises, so nothing is served from a broken database.
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"this is not a SQLite database" * 100)
    settings = Settings(_env_file=None, database_url=f"sqlite:///{broken}", purge_interval_minutes=0)  # type: ignore[call-arg]
    # Nothing it started outlives it: a checkpoints' thread left on the broken file logged
    # its failure five times a second for the rest of the process.
    with _no_checkpoint_thread_left(), pytest.raises(DatabaseError), TestClient(create_app(settings)):
        pass


def test_a_start_that_fails_after_the_database_opened_closes_it(tmp_path: Path) -> None:
    # Demo mode seeding an emulator that is not there: the start fails after open() migrated
    # the new file (engine and checkpoints' thread running); the lifespan still closes it.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'w.sqlite3'}",
        purge_interval_minutes=0,
        demo=True,
        aws_endpoint_url=f"http://127.0.0.1:{closed_port}",
    )
    with (
        _no_checkpoint_thread_left(),
        pytest.raises(EndpointConnectionError),
        TestClient(create_app(settings)),
    ):
        pass


def test_serve_exits_non_zero_before_listening_when_migrations_fail(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"this is not a SQLite database" * 100)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CONNECTOR_WIZARD_")}
    environment |= {"CONNECTOR_WIZARD_DATABASE_URL": f"sqlite:///{broken}", "CONNECTOR_WIZARD_PORT": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stderr[-2000:]
    assert "Application startup failed" in result.stderr
    assert "Uvicorn running on" not in result.stderr
