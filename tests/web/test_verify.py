"""The Verify page against moto over HTTP: demo mode, typed credentials, limits, the report summary."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.aws.simulate import Latency
from app.main import create_app, engine_of
from app.web import verify as verify_module
from tests.conftest import WizardClient, make_settings, make_sqlite_settings
from tests.web.routes import duplicate_ids


@pytest.fixture
def demo_client(tmp_path: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[WizardClient]:
    # Demo mode seeding the session's moto server (reset for this test) instead of starting its own.
    monkeypatch.setattr(verify_module, "MIN_SECONDS_BETWEEN_RUNS", 0.0)
    settings = make_settings(tmp_path, demo=True, aws_endpoint_url=endpoint)
    with WizardClient(create_app(settings), base_url="http://testserver") as client:
        yield client


@pytest.fixture
def sqlite_demo_client(
    tmp_path: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[WizardClient]:
    # Like demo_client, but on a SQLite file whatever the run's backend: for tests that read the file.
    monkeypatch.setattr(verify_module, "MIN_SECONDS_BETWEEN_RUNS", 0.0)
    settings = make_sqlite_settings(tmp_path, demo=True, aws_endpoint_url=endpoint)
    with WizardClient(create_app(settings), base_url="http://testserver") as client:
        yield client


def _job_url(html: str) -> str:
    match = re.search(r'hx-get="(/w/[^"]+/verify/jobs/[0-9a-f]+)"', html)
    assert match, "no polling progress fragment"
    return match.group(1)


def _wait(client: WizardClient, token: str) -> str:
    """Poll the progress fragment like htmx does until it stops polling; return the final page."""
    page = client.get(f"/w/{token}/verify").text
    if 'hx-trigger="every 1s"' in page:
        url = _job_url(page)
        for _ in range(240):  # bounded: 60 s
            fragment = client.get(url, headers={"HX-Request": "true"})
            assert fragment.status_code == 200
            if 'hx-trigger="every 1s"' not in fragment.text:
                assert re.fullmatch(
                    rf"/w/{token}/verify\?run=[0-9a-f]{{32}}#results", fragment.headers["HX-Redirect"]
                )
                break
            time.sleep(0.25)
        else:
            pytest.fail("the verification did not finish in 60 s")
    return client.get(f"/w/{token}/verify").text


def test_demo_run_shows_progress_matrix_and_fixes(demo_client: WizardClient) -> None:
    token = demo_client.new_wizard()
    page = demo_client.get(f"/w/{token}/verify")
    assert page.status_code == 200
    assert page.template.name == "verify.html"  # type: ignore[attr-defined]
    assert "This is a simulation" in page.text and "Simulated denial" in page.text
    assert "Run as the demo connector" in page.text

    started = demo_client.form_post(f"/w/{token}/verify", {"source": "demo"}, headers={"HX-Request": "true"})
    assert started.status_code == 200
    assert 'hx-trigger="every 1s"' in started.text and "Verification running" in started.text
    assert 'href="/w/' in started.text  # the no-JavaScript Refresh link

    html = _wait(demo_client, token)
    assert "Acquired Co. (invited)" in html
    assert "role missing" in html
    assert f'href="/w/{token}/checklist#step-member-role"' in html
    checklist = demo_client.get(f"/w/{token}/checklist").text
    assert 'id="step-member-role"' in checklist
    view = demo_client.get(f"/w/{token}/verify").context["view"]  # type: ignore[attr-defined]
    invited = [a for a in view.accounts if a.joined_method == "INVITED"]
    assert len(invited) == 2 and all(a.cause.value == "role-missing" for a in invited)

    # Failures only, without JavaScript: a query parameter.
    failures = demo_client.get(f"/w/{token}/verify?run={view.run.id}&failures=1").text
    assert "Acquired Co. (invited)" in failures and "Production" not in failures
    assert "Production" in html and duplicate_ids(html) == []

    # The summary counts every account once, by status: the management account's warning too.
    by_status = Counter(a.status.value for a in view.accounts)
    assert by_status["warn"] == 1 and sum(by_status.values()) == len(view.accounts)
    counted = (
        f"{len(view.accounts)} member accounts: {by_status['pass']} passed, 1 with warnings, "
        f"{by_status['fail']} failed."
    )
    assert counted in html

    # The report page summarises the last run.
    report = demo_client.get(f"/w/{token}/report").text
    assert "Last verification" in report and "FAIL" in report and "simulated organization" in report
    assert report.count("Last verification") == 1 and duplicate_ids(report) == []
    # And so does the evidence export.
    exported = demo_client.get(f"/w/{token}/report.json").json()["verification"]
    assert exported["status"] == "fail" and exported["by"] == "anonymous"
    assert exported["counts"] == dict(view.run.summary)
    assert counted in report
    # report.md says it in the same words, from the same counts: no raw keys beside them.
    markdown = demo_client.get(f"/w/{token}/report.md").text
    last = markdown.split("## Last verification", 1)[1].split("##", 1)[0]
    assert counted in last and "accounts_" not in last and "checks_" not in last, last


def test_a_second_run_shows_drift(demo_client: WizardClient) -> None:
    token = demo_client.new_wizard()
    demo_client.form_post(f"/w/{token}/verify", {"source": "demo"})
    first = _wait(demo_client, token)
    assert "Since the previous run" not in first
    # Someone creates the role in one invited account: the simulation stops denying it.
    demo = demo_client.app.state.demo  # type: ignore[attr-defined]
    view = demo_client.get(f"/w/{token}/verify").context["view"]  # type: ignore[attr-defined]
    fixed = next(a for a in view.accounts if a.joined_method == "INVITED")
    del demo.organization.denied[fixed.account_id]

    assert (
        demo_client.form_post(f"/w/{token}/verify", {"source": "demo"}, follow_redirects=False).status_code
        == 303
    )
    html = _wait(demo_client, token)
    assert "Since the previous run" in html
    drift = demo_client.get(f"/w/{token}/verify").context["view"].drift  # type: ignore[attr-defined]
    assert [(i.key, i.change.value) for i in drift.items] == [
        (f"account:{fixed.account_id}:role", "fixed"),
        (f"account:{fixed.account_id}:us-east-1", "changed"),
    ]
    assert f"{fixed.name} ({fixed.account_id}): role" in html
    assert len(re.findall(r"\?run=[0-9a-f]{32}#results", html)) == 2  # history lists both runs


def test_typed_credentials_never_come_back(
    sqlite_demo_client: WizardClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    demo_client = sqlite_demo_client  # reads the SQLite file itself, whatever the backend
    caplog.set_level(logging.DEBUG)
    demo = demo_client.app.state.demo  # type: ignore[attr-defined]
    secret = demo.organization.credentials.secret_access_key.get_secret_value()
    token_canary = "CANARYTOKEN" + secrets.token_hex(20)
    token = demo_client.new_wizard()
    responses = [
        demo_client.form_post(
            f"/w/{token}/verify",
            {
                "access_key_id": demo.organization.credentials.access_key_id,
                "secret_access_key": secret,
                "session_token": token_canary,
            },
            follow_redirects=False,
        )
    ]
    assert responses[0].status_code == 303
    html = _wait(demo_client, token)
    responses.append(demo_client.get(f"/w/{token}/verify"))
    responses.append(demo_client.get(f"/w/{token}/report"))
    assert "arn:aws:iam::123456789012:user/digicert-tlm-connector" in html
    texts = [r.text + str(r.headers) for r in responses] + [caplog.text, str(dict(os.environ))]
    database_files = sorted(tmp_path.glob("wizard.sqlite3*"))
    assert database_files, "no SQLite file to search for the secret"
    texts += [p.read_bytes().decode("latin-1") for p in database_files]
    for text in texts:
        assert secret not in text
        assert token_canary not in text


def test_bad_credentials_get_a_clear_message_and_start_nothing(demo_client: WizardClient) -> None:
    token = demo_client.new_wizard()
    secret = "s" * 10 + " with spaces"
    response = demo_client.form_post(
        f"/w/{token}/verify", {"access_key_id": "not-a-key", "secret_access_key": secret}
    )
    assert response.status_code == 422
    assert "upper-case letters and digits" in response.text
    assert "40 characters" in response.text
    assert secret not in response.text and "not-a-key" not in response.text
    assert 'hx-trigger="every 1s"' not in response.text
    assert response.context["view"].run is None  # type: ignore[attr-defined]
    fragment = demo_client.form_post(
        f"/w/{token}/verify",
        {"access_key_id": "AKIA", "secret_access_key": ""},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 422 and fragment.text.lstrip().startswith('<section id="verify-start"')
    assert 'aria-invalid="true"' in fragment.text


def test_view_links_read_results_but_cannot_run(demo_client: WizardClient) -> None:
    token = demo_client.new_wizard()
    wizard = demo_client.get(f"/w/{token}/verify").context["nav"]  # type: ignore[attr-defined]
    assert wizard.can_edit
    engine = engine_of(demo_client.app)
    from app.store import db, share_links

    access = share_links.resolve(engine, token=token, now=db.utcnow())
    assert access is not None
    _, view_token = share_links.mint_link(
        engine, wizard_id=access.wizard.id, kind="view", label="", actor="t", now=db.utcnow(), days=1
    )
    page = demo_client.get(f"/w/{view_token}/verify")
    assert page.status_code == 200 and "Run the checks" not in page.text
    refused = demo_client.form_post(f"/w/{view_token}/verify", {"source": "demo"})
    assert refused.status_code == 403


def test_limits_per_wizard_and_per_server(
    tmp_path: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The per-address rate limit (tested in test_security) off: this test is about the per-wizard and server caps.
    settings = make_settings(
        tmp_path,
        demo=True,
        aws_endpoint_url=endpoint,
        max_concurrent_verifications=1,
        verify_rate_per_minute=0,
    )
    with WizardClient(create_app(settings), base_url="http://testserver") as client:
        demo = client.app.state.demo  # type: ignore[attr-defined]
        # Slow every call down so the first run is still going.
        client.app.state.demo = dataclasses.replace(
            demo, extra_hooks=(*demo.extra_hooks, ("before-send", Latency(0.05)))
        )
        first, second = client.new_wizard(), client.new_wizard()
        assert (
            client.form_post(f"/w/{first}/verify", {"source": "demo"}, follow_redirects=False).status_code
            == 303
        )
        again = client.form_post(f"/w/{first}/verify", {"source": "demo"})
        assert again.status_code == 429 and "already running" in again.text
        busy = client.form_post(f"/w/{second}/verify", {"source": "demo"})
        assert busy.status_code == 429 and "as many verifications as it allows" in busy.text
        _wait(client, first)
        soon = client.form_post(f"/w/{first}/verify", {"source": "demo"})
        assert soon.status_code == 429 and "try again in" in soon.text
        # With htmx the refusal comes back as the form fragment, which htmx swaps in.
        fragment = client.form_post(f"/w/{first}/verify", {"source": "demo"}, headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<section id="verify-start"')
        assert "try again in" in fragment.text


def test_server_credentials_need_the_setting_and_the_operator_secret(tmp_path: Path, endpoint: str) -> None:
    off = make_settings(tmp_path, aws_endpoint_url=endpoint)
    with WizardClient(create_app(off), base_url="http://testserver") as client:
        token = client.new_wizard()
        assert "server's own AWS identity" not in client.get(f"/w/{token}/verify").text
        refused = client.form_post(f"/w/{token}/verify", {"source": "server"})
        assert refused.status_code == 422 and "does not allow" in refused.text

    on: Any = make_settings(
        tmp_path,
        aws_endpoint_url=endpoint,
        allow_server_credentials=True,
        operator_secret="op-secret-123-verify",
    )
    with WizardClient(create_app(on), base_url="http://testserver") as client:
        response = client.form_post(
            "/wizards", {"operator_secret": "op-secret-123-verify"}, follow_redirects=False
        )
        token = str(response.headers["location"]).split("/")[2]
        assert "server's own AWS identity" in client.get(f"/w/{token}/verify").text
        wrong = client.form_post(f"/w/{token}/verify", {"source": "server", "operator_secret": "guess"})
        assert wrong.status_code == 422 and "operator secret is required" in wrong.text
        assert "guess" not in wrong.text


def test_fix_sh_and_recheck_only_what_failed(demo_client: WizardClient, tmp_path: Path) -> None:
    import subprocess

    token = demo_client.new_wizard()
    demo_client.form_post(f"/w/{token}/verify", {"source": "demo"})
    page = _wait(demo_client, token)
    assert "Fix exactly what failed" in page
    match = re.search(
        r'href="(/w/[^"]+/verify/fix\.sh\?run=([0-9a-f]{32}))" download>Download fix\.sh for these (\d+) failures',
        page,
    )
    assert match, "no fix.sh link"
    download = demo_client.get(match.group(1))
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="fix.sh"'
    script = download.text
    path = tmp_path / "fix.sh"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
    # The script is the domain's, for the wizard's plan and this run.
    first_accounts = re.findall(r"<td><code>(\d{12})</code></td>", page)
    failed = re.findall(r'<tr class="row-fail">\s*<td><code>(\d{12})</code>', page)
    assert failed and len(first_accounts) > len(failed)
    for account_id in first_accounts:
        assert (account_id in script) == (account_id in failed), account_id
    assert f"for {match.group(3)} failures" in script
    assert demo_client.get(f"/w/{token}/verify/fix.sh?run={'0' * 32}").status_code == 404

    recheck_page = demo_client.get(f"/w/{token}/verify?recheck=1")
    assert 'name="recheck" value="failed" checked' in recheck_page.text
    assert f"the {len(failed)} member accounts that failed" in recheck_page.text
    assert not duplicate_ids(recheck_page.text)
    demo_client.form_post(f"/w/{token}/verify", {"source": "demo", "recheck": "failed"})
    second = _wait(demo_client, token)
    assert f"This run re-checked only {len(failed)} member accounts" in second
    assert sorted(re.findall(r"<td><code>(\d{12})</code></td>", second)) == sorted(failed)
    assert "gone" not in re.sub(
        r"<[^>]+>", " ", second.split("Since the previous run")[1].split("</section>")[0]
    )


def test_recheck_without_failed_accounts_is_refused_and_runs_nothing(demo_client: WizardClient) -> None:
    token = demo_client.new_wizard()
    answer = demo_client.form_post(f"/w/{token}/verify", {"source": "demo", "recheck": "failed"})
    assert answer.status_code == 422
    assert "No member account failed in the last run" in answer.text
    assert "No verification has run for this wizard yet" in demo_client.get(f"/w/{token}/verify").text
