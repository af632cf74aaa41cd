"""Keyless principals' input (issue 13.2) through the options form, the API and the CLI.

Bad input (a PEM that is not a CA certificate, garbage, two certificates, a
Private CA of another partition, no subject CN, an option the principal does
not use) gets one clear message naming the field, never the input, and the
database holds the same rows afterwards. Good input is stored and read back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.settings import Settings
from tests.conftest import WizardClient
from tests.web.test_refused_options import _rows

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CA_PEM = (FIXTURES / "example-sensor-ca.pem").read_text()
LEAF_PEM = (FIXTURES / "example-sensor-leaf.pem").read_text()
CN = "tlm-sensor-1.example.com"
CN_PCA = (
    "arn:aws-cn:acm-pca:cn-north-1:123456789012:certificate-authority/12345678-1234-1234-1234-123456789012"
)

BAD = [
    pytest.param(
        {"trust_anchor_certificate": LEAF_PEM, "certificate_subject_cn": CN},
        "trust_anchor_certificate",
        "not a CA certificate",
        id="not-a-ca",
    ),
    pytest.param(
        {"trust_anchor_certificate": "hello there", "certificate_subject_cn": CN},
        "trust_anchor_certificate",
        "exactly one PEM",
        id="garbage",
    ),
    pytest.param(
        {"trust_anchor_certificate": CA_PEM + CA_PEM, "certificate_subject_cn": CN},
        "trust_anchor_certificate",
        "exactly one PEM",
        id="two-certificates",
    ),
    pytest.param(
        {"trust_anchor_pca_arn": CN_PCA, "certificate_subject_cn": CN},
        "trust_anchor_pca_arn",
        "another partition",
        id="pca-other-partition",
    ),
    pytest.param({"trust_anchor_certificate": CA_PEM}, "certificate_subject_cn", "subject CN", id="no-cn"),
    pytest.param(
        {"certificate_subject_cn": CN}, "trust_anchor_pca_arn", "needs a trust anchor", id="no-anchor"
    ),
]
# (the plan's fields, the field refused, words of its message)
bad_input = pytest.mark.parametrize(("fields", "field", "words"), BAD)


def _never_echoed(text: str, fields: dict[str, str]) -> None:
    assert "MII" not in text  # no base64 of a certificate
    for value in fields.values():
        if value != CN:
            # Its most telling line (a PEM's base64, not the BEGIN line the message quotes).
            assert max(value.splitlines(), key=len)[:20] not in text


@bad_input
def test_the_options_form_refuses_bad_roles_anywhere_input_and_saves_nothing(
    sqlite_client: WizardClient,
    sqlite_settings: Settings,
    fields: dict[str, str],
    field: str,
    words: str,
) -> None:
    token = sqlite_client.new_wizard()
    before = _rows(sqlite_settings)
    form = {
        "version": "1",
        "principal": "roles-anywhere",
        "partition": "aws",
        "regions": "us-east-1",
        **fields,
    }
    response = sqlite_client.form_post(f"/w/{token}/options", form, follow_redirects=False)
    assert response.status_code == 422
    assert words in response.context["options"].errors[field]  # type: ignore[attr-defined]
    assert "Nothing was saved." in response.text
    assert _rows(sqlite_settings) == before


@bad_input
def test_the_api_refuses_bad_roles_anywhere_input_and_saves_nothing(
    sqlite_client: WizardClient,
    sqlite_settings: Settings,
    fields: dict[str, str],
    field: str,
    words: str,
) -> None:
    headers = {"X-CSRF-Token": sqlite_client.csrf()}
    token = sqlite_client.post("/api/v1/wizards", json={}, headers=headers).json()["token"]
    before = _rows(sqlite_settings)
    plan = {"principal": "roles-anywhere", **fields}
    answers = [
        sqlite_client.put(
            f"/api/v1/wizards/{token}/plan", json={"version": 1, "plan": plan}, headers=headers
        ),
        sqlite_client.post("/api/v1/wizards", json=plan, headers=headers),
        sqlite_client.get("/api/v1/plan/policies", params=plan),
    ]
    for answer in answers:
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert detail[0]["loc"] == ["plan", field]
        assert words in detail[0]["msg"]
        _never_echoed(answer.text, fields)
    assert _rows(sqlite_settings) == before


@bad_input
def test_the_cli_refuses_bad_roles_anywhere_input_with_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fields: dict[str, str],
    field: str,
    words: str,
) -> None:
    argv = ["policy", "--principal", "roles-anywhere"]
    if "trust_anchor_certificate" in fields:
        pem = tmp_path / "ca.pem"
        pem.write_text(fields["trust_anchor_certificate"])
        argv += ["--trust-anchor-certificate", str(pem)]
    if "trust_anchor_pca_arn" in fields:
        argv += ["--trust-anchor-pca-arn", fields["trust_anchor_pca_arn"]]
    if "certificate_subject_cn" in fields:
        argv += ["--certificate-subject-cn", fields["certificate_subject_cn"]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    flag = "--" + field.replace("_", "-")
    assert err.startswith(f"connector-wizard: {flag}: "), err
    assert words in err and err.count("\n") == 1
    _never_echoed(err, fields)


def test_the_cli_says_when_the_certificate_file_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "secret-name" / "ca.pem"
    binary = tmp_path / "ca.der"
    binary.write_bytes(b"\x30\x82\xff\xfe\x00")
    for path, words in ((missing, "no such file"), (binary, "the file is not text")):
        argv = ["policy", "--principal", "roles-anywhere", "--certificate-subject-cn", CN]
        assert main([*argv, "--trust-anchor-certificate", str(path)]) == 2
        err = capsys.readouterr().err
        assert (
            err
            == f"connector-wizard: --trust-anchor-certificate: {words}" + err[err.index(words) + len(words) :]
        )
        assert "secret-name" not in err and str(tmp_path) not in err


@pytest.mark.parametrize(
    ("plan", "field"),
    [
        ({"principal": "instance-role", "user_name": "someone"}, "user_name"),
        ({"sensor_role_name": "tlm-sensor"}, "sensor_role_name"),
        ({"principal": "instance-role", "certificate_subject_cn": CN}, "certificate_subject_cn"),
    ],
)
def test_an_option_the_principal_does_not_use_is_refused_by_the_api(
    sqlite_client: WizardClient, sqlite_settings: Settings, plan: dict[str, str], field: str
) -> None:
    before = _rows(sqlite_settings)
    answer = sqlite_client.post("/api/v1/wizards", json=plan, headers={"X-CSRF-Token": sqlite_client.csrf()})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["plan", field]
    assert "Only plans whose principal is" in answer.json()["detail"][0]["msg"]
    assert _rows(sqlite_settings) == before


def test_a_roles_anywhere_plan_is_saved_from_the_form_and_switching_back_drops_its_fields(
    sqlite_client: WizardClient,
) -> None:
    token = sqlite_client.new_wizard()
    form = {
        "version": "1",
        "principal": "roles-anywhere",
        "user_name": "digicert-tlm-connector",
        "sensor_role_name": "tlm-sensor",
        "trust_anchor_certificate": CA_PEM.replace("\n", "\r\n"),
        "certificate_subject_cn": CN,
        "regions": "us-east-1",
    }
    saved = sqlite_client.form_post(f"/w/{token}/options", form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    plan = sqlite_client.get(f"/api/v1/wizards/{token}").json()["plan"]
    assert plan["principal"] == "roles-anywhere" and plan["sensor_role_name"] == "tlm-sensor"
    assert plan["trust_anchor_certificate"] == CA_PEM.strip()
    page = sqlite_client.get(f"/w/{token}/options").text
    assert '<textarea id="trust_anchor_certificate"' in page
    # Back to the IAM user: the form still carries the Roles Anywhere fields as saved;
    # they go back to their defaults instead of being refused.
    back = {**form, "version": "2", "principal": "iam-user", "trust_anchor_certificate": CA_PEM.strip()}
    saved = sqlite_client.form_post(f"/w/{token}/options", back, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    plan = sqlite_client.get(f"/api/v1/wizards/{token}").json()["plan"]
    assert plan["principal"] == "iam-user"
    assert plan["trust_anchor_certificate"] == "" and plan["sensor_role_name"] == "digicert-tlm-sensor"


def test_the_policies_page_report_and_api_follow_a_role_principal(sqlite_client: WizardClient) -> None:
    # Surfaces read attachments.py: a role plan names the role everywhere, never the default user.
    headers = {"X-CSRF-Token": sqlite_client.csrf()}
    plan = {"principal": "roles-anywhere", "trust_anchor_certificate": CA_PEM, "certificate_subject_cn": CN}
    created = sqlite_client.post("/api/v1/wizards", json=plan, headers=headers)
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    page = sqlite_client.get(f"/w/{token}/policies").text
    assert "Permissions for the IAM role <code>digicert-tlm-sensor</code>" in page
    assert 'id="sensor-trust-heading"' in page and "rolesanywhere.amazonaws.com" in page
    report = sqlite_client.get(f"/w/{token}/report").text
    assert "<dt>IAM role</dt><dd><code>digicert-tlm-sensor</code></dd>" in report
    for text in (page, report):
        assert "digicert-tlm-connector" not in text
    attached = sqlite_client.get("/api/v1/plan/policies", params=plan).json()["attached"]
    assert attached["user"] is None and attached["principal"]["kind"] == "role"
    assert attached["sensor_role"]["trust_policy"]["file"] == "sensor-role-trust-policy.json"
