"""The Options page's keyless fields (issue 13.2): each bad value's message sits at its field, the SQLite
file is byte for byte the same afterwards, and nothing answers 500.

tests/web/test_principal_input.py proves the rules and that no row changes;
this proves what the person sees: the field marked invalid and described by its
message, the Roles Anywhere inputs kept as typed (so the error is visible and
fixable), the live preview's answer to the same input, and not one byte written.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from html import unescape as html_unescape
from pathlib import Path

import pytest

from app.settings import Settings
from tests.conftest import WizardClient
from tests.web.test_principal_input import CA_PEM, CN, LEAF_PEM

OTHER_PARTITION_PCA = "arn:aws-us-gov:acm-pca:us-gov-west-1:123456789012:certificate-authority/12345678-1234-1234-1234-123456789012"
CASES = [
    pytest.param(
        {"trust_anchor_certificate": LEAF_PEM},
        "trust_anchor_certificate",
        "This is not a CA certificate",
        id="pem-not-a-ca",
    ),
    pytest.param(
        {"trust_anchor_pca_arn": OTHER_PARTITION_PCA},
        "trust_anchor_pca_arn",
        "The Private CA is in another partition: this plan's partition is aws.",
        id="pca-arn-of-another-partition",
    ),
]


def _database_digest(settings: Settings) -> str:
    """The database file and its WAL, once every committed page is in the file.

    The server checkpoints from a thread of its own every 0.2 s
    (docs/decisions.md#checkpoints), which moves committed pages from the WAL
    into the file without a write: so checkpoint first, until nothing is left
    to copy, and the background thread has nothing to move between two digests.
    A write in between still shows, in the WAL and then in the file. The -shm
    file is left out: it is the WAL's index, which any reader may update and
    which holds nothing persistent (https://www.sqlite.org/walformat.html).
    """
    path = Path(str(settings.database_url).removeprefix("sqlite:///"))
    assert path.is_file(), "no SQLite file"
    conn = sqlite3.connect(path)
    try:
        for _ in range(200):  # busy while the server's thread is checkpointing: try again
            busy, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if not busy and frames == done:
                break
            time.sleep(0.01)
        else:
            raise AssertionError("the WAL never checkpointed")
    finally:
        conn.close()
    files = [path, path.with_name(path.name + "-wal")]
    return hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in files if p.exists())).hexdigest()


def test_the_digest_sees_a_write(sqlite_client: WizardClient, sqlite_settings: Settings) -> None:
    # The check below can fail: one saved step changes it.
    token = sqlite_client.new_wizard()
    before = _database_digest(sqlite_settings)
    assert _database_digest(sqlite_settings) == before
    step = sqlite_client.get(f"/api/v1/wizards/{token}").json()["steps"][0]["id"]
    assert sqlite_client.form_post(f"/w/{token}/steps/{step}?done=true", {}).status_code == 200
    assert _database_digest(sqlite_settings) != before


@pytest.mark.parametrize(("fields", "field", "message"), CASES)
def test_bad_roles_anywhere_input_is_told_at_its_field_and_writes_not_a_byte(
    sqlite_client: WizardClient, sqlite_settings: Settings, fields: dict[str, str], field: str, message: str
) -> None:
    token = sqlite_client.new_wizard()
    sqlite_client.get(f"/w/{token}/options")  # every read the refusal below could cause, done before
    before = _database_digest(sqlite_settings)
    form = {
        "version": "1",
        "principal": "roles-anywhere",
        "certificate_subject_cn": CN,
        "partition": "aws",
        "regions": "us-east-1",
        "style": "documented",
        **fields,
    }
    response = sqlite_client.form_post(f"/w/{token}/options", form, follow_redirects=False)
    assert response.status_code == 422
    html = response.text
    # The field says it is invalid and points at its message, which follows it directly.
    tag = re.search(rf'<(?:input|textarea) id="{field}"[^>]*>', html)
    assert tag, field
    assert 'aria-invalid="true"' in tag.group(0) and f'aria-describedby="{field}-error"' in tag.group(0)
    after_field = html[tag.end() :]
    error = re.search(rf'<small id="{field}-error"[^>]*>(.*?)</small>', after_field, re.S)
    assert error and message in html_unescape(error.group(1))
    assert after_field.index(f'id="{field}-error"') < after_field.index("<label")  # before the next field
    # The choice and the other inputs stay as typed; the value itself is never echoed in a message.
    assert re.search(r'<input type="radio" name="principal" value="roles-anywhere"[^>]* checked', html)
    assert CN in html
    assert "Nothing was saved." in html
    assert _database_digest(sqlite_settings) == before

    # The live preview answers the same input without a 500 and without saving.
    preview = sqlite_client.get(f"/w/{token}/options/preview", params=form, headers={"HX-Request": "true"})
    assert preview.status_code == 200
    assert message in html_unescape(preview.text)
    assert _database_digest(sqlite_settings) == before
    plan = sqlite_client.get(f"/api/v1/wizards/{token}").json()["plan"]
    assert plan["principal"] == "iam-user" and plan["trust_anchor_certificate"] == ""


def test_a_good_ca_certificate_is_saved_and_shown_back(sqlite_client: WizardClient) -> None:
    token = sqlite_client.new_wizard()
    form = {
        "version": "1",
        "principal": "roles-anywhere",
        "trust_anchor_certificate": CA_PEM,
        "certificate_subject_cn": CN,
        "partition": "aws",
        "regions": "us-east-1",
        "style": "documented",
    }
    saved = sqlite_client.form_post(f"/w/{token}/options", form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    page = sqlite_client.get(f"/w/{token}/options").text
    assert "-----BEGIN CERTIFICATE-----" in page
    assert re.search(r'<input type="radio" name="principal" value="roles-anywhere"[^>]* checked', page)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        pytest.param(
            {"principal": "iam-user", "user_name": "tlm-eu"}, "user <code>tlm-eu</code>", id="iam-user"
        ),
        pytest.param(
            {"principal": "instance-role", "sensor_role_name": "tlm-ec2"},
            "sensor role <code>tlm-ec2</code>",
            id="instance-role",
        ),
        pytest.param(
            {"principal": "roles-anywhere", "trust_anchor_certificate": CA_PEM, "certificate_subject_cn": CN},
            "sensor role <code>digicert-tlm-sensor</code>",
            id="roles-anywhere",
        ),
    ],
)
def test_the_options_preview_names_the_connector_as_the_domain_does(
    client: WizardClient, fields: dict[str, str], named: str
) -> None:
    # principal.connector_principal_noun and attachments' principal_name, through the preview's context.
    token = client.new_wizard()
    form = {"partition": "aws", "regions": "us-east-1", "style": "documented", **fields}
    preview = client.get(f"/w/{token}/options/preview", params=form, headers={"HX-Request": "true"})
    assert preview.status_code == 200
    assert f"Organization scope, {named}, role <code>OrganizationAccountAccessRole</code>." in preview.text
