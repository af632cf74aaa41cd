"""The policy documents of a plan as JSON files: what every other format is built from.

Pure. Each `Document` is one IAM policy the plan uses, with the file name it
has in the export bundle.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain import member_role
from app.domain.artifacts.sensor import principal_words
from app.domain.attachments import attachments
from app.domain.plan import Plan
from app.domain.policies import (
    PolicyDocument,
    documented_inline_policy,
    render_json,
)

# render_json is re-exported: the bundle's files and the pages share it.
__all__ = ["DOCUMENTED_INLINE_POLICY_FILE", "Document", "documents", "render_json"]

DOCUMENTED_INLINE_POLICY_FILE = "inline-policy-as-documented.json"


@dataclass(frozen=True, slots=True)
class Document:
    file_name: str
    title: str
    description: str
    document: PolicyDocument
    # "identity" policies are checked by IAM linters; a "trust" policy is a
    # role's resource policy; "documented" is the source's text, kept verbatim.
    kind: str = "identity"


def documents(plan: Plan) -> list[Document]:
    docs: list[Document] = []
    found = attachments(plan)
    for inline in found.inline:
        docs.append(
            Document(
                inline.file_name,
                "Inline policy (corrected)",
                "The inline policy to put on the user: sts:AssumeRole on the common role, "
                'sts:GetAccessKeyInfo on "*" (sts:GetSessionToken needs no permission).',
                inline.document,
            )
        )
    if plan.is_organization:
        docs.append(
            Document(
                DOCUMENTED_INLINE_POLICY_FILE,
                "Inline policy as documented (for reference)",
                "The source document's inline policy, verbatim. Do not use it: sts:GetAccessKeyInfo is "
                "scoped to a role ARN it does not support, so it grants nothing, and no IAM policy controls "
                "sts:GetSessionToken, so listing it changes nothing (docs/facts.md#sts).",
                documented_inline_policy(plan),
                kind="documented",
            )
        )
    for policy in found.custom:
        docs.append(Document(policy.file_name, policy.name, policy.purpose, policy.document))
    role = found.member_role
    if role is not None:
        docs.append(
            Document(
                role.trust_file,
                f"Member role {role.name}: trust policy",
                f"Who may assume the member role: only the connector's {principal_words(plan)} in the "
                "management account. "
                f"Replace {member_role.MANAGEMENT_ACCOUNT_PLACEHOLDER} with the management account's id if "
                "you use this file by hand; the CloudFormation and Terraform files fill it in.",
                role.trust_policy,
                kind="trust",
            )
        )
        for policy in role.policies:
            docs.append(
                Document(
                    policy.file_name,
                    f"Member role {plan.role_name}: {policy.name}",
                    policy.purpose,
                    policy.document,
                )
            )
    return docs
