"""Hostile input: rejected by the plan with a clear message, and inert even if it got through.

Two layers are tested. The plan refuses quotes, `$()`, backticks, newlines,
`${}` and non-ASCII in every field a user types (IAM's and AWS's own rules).
Then, bypassing validation on purpose (`Plan.model_construct`), the same
values go through every renderer: each artifact still parses with its real
parser, the value comes back byte for byte, and running the script does not
execute any of it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import hcl2
import pytest
import yaml

from app.domain.artifacts import artifacts, cloudformation, hcltext, terraform, yamltext
from app.domain.artifacts.markdown import checklist_markdown, code
from app.domain.iam import Partition
from app.domain.plan import Plan, PlanError, PolicyStyle, Scope, parse_plan
from tests.domain.artifact_matrix import (
    hcl_locals,
    hcl_resources,
    hcl_string,
    heredocs,
    parse_hcl,
    run_script,
    write_bundle,
)

NASTY = [
    "it's",
    'say "hi"',
    "$(touch PWNED)",
    "`touch PWNED`",
    "a\nb",
    "a\r\nb",
    "${jndi:ldap://x}",
    "%{ if true }x%{ endif }",
    "back\\slash",
    "tab\there",
    "é",
    "emoji-😀",
    "rtl-\u202eevil",
    "zero\u200bwidth",
    "nul-\x00-byte",
    "- item",
    "key: value",
    "# comment",
    "*",
    " leading-space",
    "END_OF_POLICY",
    "'; rm -rf / #",
]
FIELDS = ["user_name", "role_name", "secret_prefix", "regions"]


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", NASTY, ids=range(len(NASTY)))
def test_the_plan_refuses_hostile_values_with_a_clear_message(field: str, value: str) -> None:
    data = {"scope": "organization", "dedicated_member_role": True, "role_name": "TLM", field: value}
    if value == "END_OF_POLICY" and field != "regions":
        # A plain word is valid; it stays inert in the scripts' here-documents (tested below).
        assert parse_plan(data)
        return
    with pytest.raises(PlanError) as caught:
        parse_plan(data)
    message = caught.value.errors.get(field) or caught.value.errors.get("regions")
    assert message, caught.value.errors
    assert "\n" not in message and len(message) < 300


def test_yaml_scalars_round_trip_every_value() -> None:
    for value in [*NASTY, "", "null", "true", "0x1F", "~", "@at", "&anchor", "!tag", "---", "..."]:
        text = yamltext.dump({"Key": value, "List": [value], "Map": {value: value}}, header=[value])
        assert yaml.safe_load(text) == {"Key": value, "List": [value], "Map": {value: value}}, value


def test_hcl_strings_round_trip_every_value() -> None:
    # (A "${" that is never closed is escaped as HCL's spec says, "$${", but
    # python-hcl2's grammar cannot read that back, so it is not in this list.)
    for value in [*NASTY, "", "$${already}", "%%{x}", "$", "%", "$$", "a$${b}%%{c}"]:
        block = hcltext.Block("locals", body=[("x", value), ("m", {value: [value]})])
        text = hcltext.render([hcltext.Comment(value), block])
        parsed = hcl2.loads(text)["locals"][0]
        assert hcl_string(parsed["x"]) == value, value
        ((key, items),) = parsed["m"].items()
        assert (hcl_string(key) if key.startswith('"') else key) == value, value
        assert hcl_string(items[0]) == value, value


def test_markdown_code_spans_stay_on_one_line() -> None:
    assert code("a`b") == "``a`b``"
    assert code("`x") == "`` `x ``"
    assert "\n" not in code("a\nb")


def _hostile_plan(value: str) -> Plan:
    # Deliberately skips validation: what if a value ever got past it?
    return Plan.model_construct(
        scope=Scope.ORGANIZATION,
        user_name=f"user-{value}",
        role_name=f"role-{value}",
        dedicated_member_role=True,
        secrets_manager=True,
        secret_prefix=f"prefix-{value}/",
        partition=Partition.AWS,
        regions=("us-east-1", f"region-{value}"),
        style=PolicyStyle.LEAST_PRIVILEGE,
    )


@pytest.mark.parametrize("value", [v for v in NASTY if "\x00" not in v], ids=range(len(NASTY) - 1))
def test_values_that_bypass_validation_stay_inert_in_every_artifact(value: str) -> None:
    plan = _hostile_plan(value)
    files = {a.path: a.content for a in artifacts(plan)}
    for path, text in files.items():
        if path.endswith(".json"):
            json.loads(text)
    management = yaml.safe_load(files[cloudformation.MANAGEMENT_TEMPLATE])
    assert management == cloudformation.management_template(plan)
    assert management["Resources"]["ConnectorUser"]["Properties"]["UserName"] == plan.user_name
    stackset = yaml.safe_load(files[cloudformation.STACKSET_TEMPLATE])
    assert stackset == cloudformation.member_role_template(plan)
    assert set(stackset) == {"AWSTemplateFormatVersion", "Description", "Parameters", "Resources", "Outputs"}
    main = parse_hcl(files[terraform.MAIN_FILE])
    assert hcl_resources(main, "aws_iam_user")["connector"]["name"] == plan.user_name
    assert set(hcl_resources(main, "aws_iam_policy")) == {
        "organizations_read",
        "certificate_manager",
        "secrets_manager_prefix",
    }
    role = parse_hcl(files[terraform.MEMBER_ROLE_FILE])
    assert hcl_locals(role)["member_role_template"] == cloudformation.member_role_template(plan)
    docs = heredocs(files["setup.sh"])
    assert set(docs) >= {"document_inline_policy", "document_policy_secrets_manager", "member_role_template"}
    assert yaml.safe_load(docs["member_role_template"]) == stackset
    for name in ("setup.sh", "cloudformation/deploy.sh"):
        checked = subprocess.run(
            ["bash", "-n"], input=files[name], capture_output=True, text=True, check=False
        )
        assert checked.returncode == 0, checked.stderr
    markdown = checklist_markdown(plan)
    assert [line for line in markdown.splitlines() if line.startswith("# ")] == [
        "# AWS setup for the DigiCert Trust Lifecycle Manager AWS connector"
    ]


@pytest.mark.parametrize(
    "value", ["$(touch PWNED)", "`touch PWNED`", "a\nb; touch PWNED", "'; touch PWNED; '"]
)
def test_running_the_script_never_executes_a_value(
    value: str, tmp_path: Path, fake_aws: dict[str, str]
) -> None:
    plan = _hostile_plan(value)
    folder = write_bundle(plan, tmp_path / "bundle")
    result, calls = run_script(folder / "setup.sh", {**fake_aws, "PWD": str(tmp_path)}, "--create-access-key")
    assert result.returncode == 0, result.stderr
    assert not list(tmp_path.rglob("PWNED")) and not Path("/PWNED").exists()
    users = {c[c.index("--user-name") + 1] for c in calls if "--user-name" in c}
    assert users == {plan.user_name}
    put = next(c for c in calls if c[:2] == ["iam", "put-user-policy"])
    assert json.loads(put[put.index("--policy-document") + 1])["Statement"][0]["Resource"] == (
        f"arn:aws:iam::*:role/{plan.role_name}"
    )
