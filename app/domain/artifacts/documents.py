"""The policy documents of a plan as JSON files: what every other format is built from.

Pure. Each `Document` is one IAM policy the plan uses, with the file name it
has in the export bundle.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain import member_role
from app.domain.attachments import attachments
from app.domain.plan import Plan, Principal
from app.domain.policies import (
    PolicyDocument,
    documented_inline_policy,
    render_json,
)
from app.domain.principal import (
    SENSOR_ROLE_TRUST_FILE,
    TRUST_ANCHOR_ARN_PLACEHOLDER,
    TRUST_ANCHOR_SOURCE_FILE,
    connector_principal_noun,
    trust_anchor_source,
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
    # role's resource policy; "documented" is the source's text, kept verbatim;
    # "source" is no policy: the Roles Anywhere trust anchor's CA, as CreateTrustAnchor takes it.
    kind: str = "identity"


def documents(plan: Plan) -> list[Document]:
    docs: list[Document] = []
    found = attachments(plan)
    for inline in found.inline:
        docs.append(
            Document(
                inline.file_name,
                "Inline policy (corrected)",
                (
                    "The inline policy to put on the sensor role: sts:AssumeRole on the common role (role "
                    "credentials need nothing else from STS)."
                    if plan.uses_role_principal
                    else "The inline policy to put on the user: sts:AssumeRole on the common role, "
                    'sts:GetAccessKeyInfo on "*" (sts:GetSessionToken needs no permission).'
                ),
                inline.document,
            )
        )
    docs += _sensor_documents(plan, found.sensor_role_trust)
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
                f"Who may assume the member role: only the connector's {connector_principal_noun(plan)} in the "
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


def _sensor_documents(plan: Plan, trust: PolicyDocument | None) -> list[Document]:
    """A keyless plan's sensor role trust policy and, for Roles Anywhere, the trust anchor's source:
    the files the checklist's commands read (`file://...`), so they must be in the bundle."""
    if trust is None:
        return []
    anchor = (
        f" Replace {TRUST_ANCHOR_ARN_PLACEHOLDER} with the trust anchor's ARN (the checklist's command does)."
        if plan.principal is Principal.ROLES_ANYWHERE
        else ""
    )
    docs = [
        Document(
            SENSOR_ROLE_TRUST_FILE,
            f"Sensor role {plan.sensor_role_name}: trust policy",
            "Who may assume the sensor role: "
            + (
                "EC2, for the instance that carries its instance profile."
                if plan.principal is Principal.INSTANCE_ROLE
                else "IAM Roles Anywhere, for a certificate from the trust anchor with the plan's subject CN."
            )
            + anchor,
            trust,
            kind="trust",
        )
    ]
    if plan.principal is Principal.ROLES_ANYWHERE:
        docs.append(
            Document(
                TRUST_ANCHOR_SOURCE_FILE,
                "IAM Roles Anywhere trust anchor: source",
                "The CA that issues the sensor's certificate, as aws rolesanywhere create-trust-anchor "
                "--source takes it.",
                trust_anchor_source(plan),
                kind="source",
            )
        )
    return docs
