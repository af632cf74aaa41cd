"""One mechanism for every wizard page: render.render_page and its PageCache (issue 14).

Every GET page and fragment of a wizard is rendered once per PageKey and then
served from the cache with this request's CSRF token, display name and time
filled in. These tests prove that every page goes through it (a sweep of the
app's own route table), that a key holds everything a page depends on (the
link's kind, the query, a running verification, the time a link expires), and
that every write invalidates what it changes.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import update

from app.domain.verification.jobs import VerificationProgress
from app.main import engine_of
from app.store import db, share_links, verifications, wizards
from app.store.models import SHARE_LINK
from app.web.render import MAX_CACHED_QUERY, PageCache
from tests.conftest import WizardClient
from tests.web.routes import concrete_path, endpoints, link_ids, mint_link


def _cache(client: WizardClient) -> PageCache:
    cache: PageCache = client.app.state.page_cache  # type: ignore[attr-defined]
    return cache


def _html_pages(client: WizardClient, token: str) -> list[str]:
    """Every GET path of a wizard that answers an HTML page with 200, from the app's route table."""
    app = client.app
    assert isinstance(app, FastAPI)
    paths = []
    for endpoint in endpoints(app, frozenset({"GET"})):
        if not endpoint.path.startswith("/w/{token}/"):
            continue
        path = concrete_path(endpoint.path, token=token, link_id=1)
        response = client.get(path, follow_redirects=False)
        if response.status_code == 200 and response.headers["content-type"].startswith("text/html"):
            paths.append(path)
    return paths


def _same_but_the_time(html: str) -> str:
    # The report says when it was generated: a per-request value (render.PER_REQUEST).
    return re.sub(r'Generated <time datetime="[^"]*">[^<]*</time>', "Generated", html)


def test_every_wizard_page_and_fragment_is_served_through_the_page_cache(client: WizardClient) -> None:
    token = client.new_wizard()
    pages = _html_pages(client, token)
    # The sweep finds the wizard's pages (and fails if it suddenly finds none).
    for slug in ("scope", "options", "options/preview", "policies", "checklist", "report", "activity"):
        assert f"/w/{token}/{slug}" in pages, slug
    assert {f"/w/{token}/verify", f"/w/{token}/links", f"/w/{token}/checklist/progress"} <= set(pages)
    for htmx in (False, True):
        headers = {"HX-Request": "true"} if htmx else {}
        for path in pages:
            _cache(client).clear()
            first = client.get(path, headers=headers)
            assert first.status_code == 200, path
            assert [key.path for key in _cache(client).cached_keys()] == [path], (path, htmx)
            again = client.get(path, headers=headers)
            assert _same_but_the_time(again.text) == _same_but_the_time(first.text), (path, htmx)
            assert len(_cache(client)) == 1, (path, htmx)


def test_each_browser_gets_its_own_csrf_token_and_name_on_a_cached_page(client: WizardClient) -> None:
    token = client.new_wizard()
    client.form_post("/me", {"name": "Alice <admin>"})
    alice = client.get(f"/w/{token}/checklist")
    bob_csrf = "b" * 43
    # Another browser: its own cookies, the same app (its lifespan runs under `client`).
    other = WizardClient(client.app, base_url="http://testserver")
    other.cookies.set("cw_csrf", bob_csrf)
    other.cookies.set("cw_name", "Bob%20%26%20co")
    bob = other.get(f"/w/{token}/checklist")
    assert len(_cache(client)) == 1
    assert 'value="Alice &lt;admin&gt;"' in alice.text and "Bob" not in alice.text
    assert 'value="Bob &amp; co"' in bob.text and "Alice" not in bob.text
    assert client.cookies.get("cw_csrf") in alice.text and bob_csrf not in alice.text
    assert bob_csrf in bob.text and str(client.cookies.get("cw_csrf")) not in bob.text


def test_an_anonymous_browser_gets_an_empty_name_field(client: WizardClient) -> None:
    token = client.new_wizard()
    page = client.get(f"/w/{token}/options")
    assert re.search(r'<input id="actor-name" name="name" value="" ', page.text)


def test_a_view_link_never_gets_the_page_an_edit_link_opened(client: WizardClient) -> None:
    token = client.new_wizard()
    view = mint_link(client, token)
    for slug in ("checklist", "options", "verify", "report"):
        edit_page = client.get(f"/w/{token}/{slug}")
        view_page = client.get(f"/w/{view}/{slug}")
        assert edit_page.status_code == view_page.status_code == 200
        assert edit_page.text != view_page.text, slug
    # The view link's checklist has no tick forms; the edit link's has.
    assert "/steps/create-user?done=" in client.get(f"/w/{token}/checklist").text
    assert "/steps/create-user?done=" not in client.get(f"/w/{view}/checklist").text


def test_every_write_shows_on_the_next_page(client: WizardClient) -> None:
    token = client.new_wizard()
    checklist = client.get(f"/w/{token}/checklist").text
    activity = client.get(f"/w/{token}/activity").text
    client.post(f"/w/{token}/steps/create-user?done=true", data={"csrf_token": client.csrf()})
    assert client.get(f"/w/{token}/checklist").text != checklist
    assert client.get(f"/w/{token}/activity").text != activity
    options = client.get(f"/w/{token}/options").text
    client.form_post(f"/w/{token}/scope", {"scope": "account", "version": "1"})
    assert client.get(f"/w/{token}/options").text != options
    share = client.get(f"/w/{token}/links").text
    mint_link(client, token, label="for the helpdesk")
    after = client.get(f"/w/{token}/links").text
    assert after != share and "for the helpdesk" in after
    note_page = client.get(f"/w/{token}/checklist").text
    client.form_post(f"/w/{token}/steps/create-user/note", {"note": "asked Sam", "version": "0"})
    assert "asked Sam" in client.get(f"/w/{token}/checklist").text
    assert "asked Sam" not in note_page


def test_the_options_preview_is_keyed_on_its_query(client: WizardClient) -> None:
    token = client.new_wizard()
    documented = client.get(
        f"/w/{token}/options/preview?scope=organization&partition=aws&regions=us-east-1&style=documented",
        headers={"HX-Request": "true"},
    )
    least = client.get(
        f"/w/{token}/options/preview?scope=organization&partition=aws&regions=us-east-1&style=least_privilege",
        headers={"HX-Request": "true"},
    )
    assert documented.status_code == least.status_code == 200
    assert documented.text != least.text
    assert len(_cache(client)) == 2


def test_a_query_too_long_for_a_key_is_answered_the_same_and_kept_nowhere(client: WizardClient) -> None:
    # render_page and cached_json share the guard (render._cached_entry): past
    # MAX_CACHED_QUERY a page and a JSON answer are built for this request only.
    token = client.new_wizard()
    padding = "pad=" + "x" * MAX_CACHED_QUERY
    for url, headers in (
        (f"/w/{token}/policies", {}),
        # The one page that shows the time it is generated at: render() still gives it.
        (f"/w/{token}/report", {}),
        (f"/w/{token}/checklist/progress", {"HX-Request": "true"}),
        (f"/api/v1/wizards/{token}", {}),
    ):
        _cache(client).clear()
        long = client.get(f"{url}?{padding}", headers=headers)
        assert long.status_code == 200, url
        assert len(_cache(client)) == 0, url
        short = client.get(f"{url}?pad=x", headers=headers)
        assert len(_cache(client)) == 1, url
        assert _same_but_the_time(long.text) == _same_but_the_time(short.text), url


def test_a_link_that_expires_reads_expired_although_its_page_was_cached(client: WizardClient) -> None:
    token = client.new_wizard()
    mint_link(client, token, label="soon gone")
    engine = engine_of(client.app)
    soon = db.utcnow() + timedelta(seconds=1)
    newest = max(link_ids(client, token))
    with db.writing(engine) as conn:
        conn.execute(update(SHARE_LINK).where(SHARE_LINK.c.id == newest).values(expires_at=soon))  # type: ignore[attr-defined]
    # The direct write above bypasses the store's functions: say that the wizard changed.
    access = share_links.resolve(engine, token=token, now=db.utcnow())
    assert access is not None
    with db.writing(engine) as conn:
        wizards.changed(conn, wizard_id=access.wizard.id)

    def state_of_label(page: Any) -> str:
        row = next(r for r in page.text.split("<tr") if "soon gone" in r)
        found = re.search(r'class="link-(\w+)"', row)
        assert found
        return found.group(1)

    assert state_of_label(client.get(f"/w/{token}/links")) == "active"
    while db.utcnow() <= soon:
        pass  # the page is cached now; only the time moves
    assert state_of_label(client.get(f"/w/{token}/links")) == "expired"


def test_the_verify_page_follows_a_running_verification(client: WizardClient) -> None:
    token = client.new_wizard()
    engine = engine_of(client.app)
    access = share_links.resolve(engine, token=token, now=db.utcnow())
    assert access is not None
    before = client.get(f"/w/{token}/verify").text
    job = verifications.start_job(
        engine,
        wizard_id=access.wizard.id,
        source="form",
        now=db.utcnow(),
        interrupted_after=3600,
        min_seconds_between_runs=0,
        server_cap=10,
    )
    running = client.get(f"/w/{token}/verify").text
    assert running != before
    verifications.beat(
        engine,
        job_id=job.id,
        progress=VerificationProgress(done=3, total=7, phase="accounts"),
        now=db.utcnow(),
    )
    moved = client.get(f"/w/{token}/verify").text
    assert "3 of 7 checks done" in moved and "3 of 7" not in running
    fragment = client.get(f"/w/{token}/verify/jobs/{job.id}", headers={"HX-Request": "true"})
    assert "3 of 7 checks done" in fragment.text
    verifications.beat(
        engine,
        job_id=job.id,
        progress=VerificationProgress(done=5, total=7, phase="accounts"),
        now=db.utcnow(),
    )
    fragment = client.get(f"/w/{token}/verify/jobs/{job.id}", headers={"HX-Request": "true"})
    assert "5 of 7 checks done" in fragment.text


def test_the_csrf_cookie_header_is_the_one_starlette_would_write(client: WizardClient) -> None:
    from starlette.responses import Response

    token = client.new_wizard()
    fresh = WizardClient(client.app, base_url="http://testserver")
    page = fresh.get(f"/w/{token}/checklist")
    minted = fresh.cookies.get("cw_csrf")
    assert minted and minted in page.text
    expected = Response()
    expected.set_cookie("cw_csrf", minted, httponly=True, samesite="strict", secure=False, path="/")
    assert page.headers.get_list("set-cookie") == [expected.headers["set-cookie"]]


def test_the_wizard_api_answer_is_cached_per_key_and_follows_every_change(client: WizardClient) -> None:
    from app.web.api import WizardOut

    token = client.new_wizard()
    view = mint_link(client, token, kind="view")
    url = f"/api/v1/wizards/{token}"
    _cache(client).clear()
    first = client.get(url)
    assert first.status_code == 200 and first.json()["can_edit"] is True
    assert [key.template for key in _cache(client).cached_keys()] == ["api:wizard"]
    assert client.get(url).content == first.content and len(_cache(client)) == 1
    # The bytes the response model gives (FastAPI serialises a WizardOut so).
    assert WizardOut.model_validate_json(first.content).model_dump_json().encode() == first.content
    # The link's kind is in the key: a view link never gets the edit link's answer.
    assert client.get(f"/api/v1/wizards/{view}").json()["can_edit"] is False
    # A tick (the page's form) and a note (the API) each move the answer.
    client.form_post(f"/w/{token}/steps/create-user?done=true")
    ticked = {step["id"]: step for step in client.get(url).json()["steps"]}["create-user"]
    assert ticked["done"] is True
    note = client.put(
        f"{url}/steps/create-user/note",
        json={"note": "asked the admin", "version": ticked["note_version"]},
        headers={"X-CSRF-Token": client.csrf()},
    )
    assert note.status_code == 200, note.text
    noted = {step["id"]: step for step in client.get(url).json()["steps"]}["create-user"]
    assert noted["note"] == "asked the admin"


def test_the_plan_api_answers_are_the_response_models_bytes_for_each_plan(client: WizardClient) -> None:
    from pydantic import TypeAdapter

    from app.web.api import ArtifactOut, PoliciesOut, StepOut

    models: dict[str, TypeAdapter[Any]] = {
        "policies": TypeAdapter(PoliciesOut),
        "checklist": TypeAdapter(list[StepOut]),
        "artifacts": TypeAdapter(list[ArtifactOut]),
    }
    for kind, model in models.items():
        account = client.get(f"/api/v1/plan/{kind}", params={"scope": "account"})
        organization = client.get(f"/api/v1/plan/{kind}", params={"scope": "organization"})
        assert account.status_code == organization.status_code == 200
        assert account.content != organization.content, kind
        for answer in (account, organization):
            assert model.dump_json(model.validate_json(answer.content)) == answer.content, kind
        assert client.get(f"/api/v1/plan/{kind}", params={"scope": "account"}).content == account.content
