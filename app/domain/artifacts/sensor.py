"""The connector's principal in the artifacts: the IAM user, or the sensor role (issue 13.2).

Pure. What CloudFormation, Terraform and setup.sh share about the principal a
plan's policies are attached to: its kind and name, the sensor role's trust
policy with the trust anchor's ARN as each format refers to it, and the IAM
Roles Anywhere trust anchor's source (docs/facts.md#keyless-sensors).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from app.domain.plan import Plan, Principal
from app.domain.policies import PolicyDocument
from app.domain.principal import connector_principal_name, sensor_role_trust_policy

__all__ = [
    "anchor_source",
    "no_key_line",
    "principal_kind",
    "principal_name",
    "principal_words",
    "sensor_trust",
]

Kind = Literal["user", "role"]


def principal_kind(plan: Plan) -> Kind:
    """ "user" (iam-user) or "role" (the sensor role: instance-role, roles-anywhere)."""
    return "role" if plan.uses_role_principal else "user"


def principal_name(plan: Plan) -> str:
    return connector_principal_name(plan)


def principal_words(plan: Plan) -> str:
    """How the artifacts' prose names the principal: "user" or "sensor role"."""
    return "sensor role" if plan.uses_role_principal else "user"


def no_key_line(plan: Plan) -> str:
    """What a header says about access keys."""
    if plan.principal is Principal.INSTANCE_ROLE:
        return (
            "No access key anywhere: the sensor on EC2 gets temporary credentials from the instance profile."
        )
    if plan.principal is Principal.ROLES_ANYWHERE:
        return (
            "No access key anywhere: the sensor gets temporary credentials from IAM Roles Anywhere with its "
            "certificate."
        )
    return "It creates no access key; create one afterwards (checklist) and keep its secret out of tickets."


def _stand_in(plan: Plan) -> str:
    # A syntactically valid trust anchor ARN of the plan's partition; never written anywhere:
    # `sensor_trust` replaces it with the format's own reference.
    return f"arn:{plan.partition.value}:rolesanywhere:region:000000000000:trust-anchor/stand-in"


def sensor_trust(plan: Plan, anchor: Any = None) -> PolicyDocument:
    """The sensor role's trust policy; for roles-anywhere, `anchor` (a CloudFormation Fn::GetAtt, a
    Terraform expression, a shell word...) stands where the trust anchor's ARN goes."""
    if plan.principal is not Principal.ROLES_ANYWHERE:
        return sensor_role_trust_policy(plan, None)
    stand_in = _stand_in(plan)
    document = sensor_role_trust_policy(plan, stand_in)
    text = json.dumps(document)
    if text.count(json.dumps(stand_in)) != 1:
        raise ValueError("the trust policy names the trust anchor exactly once")
    replaced: PolicyDocument = _replace(document, stand_in, anchor)
    return replaced


def _replace(item: Any, old: str, new: Any) -> Any:
    if item == old:
        return new
    if isinstance(item, dict):
        return {key: _replace(value, old, new) for key, value in item.items()}
    if isinstance(item, list):
        return [_replace(value, old, new) for value in item]
    return item


def anchor_source(plan: Plan) -> tuple[str, str, str]:
    """(source type, CloudFormation SourceData key, value): the CA certificate bundle or the Private CA.

    https://docs.aws.amazon.com/rolesanywhere/latest/APIReference/API_SourceData.html
    """
    if plan.trust_anchor_pca_arn:
        return "AWS_ACM_PCA", "AcmPcaArn", plan.trust_anchor_pca_arn
    return "CERTIFICATE_BUNDLE", "X509CertificateData", plan.trust_anchor_certificate
