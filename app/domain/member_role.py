"""The dedicated member role: a least-privilege stand-in for OrganizationAccountAccessRole.

Pure (stdlib only, plus the plan). docs/facts.md#organization-account-access-role: OrganizationAccountAccessRole
exists only in accounts that Organizations created and carries administrator
rights. The dedicated role has the admin's chosen name, trusts only the
connector's IAM user (or its sensor role, app/domain/principal.py) in the management account (no external ID: the connector
cannot send one, docs/facts.md #external-id), and may only do what the connector does in a member account: ACM, and
prefix-scoped Secrets Manager when chosen.

It is deployed with a service-managed CloudFormation StackSet (auto-deployment
covers accounts that join later). Fact 3: service-managed StackSets never
deploy to the management account, so a single stack there is offered too.
"""

from __future__ import annotations

from typing import Any

from app.domain.iam import HOME_REGION
from app.domain.least_privilege import (
    SECRET_PREFIX_ASSUMED,
    CustomPolicy,
    acm_statements,
    elb_statements,
    secrets_statements,
)
from app.domain.plan import Plan
from app.domain.policies import PolicyDocument, wrap_policy
from app.domain.principal import connector_principal_arn, connector_principal_label

# Stands in for the management account's id in the JSON trust policy: the plan
# does not know it. It is not a valid account id, so a document pasted without
# replacing it is rejected by IAM (MalformedPolicyDocument) instead of trusting
# some other account. CloudFormation and Terraform fill in the real id.
MANAGEMENT_ACCOUNT_PLACEHOLDER = "MANAGEMENT_ACCOUNT_ID"

TRUST_POLICY_FILE = "member-role-trust-policy.json"
ACM_POLICY_FILE = "member-role-policy-certificate-manager.json"
SECRETS_POLICY_FILE = "member-role-policy-secrets-manager.json"
ACM_POLICY_NAME = "CertificateManager"
SECRETS_POLICY_NAME = "SecretsManagerPrefix"
ELB_POLICY_FILE = "member-role-policy-elastic-load-balancing.json"
ELB_POLICY_NAME = "ElasticLoadBalancing"

STACK_SET_NAME = "digicert-tlm-member-role"
MANAGEMENT_STACK_NAME = "digicert-tlm-member-role-management-account"
USER_STACK_NAME = "digicert-tlm-connector-user"


def applies(plan: Plan) -> bool:
    """Whether the plan deploys a dedicated member role (organization scope only)."""
    return plan.is_organization and plan.dedicated_member_role


def stack_set_region(plan: Plan) -> str:
    # IAM is global: the role must be created by a stack in exactly one region
    # per account, or the second stack fails on the existing role name.
    return HOME_REGION[plan.partition]


def trust_policy(plan: Plan, account_id: str = MANAGEMENT_ACCOUNT_PLACEHOLDER) -> PolicyDocument:
    """Who may assume the role: the connector's principal, by ARN, and nobody else.

    Naming the connector's user, or its sensor role when the principal is a
    role (never a user then: docs/facts.md#keyless-sensors), and not the
    management account root, means other principals of the management account
    cannot assume it even if their own policies allow sts:AssumeRole on every role.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
    """
    statement: dict[str, Any] = {
        "Sid": "ConnectorRoleOnly" if plan.uses_role_principal else "ConnectorUserOnly",
        "Effect": "Allow",
        "Principal": {"AWS": connector_principal_arn(plan, account_id)},
        "Action": "sts:AssumeRole",
    }
    # No sts:ExternalId condition: DigiCert's connector cannot send one, and the
    # exact principal already limits who may assume the role (docs/facts.md, #external-id).
    return wrap_policy([statement])


def permission_policies(plan: Plan) -> list[CustomPolicy]:
    """The role's inline policies: the user's least-privilege ACM (and Secrets Manager) policies."""
    policies = [
        CustomPolicy(
            name=ACM_POLICY_NAME,
            file_name=ACM_POLICY_FILE,
            purpose=(
                "Inventory, import, re-import, tag and delete certificates in this member account, in the "
                "chosen regions only (" + ", ".join(plan.regions) + ")."
            ),
            document=wrap_policy(acm_statements(plan)),
        )
    ]
    if plan.secrets_manager:
        policies.append(
            CustomPolicy(
                name=SECRETS_POLICY_NAME,
                file_name=SECRETS_POLICY_FILE,
                purpose=(
                    "Keep private keys temporarily in this member account's Secrets Manager, only in "
                    f"secrets whose names start with {plan.secret_prefix} ({SECRET_PREFIX_ASSUMED})."
                ),
                document=wrap_policy(secrets_statements(plan)),
            )
        )
    if plan.elb:
        # Scoped like its ACM policy, in both styles: the dedicated role is the least-privilege
        # stand-in for OrganizationAccountAccessRole (docs/decisions.md, "ELB on the member role").
        policies.append(
            CustomPolicy(
                name=ELB_POLICY_NAME,
                file_name=ELB_POLICY_FILE,
                purpose=(
                    "Discover load balancers and listeners and attach, replace and remove listener "
                    "certificates in this member account, in the chosen regions only."
                ),
                document=wrap_policy(elb_statements(plan)),
            )
        )
    return policies


def role_description(plan: Plan) -> str:
    # IAM role descriptions allow printable ASCII and Latin-1; this text is ours
    # plus the validated user name.
    return f"Lets the DigiCert TLM connector {connector_principal_label(plan)} manage ACM certificates in this account."


# --- deploying it with a StackSet (the checklist step, the shell script, the stack's header) ---


def create_stack_set_command(
    plan: Plan, *, continuation: str | None = " \\", template: str = ""
) -> list[str]:
    """`aws cloudformation create-stack-set`, one argument group per line (continuation None: raw groups).

    Every value is joined to its flag (`--flag=value`): a value that starts
    with "-" is then never read as an option (docs/setup-script.md#arguments).
    """
    region = stack_set_region(plan)
    body = template or "file://member-role-stackset.yaml"
    lines = [
        f"aws cloudformation create-stack-set --region={region} --stack-set-name={STACK_SET_NAME}",
        f"--template-body={body}",
        "--permission-model=SERVICE_MANAGED",
        "--auto-deployment=Enabled=true,RetainStacksOnAccountRemoval=false",
        "--capabilities=CAPABILITY_NAMED_IAM",
        '--parameters="ParameterKey=ManagementAccountId,ParameterValue=$MANAGEMENT_ACCOUNT_ID"',
    ]
    return _continued(lines, continuation)


def create_stack_instances_command(plan: Plan, *, continuation: str | None = " \\") -> list[str]:
    region = stack_set_region(plan)
    lines = [
        f"aws cloudformation create-stack-instances --region={region} --stack-set-name={STACK_SET_NAME}",
        '--deployment-targets="OrganizationalUnitIds=$ROOT_ID"',
        f"--regions={region}",
        "--operation-preferences=MaxConcurrentPercentage=100,FailureTolerancePercentage=10",
    ]
    return _continued(lines, continuation)


def _continued(lines: list[str], continuation: str | None) -> list[str]:
    if continuation is None:
        return lines
    out = [lines[0] + continuation]
    out += [f"  {line}{continuation}" for line in lines[1:-1]]
    out.append(f"  {lines[-1]}")
    return out
