"""Why each permission of a plan is there: every policy it attaches, explained.

Pure (stdlib only, plus the plan). The user's policies come from
least_privilege (or the AWS managed policies of the documented style), the
member role's from member_role; the Policies page, the bundle's explanations
and the Markdown checklist all read `policy_explanations(plan)`.
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
from app.domain.plan import Plan


def policy_explanations(plan: Plan) -> list[PolicyExplanation]:
    """Every policy the plan attaches, to the user and to the member role, explained."""
    user = f"user {plan.user_name}"
    out: list[PolicyExplanation] = []
    found = attachments(plan)
    for managed in found.managed:
        out.append(
            PolicyExplanation(
                name=managed.name,
                file_name=None,
                attached_to=user,
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
                policy.name, policy.file_name, user, policy.purpose, explain_document(policy.document)
            )
        )
    for inline in found.inline:
        out.append(
            PolicyExplanation(
                inline.name,
                inline.file_name,
                user,
                "Inline policy (corrected): lets the user reach member accounts through the common role "
                f"{plan.role_name}.",
                explain_document(inline.document),
            )
        )
    role = found.member_role
    if role is not None:
        trust = role.trust_policy
        principal_why = f"Only the IAM user {plan.user_name} of the management account may assume the role."
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
