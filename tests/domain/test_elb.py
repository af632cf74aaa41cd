"""The ELB listener option in the domain: what each style grants, where, on which ARNs, and the lint."""

from __future__ import annotations

from app.domain import member_role
from app.domain.attachments import attachments
from app.domain.checklist import step_ids
from app.domain.least_privilege import ELB_POLICY_NAME
from app.domain.permission_catalogue import PERMISSIONS_BY_ACTION, SAR_ELB_CLASSIC, SAR_ELB_V2
from app.domain.plan import Plan, parse_plan
from app.domain.policies import lint_policy, wrap_policy


def _statements(plan: Plan) -> dict[str, dict[str, object]]:
    policy = next(p for p in attachments(plan).custom if p.name == ELB_POLICY_NAME)
    return {s["Sid"]: s for s in policy.document["Statement"]}


def test_documented_attaches_elastic_load_balancing_full_access_in_the_plans_partition() -> None:
    for partition, region in [
        ("aws", "us-east-1"),
        ("aws-cn", "cn-north-1"),
        ("aws-us-gov", "us-gov-west-1"),
    ]:
        for scope in ("organization", "account"):
            plan = parse_plan({"scope": scope, "partition": partition, "regions": region, "elb": True})
            arns = attachments(plan).managed_arns
            assert f"arn:{partition}:iam::aws:policy/ElasticLoadBalancingFullAccess" in arns
            assert "attach-ElasticLoadBalancingFullAccess" in step_ids(plan)
            without = parse_plan({"scope": scope, "partition": partition, "regions": region})
            assert not [a for a in attachments(without).managed_arns if "ElasticLoadBalancing" in a]


def test_least_privilege_scopes_each_action_to_the_resource_types_it_supports() -> None:
    plan = Plan(style="least-privilege", regions=("us-east-1", "eu-west-1"), elb=True)
    statements = _statements(plan)
    discover = statements["ElbDiscoverInChosenRegions"]
    assert (
        discover["Resource"] == "*"
    )  # DescribeLoadBalancers/Listeners/ListenerCertificates: no resource type
    assert discover["Condition"] == {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}
    listeners = statements["ElbListenerCertificates"]
    assert listeners["Action"] == [
        "elasticloadbalancing:AddListenerCertificates",
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:RemoveListenerCertificates",
    ]
    assert listeners["Resource"] == [
        "arn:aws:elasticloadbalancing:us-east-1:*:listener/app/*",
        "arn:aws:elasticloadbalancing:us-east-1:*:listener/net/*",
        "arn:aws:elasticloadbalancing:eu-west-1:*:listener/app/*",
        "arn:aws:elasticloadbalancing:eu-west-1:*:listener/net/*",
    ]
    classic = statements["ElbClassicListenerCertificate"]
    assert classic["Action"] == ["elasticloadbalancing:SetLoadBalancerListenerSSLCertificate"]
    assert classic["Resource"] == [
        "arn:aws:elasticloadbalancing:us-east-1:*:loadbalancer/*",
        "arn:aws:elasticloadbalancing:eu-west-1:*:loadbalancer/*",
    ]
    # Each action cites its API's Service Authorization Reference page.
    assert PERMISSIONS_BY_ACTION["elasticloadbalancing:ModifyListener"].source == SAR_ELB_V2
    assert (
        PERMISSIONS_BY_ACTION["elasticloadbalancing:SetLoadBalancerListenerSSLCertificate"].source
        == SAR_ELB_CLASSIC
    )


def test_the_member_role_gets_the_scoped_elb_policy_in_both_styles() -> None:
    for style in ("documented", "least-privilege"):
        plan = Plan(style=style, dedicated_member_role=True, role_name="TLMMemberRole", elb=True)
        names = [p.name for p in member_role.permission_policies(plan)]
        assert names[-1] == member_role.ELB_POLICY_NAME
        role = attachments(plan).member_role
        assert role is not None and member_role.ELB_POLICY_NAME in [p.name for p in role.policies]


def test_lint_flags_elb_discovery_scoped_to_an_arn() -> None:
    document = wrap_policy(
        [
            {
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:DescribeLoadBalancers",
                    "elasticloadbalancing:ModifyListener",
                ],
                "Resource": "arn:aws:elasticloadbalancing:us-east-1:*:listener/app/*",
            }
        ]
    )
    findings = lint_policy(document)
    assert [(f.code, f.action) for f in findings] == [
        ("RESOURCE_MISMATCH", "elasticloadbalancing:DescribeLoadBalancers")
    ]
