"""The ELB listener option against moto over HTTP: the per-account, per-region ELB read check and its fix."""

from __future__ import annotations

import boto3
from botocore.awsrequest import AWSPreparedRequest

from app.aws.demo import DemoOrganization
from app.aws.simulate import error_response
from app.domain.fixes import fix_script
from app.domain.verification.causes import Cause
from app.domain.verification.results import Report, Status
from tests.aws.conftest import plan_of, run_org

_EVENT = "before-send.elastic-load-balancing-v2.DescribeLoadBalancers"


def test_elb_is_read_with_the_users_credentials_and_in_every_member_account(
    small_org: DemoOrganization,
) -> None:
    # A real load balancer in the management account: the check lists it (moto implements elbv2).
    ec2 = boto3.client(
        "ec2",
        region_name="us-east-1",
        endpoint_url=small_org.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"][
            "SubnetId"
        ]
        for i, z in enumerate("ab")
    ]
    boto3.client(
        "elbv2",
        region_name="us-east-1",
        endpoint_url=small_org.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_load_balancer(Name="web", Subnets=subnets)
    plan = plan_of(regions="us-east-1,eu-west-1", elb=True)
    report = run_org(plan, small_org)
    elb = [c for c in report.checks if c.id == "elb"]
    assert [(c.region, c.status) for c in elb] == [("us-east-1", Status.PASS), ("eu-west-1", Status.PASS)]
    assert elb[0].call == "elasticloadbalancing:DescribeLoadBalancers"
    created = next(a for a in report.accounts if a.account_id == small_org.accounts_of("created")[0].id)
    assert created.status is Status.PASS and "Elastic Load Balancing" in created.explanation

    # Without the option there is no ELB check at all.
    assert not [c for c in run_org(plan_of(regions="us-east-1"), small_org).checks if c.id == "elb"]


def test_the_member_access_call_names_elb_only_for_a_plan_that_reads_elb(small_org: DemoOrganization) -> None:
    def member_access_call(report: Report) -> str:
        return next(c.call for c in report.checks if c.id == "member-access")

    without = member_access_call(run_org(plan_of(regions="us-east-1"), small_org))
    assert without == "sts:AssumeRole, acm:ListCertificates"
    with_elb = member_access_call(run_org(plan_of(regions="us-east-1", elb=True), small_org))
    assert with_elb == "sts:AssumeRole, acm:ListCertificates, elasticloadbalancing:DescribeLoadBalancers"


def test_elb_denied_names_the_elb_policy_and_fix_sh_attaches_only_it(small_org: DemoOrganization) -> None:
    def deny(request: AWSPreparedRequest, **_: object) -> object:
        return error_response(
            request,
            status=403,
            code="AccessDenied",
            message=(
                "User: arn:aws:iam::123456789012:user/x is not authorized to perform: "
                "elasticloadbalancing:DescribeLoadBalancers because no identity-based policy allows the "
                "elasticloadbalancing:DescribeLoadBalancers action"
            ),
        )

    for style, step, attached in [
        ("documented", "attach-ElasticLoadBalancingFullAccess", "policy/ElasticLoadBalancingFullAccess"),
        (
            "least-privilege",
            "custom-policy-DigiCertTLMElasticLoadBalancing",
            "DigiCertTLMElasticLoadBalancing",
        ),
    ]:
        plan = plan_of(regions="us-east-1", elb=True, style=style)
        report = run_org(plan, small_org, [(_EVENT, deny)])
        check = next(c for c in report.checks if c.id == "elb")
        assert (check.status, check.cause, check.fix) == (Status.FAIL, Cause.CALLER_POLICY, step)
        acm = next(c for c in report.checks if c.id == "acm")
        assert acm.status is Status.PASS
        # Inside member accounts the same denial is the member role's permissions, named as ELB's.
        created = next(a for a in report.accounts if a.account_id == small_org.accounts_of("created")[0].id)
        assert (created.role_status, created.cause) == (Status.PASS, Cause.MEMBER_ROLE_PERMISSIONS)
        assert created.regions[0].explanation.startswith("Elastic Load Balancing:")
        script = fix_script(plan, report)
        assert attached in script
        assert (
            "AWSCertificateManagerFullAccess" not in script and "DigiCertTLMCertificateManager" not in script
        )
