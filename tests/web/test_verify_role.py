"""The Verify page of a keyless plan (issue 13.2): how to get the sensor role's credentials, and a run with them.

moto over HTTP (the demo organization in the session's moto server): the sensor
role is created and assumed there, and its session is typed into the form as a
person pastes `aws configure export-credentials` from the sensor's host.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.main import create_app
from app.web import verify as verify_module
from tests.aws.test_role_principal import PCA_ARN, sensor_role_credentials
from tests.conftest import WizardClient, make_settings
from tests.web.routes import duplicate_ids
from tests.web.test_verify import _wait

OPTIONS = {"partition": "aws", "regions": "us-east-1", "style": "least-privilege"}


@pytest.fixture
def demo_client(tmp_path: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[WizardClient]:
    monkeypatch.setattr(verify_module, "MIN_SECONDS_BETWEEN_RUNS", 0.0)
    settings = make_settings(tmp_path, demo=True, aws_endpoint_url=endpoint)
    with WizardClient(create_app(settings), base_url="http://testserver") as client:
        yield client


def _keyless_wizard(client: WizardClient, **principal: str) -> str:
    token = client.new_wizard()
    saved = client.form_post(
        f"/w/{token}/options", {"version": "1", **OPTIONS, **principal}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    return token


def test_the_page_says_how_to_get_the_sensor_roles_credentials(demo_client: WizardClient) -> None:
    token = _keyless_wizard(demo_client, principal="instance-role")
    page = demo_client.get(f"/w/{token}/verify").text
    assert "Credentials of the sensor role digicert-tlm-sensor" in page
    assert "aws configure export-credentials --format env" in page
    assert "trusts only EC2" in page and "Access key ID of the sensor role" in page
    assert re.search(r'<input id="session_token"[^>]* required', page)
    assert "get-session-token" not in page  # the user's advice, wrong for a role
    assert duplicate_ids(page) == []

    anywhere = _keyless_wizard(
        demo_client,
        principal="roles-anywhere",
        trust_anchor_pca_arn=PCA_ARN,
        certificate_subject_cn="sensor-01.example.com",
    )
    page = demo_client.get(f"/w/{anywhere}/verify").text
    assert "trusts only IAM Roles Anywhere" in page
    assert re.search(r"aws configure export-credentials --profile \S+ --format env", page)
    assert "connector-wizard verify --principal roles-anywhere --profile" in page

    user = demo_client.new_wizard()
    page = demo_client.get(f"/w/{user}/verify").text
    assert "Credentials of the sensor role" not in page and "get-session-token" in page


def test_a_run_with_the_sensor_roles_session_passes_identity_and_says_why_two_checks_are_skipped(
    demo_client: WizardClient, endpoint: str
) -> None:
    token = _keyless_wizard(demo_client, principal="instance-role")
    credentials = sensor_role_credentials(endpoint)
    assert credentials.session_token is not None
    started = demo_client.form_post(
        f"/w/{token}/verify",
        {
            "access_key_id": credentials.access_key_id,
            "secret_access_key": credentials.secret_access_key.get_secret_value(),
            "session_token": credentials.session_token.get_secret_value(),
        },
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    html = _wait(demo_client, token)
    view = demo_client.get(f"/w/{token}/verify").context["view"]  # type: ignore[attr-defined]
    checks = {c.id: c for c in view.run.report.checks if c.region is None}
    assert checks["identity"].status.value == "pass", checks["identity"].explanation
    assert "Signed in as the sensor role digicert-tlm-sensor (session i-0123456789abcdef0)" in html
    for skipped in ("access-key-info", "session-token"):
        assert (checks[skipped].status.value, checks[skipped].cause.value) == ("skipped", "role-credentials")
    assert "AWS refuses GetSessionToken to role credentials" in html
    assert credentials.secret_access_key.get_secret_value() not in html


def test_a_role_plan_refuses_credentials_without_a_session_token_and_runs_nothing(
    demo_client: WizardClient,
) -> None:
    token = _keyless_wizard(demo_client, principal="instance-role")
    demo = demo_client.app.state.demo  # type: ignore[attr-defined]
    secret = demo.credentials.secret_access_key.get_secret_value()
    response = demo_client.form_post(
        f"/w/{token}/verify",
        {"access_key_id": demo.credentials.access_key_id, "secret_access_key": secret},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert 'id="session_token-error"' in response.text
    assert "paste its session&#39;s session token too" in response.text
    assert secret not in response.text and demo.credentials.access_key_id not in response.text
    assert 'hx-trigger="every 1s"' not in response.text
    assert demo_client.get(f"/w/{token}/verify").context["view"].run is None  # type: ignore[attr-defined]
