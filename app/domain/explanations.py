"""Why each permission of a plan is there: every policy it attaches, explained.

Pure (stdlib only, plus the plan). The connector's policies (its IAM user's
or sensor role's) come from least_privilege (or the AWS managed policies of
the documented style), the member role's from member_role; the Policies page
and the Markdown checklist read `policy_explanations(plan)`, the bundle's
explanations its two halves, `principal_explanations` and
`member_role_explanations` (artifacts.artifact_explanations).
"""

from __future__ import annotations

from app.domain.attachments import attachments
from app.domain.least_privilege import (
    MANAGED_POLICY_PAGES,
    MANAGED_POLICY_SCOPE,
    PermissionReason,
    PolicyExplanation,
    explain_document,
)
from app.domain.permission_catalogue import SAR_STS
from app.domain.plan import Plan, Principal
from app.domain.policies import PolicyDocument
from app.domain.principal import SENSOR_ROLE_TRUST_FILE

# docs/facts.md#keyless-sensors
EC2_ROLES_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/instance-profiles.html"
ROLES_ANYWHERE_TRUST_DOC = "https://docs.aws.amazon.com/rolesanywhere/latest/userguide/trust-model.html"


def policy_explanations(plan: Plan) -> list[PolicyExplanation]:
    """Every policy the plan attaches, to the connector's user or role and to the member role, explained."""
    return principal_explanations(plan) + member_role_explanations(plan)


def principal_explanations(plan: Plan) -> list[PolicyExplanation]:
    """What the connector's own principal gets, its user or its sensor role (and that role's trust)."""
    found = attachments(plan)
    principal = found.principal_label  # "user NAME" or "role NAME"
    out: list[PolicyExplanation] = []
    if found.sensor_role_trust is not None:
        out.append(_sensor_role_trust(plan, found.sensor_role_trust))
    for managed in found.managed:
        out.append(
            PolicyExplanation(
                name=managed.name,
                file_name=None,
                attached_to=principal,
                summary=f"AWS managed policy ({managed.arn}): {managed.purpose}",
                reasons=(
                    PermissionReason(
                        actions=(MANAGED_POLICY_SCOPE[managed.name],),
                        resources=("*",),
                        why=managed.purpose,
                        sources=(MANAGED_POLICY_PAGES[managed.name],),
                    ),
                ),
            )
        )
    for policy in found.custom:
        out.append(
            PolicyExplanation(
                policy.name, policy.file_name, principal, policy.purpose, explain_document(policy.document)
            )
        )
    for inline in found.inline:
        out.append(
            PolicyExplanation(
                inline.name,
                inline.file_name,
                principal,
                f"Inline policy (corrected): lets the {found.principal_kind} reach member accounts through the "
                f"common role {plan.role_name}.",
                explain_document(inline.document),
            )
        )
    return out


def member_role_explanations(plan: Plan) -> list[PolicyExplanation]:
    """What the member role in every member account gets, and who may assume it (none without one)."""
    found = attachments(plan)
    out: list[PolicyExplanation] = []
    role = found.member_role
    if role is not None:
        trust = role.trust_policy
        principal_why = f"Only the IAM {found.principal_label} of the management account may assume the role."
        out.append(
            PolicyExplanation(
                f"{role.name} (trust policy)",
                role.trust_file,
                f"role {plan.role_name} in every member account",
                principal_why,
                (
                    PermissionReason(
                        ("sts:AssumeRole",),
                        (trust["Statement"][0]["Principal"]["AWS"],),
                        principal_why,
                        (SAR_STS,),
                    ),
                ),
            )
        )
        for policy in role.policies:
            out.append(
                PolicyExplanation(
                    policy.name,
                    policy.file_name,
                    f"role {plan.role_name} in every member account",
                    policy.purpose,
                    explain_document(policy.document),
                )
            )
    return out


def _sensor_role_trust(plan: Plan, trust: PolicyDocument) -> PolicyExplanation:
    """Who may assume a keyless plan's sensor role: EC2, or Roles Anywhere for one certificate subject."""
    statement = trust["Statement"][0]
    if plan.principal is Principal.INSTANCE_ROLE:
        why = (
            "EC2 may assume the role for the instance that carries its instance profile: the sensor's default "
            "credential provider chain gets temporary credentials from the instance, no access key exists."
        )
        source = EC2_ROLES_DOC
    else:
        why = (
            "IAM Roles Anywhere may assume the role only for a certificate issued by the trust anchor's CA "
            f"(aws:SourceArn) whose subject CN is {plan.certificate_subject_cn} (aws:PrincipalTag/x509Subject/CN); "
            "the private key never leaves the sensor."
        )
        source = ROLES_ANYWHERE_TRUST_DOC
    return PolicyExplanation(
        f"{plan.sensor_role_name} (trust policy)",
        SENSOR_ROLE_TRUST_FILE,
        f"role {plan.sensor_role_name}",
        why,
        (
            PermissionReason(
                tuple(statement["Action"])
                if isinstance(statement["Action"], list)
                else (statement["Action"],),
                (statement["Principal"]["Service"],),
                why,
                (source,),
            ),
        ),
    )
