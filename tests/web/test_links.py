"""Share links as capabilities; the audit trail; notes; the evidence export.

Links: 256-bit tokens, only their SHA-256 stored, the same 404 for expired,
revoked and unknown, view links never change anything, an edit link never
reaches another wizard.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from app.domain import evidence
from app.domain.plan import Plan
from app.domain.policies import corrected_inline_policy
from app.domain.tokens import new_token, token_digest
from app.store import db, share_links
from app.web.deps import LINK_NOT_FOUND
from tests.conftest import WizardClient
from tests.web.routes import MINTED, UNSAFE, concrete_path, endpoints, link_ids, mint_link

HTMX = {"HX-Request": "true"}


def engine_of(client: WizardClient) -> Any:
    app = client.app
    assert isinstance(app, FastAPI)
    return app.state.database.engine


def wizard_id(client: WizardClient, token: str) -> str:
    access = share_links.resolve(engine_of(client), token=token, now=db.utcnow())
    assert access is not None
    return access.wizard.id


# --- tokens ---------------------------------------------------------------------


def test_ten_thousand_tokens_are_unique_and_256_bit() -> None:
    tokens = [new_token() for _ in range(10_000)]
    assert len(set(tokens)) == 10_000
    for token in tokens:
        assert len(token) == 43 and re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
        assert len(base64.urlsafe_b64decode(token + "=")) == 32  # 256 bits
    # All 64 symbols turn up: nothing about the generator narrows the alphabet.
    assert len(set("".join(tokens))) == 64
    digests = {token_digest(t) for t in tokens}
    assert len(digests) == 10_000 and all(len(d) == 64 for d in digests)


def test_the_database_files_never_contain_a_raw_token(
    sqlite_client: WizardClient, sqlite_settings: Any
) -> None:
    client, settings = sqlite_client, sqlite_settings  # reads the SQLite file itself, whatever the backend
    edit = client.new_wizard()
    tokens = [edit]
    tokens += [mint_link(client, edit, label=f"viewer {n}") for n in range(5)]
    tokens.append(mint_link(client, edit, kind="edit", label="colleague"))
    client.form_post(f"/w/{edit}/steps/create-user?done=true")
    client.form_post(f"/w/{edit}/steps/create-user/note", {"note": "done by me", "version": "0"})
    client.form_post(f"/w/{edit}/links/{max(link_ids(client, edit))}/revoke")
    for token in tokens:
        client.get(f"/w/{token}/checklist")
    exports = client.get(f"/w/{edit}/report.md").text + client.get(f"/w/{edit}/report.json").text
    path = Path(settings.database_url.removeprefix("sqlite:///"))
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    blob = b"".join(p.read_bytes() for p in files if p.exists())
    assert len(blob) > 0
    for token in tokens:
        assert token.encode() not in blob
        assert token_digest(token).encode() in blob  # what is stored instead
        assert token not in exports


# --- one 404 for unknown, expired and revoked -----------------------------------


def test_expired_revoked_and_unknown_links_get_byte_identical_answers(client: WizardClient) -> None:
    edit = client.new_wizard()
    engine = engine_of(client)
    past = db.utcnow() - timedelta(days=10)
    _, expired = share_links.mint_link(
        engine, wizard_id=wizard_id(client, edit), kind="view", label="", actor="t", now=past, days=1
    )
    revoked = mint_link(client, edit)
    client.form_post(f"/w/{edit}/links/{max(link_ids(client, edit))}/revoke")
    unknown = new_token()
    malformed = "not-a-token"
    client.csrf()
    csrf = {"X-CSRF-Token": client.csrf()}
    probes: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/w/{t}", {}),
        ("GET", "/w/{t}/scope", {}),
        ("GET", "/w/{t}/checklist", {}),
        ("GET", "/w/{t}/links", {}),
        ("GET", "/w/{t}/report.json", {}),
        ("GET", "/w/{t}/checklist/progress", {"headers": HTMX}),
        ("POST", "/w/{t}/steps/create-user?done=true", {"data": {"csrf_token": client.csrf()}}),
        ("GET", "/api/v1/wizards/{t}", {}),
        ("PUT", "/api/v1/wizards/{t}/steps/create-user", {"json": {"done": True}, "headers": csrf}),
    ]
    for method, template, kwargs in probes:
        answers = set()
        for token in (expired, revoked, unknown, malformed):
            response = client.request(method, template.format(t=token), follow_redirects=False, **kwargs)
            assert response.status_code == 404, (template, response.status_code)
            answers.add((response.status_code, response.headers["content-type"], response.content))
        assert len(answers) == 1, template
        assert LINK_NOT_FOUND.encode() in answers.pop()[2]
    assert client.get(f"/w/{edit}/scope").status_code == 200  # the wizard itself is fine


def test_a_link_expires_after_its_days(client: WizardClient) -> None:
    edit = client.new_wizard()
    engine = engine_of(client)
    link, token = share_links.mint_link(
        engine, wizard_id=wizard_id(client, edit), kind="view", label="", actor="t", now=db.utcnow(), days=2
    )
    assert share_links.resolve(engine, token=token, now=db.utcnow() + timedelta(days=1)) is not None
    assert share_links.resolve(engine, token=token, now=db.utcnow() + timedelta(days=2, seconds=1)) is None
    assert link.expires_at is not None


# --- view links ------------------------------------------------------------------


def test_view_links_get_403_on_every_unsafe_route_and_change_nothing(client: WizardClient) -> None:
    edit = client.new_wizard()
    view = mint_link(client, edit)
    view_id = max(link_ids(client, edit))
    before = client.get(f"/api/v1/wizards/{edit}").json()
    links_before = link_ids(client, edit)
    csrf = client.csrf()
    app = client.app
    assert isinstance(app, FastAPI)
    swept = 0
    for endpoint in endpoints(app, UNSAFE):
        if "{token}" not in endpoint.path:
            continue
        path = concrete_path(endpoint.path, token=view, link_id=view_id)
        if endpoint.is_api:
            response = client.request(
                endpoint.method,
                path,
                json={"done": True, "version": 0, "note": "x"},
                headers={"X-CSRF-Token": csrf},
            )
        else:
            data = {
                "csrf_token": csrf,
                "note": "x",
                "version": "0",
                "which": "all",
                "confirm": "yes",
            }
            response = client.request(endpoint.method, path, data=data)
        assert response.status_code == 403, (str(endpoint), response.status_code)
        assert "view-only link" in response.text
        swept += 1
    assert swept >= 10
    assert client.get(f"/api/v1/wizards/{edit}").json() == before
    assert link_ids(client, edit) == links_before
    assert client.get(f"/w/{view}/scope").status_code == 200  # still valid, still read-only


def test_view_pages_show_progress_but_no_controls_and_no_credential_forms(client: WizardClient) -> None:
    edit = client.new_wizard()
    view = mint_link(client, edit)
    client.form_post(f"/w/{edit}/steps/create-user?done=true")
    client.form_post(f"/w/{edit}/steps/create-user/note", {"note": "key made", "version": "0"})
    assert client.get(f"/w/{view}", follow_redirects=False).headers["location"] == f"/w/{view}/checklist"
    checklist = client.get(f"/w/{view}/checklist").text
    assert "Read-only link." in checklist
    assert "Mark as done" not in checklist and "<textarea" not in checklist
    assert "key made" in checklist  # notes are shown, read-only
    assert 'hx-trigger="every 5s"' in checklist and f'hx-get="/w/{view}/checklist/progress"' in checklist
    assert "Refresh now" in checklist  # the fallback without JavaScript
    assert ">Share<" not in checklist  # no share page for view links
    assert client.get(f"/w/{view}/links").status_code == 403
    app = client.app
    assert isinstance(app, FastAPI)
    for endpoint in endpoints(app, frozenset({"GET"})):
        if not endpoint.path.startswith("/w/{token}"):
            continue
        response = client.get(concrete_path(endpoint.path, token=view, link_id=1), follow_redirects=False)
        # Verification results are readable (the helpdesk's report); the forms below are not there.
        # A verification job id only exists while a run is in memory: 404 is its right answer.
        expected = {200, 303, 403} | ({404} if "{job_id}" in endpoint.path else set())
        assert response.status_code in expected, str(endpoint)
        text = response.text.lower()
        assert 'type="password"' not in text
        assert "secret_access_key" not in text and "aws_access_key_id" not in text
        assert 'action="/w/' + view.lower() + "/verify" not in text


def test_progress_fragment_brings_each_steps_state_out_of_band(client: WizardClient) -> None:
    edit = client.new_wizard()
    view = mint_link(client, edit)
    client.form_post(f"/w/{edit}/steps/enable-trusted-access?done=true")
    fragment = client.get(f"/w/{view}/checklist/progress", headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "1 of 9 steps done" in fragment.text
    assert fragment.text.count('hx-swap-oob="true"') == 9
    assert 'id="state-enable-trusted-access"' in fragment.text
    edit_page = client.get(f"/w/{edit}/checklist").text
    assert "every 5s" not in edit_page  # editors see their own ticks at once:
    tick = client.form_post(f"/w/{edit}/steps/create-user?done=true", headers=HTMX)
    assert tick.text.lstrip().startswith('<div id="status-create-user"')
    assert '<div id="progress" hx-swap-oob="innerHTML">' in tick.text and "2 of 9 steps done" in tick.text


def test_a_ticks_progress_counts_only_the_steps_of_the_plan_as_it_is_now(client: WizardClient) -> None:
    edit = client.new_wizard()
    client.form_post(f"/w/{edit}/steps/enable-trusted-access?done=true")
    client.form_post(f"/w/{edit}/steps/create-user?done=true")
    # An account has no trusted-access step: its stored tick stays, and stops counting.
    client.form_post(f"/w/{edit}/scope", {"scope": "account", "version": "1"})
    steps = [step["id"] for step in client.get(f"/api/v1/wizards/{edit}").json()["steps"]]
    total = len(steps)
    assert "enable-trusted-access" not in steps and "create-user" in steps
    tick = client.form_post(f"/w/{edit}/steps/{steps[-1]}?done=true", headers=HTMX)
    assert tick.status_code == 200
    assert f"2 of {total} steps done" in tick.text
    assert f"2 of {total} steps done" in client.get(f"/w/{edit}/checklist").text


# --- the share page --------------------------------------------------------------


def test_minted_link_is_shown_once_and_opens_read_only(client: WizardClient) -> None:
    edit = client.new_wizard()
    page = client.get(f"/w/{edit}/links")
    assert page.status_code == 200 and page.template.name == "links.html"  # type: ignore[attr-defined]
    assert "Can change the plan" in page.text and "Cannot change anything" in page.text
    minted = client.form_post(f"/w/{edit}/links", {"kind": "view", "label": "for ACME <b>", "days": "7"})
    # Post/redirect/get: reloading the page after minting sends no POST again.
    assert [r.status_code for r in minted.history] == [303] and minted.status_code == 200
    match = MINTED.search(minted.text)
    assert match
    token = match.group(1)
    assert "shown only this once" in minted.text
    assert (
        "for ACME &lt;b&gt;" in minted.text
        and "<b>" not in minted.text.split("<main", 1)[1].split("</h2>")[0]
    )
    assert token not in client.get(f"/w/{edit}/links").text  # never shown again
    rows = minted.context["rows"]  # type: ignore[attr-defined]
    view_row = next(r for r in rows if r.link.kind == "view")
    assert view_row.state == "active" and view_row.link.label == "for ACME <b>"
    assert (view_row.link.expires_at - view_row.link.created_at) == timedelta(days=7)
    assert client.get(f"/api/v1/wizards/{token}").json()["can_edit"] is False


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"days": "0"}, "days"),
        ({"days": "366"}, "days"),
        ({"days": "a week"}, "days"),
        ({"kind": "admin"}, "kind"),
        ({"label": "x" * 101}, "label"),
    ],
)
def test_bad_mint_input_says_why_and_mints_nothing(
    client: WizardClient, fields: dict[str, str], field: str
) -> None:
    edit = client.new_wizard()
    response = client.form_post(f"/w/{edit}/links", {"kind": "view", "label": "", "days": "3", **fields})
    assert response.status_code == 422
    assert f'aria-invalid="true" aria-describedby="{field}-error"' in response.text
    assert "No link was made" in response.text
    assert len(link_ids(client, edit)) == 1  # only the edit link


def test_revoke_one_all_view_and_everything(client: WizardClient) -> None:
    edit = client.new_wizard()
    views = [mint_link(client, edit, label=f"v{n}") for n in range(3)]
    colleague = mint_link(client, edit, kind="edit", label="colleague")
    ids = link_ids(client, edit)
    first_view_id = sorted(ids)[1]
    one = client.form_post(f"/w/{edit}/links/{first_view_id}/revoke", follow_redirects=False)
    assert one.status_code == 303
    assert client.get(f"/w/{views[0]}/scope").status_code == 404
    assert client.get(f"/w/{views[1]}/scope").status_code == 200
    assert (
        client.form_post(f"/w/{edit}/links/revoke", {"which": "view"}, follow_redirects=False).status_code
        == 303
    )
    assert all(client.get(f"/w/{v}/scope").status_code == 404 for v in views)
    assert client.get(f"/w/{colleague}/scope").status_code == 200
    refused = client.form_post(f"/w/{edit}/links/revoke", {"which": "all"})
    assert refused.status_code == 422 and "Nothing was revoked" in refused.text
    assert client.get(f"/w/{colleague}/scope").status_code == 200
    everything = client.form_post(f"/w/{colleague}/links/revoke", {"which": "all", "confirm": "yes"})
    assert everything.status_code == 200 and "Link revoked" in everything.text
    assert client.get(f"/w/{edit}/scope").status_code == 404
    assert client.get(f"/w/{colleague}/scope").status_code == 404


def test_revoking_the_link_you_use_says_so(client: WizardClient) -> None:
    edit = client.new_wizard()
    own_id = link_ids(client, edit)[0]
    response = client.form_post(f"/w/{edit}/links/{own_id}/revoke")
    assert response.status_code == 200 and "The link you used is revoked" in response.text
    assert client.get(f"/w/{edit}/scope").status_code == 404


def test_an_edit_link_never_touches_another_wizard(client: WizardClient) -> None:
    a = client.new_wizard()
    b = client.new_wizard()
    b_view = mint_link(client, b)
    b_ids = link_ids(client, b)
    a_ids = link_ids(client, a)
    assert not set(a_ids) & set(b_ids)
    for link_id in b_ids:
        response = client.form_post(f"/w/{a}/links/{link_id}/revoke")
        assert response.status_code == 404
    assert client.get(f"/w/{b}/scope").status_code == 200
    assert client.get(f"/w/{b_view}/scope").status_code == 200
    client.form_post(f"/w/{a}/steps/create-user?done=true")
    client.form_post(f"/w/{a}/steps/create-user/note", {"note": "only in A", "version": "0"})
    client.form_post(f"/w/{a}/links/revoke", {"which": "view"})
    b_state = client.get(f"/api/v1/wizards/{b}").json()
    assert not any(step["done"] for step in b_state["steps"])
    assert all(step["note"] == "" for step in b_state["steps"])
    minted_through_a = mint_link(client, a)
    assert wizard_id(client, minted_through_a) == wizard_id(client, a) != wizard_id(client, b)
    b_activity = client.get(f"/w/{b}/activity").text
    assert "only in A" not in b_activity and "ticked" not in b_activity


# --- notes -----------------------------------------------------------------------


def test_a_stale_note_gets_409_with_both_texts_never_a_silent_overwrite(client: WizardClient) -> None:
    edit = client.new_wizard()
    url = f"/w/{edit}/steps/create-user/note"
    assert client.form_post(url, {"note": "first", "version": "0"}, follow_redirects=False).status_code == 303
    stale = client.form_post(url, {"note": "second", "version": "0"}, headers=HTMX)
    assert stale.status_code == 409
    assert stale.text.lstrip().startswith('<div id="note-create-user"')
    assert ">first</textarea>" in stale.text  # the current note, swapped in
    assert "second" in stale.text and "Not saved" in stale.text  # the loser's text is not lost
    assert 'name="version" value="1"' in stale.text  # save again from here and it works
    plain = client.form_post(url, {"note": "third", "version": "0"})
    assert plain.status_code == 409 and plain.template.name == "checklist.html"  # type: ignore[attr-defined]
    assert client.get(f"/api/v1/wizards/{edit}").json()["steps"][1]["note"] == "first"
    again = client.form_post(url, {"note": "second, merged", "version": "1"}, headers=HTMX)
    assert again.status_code == 200 and "Note saved" in again.text
    assert client.get(f"/api/v1/wizards/{edit}").json()["steps"][1]["note"] == "second, merged"


def test_a_note_over_the_limit_is_refused_and_changes_nothing(client: WizardClient) -> None:
    edit = client.new_wizard()
    response = client.form_post(
        f"/w/{edit}/steps/create-user/note", {"note": "x" * 2001, "version": "0"}, headers=HTMX
    )
    assert response.status_code == 422 and "at most 2000 characters" in response.text
    assert client.get(f"/api/v1/wizards/{edit}").json()["steps"][1]["note"] == ""
    assert client.form_post(f"/w/{edit}/steps/nope/note", {"note": "x", "version": "0"}).status_code == 404


def test_notes_through_the_api_carry_their_version(client: WizardClient) -> None:
    edit = client.new_wizard()
    headers = {"X-CSRF-Token": client.csrf()}
    url = f"/api/v1/wizards/{edit}/steps/create-user/note"
    saved = client.put(url, json={"note": "a", "version": 0}, headers=headers)
    assert saved.status_code == 200 and saved.json() == {"step_id": "create-user", "note": "a", "version": 1}
    stale = client.put(url, json={"note": "b", "version": 0}, headers=headers)
    assert stale.status_code == 409 and stale.json()["note"] == "a" and stale.json()["version"] == 1
    step = client.get(f"/api/v1/wizards/{edit}").json()["steps"][1]
    assert step["note"] == "a" and step["note_version"] == 1


# --- audit trail -----------------------------------------------------------------


def test_the_timeline_says_who_did_what_and_when(client: WizardClient) -> None:
    edit = client.new_wizard()
    client.form_post("/me", {"name": "Alice <admin>", "back": "/"})
    client.form_post(f"/w/{edit}/scope", {"scope": "organization", "version": "1"})
    client.form_post(
        f"/w/{edit}/options",
        {
            "version": "1",
            "user_name": "tlm",
            "secrets_manager": "on",
            "partition": "aws",
            "regions": ["us-east-1", "eu-west-1"],
            "style": "documented",
        },
    )
    client.form_post(f"/w/{edit}/steps/create-user?done=true")
    client.form_post(f"/w/{edit}/steps/create-user?done=false")
    client.form_post(f"/w/{edit}/steps/create-user/note", {"note": "n", "version": "0"})
    mint_link(client, edit, label="customer", days=3)
    client.form_post(f"/w/{edit}/links/revoke", {"which": "view"})
    page = client.get(f"/w/{edit}/activity")
    texts = [entry.text for entry in page.context["timeline"]]  # type: ignore[attr-defined]
    assert texts == [
        "revoked 1 view link",
        "created a view link “customer”, valid 3 days",
        "saved a note on “Create the IAM user tlm”",
        "unticked “Create the IAM user tlm”",
        "ticked “Create the IAM user tlm”",
        "changed the plan: IAM user name, regions (version 2)",
        "started the wizard (organization scope)",
    ]
    actors = [entry.event.actor for entry in page.context["timeline"]]  # type: ignore[attr-defined]
    assert actors[:-1] == ["Alice <admin>"] * 6
    assert "Alice &lt;admin&gt;" in page.text and "<admin>" not in page.text
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT', page.text)


# --- evidence export ---------------------------------------------------------------


def test_evidence_json_has_plan_digests_checklist_and_no_invented_verification(client: WizardClient) -> None:
    edit = client.new_wizard()
    client.form_post("/me", {"name": "Bob"})
    client.form_post(f"/w/{edit}/steps/enable-trusted-access?done=true")
    client.form_post(f"/w/{edit}/steps/enable-trusted-access/note", {"note": "ticket CHG-1", "version": "0"})
    response = client.get(f"/w/{edit}/report.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="connector-wizard-evidence-'
    )
    body = response.json()
    assert body["format"] == evidence.FORMAT
    assert body["plan"] == Plan().to_json_dict()
    # The digest of the file as exported: the corrected inline policy, four-space JSON, final newline.
    expected = hashlib.sha256(
        (json.dumps(corrected_inline_policy(Plan()), indent=4) + "\n").encode()
    ).hexdigest()
    assert body["artifacts"][0]["path"] == "inline-policy.json"
    assert body["artifacts"][0]["sha256"] == expected
    first = body["checklist"]["steps"][0]
    assert first["done"] is True and first["done_by"] == "Bob" and first["done_at"]
    assert first["note"] == "ticket CHG-1"
    assert body["checklist"]["done"] == 1 and body["checklist"]["total"] == 9
    assert body["verification"] is None  # none was run: none is reported
    assert [a["kind"] for a in body["activity"]][:2] == ["step.note", "step.done"]


def test_evidence_markdown_is_escaped_and_matches_the_json(client: WizardClient) -> None:
    edit = client.new_wizard()
    client.form_post("/me", {"name": "Eve | ![x](http://evil/)"})
    client.form_post(f"/w/{edit}/steps/create-user?done=true")
    client.form_post(
        f"/w/{edit}/steps/create-user/note",
        {"note": "<script>alert(1)</script> [link](javascript:x) | cell", "version": "0"},
    )
    md = client.get(f"/w/{edit}/report.md")
    assert md.status_code == 200 and md.headers["content-type"] == "text/markdown; charset=utf-8"
    text = md.text
    assert "<script>" not in text
    # No link or image: every ] outside a code span (where a linky word goes) is escaped.
    assert not re.search(r"(?<!\\)\]\(", re.sub(r"`[^`]*`", "", text))
    assert r"\<script\>" in text and r"\[link\]" in text
    row = next(line for line in text.splitlines() if line.startswith("| 2 |"))
    cells = re.split(r"(?<!\\)\|", row)[1:-1]
    assert len(cells) == 6  # the name's and the note's | added no cell
    body = client.get(f"/w/{edit}/report.json").json()
    for artifact in body["artifacts"]:
        assert f"| `{artifact['path']}` | `{artifact['sha256']}` | {artifact['bytes']} |" in text
    assert "## Last verification" not in text
    assert "## Checklist: 1 of 9 done" in text


def test_report_page_links_exports_and_prints_clean(client: WizardClient) -> None:
    edit = client.new_wizard()
    view = mint_link(client, edit)
    page = client.get(f"/w/{view}/report")
    assert page.status_code == 200
    assert f'href="/w/{view}/report.md"' in page.text and f'href="/w/{view}/report.json"' in page.text
    assert "data-print" in page.text and "inline-policy.json" in page.text
    assert client.get(f"/w/{view}/report.json").status_code == 200  # view links may export
    print_css = client.get("/static/print.css").text
    for hidden in (".steps", ".pager", ".report-actions", "form", "button", ".site-footer"):
        assert hidden in print_css
    assert 'media="print"' in client.get("/").text


def test_no_token_reaches_the_logs(client: WizardClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        edit = client.new_wizard()
        view = mint_link(client, edit)
        client.form_post(f"/w/{edit}/steps/create-user?done=true")
        client.form_post(f"/w/{view}/steps/create-user?done=true")
        client.get(f"/w/{view}/links")
        client.get(f"/w/{edit}/report.md")
        client.form_post(f"/w/{edit}/links/revoke", {"which": "all", "confirm": "yes"})
        client.get(f"/w/{edit}/scope")
    # The app's own log records (the test client's httpx logs its request URLs: not the app).
    app_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    records = "".join(f"{r.getMessage()} {r.args}" for r in app_records)
    for token in (edit, view):
        assert token not in records
