"""A fix for exactly what failed: golden fix.sh per report shape, validators, and the scope rule.

Regenerate the golden files after an intended change with `pytest --update-golden` and review the diff.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from app.domain.fixes import failure_keys, fix_for_key, fix_script, fixes
from app.domain.verification.results import Status
from tests.domain.fix_scenarios import INVITED_A, INVITED_B, PASSED, scenarios

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "fixes"
SCENARIOS = scenarios()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_fix_script_matches_its_golden_file(name: str, update_golden: bool) -> None:
    plan, report = SCENARIOS[name]
    script = fix_script(plan, report)
    path = GOLDEN / f"{name}.sh"
    if update_golden:
        path.write_text(script)
    assert script == path.read_text()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_failure_has_a_fix_and_no_fix_names_an_account_that_did_not_fail(name: str) -> None:
    plan, report = SCENARIOS[name]
    by_key = fix_for_key(plan, report)
    assert set(failure_keys(report)) == set(by_key)
    script = fix_script(plan, report)
    for account in report.accounts:
        if account.status is not Status.FAIL:
            assert account.account_id not in script
            assert all(account.account_id not in fix.accounts for fix in fixes(plan, report))


def test_shellcheck_and_bash_n_accept_every_fix_script(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: apt-get install -y --no-install-recommends shellcheck"
    paths = []
    for name, (plan, report) in SCENARIOS.items():
        path = tmp_path / f"{name}.sh"
        path.write_text(fix_script(plan, report))
        subprocess.run(["bash", "-n", str(path)], check=True)
        paths.append(str(path))
    result = subprocess.run(
        [shellcheck, "--severity=style", *paths], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_the_organization_access_role_template_passes_cfn_lint(tmp_path: Path) -> None:
    from app.domain.fixes import org_access_role_template
    from tests.domain.test_artifacts_validators import _cfn_lint

    path = tmp_path / "org-access-role.yaml"
    path.write_text(org_access_role_template())
    assert _cfn_lint([path], "us-east-1") == []


def test_running_fix_sh_touches_exactly_the_failed_accounts(tmp_path: Path, fake_aws: dict[str, str]) -> None:
    plan, report = SCENARIOS["organization-default-role"]
    script = tmp_path / "fix.sh"
    script.write_text(fix_script(plan, report))
    subprocess.run(["bash", str(script)], check=True, env=fake_aws, capture_output=True)
    calls = [json.loads(line) for line in Path(fake_aws["FAKE_AWS_LOG"]).read_text().splitlines()]
    instances = [c for c in calls if c[:2] == ["cloudformation", "create-stack-instances"]]
    assert len(instances) == 1
    targets = instances[0][instances[0].index("--deployment-targets") + 1]
    assert (
        targets
        == f"OrganizationalUnitIds=r-ab12,Accounts={INVITED_A},{INVITED_B},AccountFilterType=INTERSECTION"
    )
    enabled = [c for c in calls if c[:2] == ["account", "enable-region"]]
    assert enabled == [
        ["account", "enable-region", "--account-id", "333344445555", "--region-name", "eu-south-1"]
    ]
    assert [
        "organizations",
        "enable-aws-service-access",
        "--service-principal",
        "account.amazonaws.com",
    ] in calls
    attached = [c for c in calls if c[:2] == ["iam", "attach-user-policy"]]
    assert attached == [
        [
            "iam",
            "attach-user-policy",
            "--user-name",
            plan.user_name,
            "--policy-arn",
            "arn:aws:iam::aws:policy/AWSCertificateManagerFullAccess",
        ]
    ]
    assert all(PASSED not in " ".join(c) for c in calls)


def test_the_fixes_can_be_limited_to_chosen_accounts() -> None:
    plan, report = SCENARIOS["organization-default-role"]
    chosen = fixes(plan, report, accounts=[INVITED_A])
    named = {a for fix in chosen for a in fix.accounts}
    assert named == {INVITED_A}


@pytest.mark.parametrize(
    "name", ["organization-sensor-role-least-privilege", "account-roles-anywhere-documented"]
)
def test_a_role_plans_fixes_give_the_sensor_role_what_failed_never_a_user(name: str) -> None:
    plan, report = SCENARIOS[name]
    script = fix_script(plan, report)
    assert f"attach-role-policy --role-name={plan.sensor_role_name} " in script
    assert "user-name" not in script and "-user-policy" not in script
