"""The connector's principal: who the connector is in AWS (issue 13, part 2: keyless sensors).

Pure (stdlib only, plus the plan). With the default `iam-user` principal the
connector signs in as an IAM user with an access key; with `instance-role`
(sensor on EC2, default credential provider chain) or `roles-anywhere` (sensor
on premises, an AWS profile whose `credential_process` signs with the sensor's
certificate) it is the role `sensor_role_name`, and no long-lived secret
exists anywhere (docs/facts.md#keyless-sensors, docs/decisions.md "The sensor role").

Every surface that names the connector (the member role's trust, what the
plan attaches, the checklist, the artifacts, verification's identity check)
asks this module, so none of them can name a user for a role plan.
"""

from __future__ import annotations

from typing import Any, Literal

from app.domain.keyless import AUTH_METHODS, AuthMethod, PolicyDocument, roles_anywhere_trust_policy
from app.domain.plan import Plan, Principal

PrincipalKind = Literal["user", "role"]

# EC2 assumes an instance profile's role as this service principal
# (docs/facts.md#keyless-sensors, "Instance profiles"); the same name in every partition.
EC2_SERVICE_PRINCIPAL = "ec2.amazonaws.com"


def connector_principal_kind(plan: Plan) -> PrincipalKind:
    """ "user" for an iam-user plan, "role" for instance-role and roles-anywhere."""
    return "role" if plan.uses_role_principal else "user"


def connector_principal_name(plan: Plan) -> str:
    """The IAM user's or the sensor role's name."""
    return plan.sensor_role_name if plan.uses_role_principal else plan.user_name


def connector_principal_arn(plan: Plan, account_id: str) -> str:
    """The connector's ARN in `account_id` (artifacts pass their own placeholder or reference)."""
    kind = connector_principal_kind(plan)
    return f"arn:{plan.partition.value}:iam::{account_id}:{kind}/{connector_principal_name(plan)}"


def connector_principal_label(plan: Plan) -> str:
    """How pages and reports name the connector: "user NAME" or "role NAME"."""
    return f"{connector_principal_kind(plan)} {connector_principal_name(plan)}"


def auth_methods(plan: Plan) -> tuple[AuthMethod, ...]:
    """DigiCert's documented authentication methods this plan's principal uses (iam-user: two of them)."""
    return tuple(method for method in AUTH_METHODS if plan.principal.value in method.principals)


def instance_profile_name(plan: Plan) -> str:
    """The instance profile that carries the sensor role onto EC2: named after the role, as the IAM console does."""
    return plan.sensor_role_name


def sensor_role_trust_policy(plan: Plan, trust_anchor_arn: str | None = None) -> PolicyDocument:
    """Who may assume the sensor role: EC2 (instance-role), or Roles Anywhere for this anchor and subject.

    `trust_anchor_arn` is required for roles-anywhere; artifacts pass their own
    reference to the trust anchor they create.
    """
    if plan.principal is Principal.INSTANCE_ROLE:
        statement: dict[str, Any] = {
            "Sid": "SensorInstanceProfile",
            "Effect": "Allow",
            "Principal": {"Service": EC2_SERVICE_PRINCIPAL},
            "Action": "sts:AssumeRole",
        }
        return {"Version": "2012-10-17", "Statement": [statement]}
    if plan.principal is Principal.ROLES_ANYWHERE:
        if trust_anchor_arn is None:
            raise ValueError("a roles-anywhere plan's role trust needs the trust anchor's ARN")
        return roles_anywhere_trust_policy(plan.partition, trust_anchor_arn, plan.certificate_subject_cn)
    raise ValueError("an iam-user plan has no sensor role")
