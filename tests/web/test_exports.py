"""Evidence exports: built off the event loop, once per wizard revision; activity paged; plan API limited.

Issue 12, finding 3: with 10,000 audit events report.json cost ~0.5 s of
synchronous CPU, and a view link could ask for it again and again while every
other request (/healthz included) waited.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.main import create_app, engine_of
from app.store import audit_log, db, share_links, wizards
from app.web import activity, evidence
from tests.conftest import WizardClient, make_settings

EVENTS = 5000


def _add_events(app: Any, token: str, count: int) -> None:
    engine = engine_of(app)
    access = share_links.resolve(engine, token=token, now=db.utcnow())
    assert access is not None
    with db.writing(engine) as conn:
        for number in range(count):
            audit_log.add_event(
                conn,
                wizard_id=access.wizard.id,
                actor=f"bot {number}",
                kind="step.done",
                now=db.utcnow(),
                step="create-user",
            )
        # The store's own writes say that the wizard changed; this direct one says it too.
        wizards.changed(conn, wizard_id=access.wizard.id)


@pytest.fixture
def export_client(tmp_path: Path) -> Iterator[WizardClient]:
    with WizardClient(create_app(make_settings(tmp_path, link_rate_per_minute=0))) as client:
        yield client


def test_exports_are_built_in_a_worker_thread_once_per_revision(
    export_client: WizardClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spy around the real builder: where it runs, and how often."""
    calls: list[tuple[str, bool]] = []
    real = evidence.render_export

    def spy(engine: Any, access: Any, fmt: str, by_placeholder: str) -> str:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        calls.append((fmt, on_loop))
        return real(engine, access, fmt, by_placeholder)

    monkeypatch.setattr(evidence, "render_export", spy)
    client = export_client
    token = client.new_wizard()
    client.form_post("/me", {"name": "Ada"})
    first = client.get(f"/w/{token}/report.json").json()
    client.form_post("/me", {"name": "Grace"})
    second = client.get(f"/w/{token}/report.json").json()
    assert calls == [("json", False)]  # built once, not on the event loop
    # Stamped per request: who asked and when; everything else the same.
    assert (first["generated_by"], second["generated_by"]) == ("Ada", "Grace")
    assert second["generated_at"] >= first["generated_at"] > "2020"
    assert {k: v for k, v in first.items() if not k.startswith("generated")} == {
        k: v for k, v in second.items() if not k.startswith("generated")
    }
    markdown = client.get(f"/w/{token}/report.md").text
    assert (
        markdown.splitlines()[2].startswith("Generated 20") and " by Grace with " in markdown.splitlines()[2]
    )
    assert calls == [("json", False), ("md", False)]

    # A change moves the revision: the next export is built again, and shows it.
    client.form_post(f"/w/{token}/steps/create-user?done=true")
    third = client.get(f"/w/{token}/report.json").json()
    assert calls[-1] == ("json", False) and len(calls) == 3
    assert third["checklist"]["done"] == 1 and first["checklist"]["done"] == 0


def test_healthz_is_served_while_a_large_export_is_built(tmp_path: Path) -> None:
    """Count /healthz answers that complete while one big export is in flight (no timing assertion)."""
    app = create_app(make_settings(tmp_path, link_rate_per_minute=0))

    async def scenario() -> tuple[int, int]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            csrf = "c" * 43
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", cookies={"cw_csrf": csrf}
            ) as client:
                created = await client.post("/api/v1/wizards", json={}, headers={"X-CSRF-Token": csrf})
                token = created.json()["token"]
                _add_events(app, token, EVENTS)
                export = asyncio.create_task(client.get(f"/w/{token}/report.json"))
                await asyncio.sleep(0)  # the export starts first
                answered = 0
                for _ in range(10_000):  # bounded; ends when the export does
                    if export.done():
                        break
                    health = await client.get("/healthz")
                    assert health.status_code == 200
                    answered += 1
                response = await export
                assert response.status_code == 200
                return answered, len(json.loads(response.text)["activity"])

    # In a thread of its own: in a whole-suite run the browser tests' Playwright
    # (sync API) keeps an event loop running in the main thread, and asyncio.run()
    # refuses to start beside it.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        answered, activity = pool.submit(asyncio.run, scenario()).result()
    assert activity == EVENTS + 1  # and the creation
    # On the event loop the export held it for its whole build: next to no /healthz got through.
    assert answered >= 5, answered


def test_activity_is_paged(export_client: WizardClient) -> None:
    client = export_client
    token = client.new_wizard()
    _add_events(client.app, token, 2 * activity.ACTIVITY_LIMIT + 5)
    first = client.get(f"/w/{token}/activity")
    assert first.status_code == 200
    assert first.text.count('<li><time datetime="') == activity.ACTIVITY_LIMIT
    assert "?page=2" in first.text and "?page=0" not in first.text
    # Newest first: the last event added (bot N-1) leads page 1.
    assert f"bot {2 * activity.ACTIVITY_LIMIT + 4}" in first.text.split("<li><time")[1]
    last = client.get(f"/w/{token}/activity?page=3")
    assert last.text.count('<li><time datetime="') == 6  # 5 left and the creation
    assert "?page=2" in last.text and "?page=4" not in last.text
    assert "No entries on this page" in client.get(f"/w/{token}/activity?page=9").text
    for bad in ("0", "-1", "x", "100001"):
        assert client.get(f"/w/{token}/activity?page={bad}").status_code == 422


def test_the_plan_api_is_rate_limited(tmp_path: Path) -> None:
    with WizardClient(create_app(make_settings(tmp_path, link_rate_per_minute=5))) as client:
        answers = [client.get("/api/v1/plan/bundle.zip").status_code for _ in range(6)]
        assert answers == [200] * 5 + [429]
        assert client.get("/api/v1/plan/policies").headers["retry-after"]
        assert client.get("/healthz").status_code == 200  # not a plan route
