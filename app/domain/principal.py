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

import re
from typing import Any, Literal

from app.domain.iam import HOME_REGION
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


def connector_principal_noun(plan: Plan) -> str:
    """How prose names the connector before its name: "user" or "sensor role" (a plan may name another role too)."""
    return "sensor role" if plan.uses_role_principal else "user"


def connector_principal_label(plan: Plan) -> str:
    """How pages and reports name the connector: "user NAME" or "role NAME"."""
    return f"{connector_principal_kind(plan)} {connector_principal_name(plan)}"


def principal_auth_methods(principal: Principal) -> tuple[AuthMethod, ...]:
    """DigiCert's documented authentication methods `principal` uses (iam-user: two of them)."""
    return tuple(method for method in AUTH_METHODS if principal.value in method.principals)


def auth_methods(plan: Plan) -> tuple[AuthMethod, ...]:
    """DigiCert's documented authentication methods this plan's principal uses."""
    return principal_auth_methods(plan.principal)


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


# --- IAM Roles Anywhere: the trust anchor, the profile, and the sensor's AWS config ---------

# IAM Roles Anywhere is regional: its trust anchor and profile are created in one region, the
# partition's home region here (botocore's endpoint data lists rolesanywhere in every region the
# wizard offers; docs/facts.md#keyless-sensors). The sensor's signing helper is told that region.
TRUST_ANCHOR_SOURCE_FILE = "roles-anywhere-trust-anchor-source.json"
# The sensor role's trust policy in the bundle (Roles Anywhere: with TRUST_ANCHOR_ARN_PLACEHOLDER).
SENSOR_ROLE_TRUST_FILE = "sensor-role-trust-policy.json"
# The sensor's AWS config profile: the name the connector's "AWS profile name" setting takes.
# One name for every surface (checklist, hand-off, verify page, CLI): the connector is told
# the profile the checklist creates.
SENSOR_AWS_PROFILE = "digicert-tlm-sensor"
# Stand-ins for what only exists once the resources are created (a real ARN never has them).
ACCOUNT_PLACEHOLDER = "ACCOUNT_ID"
TRUST_ANCHOR_ARN_PLACEHOLDER = "TRUST_ANCHOR_ARN"
PROFILE_ARN_PLACEHOLDER = "PROFILE_ARN"
# Where the sensor keeps its certificate and private key: our suggestion, to be adapted.
SENSOR_CERTIFICATE_PATH = "/etc/digicert-sensor/aws/sensor-certificate.pem"
SENSOR_PRIVATE_KEY_PATH = "/etc/digicert-sensor/aws/sensor-private-key.pem"
SIGNING_HELPER = "aws_signing_helper"


def sensor_profile_options(plan: Plan) -> tuple[str, ...]:
    """`--profile=NAME` for a command run on the sensor's host with the sensor's credentials, or nothing.

    A roles-anywhere sensor's credentials come from the profile SENSOR_AWS_PROFILE
    (credential_process); an instance role's from the default chain, which needs no option.
    The value is joined to its flag, as in every command we print (docs/setup-script.md#arguments).
    """
    return (f"--profile={SENSOR_AWS_PROFILE}",) if plan.principal is Principal.ROLES_ANYWHERE else ()


def roles_anywhere_region(plan: Plan) -> str:
    """The region of the trust anchor and the profile: the partition's home region."""
    return HOME_REGION[plan.partition]


# Roles Anywhere resource names: `[ a-zA-Z0-9-_]*`, 1-255 characters (docs/facts.md#roles-anywhere-resources);
# an IAM role name may also hold `+=,.@`, which become "-".
_NOT_A_ROLES_ANYWHERE_NAME_CHARACTER = re.compile(r"[^a-zA-Z0-9_-]")


def roles_anywhere_profile_name(plan: Plan) -> str:
    """The Roles Anywhere profile's name: the sensor role's, as Roles Anywhere spells names.

    Derived from the sensor role, not fixed: setup.sh finds its trust anchor and
    profile by name, so two setups in one account (two sensor roles) must not
    share them, or the second would re-point the first's profile at its own role.
    """
    return _NOT_A_ROLES_ANYWHERE_NAME_CHARACTER.sub("-", plan.sensor_role_name)


def trust_anchor_name(plan: Plan) -> str:
    """The trust anchor's name: the profile's, with "-ca" (it holds the CA that issues the sensor's certificate)."""
    return f"{roles_anywhere_profile_name(plan)}-ca"


def trust_anchor_source(plan: Plan) -> dict[str, Any]:
    """CreateTrustAnchor's `source`: the pasted CA certificate, or the AWS Private CA.

    https://docs.aws.amazon.com/rolesanywhere/latest/APIReference/API_Source.html
    """
    if plan.principal is not Principal.ROLES_ANYWHERE:
        raise ValueError("only a roles-anywhere plan has a trust anchor")
    if plan.trust_anchor_pca_arn:
        return {"sourceType": "AWS_ACM_PCA", "sourceData": {"acmPcaArn": plan.trust_anchor_pca_arn}}
    return {
        "sourceType": "CERTIFICATE_BUNDLE",
        "sourceData": {"x509CertificateData": plan.trust_anchor_certificate},
    }


def _config_value(value: str) -> str:
    # One line of the shared config file: a line break would start a new setting.
    if "\n" in value or "\r" in value:
        raise ValueError("a value of the AWS config profile cannot contain a line break")
    return f'"{value}"' if " " in value else value


def sensor_credential_process(
    plan: Plan,
    *,
    account_id: str = ACCOUNT_PLACEHOLDER,
    trust_anchor_arn: str = TRUST_ANCHOR_ARN_PLACEHOLDER,
    profile_arn: str = PROFILE_ARN_PLACEHOLDER,
    certificate_path: str = SENSOR_CERTIFICATE_PATH,
    private_key_path: str = SENSOR_PRIVATE_KEY_PATH,
    helper: str = SIGNING_HELPER,
) -> str:
    """The `credential_process` command (roles-anywhere): AWS's signing helper for the sensor role.

    The helper signs Roles Anywhere's CreateSession with the sensor's private
    key and prints temporary credentials in the format `credential_process`
    reads (docs/facts.md#keyless-sensors). Defaults are placeholders a page or
    a script replaces.
    """
    if plan.principal is not Principal.ROLES_ANYWHERE:
        raise ValueError("only a roles-anywhere plan's sensor uses an AWS config profile")
    # Each value joined to its flag (docs/setup-script.md, as every command we print): a path
    # starting with "-" cannot be read as an option. The helper's flags parse `--flag=value`.
    options = {
        "--certificate": certificate_path,
        "--private-key": private_key_path,
        "--trust-anchor-arn": trust_anchor_arn,
        "--profile-arn": profile_arn,
        "--role-arn": connector_principal_arn(plan, account_id),
        "--region": roles_anywhere_region(plan),
    }
    command = [helper, "credential-process", *(f"{flag}={value}" for flag, value in options.items())]
    return " ".join(_config_value(part) for part in command)


def sensor_aws_config(plan: Plan, **where: str) -> str:
    """The sensor's AWS config profile (roles-anywhere), the text for ~/.aws/config.

    The connector's "AWS profile name" is SENSOR_AWS_PROFILE; `credential_process`
    runs `sensor_credential_process(plan, **where)` (ARNs, account id, paths).
    The web hand-off step, the CLI and the bundle all show this text.
    """
    process = sensor_credential_process(plan, **where)
    return (
        f"[profile {SENSOR_AWS_PROFILE}]\n"
        f"credential_process = {process}\n"
        f"region = {roles_anywhere_region(plan)}\n"
    )


# --- the checklist steps that hold the principal (verification points its failures at them) ---

PRINCIPAL_STEP_IDS: dict[Principal, str] = {
    Principal.IAM_USER: "create-user",
    Principal.INSTANCE_ROLE: "create-sensor-role",
    Principal.ROLES_ANYWHERE: "create-sensor-role",
}
CREDENTIALS_STEP_IDS: dict[Principal, str] = {
    Principal.IAM_USER: "create-access-key",
    Principal.INSTANCE_ROLE: "attach-instance-profile",
    Principal.ROLES_ANYWHERE: "sensor-aws-profile",
}


def principal_step_id(plan: Plan) -> str:
    """The checklist step that creates the connector's user or role."""
    return PRINCIPAL_STEP_IDS[plan.principal]


def credentials_step_id(plan: Plan) -> str:
    """The checklist step that gives the sensor its credentials (key, instance profile, AWS profile)."""
    return CREDENTIALS_STEP_IDS[plan.principal]
