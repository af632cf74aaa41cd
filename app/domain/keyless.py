"""Keyless sensors (issue 13, part 2): DigiCert's authentication methods and IAM Roles Anywhere inputs.

Pure (stdlib + pydantic: a certificate is read with the small DER reader
below, enough to find its basic constraints). These are the validated building
blocks of the `principal` plan option (iam-user | instance-role |
roles-anywhere; `Plan.principal`, app/domain/principal.py). Sources: docs/facts.md#keyless-sensors.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from app.domain.iam import REGIONS, Partition

# A policy document (the same type as app/domain/policies.py's, which imports the
# plan: the plan's validators use this module, so it cannot import that one).
PolicyDocument = dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuthMethod:
    """One of DigiCert's documented ways for the connector to authenticate, and what it is set to."""

    name: str  # as DigiCert's page names it
    connector_setting: str  # what to enter in Trust Lifecycle Manager
    principals: tuple[str, ...]  # the wizard's principal choices that use it


# DigiCert, "Configure authentication and permissions for AWS connectors" (docs/facts.md#keyless-sensors).
AUTH_METHODS = (
    AuthMethod("Self-authentication (Direct input)", "Access key and Secret key", ("iam-user",)),
    AuthMethod(
        "Self-authentication (Secrets manager)",
        "Secrets manager connector, and references to the PAM vault entries holding the access key and "
        "secret key",
        ("iam-user",),
    ),
    AuthMethod(
        "Default AWS credential provider chain",
        "nothing: the managing DigiCert sensor uses its default credential chain",
        ("instance-role",),
    ),
    AuthMethod(
        "AWS profile name",
        "Profile name: the AWS config profile on the sensor system",
        ("roles-anywhere",),
    ),
)

# IAM Roles Anywhere: the trust policy must let the service principal call these
# three actions (docs/facts.md#keyless-sensors, "trust model").
ROLES_ANYWHERE_PRINCIPAL = "rolesanywhere.amazonaws.com"
ROLES_ANYWHERE_ACTIONS = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
# A trust anchor's CERTIFICATE_BUNDLE source takes 1-8000 characters of PEM (API SourceData,
# CloudFormation X509CertificateData): a longer one would pass here and fail at deployment
# (docs/facts.md#roles-anywhere-resources).
MAX_PEM_CHARACTERS = 8000
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----")
# arn:${Partition}:acm-pca:${Region}:${Account}:certificate-authority/${CertificateAuthorityId}
_PCA_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-us-gov|aws-cn):acm-pca:(?P<region>[a-z0-9-]+):[0-9]{12}:"
    r"certificate-authority/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
_CN = re.compile(r"[A-Za-z0-9 .@_*+=,:/-]{1,64}")


def ca_certificate_error(pem: str) -> str | None:
    """Why `pem` cannot be a Roles Anywhere trust anchor's CA certificate (None: it can). Never echoes it."""
    if len(pem) > MAX_PEM_CHARACTERS:
        return f"The CA certificate is longer than {MAX_PEM_CHARACTERS} characters."
    blocks = _PEM.findall(pem)
    if len(blocks) != 1 or _PEM.sub("", pem).strip():
        return "Paste exactly one PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)."
    try:
        der = base64.b64decode("".join(blocks[0].split()), validate=True)
    except (binascii.Error, ValueError):
        return "The certificate's base64 text is damaged."
    try:
        is_ca = _basic_constraints_ca(der)
    except (ValueError, IndexError):
        return "The text is PEM, but not an X.509 certificate."
    if not is_ca:
        return (
            "This is not a CA certificate (its basic constraints do not say CA:TRUE): paste the issuing CA's."
        )
    return None


# --- a minimal DER reader: just enough X.509 to find BasicConstraints (RFC 5280, 4.1 and 4.2.1.9) ---

_BASIC_CONSTRAINTS_OID = bytes.fromhex("551d13")  # 2.5.29.19


def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at `at`; ValueError when malformed."""
    if at + 2 > len(data):
        raise ValueError("truncated")
    tag, length, at = data[at], data[at + 1], at + 2
    if length & 0x80:
        size = length & 0x7F
        if size == 0 or size > 4 or at + size > len(data):
            raise ValueError("bad length")
        length, at = int.from_bytes(data[at : at + size], "big"), at + size
    if at + length > len(data):
        raise ValueError("truncated")
    return tag, at, at + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    found, at = [], start
    while at < end:
        element = _tlv(data, at)
        found.append(element)
        at = element[2]
    if at != end:
        raise ValueError("overrun")
    return found


def _basic_constraints_ca(der: bytes) -> bool:
    """Whether the certificate's BasicConstraints say cA TRUE (absent: False)."""
    tag, start, end = _tlv(der, 0)
    if tag != 0x30 or end != len(der):
        raise ValueError("not a SEQUENCE")
    tbs = _children(der, start, end)[0]
    if tbs[0] != 0x30:
        raise ValueError("no tbsCertificate")
    for tag, start, end in _children(der, tbs[1], tbs[2]):
        if tag != 0xA3:  # [3] EXPLICIT Extensions
            continue
        (extensions,) = _children(der, start, end)
        for _, ext_start, ext_end in _children(der, extensions[1], extensions[2]):
            parts = _children(der, ext_start, ext_end)
            oid = parts[0]
            if oid[0] != 0x06 or der[oid[1] : oid[2]] != _BASIC_CONSTRAINTS_OID:
                continue
            value = parts[-1]  # extnValue OCTET STRING, after the optional critical BOOLEAN
            if value[0] != 0x04:
                raise ValueError("bad extension")
            inner_tag, inner_start, inner_end = _tlv(der, value[1])
            if inner_tag != 0x30:
                raise ValueError("bad BasicConstraints")
            fields = _children(der, inner_start, inner_end)
            return bool(fields) and fields[0][0] == 0x01 and der[fields[0][1] : fields[0][2]] != b"\x00"
    return False


def private_ca_arn_error(partition: Partition, arn: str) -> str | None:
    """Why `arn` cannot be the plan's AWS Private CA (None: it can): its shape, partition and region."""
    if partition is Partition.AWS_CN:
        # "AWS_ACM_PCA is not a supported value in your region" (the China regions' API reference,
        # docs/facts.md#keyless-sensors).
        return (
            "IAM Roles Anywhere in the China regions cannot use an AWS Private CA: paste the CA certificate."
        )
    match = _PCA_ARN.fullmatch(arn)
    if match is None:
        return "Enter an AWS Private CA ARN: arn:PARTITION:acm-pca:REGION:ACCOUNT:certificate-authority/ID."
    if match["partition"] != partition.value:
        return f"The Private CA is in another partition: this plan's partition is {partition.value}."
    if match["region"] not in REGIONS[partition]:
        return f"The Private CA's region is not a region of the {partition.value} partition."
    return None


def subject_cn_error(value: str) -> str | None:
    if not _CN.fullmatch(value):
        return "The certificate subject's common name: 1-64 letters, digits, spaces and . @ _ * + = , : / -"
    return None


def roles_anywhere_trust_policy(
    partition: Partition, trust_anchor_arn: str | dict[str, Any], subject_cn: str
) -> PolicyDocument:
    """The connector role's trust: Roles Anywhere, only for this trust anchor and this certificate subject.

    `trust_anchor_arn` is an ARN, or a template's own reference to the anchor it
    creates (a Terraform expression, a CloudFormation intrinsic function).
    """
    arn = trust_anchor_arn if isinstance(trust_anchor_arn, str) else ""
    if arn.startswith("arn:") and not arn.startswith(f"arn:{partition.value}:rolesanywhere:"):
        raise ValueError("the trust anchor ARN is not in the plan's partition")
    statement: dict[str, Any] = {
        "Sid": "RolesAnywhereSensorCertificate",
        "Effect": "Allow",
        "Principal": {"Service": ROLES_ANYWHERE_PRINCIPAL},
        "Action": list(ROLES_ANYWHERE_ACTIONS),
        "Condition": {
            "StringEquals": {"aws:PrincipalTag/x509Subject/CN": subject_cn},
            "ArnEquals": {"aws:SourceArn": trust_anchor_arn},
        },
    }
    return {"Version": "2012-10-17", "Statement": [statement]}
