"""The connector's principal in the artifacts: the IAM user, or the sensor role (issue 13.2).

Pure. What CloudFormation, Terraform and setup.sh share about the principal a
plan's policies are attached to (its kind, name and noun are
app/domain/principal.py's): how their files word it (PRINCIPAL_TEXT), the
outputs the sensor needs (principal_outputs), the sensor role's trust policy
with the trust anchor's ARN as each format refers to it, and the IAM Roles
Anywhere trust anchor's source as each format spells it
(docs/facts.md#keyless-sensors).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.domain.plan import Plan, Principal
from app.domain.policies import PolicyDocument
from app.domain.principal import sensor_role_trust_policy, trust_anchor_source

__all__ = [
    "PRINCIPAL_TEXT",
    "PrincipalOutput",
    "PrincipalText",
    "anchor_source",
    "cloudformation_name",
    "principal_outputs",
    "principal_text",
    "sensor_trust",
    "terraform_name",
]


@dataclass(frozen=True, slots=True)
class PrincipalText:
    """How every artifact names the principal and what the management account's files create for it.

    One entry per principal, so a new principal is worded in one place, not in a table per
    generator (docs/facts.md#keyless-sensors).
    """

    title: str  # the bundle's file titles: "CloudFormation: the connector's TITLE"
    contents: str  # what management-account.yaml and main.tf create
    template: str  # the subject of management-account.yaml's Description
    stack: str  # deploy.sh: "Deploying the STACK stack (STACK_CONTENTS, no access key)"
    stack_contents: str
    no_key: str  # what a header says about access keys


PRINCIPAL_TEXT: dict[Principal, PrincipalText] = {
    Principal.IAM_USER: PrincipalText(
        title="user",
        contents="the IAM user with its policies",
        template="IAM user",
        stack="user",
        stack_contents="IAM user and policies",
        no_key="It creates no access key; create one afterwards (checklist) and keep its secret out of tickets.",
    ),
    Principal.INSTANCE_ROLE: PrincipalText(
        title="sensor role",
        contents="the sensor's IAM role with its policies, and its instance profile",
        template="IAM role and instance profile of the sensor on EC2",
        stack="sensor",
        stack_contents="sensor role, instance profile and policies",
        no_key="No access key anywhere: the sensor on EC2 gets temporary credentials from the instance profile.",
    ),
    Principal.ROLES_ANYWHERE: PrincipalText(
        title="sensor role and Roles Anywhere",
        contents="the IAM Roles Anywhere trust anchor and profile, and the sensor's IAM role with its policies",
        template="IAM Roles Anywhere trust anchor, profile and role of the sensor",
        stack="sensor",
        stack_contents="Roles Anywhere trust anchor and profile, sensor role and policies",
        no_key="No access key anywhere: the sensor gets temporary credentials from IAM Roles Anywhere with its "
        "certificate.",
    ),
}


def principal_text(plan: Plan) -> PrincipalText:
    return PRINCIPAL_TEXT[plan.principal]


@dataclass(frozen=True, slots=True)
class PrincipalOutput:
    """One output of the management account's stack or Terraform module: what the sensor needs.

    `name` is CloudFormation's output name (Terraform's is its snake case); `resource` is what it
    reads ("user", "role", "instance_profile", "profile", "trust_anchor") and `attribute` "name"
    or "arn": each format turns these into its own reference.
    """

    name: str
    description: str
    resource: str
    attribute: str


def principal_outputs(plan: Plan) -> tuple[PrincipalOutput, ...]:
    """The stack's and the module's outputs, in order: the user, or the sensor role and what gives
    it to the sensor (the ARNs the signing helper takes, for Roles Anywhere)."""
    if not plan.uses_role_principal:
        return (
            PrincipalOutput("UserName", "The connector's IAM user.", "user", "name"),
            PrincipalOutput("UserArn", "Its ARN.", "user", "arn"),
        )
    role = (
        PrincipalOutput("RoleName", "The sensor's IAM role.", "role", "name"),
        PrincipalOutput("RoleArn", "Its ARN (the signing helper's --role-arn).", "role", "arn"),
    )
    if plan.principal is Principal.INSTANCE_ROLE:
        return (
            *role,
            PrincipalOutput(
                "InstanceProfileName",
                "The instance profile to give the sensor's EC2 instance.",
                "instance_profile",
                "name",
            ),
            PrincipalOutput("InstanceProfileArn", "Its ARN.", "instance_profile", "arn"),
        )
    return (
        *role,
        PrincipalOutput(
            "ProfileArn", "The Roles Anywhere profile (the signing helper's --profile-arn).", "profile", "arn"
        ),
        PrincipalOutput(
            "TrustAnchorArn",
            "The trust anchor (the signing helper's --trust-anchor-arn).",
            "trust_anchor",
            "arn",
        ),
    )


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


def anchor_source(plan: Plan, spell: Callable[[str], str]) -> tuple[str, dict[str, str]]:
    """The trust anchor's source type and data (principal.trust_anchor_source, the API's and the bundle's),
    with the data's member names as a format spells them (`spell`: acmPcaArn -> AcmPcaArn, acm_pca_arn).

    https://docs.aws.amazon.com/rolesanywhere/latest/APIReference/API_SourceData.html
    """
    source = trust_anchor_source(plan)
    return source["sourceType"], {spell(key): value for key, value in source["sourceData"].items()}


def cloudformation_name(api_name: str) -> str:
    """acmPcaArn -> AcmPcaArn: CloudFormation spells the API's member names with a capital."""
    return api_name[:1].upper() + api_name[1:]


def terraform_name(api_name: str) -> str:
    """acmPcaArn -> acm_pca_arn, x509CertificateData -> x509_certificate_data: the provider's snake case."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", api_name).lower()
