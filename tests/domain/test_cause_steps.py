"""Every verification cause links to a step of the plan's own checklist (issue 13).

The verify page and fix.sh link each failure's `fix` to a checklist step. For a
keyless plan there is no create-user or create-access-key step: a cause that
pointed there would be a dead link. Checked over every plan shape the artifacts
are golden-tested for (the user, the instance role and Roles Anywhere, both
scopes, every partition), with the real checklist.
"""

from __future__ import annotations

import pytest

from app.domain.checklist import step_ids
from app.domain.plan import Plan, Principal
from app.domain.verification.causes import (
    CHECK_DEPENDENT_CAUSES,
    CUSTOM_POLICY_FOR,
    Cause,
    fix_step,
    permission_step,
)
from tests.domain.artifact_matrix import MATRIX

# What gives the sensor its credentials, and what creates its principal, per principal: written
# out here, not read from app/domain/principal.py, so a wrong mapping there fails.
CREDENTIALS_STEP = {
    Principal.IAM_USER: "create-access-key",
    Principal.INSTANCE_ROLE: "attach-instance-profile",
    Principal.ROLES_ANYWHERE: "sensor-aws-profile",
}
PRINCIPAL_STEP = {
    Principal.IAM_USER: "create-user",
    Principal.INSTANCE_ROLE: "create-sensor-role",
    Principal.ROLES_ANYWHERE: "create-sensor-role",
}


def test_the_matrix_has_every_principal() -> None:
    assert {plan.principal for plan in MATRIX.values()} == set(Principal)


@pytest.mark.parametrize("key", sorted(MATRIX))
def test_every_cause_links_to_a_step_of_the_plans_checklist(key: str) -> None:
    plan = MATRIX[key]
    ids = step_ids(plan)
    for cause in Cause:
        for check_step in (None, ids[0]):
            step = fix_step(plan, cause, check_step)
            assert step is None or step in ids, (cause, step)
    for need in CUSTOM_POLICY_FOR:
        assert permission_step(plan, need) in ids, need


@pytest.mark.parametrize("key", sorted(MATRIX))
def test_wrong_credentials_link_to_the_step_that_gives_the_sensor_its_credentials(key: str) -> None:
    plan = MATRIX[key]
    wrong = Cause.WRONG_ROLE if plan.uses_role_principal else Cause.WRONG_USER
    for cause in (wrong, Cause.INVALID_CREDENTIALS):
        assert fix_step(plan, cause) == CREDENTIALS_STEP[plan.principal], cause
    assert fix_step(plan, Cause.NOT_MANAGEMENT_ACCOUNT) == PRINCIPAL_STEP[plan.principal]


def test_a_denial_links_to_the_step_of_what_the_check_called() -> None:
    plan = Plan()
    for cause in CHECK_DEPENDENT_CAUSES:
        assert fix_step(plan, cause, "attach-AWSCertificateManagerFullAccess") == (
            "attach-AWSCertificateManagerFullAccess"
        )
        assert fix_step(plan, cause) is None
    # A step this plan's checklist does not have is never named.
    assert fix_step(plan, Cause.ACCESS_DENIED, "create-sensor-role") is None
    assert fix_step(Plan(scope="account"), Cause.ROLE_MISSING) is None
    assert fix_step(plan, Cause.ROLE_MISSING) == "member-role"
    assert fix_step(plan, Cause.THROTTLED, "member-role") is None


def test_a_role_plan_without_the_custom_policy_links_to_its_role() -> None:
    # Account scope has no Organizations policy: the role itself is where permissions go.
    plan = Plan(scope="account", principal=Principal.INSTANCE_ROLE, style="least-privilege")
    assert permission_step(plan, "organizations") == "create-sensor-role"
    assert permission_step(Plan(scope="account", style="least-privilege"), "organizations") == "create-user"


def test_denial_texts_do_not_call_a_role_plans_connector_a_user() -> None:
    # A keyless plan meets these too: its connector is the sensor role (issue 13.2).
    from app.domain.verification.causes import CAUSE_TEXT

    for cause in CHECK_DEPENDENT_CAUSES:
        text = CAUSE_TEXT[cause]
        assert "connector's own policies" in text, cause
        assert "user's" not in text and "connector user" not in text, cause
