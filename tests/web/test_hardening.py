"""Regression tests for the security review in issue 12: each failed on the code before its fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app import cli
from app.main import create_app
from app.settings import Settings
from tests.conftest import WizardClient, make_settings

# --- 1. cached pages never cross wizards ------------------------------------------------------


def test_a_purged_link_id_never_serves_another_wizards_cached_page(
    sqlite_client: WizardClient, sqlite_settings: Settings
) -> None:
    """The reproduction of issue 12, finding 1, step by step."""
    client = sqlite_client
    old = client.new_wizard()
    saved = client.form_post(
        f"/w/{old}/steps/create-user/note", data={"version": "0", "note": "OLD-WIZARD-NOTE"}
    )
    assert saved.status_code == 200
    assert "OLD-WIZARD-NOTE" in client.get(f"/w/{old}/checklist").text
    policies_old = client.get(f"/w/{old}/policies")
    assert policies_old.status_code == 200
    revoked = client.form_post(f"/w/{old}/links/revoke", data={"which": "all", "confirm": "yes"})
    assert revoked.status_code == 200
    assert cli.main(["db", "purge", "--database-url", sqlite_settings.database_url]) == 0

    new = client.new_wizard()
    ticked = client.form_post(f"/w/{new}/steps/create-user?done=true", follow_redirects=False)
    assert ticked.status_code == 303
    page = client.get(f"/w/{new}/checklist")
    assert page.status_code == 200
    assert "OLD-WIZARD-NOTE" not in page.text
    assert old not in page.text and new in page.text
    assert old not in client.get(f"/w/{new}/policies").text


def test_the_servers_own_purge_empties_the_page_cache(sqlite_client: WizardClient) -> None:
    from app.store import db

    client = sqlite_client
    token = client.new_wizard()
    assert client.get(f"/w/{token}/checklist").status_code == 200
    app = client.app
    assert len(app.state.page_cache) > 0  # type: ignore[attr-defined]
    from app.main import purge_once

    purge_once(app, now=db.utcnow())  # type: ignore[arg-type]
    assert len(app.state.page_cache) == 0  # type: ignore[attr-defined]


def test_share_link_ids_are_never_reused_on_sqlite(
    sqlite_client: WizardClient, sqlite_settings: Settings
) -> None:
    import sqlite3

    client = sqlite_client
    path = sqlite_settings.database_url.removeprefix("sqlite:///")

    def newest_link_id() -> int:
        with sqlite3.connect(path) as conn:
            return int(conn.execute("SELECT max(id) FROM share_link").fetchone()[0] or 0)

    first = client.new_wizard()
    before = newest_link_id()
    client.form_post(f"/w/{first}/links/revoke", data={"which": "all", "confirm": "yes"})
    assert cli.main(["db", "purge", "--database-url", sqlite_settings.database_url]) == 0
    client.new_wizard()
    assert newest_link_id() > before


# --- 10. a note version no save ever gave is a conflict -----------------------------------------


@pytest.mark.parametrize("version", [1, 5, 2**31 - 1])
def test_a_note_version_ahead_of_a_never_written_note_is_409(client: WizardClient, version: int) -> None:
    token = client.new_wizard()
    csrf = client.csrf()
    api = client.put(
        f"/api/v1/wizards/{token}/steps/create-user/note",
        json={"version": version, "note": "x"},
        headers={"X-CSRF-Token": csrf},
    )
    assert api.status_code == 409
    form = client.form_post(
        f"/w/{token}/steps/create-access-key/note", data={"version": str(version), "note": "y"}
    )
    assert form.status_code == 409
    state = client.get(f"/api/v1/wizards/{token}").json()["steps"]
    assert all(step["note"] == "" and step["note_version"] == 0 for step in state)


# --- 2. no fail-open operator secret; wrong guesses have their own limit ---------------------------


@pytest.mark.parametrize("value", ["", "short", "x" * 15])
def test_an_empty_or_short_operator_secret_stops_the_server_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path, value: str
) -> None:
    # First the settings alone (the old code would have gone on to serve).
    with pytest.raises(ValueError, match="16 characters"):
        make_settings(tmp_path, operator_secret=value)
    monkeypatch.setenv("CONNECTOR_WIZARD_OPERATOR_SECRET", value)
    monkeypatch.setenv("CONNECTOR_WIZARD_DATABASE_URL", f"sqlite:///{tmp_path / 'never.sqlite3'}")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    assert cli.main(["serve", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("connector-wizard: CONNECTOR_WIZARD_OPERATOR_SECRET: ")
    assert "16 characters" in err[0]
    assert not (tmp_path / "never.sqlite3").exists()


def test_sixteen_characters_are_enough(tmp_path: Path) -> None:
    assert make_settings(tmp_path, operator_secret="x" * 16).operator_secret is not None


def test_wrong_operator_secrets_get_their_own_small_limit(tmp_path: Path) -> None:
    from app.web.ratelimit import SECRET_FAILURES_PER_MINUTE

    secret = "a-long-operator-secret"
    with WizardClient(create_app(make_settings(tmp_path, operator_secret=secret))) as client:
        for attempt in range(SECRET_FAILURES_PER_MINUTE):
            wrong = client.form_post(
                "/wizards", {"operator_secret": f"guess-{attempt}"}, follow_redirects=False
            )
            assert wrong.status_code == 403, attempt
        over = client.form_post("/wizards", {"operator_secret": "guess-again"}, follow_redirects=False)
        assert over.status_code == 429 and int(over.headers["retry-after"]) >= 1
        # Past the limit the right secret is refused too: a 429 tells a guesser nothing.
        right = client.form_post("/wizards", {"operator_secret": secret}, follow_redirects=False)
        assert right.status_code == 429
        api = client.post(
            "/api/v1/wizards", json={}, headers={"X-CSRF-Token": client.csrf(), "X-Operator-Secret": secret}
        )
        assert api.status_code == 429
        # The general share-link limit is untouched: pages without a secret still answer.
        assert client.get("/").status_code == 200


# --- 7. any Unicode name works in the audit trail; 9. the name cookie is Secure under HSTS -------------


@pytest.mark.parametrize("name", ["Łukasz", "李雷", "Zoë 🙂", "100% sure"])
def test_a_non_latin1_name_is_kept_and_shown(client: WizardClient, name: str) -> None:
    saved = client.form_post("/me", {"name": name, "back": "/"}, follow_redirects=False)
    assert saved.status_code == 303
    token = client.new_wizard()
    ticked = client.form_post(f"/w/{token}/steps/create-user?done=true", follow_redirects=False)
    assert ticked.status_code == 303
    steps = client.get(f"/api/v1/wizards/{token}").json()["steps"]
    assert [step["done_by"] for step in steps if step["id"] == "create-user"] == [name]
    assert name in client.get(f"/w/{token}/activity").text


@pytest.mark.parametrize("hsts", [False, True])
def test_the_name_cookie_is_secure_when_hsts_is_on(tmp_path: Path, hsts: bool) -> None:
    with WizardClient(
        create_app(make_settings(tmp_path, hsts=hsts)),
        base_url="https://testserver" if hsts else "http://testserver",
    ) as client:
        saved = client.form_post("/me", {"name": "Ada", "back": "/"}, follow_redirects=False)
        cookie = next(v for k, v in saved.headers.multi_items() if k == "set-cookie" and "cw_name=" in v)
        assert ("; secure" in cookie.lower()) is hsts


# --- 8. validation messages name the field and the rule, never the input ------------------------

ECHO_CASES = [
    ("user_name", "ECHO<b>x</b>"),
    ("role_name", "ECHO\"'<script>"),
    ("user_name", "ECHO" + "x" * 70),
    ("regions", "<b>ECHO</b>"),
    ("regions", "ECHO-east-1"),
    ("secret_prefix", "ECHO<>*"),
    ("partition", "ECHO<i>"),
    ("scope", "ECHO<i>"),
    ("style", "ECHO<i>"),
]


@pytest.mark.parametrize(("field", "value"), ECHO_CASES)
def test_plan_errors_never_echo_the_input(client: WizardClient, field: str, value: str) -> None:
    api = client.get("/api/v1/plan/policies", params={field: value})
    assert api.status_code == 422
    assert "ECHO" not in api.text and "<" not in api.text
    assert any(item["loc"][-1] == field for item in api.json()["detail"])

    token = client.new_wizard()
    form = client.form_post(f"/w/{token}/options", {"version": "1", field: value})
    if field != "scope":  # the options form has no scope field: the value is ignored
        assert form.status_code == 422
        errors = form.context["options"].errors  # type: ignore[attr-defined]
        assert set(errors) and all(
            "ECHO" not in message and "<" not in message for message in errors.values()
        )


def test_cli_plan_errors_never_echo_the_input(capsys: pytest.CaptureFixture[str]) -> None:
    for field, value in ECHO_CASES:
        if field in {"scope", "partition", "style"}:
            continue  # argparse choices
        assert cli.main(["policy", f"--{field.replace('_', '-')}={value}"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"connector-wizard: --{field.replace('_', '-')}: ")
        assert "ECHO" not in err and "<" not in err


# --- 6. only known hosts; minted links and the Origin check use the public URL ---------------------


@pytest.mark.parametrize("path", ["/", "/api/v1/plan/policies", "/w/abc/checklist", "/static/app.css"])
def test_a_request_for_another_host_gets_400(tmp_path: Path, path: str) -> None:
    settings = make_settings(tmp_path, allowed_hosts="")
    with WizardClient(create_app(settings), base_url="http://127.0.0.1:8000") as client:
        for host in ("evil.example", "attacker.localhost.example", "127.0.0.1.nip.io:8000", "localhost.:80x"):
            refused = client.get(path, headers={"Host": host})
            assert refused.status_code == 400, host
            assert host not in refused.text  # the error names the settings, not the input
            assert refused.headers["content-security-policy"]
        for host in ("localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST."):
            assert client.get(path, headers={"Host": host}).status_code != 400, host
        # Health probes come from load balancers by the container's address.
        assert client.get("/healthz", headers={"Host": "10.1.2.3:8000"}).status_code == 200


def test_the_public_url_is_allowed_used_for_links_and_the_origin_check(tmp_path: Path) -> None:
    public = "https://wizard.example.org"
    settings = make_settings(tmp_path, public_url=public + "/", allowed_hosts="wizard-internal")
    assert settings.public_url == public
    with WizardClient(create_app(settings), base_url="https://wizard-internal") as client:
        token = client.new_wizard()
        minted = client.form_post(f"/w/{token}/links", {"kind": "view", "days": "3", "label": "x"})
        assert minted.status_code == 200  # after the redirect that follows minting
        assert f'value="{public}/w/' in minted.text or f">{public}/w/" in minted.text
        assert "wizard-internal/w/" not in minted.text
        # The browser's Origin is the public URL, the Host the proxy's upstream name.
        tick = client.post(
            f"/w/{token}/steps/create-user?done=true",
            headers={"Origin": public, "X-CSRF-Token": client.csrf()},
            follow_redirects=False,
        )
        assert tick.status_code == 303
        other = client.post(
            f"/w/{token}/steps/create-user?done=false",
            headers={"Origin": "https://evil.example", "X-CSRF-Token": client.csrf()},
            follow_redirects=False,
        )
        assert other.status_code == 403
        assert client.get("/", headers={"Host": "wizard.example.org"}).status_code == 200
        assert client.get("/", headers={"Host": "evil.example"}).status_code == 400


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("public_url", "wizard.example.org"),
        ("public_url", "ftp://wizard.example.org"),
        ("public_url", "https://wizard.example.org/sub/path"),
        ("public_url", "https://user:pw@wizard.example.org"),
        ("allowed_hosts", "good.example, bad host"),
        ("allowed_hosts", "host.example:8000"),
    ],
)
def test_bad_public_url_or_hosts_fail_fast(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        make_settings(tmp_path, **{name: value})


# --- 9. bare URLs in notes and names never become links in report.md ------------------------------

LINKY_NOTE = (
    "see https://evil.example/login?a=1|b http://x.test www.evil.example "
    "mailto:me@evil.example bob@evil.example //evil.example evil.example ftp://evil.example ok: done."
)


def test_bare_urls_in_notes_do_not_become_links_in_report_md(client: WizardClient) -> None:
    import cmarkgfm
    from cmarkgfm.cmark import Options
    from markdown_it import MarkdownIt

    edit = client.new_wizard()
    client.form_post("/me", {"name": "Eve www.evil.example"})
    client.form_post(f"/w/{edit}/steps/create-user?done=true")
    client.form_post(f"/w/{edit}/steps/create-user/note", {"note": LINKY_NOTE, "version": "0"})
    text = client.get(f"/w/{edit}/report.md").text
    # GitHub's own renderer with its autolink extension, and markdown-it with linkify.
    renderings = {
        "cmark-gfm": cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE),
        "markdown-it": MarkdownIt("gfm-like").render(text),
    }
    for renderer, html in renderings.items():
        assert "<a " not in html and "<a>" not in html, renderer
        assert "evil.example" in html, renderer  # still there, as text
    row = next(line for line in text.splitlines() if line.startswith("| 2 |"))
    assert len(re.split(r"(?<!\\)\|", row)[1:-1]) == 6  # the URL's | added no cell
    assert "ok: done." in text  # plain words stay plain


def test_serve_turns_core_dumps_off(start_server: Any, tmp_path: Path) -> None:
    server = start_server(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    limits = Path(f"/proc/{server.process.pid}/limits").read_text()
    (core,) = [line for line in limits.splitlines() if line.startswith("Max core file size")]
    assert core.split()[4:6] == ["0", "0"], core


def test_a_note_with_control_characters_is_saved_without_them(client: WizardClient) -> None:
    """PostgreSQL refuses NUL in text: it was a 500 there (found by the form fuzz under PostgreSQL)."""
    token = client.new_wizard()
    saved = client.put(
        f"/api/v1/wizards/{token}/steps/create-user/note",
        json={"version": 0, "note": "a\x00b\x1b[31mc\r\nd\te"},
        headers={"X-CSRF-Token": client.csrf()},
    )
    assert saved.status_code == 200
    assert saved.json()["note"] == "ab[31mc\nd\te"
    form = client.form_post(f"/w/{token}/steps/create-access-key/note", {"version": "0", "note": "x\x00y"})
    assert form.status_code == 200
