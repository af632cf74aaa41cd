"""Keyless sensors' building blocks: the CA certificate a trust anchor takes, the Private CA ARN, the trust policy."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.domain.iam import Partition
from app.domain.keyless import (
    AUTH_METHODS,
    ca_certificate_error,
    private_ca_arn_error,
    roles_anywhere_trust_policy,
)


def _certificate(*, ca: bool, key_cert_sign: bool = True) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Root CA" if ca else "sensor-1")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=key_cert_sign,
                crl_sign=key_cert_sign,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def test_a_ca_certificate_is_accepted_and_anything_else_gets_one_clear_reason() -> None:
    assert ca_certificate_error(_certificate(ca=True)) is None
    assert ca_certificate_error(_certificate(ca=True, key_cert_sign=False)) is None  # only cA is read
    leaf = _certificate(ca=False)
    cases = {
        leaf: "not a CA certificate",
        "hello": "exactly one PEM certificate",
        _certificate(ca=True) + _certificate(ca=True): "exactly one PEM certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----": "not an X.509 certificate",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----": "exactly one PEM certificate",
        "x" * 20000: "longer than",
    }
    for pem, reason in cases.items():
        error = ca_certificate_error(pem)
        assert error is not None and reason in error, (reason, error)
        assert pem[:40] not in error  # never echoes the input


def test_a_private_ca_arn_must_be_of_the_plans_partition() -> None:
    arn = "arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/12345678-1234-1234-1234-123456789012"
    assert private_ca_arn_error(Partition.AWS, arn) is None
    assert "another partition" in (private_ca_arn_error(Partition.AWS_US_GOV, arn) or "")
    gov = arn.replace("arn:aws:", "arn:aws-us-gov:").replace("eu-west-1", "us-gov-west-1")
    assert private_ca_arn_error(Partition.AWS_US_GOV, gov) is None
    wrong_region = arn.replace("arn:aws:", "arn:aws-us-gov:")
    assert "region" in (private_ca_arn_error(Partition.AWS_US_GOV, wrong_region) or "")
    # Roles Anywhere in the China regions takes no AWS Private CA at all (docs/facts.md#keyless-sensors).
    china = arn.replace("arn:aws:", "arn:aws-cn:").replace("eu-west-1", "cn-north-1")
    assert "cannot use an AWS Private CA" in (private_ca_arn_error(Partition.AWS_CN, china) or "")
    assert "Private CA ARN" in (private_ca_arn_error(Partition.AWS, "arn:aws:iam::123456789012:role/x") or "")


def test_the_roles_anywhere_trust_policy_names_the_anchor_and_the_subject() -> None:
    anchor = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/0f0e0d0c-0000-1111-2222-333344445555"
    document = roles_anywhere_trust_policy(Partition.AWS, anchor, "sensor-1")
    statement = document["Statement"][0]
    assert statement["Principal"] == {"Service": "rolesanywhere.amazonaws.com"}
    assert statement["Action"] == ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
    assert statement["Condition"]["ArnEquals"] == {"aws:SourceArn": anchor}
    assert statement["Condition"]["StringEquals"] == {"aws:PrincipalTag/x509Subject/CN": "sensor-1"}
    with pytest.raises(ValueError, match="partition"):
        roles_anywhere_trust_policy(Partition.AWS_CN, anchor, "sensor-1")


def test_digicerts_four_authentication_methods_each_say_what_the_connector_needs() -> None:
    assert [m.name for m in AUTH_METHODS] == [
        "Self-authentication (Direct input)",
        "Self-authentication (Secrets manager)",
        "Default AWS credential provider chain",
        "AWS profile name",
    ]
    assert {p for m in AUTH_METHODS for p in m.principals} == {"iam-user", "instance-role", "roles-anywhere"}


def test_truncated_or_reshaped_der_is_refused_not_raised() -> None:
    import base64
    import re

    body = re.sub(r"-----[A-Z ]+-----|\s", "", _certificate(ca=True))
    der = base64.b64decode(body)
    for broken in (der[:10], der[:-40], b"\x30\x00", b"\x30\x82\xff\xff" + der[4:], b"\x31" + der[1:]):
        pem = (
            "-----BEGIN CERTIFICATE-----\n"
            + base64.b64encode(broken).decode()
            + "\n-----END CERTIFICATE-----"
        )
        assert ca_certificate_error(pem) == "The text is PEM, but not an X.509 certificate.", broken[:4]
