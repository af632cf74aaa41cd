"""How the connector authenticates, in DigiCert's words: the wizard's principal choices and the hand-off.

Pure. Each choice of the `principal` plan option is one or two of DigiCert's
documented authentication methods for AWS connectors (`keyless.AUTH_METHODS`,
docs/facts.md#keyless-sensors). The Options page offers the choices with the
method each uses and what it needs in the connector and on the sensor; the
checklist's hand-off step (`checklist.connector_settings`) and the CLI say the
same from these functions, so no surface words it differently.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.keyless import AuthMethod
from app.domain.plan import Plan, Principal
from app.domain.principal import (
    SENSOR_AWS_PROFILE,
    auth_methods,
    instance_profile_name,
    principal_auth_methods,
)

INTRO = (
    "Each choice is one of DigiCert's documented authentication methods for AWS connectors; under it, the "
    "method's name as DigiCert's documentation gives it and exactly what it needs in the connector and on "
    "the sensor."
)


@dataclass(frozen=True, slots=True)
class PrincipalChoice:
    principal: Principal
    label: str
    sensor: str  # where the DigiCert sensor runs and what it needs there

    @property
    def value(self) -> str:
        return self.principal.value

    @property
    def methods(self) -> tuple[AuthMethod, ...]:
        """DigiCert's authentication methods this choice uses (the IAM user: two of them)."""
        return principal_auth_methods(self.principal)


PRINCIPAL_CHOICES = (
    PrincipalChoice(
        Principal.IAM_USER,
        "IAM user with an access key",
        "Anywhere. The key is a long-lived secret: keep it in the connector or your PAM vault only.",
    ),
    PrincipalChoice(
        Principal.INSTANCE_ROLE,
        "EC2 instance role: no key",
        "On an EC2 instance in the management account (the account, for account scope), launched with the "
        "sensor role's instance profile.",
    ),
    PrincipalChoice(
        Principal.ROLES_ANYWHERE,
        "IAM Roles Anywhere: no key, the sensor's own certificate",
        "On premises, with an X.509 certificate from your CA (the trust anchor) and its key; its "
        "~/.aws/config profile runs AWS's signing helper as credential_process.",
    ),
)


def connector_authentication(plan: Plan) -> list[tuple[str, str]]:
    """The connector's authentication settings for the plan's principal, in DigiCert's method names.

    The checklist's hand-off step and setup.sh's last words list these
    (checklist.connector_settings).
    """
    methods = auth_methods(plan)
    if plan.principal is Principal.INSTANCE_ROLE:
        return [
            (
                "Authentication method",
                f"{methods[0].name}: nothing to type. The managing DigiCert sensor runs on the EC2 instance "
                f"that has the instance profile {instance_profile_name(plan)}, and its default credential "
                f"chain gets the role {plan.sensor_role_name}'s temporary credentials from it",
            )
        ]
    if plan.principal is Principal.ROLES_ANYWHERE:
        return [
            ("Authentication method", methods[0].name),
            (
                "Profile name",
                f"{SENSOR_AWS_PROFILE} (the profile in the sensor's ~/.aws/config that runs AWS's signing "
                f"helper as credential_process, with the sensor's certificate; it gets the role "
                f"{plan.sensor_role_name}'s temporary credentials)",
            ),
        ]
    direct, vault = methods
    return [
        (
            "Authentication method",
            f"{direct.name}: the access key ID and secret access key of the IAM user {plan.user_name}; or "
            f"{vault.name}: your secrets manager connector, and references to the PAM vault entries that "
            "hold them",
        )
    ]
