"""The wizard end to end over HTTP: pages, plain form posts, htmx fragments, persistence."""

from __future__ import annotations

import html
import re

import pytest

from tests.conftest import WizardClient, make_settings
from tests.web.routes import concrete_path, duplicate_ids, endpoints, mint_link

HTMX = {"HX-Request": "true"}


def test_home_page_starts_a_wizard_with_an_unguessable_link(client: WizardClient) -> None:
    home = client.get("/")
    assert home.status_code == 200
    assert home.template.name == "home.html"  # type: ignore[attr-defined]
    token = client.new_wizard()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 256 bits
    page = client.get(f"/w/{token}/scope?new=1")
    assert "edit link" in page.text
    assert page.context["nav"].plan.scope.value == "organization"  # type: ignore[attr-defined]


def test_unknown_token_is_404(client: WizardClient) -> None:
    assert client.get("/w/" + "A" * 43 + "/scope").status_code == 404
    assert client.get("/w/short/scope").status_code == 404


def test_choose_scope_and_options_then_see_the_exact_policy(client: WizardClient) -> None:
    token = client.new_wizard()
    response = client.form_post(
        f"/w/{token}/scope", {"scope": "organization", "version": "1"}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"].endswith("/options")
    response = client.form_post(
        f"/w/{token}/options",
        {
            "version": "1",
            "user_name": "tlm-connector",
            "role_name": "DigiCertTLMRole",
            "secrets_manager": "on",
            "secret_prefix": "digicert-tlm/",
            "partition": "aws",
            "regions": ["us-east-1", "eu-west-1"],
            "style": "documented",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    page = client.get(f"/w/{token}/policies")
    assert "arn:aws:iam::*:role/DigiCertTLMRole" in page.text
    assert "RESOURCE_MISMATCH" in page.text
    assert "arn:aws:iam::aws:policy/AWSOrganizationsReadOnlyAccess" in page.text
    plan = page.context["preview"].plan  # type: ignore[attr-defined]
    assert plan.regions == ("us-east-1", "eu-west-1")


@pytest.mark.parametrize("bad", ["", "a" * 65, "role/with/slash", "<script>", "rôle"])
def test_invalid_role_name_shows_an_error_next_to_the_field_and_saves_nothing(
    client: WizardClient, bad: str
) -> None:
    token = client.new_wizard()
    before = client.get(f"/api/v1/wizards/{token}").json()
    response = client.form_post(
        f"/w/{token}/options",
        {
            "version": "1",
            "user_name": "ok",
            "role_name": bad,
            "partition": "aws",
            "regions": "us-east-1",
            "style": "documented",
        },
    )
    assert response.status_code == 422
    assert 'id="role_name-error"' in response.text
    assert 'aria-invalid="true" aria-describedby="role_name-error"' in response.text
    assert "<script>" not in response.text
    after = client.get(f"/api/v1/wizards/{token}").json()
    assert after == before


def test_stale_options_form_gets_409_and_the_current_state(client: WizardClient) -> None:
    token = client.new_wizard()
    fields = {"user_name": "first", "partition": "aws", "regions": "us-east-1", "style": "documented"}
    assert (
        client.form_post(
            f"/w/{token}/options", {**fields, "version": "1"}, follow_redirects=False
        ).status_code
        == 303
    )
    stale = client.form_post(f"/w/{token}/options", {**fields, "user_name": "second", "version": "1"})
    assert stale.status_code == 409
    assert client.get(f"/api/v1/wizards/{token}").json()["plan"]["user_name"] == "first"


def test_live_preview_fragment_changes_nothing(client: WizardClient) -> None:
    token = client.new_wizard()
    response = client.get(
        f"/w/{token}/options/preview",
        params={
            "role_name": "PreviewRole",
            "partition": "aws",
            "regions": "us-east-1",
            "shown_partition": "aws",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="preview"')
    assert "<html" not in response.text
    assert "arn:aws:iam::*:role/PreviewRole" in response.text
    assert response.headers["vary"] == "HX-Request"
    assert (
        client.get(f"/api/v1/wizards/{token}").json()["plan"]["role_name"] == "OrganizationAccountAccessRole"
    )


def test_preview_swaps_in_the_regions_of_a_new_partition(client: WizardClient) -> None:
    token = client.new_wizard()
    response = client.get(
        f"/w/{token}/options/preview",
        params={"partition": "aws-cn", "regions": "us-east-1", "shown_partition": "aws"},
        headers=HTMX,
    )
    assert 'hx-swap-oob="true"' in response.text
    assert "cn-north-1" in response.text


def test_preview_swaps_in_the_secret_prefix_caveat_of_the_principal_chosen(client: WizardClient) -> None:
    token = client.new_wizard()
    params = {
        "principal": "instance-role",
        "secret_prefix": "tlm-keys/",
        "partition": "aws",
        "regions": "us-east-1",
    }
    fragment = client.get(f"/w/{token}/options/preview", params=params, headers=HTMX).text
    note = re.search(r'<small id="secret_prefix-note" hx-swap-oob="true">(.*?)</small>', fragment, re.S)
    assert note is not None, "the htmx preview swaps the caveat in"
    text = html.unescape(note.group(1))
    assert (
        "look for the connector sensor role's CreateSecret events" in text and "prefix tlm-keys/ is" in text
    )
    # A whole page (no htmx) has the caveat once, under its field.
    page = client.get(f"/w/{token}/options/preview", params=params).text
    assert page.count('id="secret_prefix-note"') == 1 and 'hx-swap-oob="true">The Secrets' not in page


def test_tick_plain_post_and_htmx_fragment_persist(client: WizardClient) -> None:
    token = client.new_wizard()
    plain = client.form_post(f"/w/{token}/steps/create-user?done=true", follow_redirects=False)
    assert plain.status_code == 303
    assert plain.headers["location"].endswith("/checklist#step-create-user")
    fragment = client.form_post(f"/w/{token}/steps/put-inline-policy?done=true", headers=HTMX)
    assert fragment.status_code == 200
    # Only the step's status is swapped (its instructions and note never change with a tick).
    assert fragment.text.lstrip().startswith('<div id="status-put-inline-policy" class="step-status done"')
    assert "Done ✓" in fragment.text and "In the AWS console" not in fragment.text
    steps = {s["id"]: s for s in client.get(f"/api/v1/wizards/{token}").json()["steps"]}
    assert steps["create-user"]["done"] and steps["put-inline-policy"]["done"]
    assert not steps["member-role"]["done"]
    # Idempotent: ticking again changes nothing and logs nothing new.
    client.form_post(f"/w/{token}/steps/create-user?done=true")
    report = client.get(f"/w/{token}/report")
    assert report.context["done_count"] == 2  # type: ignore[attr-defined]
    assert [e.kind for e in report.context["evidence"].activity].count("step.done") == 2  # type: ignore[attr-defined]


def test_unknown_step_is_404(client: WizardClient) -> None:
    token = client.new_wizard()
    assert client.form_post(f"/w/{token}/steps/no-such-step?done=true").status_code == 404


def test_ticks_survive_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from app.main import create_app

    settings = make_settings(tmp_path)
    with WizardClient(create_app(settings)) as first:
        token = first.new_wizard()
        for step in ["enable-trusted-access", "create-user", "member-role"]:
            first.form_post(f"/w/{token}/steps/{step}?done=true")
    with WizardClient(create_app(settings)) as second:
        steps = {s["id"]: s["done"] for s in second.get(f"/api/v1/wizards/{token}").json()["steps"]}
    assert [k for k, v in steps.items() if v] == ["enable-trusted-access", "create-user", "member-role"]


def test_all_pages_render_for_both_scopes(client: WizardClient) -> None:
    for scope in ["organization", "account"]:
        token = client.new_wizard()
        client.form_post(f"/w/{token}/scope", {"scope": scope, "version": "1"})
        for page in ["scope", "options", "policies", "checklist", "report"]:
            response = client.get(f"/w/{token}/{page}")
            assert response.status_code == 200, (scope, page)
            assert response.template.name == f"{page}.html"  # type: ignore[attr-defined]
        policies = client.get(f"/w/{token}/policies").text
        assert ("Inline policy" in policies) is (scope == "organization")


def test_cached_pages_carry_each_browsers_own_csrf_token_and_name(settings) -> None:  # type: ignore[no-untyped-def]
    from app.main import create_app

    app = create_app(settings)
    with WizardClient(app) as alice, WizardClient(app) as bob:
        token = alice.new_wizard()
        alice.form_post("/me", {"name": "Alice <admin>", "back": "/"})
        first = alice.get(f"/w/{token}/checklist").text
        second = bob.get(f"/w/{token}/checklist").text  # served from the page cache
        assert alice.csrf() in first and alice.csrf() not in second
        assert bob.csrf() in second
        assert 'value="Alice &lt;admin&gt;"' in first
        assert "Alice" not in second
        # A tick moves the wizard's revision: the next page shows it.
        bob.form_post(f"/w/{token}/steps/create-user?done=true")
        assert 'id="status-create-user" class="step-status done"' in alice.get(f"/w/{token}/checklist").text


def test_unticking_a_step_nobody_ticked_changes_and_logs_nothing(client: WizardClient) -> None:
    token = client.new_wizard()
    response = client.form_post(f"/w/{token}/steps/create-user?done=false", headers=HTMX)
    assert response.status_code == 200 and "Mark as done" in response.text
    kinds = [e.kind for e in client.get(f"/w/{token}/report").context["evidence"].activity]  # type: ignore[attr-defined]
    assert kinds == ["wizard.created"]


@pytest.mark.parametrize("query", ["", "?done=", "?state=true"])
def test_a_tick_that_does_not_say_done_or_not_is_refused_and_unticks_nothing(
    client: WizardClient, query: str
) -> None:
    token = client.new_wizard()
    client.form_post(f"/w/{token}/steps/create-user?done=true")
    # The old form's body field no longer decides anything: the URL does.
    response = client.form_post(f"/w/{token}/steps/create-user{query}", {"done": "false"}, headers=HTMX)
    assert response.status_code == 422
    steps = {s["id"]: s for s in client.get(f"/api/v1/wizards/{token}").json()["steps"]}
    assert steps["create-user"]["done"]


@pytest.mark.parametrize("value", ["yes", "truee", "x" * 500])
def test_a_tick_with_an_unknown_done_value_is_refused_and_changes_nothing(
    client: WizardClient, value: str
) -> None:
    token = client.new_wizard()
    client.form_post(f"/w/{token}/steps/create-user?done=true")
    response = client.form_post(f"/w/{token}/steps/create-user?done={value}", headers=HTMX)
    assert response.status_code == 422
    assert "done value must be true or false" in response.text and value not in response.text
    steps = {s["id"]: s for s in client.get(f"/api/v1/wizards/{token}").json()["steps"]}
    assert steps["create-user"]["done"]
    assert client.form_post(f"/w/{token}/steps/create-user?done=off").status_code == 200
    steps = {s["id"]: s for s in client.get(f"/api/v1/wizards/{token}").json()["steps"]}
    assert not steps["create-user"]["done"]


@pytest.mark.parametrize("version", [str(2**31), str(10**12)])
def test_a_form_version_beyond_the_database_integer_changes_nothing(
    client: WizardClient, version: str
) -> None:
    token = client.new_wizard()
    scope = client.form_post(f"/w/{token}/scope", {"scope": "account", "version": version})
    assert scope.status_code == 422
    fields = {"user_name": "other", "partition": "aws", "regions": "us-east-1", "style": "documented"}
    options = client.form_post(f"/w/{token}/options", {**fields, "version": version})
    assert options.status_code == 409
    note = client.form_post(f"/w/{token}/steps/create-user/note", {"note": "n", "version": version})
    assert note.status_code == 422
    plan = client.get(f"/api/v1/wizards/{token}").json()["plan"]
    assert plan["scope"] == "organization" and plan["user_name"] != "other"


def test_every_page_of_a_wizard_has_unique_ids(client: WizardClient) -> None:
    from fastapi import FastAPI

    token = client.new_wizard()
    client.form_post(f"/w/{token}/steps/create-user?done=true")
    client.form_post(f"/w/{token}/steps/create-user/note", {"note": "ticket 42", "version": "0"})
    app = client.app
    assert isinstance(app, FastAPI)
    pages = 0
    for endpoint in endpoints(app, frozenset({"GET"})):
        if endpoint.is_api or "{job_id}" in endpoint.path:
            continue
        response = client.get(concrete_path(endpoint.path, token=token, link_id=1))
        if response.status_code == 200 and response.headers["content-type"].startswith("text/html"):
            pages += 1
            assert duplicate_ids(response.text) == [], str(endpoint)
    assert pages >= 10


def test_a_stale_options_save_keeps_the_persons_edits_beside_the_saved_plan(client: WizardClient) -> None:
    token = client.new_wizard()
    fields = {"user_name": "first", "partition": "aws", "regions": "us-east-1", "style": "documented"}
    client.form_post(f"/w/{token}/options", {**fields, "version": "1"}, follow_redirects=False)
    mine = {**fields, "user_name": "mine-user", "regions": ["us-east-1", "eu-west-1"], "version": "1"}
    stale = client.form_post(f"/w/{token}/options", mine)
    assert stale.status_code == 409
    html = stale.text
    # The form still holds what the person typed and ticked...
    assert re.search(r'id="user_name" name="user_name" value="mine-user"', html)
    assert re.search(r'value="eu-west-1" checked', html)
    # ...the differences are listed, and the form now carries the current version.
    differences = html[html.index('class="differences"') :]
    assert '<th scope="row">IAM user name</th><td>mine-user</td><td>first</td>' in differences
    assert '<th scope="row">Regions</th><td>us-east-1, eu-west-1</td><td>us-east-1</td>' in differences
    assert 'name="version" value="2"' in html
    assert client.get(f"/api/v1/wizards/{token}").json()["plan"]["user_name"] == "first"
    # Saving again keeps them.
    again = client.form_post(f"/w/{token}/options", {**mine, "version": "2"}, follow_redirects=False)
    assert again.status_code == 303
    assert client.get(f"/api/v1/wizards/{token}").json()["plan"]["user_name"] == "mine-user"


def test_region_sets_and_a_new_partition_work_without_javascript(client: WizardClient) -> None:
    token = client.new_wizard()
    before = client.get(f"/api/v1/wizards/{token}").json()
    base = {
        "user_name": "u",
        "partition": "aws",
        "shown_partition": "aws",
        "style": "documented",
        "version": "0",
    }
    europe = client.form_post(f"/w/{token}/options", {**base, "regions": "us-east-1", "region_set": "eu"})
    assert europe.status_code == 200
    ticked = set(re.findall(r'name="regions" value="([a-z0-9-]+)" checked', europe.text))
    assert ticked == {
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
    }
    assert "Europe (Ireland)" in europe.text and "Save to keep them" in europe.text
    # The partition switched without the live preview: its regions come back, home region ticked.
    china = client.form_post(f"/w/{token}/options", {**base, "partition": "aws-cn", "regions": "us-east-1"})
    assert china.status_code == 200
    assert set(re.findall(r'name="regions" value="([a-z0-9-]+)"', china.text)) == {
        "cn-north-1",
        "cn-northwest-1",
    }
    assert re.findall(r'name="regions" value="([a-z0-9-]+)" checked', china.text) == ["cn-northwest-1"]
    assert "China (Beijing)" in china.text
    # Nothing was saved by either.
    assert client.get(f"/api/v1/wizards/{token}").json() == before


def test_a_view_link_refused_an_action_is_led_back_into_its_wizard(client: WizardClient) -> None:
    """No dead end: the 403 page links back into the wizard and says what the link can do."""
    edit = client.new_wizard()
    view = mint_link(client, edit)
    refused = client.form_post(f"/w/{view}/scope", {"scope": "account", "version": "1"})
    assert refused.status_code == 403
    assert f'href="/w/{view}"' in refused.text and "Back to the wizard" in refused.text
    assert "This link is read-only" in refused.text
    # Its pages carry the read-only banner, Back and Next, and no audit-trail name form.
    page = client.get(f"/w/{view}/options").text
    assert "Read-only link." in page and "Next: Policies" in page and 'action="/me"' not in page
