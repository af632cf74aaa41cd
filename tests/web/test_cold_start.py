"""Start-up imports nothing it does not need (issue 14; docs/decisions.md#cold-start).

boto3 and botocore are only needed once a verification runs: app/web/verify.py
imports app/aws behind its lazy AWS seam. This runs a fresh interpreter, starts
the app (lifespan and migrations included), serves a page, and fails if either
was imported. The time itself is measured by bench/cold_start.py, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

NOT_AT_START = ("boto3", "botocore", "moto")

PROGRAM = """
import json, sys
from fastapi.testclient import TestClient
import app.cli
from app.main import create_app
from app.settings import Settings

settings = Settings(
    _env_file=None, database_url=sys.argv[1], purge_interval_minutes=0, allowed_hosts="testserver"
)
with TestClient(create_app(settings)) as client:
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 200
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_start_up_and_a_page_import_no_aws_sdk(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, f"sqlite:///{tmp_path / 'start.sqlite3'}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "fastapi" in loaded  # the probe does see what start-up imported
    assert loaded.isdisjoint(NOT_AT_START), sorted(loaded & set(NOT_AT_START))
