"""The Verify page of a keyless plan (issue 13.2): how to get the sensor role's credentials, and a run with them.

moto over HTTP (the demo organization in the session's moto server): the sensor
role is created and assumed there, and its session is typed into the form as a
person pastes `aws configure export-credentials` from the sensor's host.
"""

from __future__ import annotations

import html
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import _parser as cli_parser
from app.domain.principal import SENSOR_AWS_PROFILE
from app.main import create_app
from app.web import verify as verify_module
from tests.aws.test_role_principal import PCA_ARN, sensor_role_credentials
from tests.aws.test_setup_script_cli import AWS_CLI
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
    assert "aws configure export-credentials --format=env" in page
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
    assert "aws configure export-credentials --profile=digicert-tlm-sensor --format=env" in page
    assert "connector-wizard verify --principal=roles-anywhere --profile=digicert-tlm-sensor …" in page

    user = demo_client.new_wizard()
    page = demo_client.get(f"/w/{user}/verify").text
    assert "Credentials of the sensor role" not in page and "get-session-token" in page


def _commands(page: str) -> list[list[str]]:
    """The commands the page prints for someone to run (its <code> texts that start with a tool)."""
    texts = (html.unescape(text) for text in re.findall(r"<code[^>]*>(.*?)</code>", page, re.S))
    return [shlex.split(t) for t in texts if t.startswith(("aws ", "connector-wizard "))]


def test_the_verify_pages_commands_join_each_value_to_its_flag_and_the_real_tools_take_them(
    demo_client: WizardClient, tmp_path: Path
) -> None:
    # One form everywhere (docs/setup-script.md#arguments): `--flag=value`, as setup.sh and the checklist.
    anywhere = _keyless_wizard(
        demo_client,
        principal="roles-anywhere",
        trust_anchor_pca_arn=PCA_ARN,
        certificate_subject_cn="sensor-01.example.com",
    )
    pages = [demo_client.get(f"/w/{token}/verify").text for token in (anywhere, demo_client.new_wizard())]
    commands = [command for page in pages for command in _commands(page)]
    assert {tuple(c[:3]) for c in commands} >= {
        ("aws", "configure", "export-credentials"),
        ("connector-wizard", "verify", "--principal=roles-anywhere"),
        ("aws", "sts", "get-session-token"),
    }
    for command in commands:
        options = command[next(i for i, word in enumerate(command) if word.startswith("--")) :]
        assert all(word == "…" or (word.startswith("--") and "=" in word) for word in options), command
    # connector-wizard's own parser reads the profile the checklist creates ...
    (verify,) = (c for c in commands if c[:2] == ["connector-wizard", "verify"])
    args = cli_parser().parse_args([word for word in verify[1:] if word != "…"])
    assert (args.principal, args.profile) == ("roles-anywhere", SENSOR_AWS_PROFILE)
    # ... and so does the real AWS CLI (argparse too; export-credentials itself is v2's only).
    (export,) = (c for c in commands if c[:3] == ["aws", "configure", "export-credentials"])
    (profile,) = (word for word in export if word.startswith("--profile="))
    if not AWS_CLI.exists():
        if os.environ.get("CI"):
            pytest.fail(f"the AWS CLI is missing at {AWS_CLI}: scripts/test.sh installs it")
        pytest.skip("the AWS CLI virtualenv is missing: run scripts/test.sh once")
    config = tmp_path / "aws-config"
    config.write_text(f"[profile {SENSOR_AWS_PROFILE}]\nregion = eu-west-3\n")
    env = {
        "PATH": os.environ["PATH"],
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    read = subprocess.run(
        [str(AWS_CLI), "configure", "get", "region", profile],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (read.returncode, read.stdout) == (0, "eu-west-3\n"), read.stderr


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
    secret = demo.organization.credentials.secret_access_key.get_secret_value()
    response = demo_client.form_post(
        f"/w/{token}/verify",
        {"access_key_id": demo.organization.credentials.access_key_id, "secret_access_key": secret},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert 'id="session_token-error"' in response.text
    assert "paste its session&#39;s session token too" in response.text
    assert secret not in response.text and demo.organization.credentials.access_key_id not in response.text
    assert 'hx-trigger="every 1s"' not in response.text
    assert demo_client.get(f"/w/{token}/verify").context["view"].run is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("options", "expected_caller"),
    [
        pytest.param(
            {"principal": "instance-role", "sensor_role_name": "tlm-sensor-ec2"},
            r"arn:aws:sts::123456789012:assumed-role/tlm-sensor-ec2/connector-wizard-demo",
            id="instance-role",
        ),
        pytest.param(
            {
                "principal": "roles-anywhere",
                "trust_anchor_pca_arn": PCA_ARN,
                "certificate_subject_cn": "sensor-01.example.com",
            },
            r"arn:aws:sts::123456789012:assumed-role/digicert-tlm-sensor/connector-wizard-demo",
            id="roles-anywhere",
        ),
        pytest.param(
            {"principal": "iam-user", "user_name": "tlm-connector-eu"},
            r"arn:aws:iam::123456789012:user/tlm-connector-eu",
            id="iam-user-named",
        ),
    ],
)
def test_the_demo_button_signs_in_as_the_plans_own_principal(
    demo_client: WizardClient, options: dict[str, str], expected_caller: str
) -> None:
    # A demo run for a keyless plan, or a user with another name, used to sign in as the
    # demo's default user and fail the identity check the plan itself set up.
    token = _keyless_wizard(demo_client, **options)
    started = demo_client.form_post(f"/w/{token}/verify", {"source": "demo"}, follow_redirects=False)
    assert started.status_code == 303, started.text
    _wait(demo_client, token)
    run = demo_client.get(f"/w/{token}/verify").context["view"].run  # type: ignore[attr-defined]
    assert run.report.caller_arn == expected_caller
    identity = next(c for c in run.report.checks if c.id == "identity")
    assert identity.status.value == "pass", identity.explanation
    # The simulated AssumeRole denials name that caller too, as AWS would: they used to
    # name the demo's default user whatever the plan's principal.
    denied = [a for a in run.report.accounts if "sts:AssumeRole" in (a.detail or "")]
    assert denied, [a.detail for a in run.report.accounts]
    for account in denied:
        assert f"User: {expected_caller} is not authorized to perform: sts:AssumeRole" in str(account.detail)
    # A second run works too: a role's session is new per run, a user keeps at most two keys.
    again = demo_client.form_post(f"/w/{token}/verify", {"source": "demo"}, follow_redirects=False)
    assert again.status_code == 303, again.text
    _wait(demo_client, token)
    latest = demo_client.get(f"/w/{token}/verify").context["view"].run  # type: ignore[attr-defined]
    assert latest.id != run.id and latest.report.caller_arn == expected_caller
