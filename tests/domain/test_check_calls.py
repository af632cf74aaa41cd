"""The live checks call only what the plan grants, for every plan (hypothesis), by IAM's own rules."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.check_calls import (
    CHECK_ACTIONS,
    UNCONTROLLED_ACTIONS,
    Caller,
    caller_policies,
    check_actions,
    check_calls,
)
from app.domain.iam import REGIONS, Partition
from app.domain.iam_eval import Request, allows
from app.domain.plan import Plan, PolicyStyle, Principal, Scope


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    partition = draw(st.sampled_from(list(Partition)))
    scope = draw(st.sampled_from(list(Scope)))
    dedicated = scope is Scope.ORGANIZATION and draw(st.booleans())
    role_name = draw(
        st.sampled_from(["DigiCertTLMMember", "CertOps"])
        if dedicated
        else st.sampled_from(["OrganizationAccountAccessRole", "CertOps"])
    )
    values: dict[str, object] = {
        "scope": scope,
        "partition": partition,
        "style": draw(st.sampled_from(list(PolicyStyle))),
        "secrets_manager": draw(st.booleans()),
        "elb": draw(st.booleans()),
        "regions": tuple(
            draw(st.lists(st.sampled_from(REGIONS[partition]), min_size=1, max_size=3, unique=True))
        ),
    }
    if values["secrets_manager"]:
        values["secret_prefix"] = draw(st.sampled_from(["digicert-tlm/", "tlm-", "a/b/"]))
    if scope is Scope.ORGANIZATION:
        # A plan refuses options it does not use: the role only for organizations.
        values["dedicated_member_role"] = dedicated
        values["role_name"] = role_name
    # The connector's principal: the user, or the sensor role whose checks skip the key's (issue 13.2).
    values["principal"] = principal = draw(st.sampled_from(list(Principal)))
    if principal is Principal.ROLES_ANYWHERE:
        values["certificate_subject_cn"] = "sensor-01.example.com"
        region = REGIONS[partition][0]
        if partition is Partition.AWS_CN:  # no Private CA trust anchors there (docs/facts.md#keyless-sensors)
            values["trust_anchor_certificate"] = (
                Path(__file__).resolve().parents[1] / "fixtures" / "example-sensor-ca.pem"
            ).read_text()
        else:
            values["trust_anchor_pca_arn"] = (
                f"arn:{partition.value}:acm-pca:{region}:111122223333:certificate-authority/"
                "12345678-1234-1234-1234-123456789012"
            )
    return Plan.model_validate(values)


@settings(max_examples=150, deadline=None)
@given(plans())
def test_every_call_of_the_checks_is_allowed_by_the_plans_own_policies(plan: Plan) -> None:
    for call in check_calls(plan):
        assert call.request.action in CHECK_ACTIONS[call.check]
        if call.request.action in UNCONTROLLED_ACTIONS:
            continue
        policies = caller_policies(plan, call.caller)
        if policies is None:
            # A custom common role that the plan does not create: its permissions are the admin's.
            assert call.caller is Caller.MEMBER_ROLE and not plan.dedicated_member_role
            assert not plan.uses_default_role
            continue
        assert allows(policies, call.request), (plan.style.value, plan.partition.value, call)


@settings(max_examples=150, deadline=None)
@given(plans())
def test_a_checks_call_text_lists_exactly_what_a_run_of_the_plan_calls(plan: Plan) -> None:
    """The "call" a report shows for a check is the calls the plan's run makes, no more (no ELB without ELB)."""
    made: dict[str, set[str]] = {}
    for call in check_calls(plan):
        made.setdefault(call.check, set()).add(call.request.action)
    for check, actions in made.items():
        assert set(check_actions(check, plan)) == actions, (check, plan.elb)


def test_every_declared_action_is_called_by_some_plan() -> None:
    full = Plan(style=PolicyStyle.LEAST_PRIVILEGE, secrets_manager=True, elb=True)
    called = {(c.check, c.request.action) for c in check_calls(full)}
    declared = {(check, action) for check, actions in CHECK_ACTIONS.items() for action in actions}
    assert called == declared


def test_the_evaluator_says_no_where_iam_does() -> None:
    # It must be able to fail: these are the mistakes the checks above would hide.
    scoped = {
        "Statement": [
            {"Effect": "Allow", "Action": "sts:GetAccessKeyInfo", "Resource": "arn:aws:iam::*:role/R"},
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/R"},
            {
                "Effect": "Allow",
                "Action": "acm:List*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-east-1"]}},
            },
        ]
    }
    # No resource type: an ARN-scoped statement grants nothing (docs/facts.md#sts).
    assert not allows([scoped], Request("sts:GetAccessKeyInfo"))
    # Another partition's ARN is another resource.
    assert allows([scoped], Request("sts:AssumeRole", "arn:aws:iam::111122223333:role/R"))
    assert not allows([scoped], Request("sts:AssumeRole", "arn:aws-us-gov:iam::111122223333:role/R"))
    assert not allows([scoped], Request("sts:AssumeRole", "arn:aws:iam::111122223333:role/r"))
    # Wildcards in actions ignore case; conditions hold only where they say.
    assert allows([scoped], Request("ACM:ListCertificates", region="us-east-1"))
    assert not allows([scoped], Request("acm:ListCertificates", region="eu-west-1"))
    assert not allows([scoped], Request("acm:DescribeCertificate", region="us-east-1"))
    deny = {"Statement": [{"Effect": "Deny", "Action": "acm:*", "Resource": "*"}]}
    assert not allows([scoped, deny], Request("acm:ListCertificates", region="us-east-1"))
    unknown = {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert not allows([unknown], Request("acm:ListCertificates"))


def test_least_privilege_plans_grant_the_trusted_access_check_and_the_secret_probe() -> None:
    plan = Plan(style=PolicyStyle.LEAST_PRIVILEGE, secrets_manager=True)
    policies = caller_policies(plan, Caller.CONNECTOR)
    assert policies is not None
    assert allows(policies, Request("organizations:ListAWSServiceAccessForOrganization"))
    # Secrets outside the prefix stay out of reach, and so does listing every secret.
    assert not allows(policies, Request("secretsmanager:ListSecrets", region="us-east-1"))
    outside = "arn:aws:secretsmanager:us-east-1:111122223333:secret:other-secret"
    assert not allows(policies, Request("secretsmanager:DescribeSecret", outside, "us-east-1"))


def test_a_role_principal_never_calls_what_roles_cannot() -> None:
    # Role credentials may not call GetSessionToken and have no key for GetAccessKeyInfo
    # (docs/facts.md#temporary-credentials): those checks are skipped without a call.
    for principal in (Principal.INSTANCE_ROLE, Principal.ROLES_ANYWHERE):
        extra = (
            {
                "certificate_subject_cn": "sensor",
                "trust_anchor_pca_arn": "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/"
                "12345678-1234-1234-1234-123456789012",
            }
            if principal is Principal.ROLES_ANYWHERE
            else {}
        )
        actions = {
            c.request.action for c in check_calls(Plan.model_validate({"principal": principal, **extra}))
        }
        assert "sts:GetSessionToken" not in actions and "sts:GetAccessKeyInfo" not in actions
        assert "sts:AssumeRole" in actions
    user = {c.request.action for c in check_calls(Plan())}
    assert {"sts:GetSessionToken", "sts:GetAccessKeyInfo"} <= user
