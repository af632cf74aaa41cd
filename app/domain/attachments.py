"""What a plan attaches: the one answer every surface gives (issue 11, "one plan, one truth").

Pure (stdlib only, plus the domain). `attachments(plan)` says which AWS managed
policies, custom policies and inline policies the connector's principal gets
(its IAM user, or its sensor role for a keyless plan: app/domain/principal.py),
and the dedicated member role's trust and permission policies where one applies.
The report page, `report.md`, `report.json`, the options preview, the Policies
page, the CLI (text and `--json`) and the artifacts all read it, so none of
them can list AWS managed policies for a least-privilege plan, or leave out
what the plan adds.

`policy_json(plan)` is the plan's permissions as JSON, in the stable shape
documented in README.md ("`connector-wizard policy --json`"); `report.json`
carries the same object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain import member_role
from app.domain.least_privilege import CustomPolicy, custom_user_policies
from app.domain.plan import Plan, PolicyStyle
from app.domain.policies import (
    INLINE_POLICY_FILE,
    INLINE_POLICY_NAME,
    LintFinding,
    ManagedPolicy,
    PolicyDocument,
    attached_managed_policies,
    corrected_inline_policy,
    documented_inline_policy,
    documented_permissions,
    lint_policy,
)
from app.domain.principal import (
    SENSOR_ROLE_TRUST_FILE,
    TRUST_ANCHOR_ARN_PLACEHOLDER,
    PrincipalKind,
    connector_principal_kind,
    connector_principal_name,
    sensor_role_trust_policy,
)

# The version of policy_json's shape: bump it when a key changes meaning or goes away.
POLICY_JSON_FORMAT = "aws-connector-wizard/policy/1"


@dataclass(frozen=True, slots=True)
class InlinePolicy:
    name: str
    file_name: str
    document: PolicyDocument


@dataclass(frozen=True, slots=True)
class MemberRole:
    """The dedicated member role deployed to every member account."""

    name: str
    trust_file: str
    trust_policy: PolicyDocument
    policies: tuple[CustomPolicy, ...]


@dataclass(frozen=True, slots=True)
class Attachments:
    """Everything the plan attaches, to the connector's principal and to the member role."""

    # Who gets `managed`, `custom` and `inline`: the IAM user, or the sensor role.
    principal_kind: PrincipalKind
    principal_name: str
    managed: tuple[ManagedPolicy, ...]  # AWS managed policies on the principal (as documented style)
    custom: tuple[CustomPolicy, ...]  # customer managed policies on the principal (least privilege)
    inline: tuple[InlinePolicy, ...]  # inline policies on the principal
    member_role: MemberRole | None
    # A keyless plan's sensor role: who may assume it (EC2, or Roles Anywhere for the trust
    # anchor, named by TRUST_ANCHOR_ARN_PLACEHOLDER until it exists); None for an IAM user.
    sensor_role_trust: PolicyDocument | None = None

    @property
    def managed_arns(self) -> tuple[str, ...]:
        return tuple(policy.arn for policy in self.managed)

    @property
    def principal_label(self) -> str:
        """ "user NAME" or "role NAME": how every surface names who gets the policies."""
        return f"{self.principal_kind} {self.principal_name}"


def attachments(plan: Plan) -> Attachments:
    """What the plan attaches: the single source for every page, report, CLI output and artifact."""
    documented = plan.style is PolicyStyle.DOCUMENTED
    inline: tuple[InlinePolicy, ...] = ()
    if plan.is_organization:
        inline = (InlinePolicy(INLINE_POLICY_NAME, INLINE_POLICY_FILE, corrected_inline_policy(plan)),)
    role = None
    if member_role.applies(plan):
        role = MemberRole(
            name=plan.role_name,
            trust_file=member_role.TRUST_POLICY_FILE,
            trust_policy=member_role.trust_policy(plan),
            policies=tuple(member_role.permission_policies(plan)),
        )
    return Attachments(
        principal_kind=connector_principal_kind(plan),
        principal_name=connector_principal_name(plan),
        managed=tuple(attached_managed_policies(plan)) if documented else (),
        custom=() if documented else tuple(custom_user_policies(plan)),
        inline=inline,
        member_role=role,
        sensor_role_trust=(
            sensor_role_trust_policy(plan, TRUST_ANCHOR_ARN_PLACEHOLDER) if plan.uses_role_principal else None
        ),
    )


# --- as JSON ------------------------------------------------------------------


def _managed_json(row: ManagedPolicy, plan: Plan) -> dict[str, Any]:
    return {
        "name": row.name,
        "arn": row.arn,
        "purpose": row.purpose,
        "required": not row.optional,
        "notes": list(row.notes),
        "attached": plan.style is PolicyStyle.DOCUMENTED and (not row.optional or plan.secrets_manager),
    }


def _custom_json(policy: CustomPolicy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "file": policy.file_name,
        "purpose": policy.purpose,
        "document": policy.document,
    }


def _finding_json(finding: LintFinding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "action": finding.action,
        "resource": finding.resource,
        "explanation": finding.explanation,
    }


def lint_findings(plan: Plan) -> list[LintFinding]:
    """Findings on the source document's inline policy (organization scope; none for an account)."""
    return lint_policy(documented_inline_policy(plan)) if plan.is_organization else []


def policy_json(plan: Plan) -> dict[str, Any]:
    """The plan's permissions as one JSON object (README.md, "`connector-wizard policy --json`")."""
    return {"format": POLICY_JSON_FORMAT, "plan": plan.to_json_dict(), **permissions_json(plan)}


def permissions_json(plan: Plan) -> dict[str, Any]:
    """`principal`: who the connector is; `user` (iam-user plans) or `sensor_role` (keyless plans)
    and `member_role`: what the plan attaches (`attachments`); `documented`: DigiCert's table and
    inline policy for reference; `lint_findings`: what is wrong with that inline policy.
    """
    found = attachments(plan)
    role = found.member_role
    attached = {
        "name": found.principal_name,
        "managed_policies": [_managed_json(row, plan) for row in found.managed],
        "custom_policies": [_custom_json(policy) for policy in found.custom],
        "inline_policies": [
            {"name": policy.name, "file": policy.file_name, "document": policy.document}
            for policy in found.inline
        ],
    }
    return {
        "principal": {
            "kind": found.principal_kind,
            "name": found.principal_name,
            "type": plan.principal.value,
        },
        # Keys are only ever added (README.md): "user" keeps its meaning, the IAM user, and is
        # null when the connector is a role; "sensor_role" is then what the role gets.
        "user": attached if found.principal_kind == "user" else None,
        "sensor_role": (
            {
                **attached,
                "trust_policy": {"file": SENSOR_ROLE_TRUST_FILE, "document": found.sensor_role_trust},
            }
            if found.principal_kind == "role"
            else None
        ),
        "member_role": (
            {
                "name": role.name,
                "trust_policy": {"file": role.trust_file, "document": role.trust_policy},
                "permission_policies": [_custom_json(policy) for policy in role.policies],
            }
            if role
            else None
        ),
        "documented": {
            "managed_policies": [_managed_json(row, plan) for row in documented_permissions(plan)],
            "inline_policy": documented_inline_policy(plan) if plan.is_organization else None,
        },
        "lint_findings": [_finding_json(finding) for finding in lint_findings(plan)],
    }
