"""The plan: every choice an admin makes in the wizard, validated with AWS's rules.

Pure (stdlib + pydantic). A `Plan` is immutable; every artifact, checklist
step and verification check is a function of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.domain.iam import (
    HOME_REGION,
    Partition,
    iam_name_error,
    region_error,
    secret_prefix_error,
)
from app.domain.keyless import (
    MAX_PEM_CHARACTERS,
    ca_certificate_error,
    private_ca_arn_error,
    subject_cn_error,
)


class Scope(StrEnum):
    ORGANIZATION = "organization"
    ACCOUNT = "account"


class Principal(StrEnum):
    """Who the connector is in AWS: DigiCert's documented authentication methods (docs/facts.md#keyless-sensors)."""

    # Default: an access key typed into the connector, or a PAM reference to one.
    IAM_USER = "iam-user"
    # The sensor runs on EC2 and uses its default credential provider chain (an instance profile).
    INSTANCE_ROLE = "instance-role"
    # The sensor runs on premises: an AWS profile name whose credential_process signs with an
    # X.509 certificate through IAM Roles Anywhere.
    ROLES_ANYWHERE = "roles-anywhere"


class PolicyStyle(StrEnum):
    # "as documented": the AWS managed policies and the seed's inline policy.
    DOCUMENTED = "documented"
    # custom, scoped policies in place of the managed ones (issue 3).
    LEAST_PRIVILEGE = "least-privilege"


DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
DEFAULT_USER_NAME = "digicert-tlm-connector"
DEFAULT_SENSOR_ROLE_NAME = "digicert-tlm-sensor"
DEFAULT_SECRET_PREFIX = "digicert-tlm/"  # noqa: S105 - a name prefix, not a secret
MAX_REGIONS = 40


class PlanError(ValueError):
    """A plan that breaks a rule; `errors` maps form field -> message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# "textarea": multi-line text (a PEM certificate), up to Option.max_length characters.
Widget = Literal["page", "text", "textarea", "checkbox", "select", "radio", "regions"]
# "file": --flag FILE, the field's value is the file's text (a PEM certificate).
CliKind = Literal["value", "on", "off", "names", "file"]


@dataclass(frozen=True)
class Option:
    """How one plan field is offered on every surface: the options form, the API, the CLI.

    The form parsing (app/web/forms.py), the API's query and body models
    (app/web/api.py) and the CLI's options (app/cli.py) are all built from these,
    so a field added to `Plan` without one fails at import and in
    tests/test_plan_schema.py (docs/decisions.md, "One plan schema").
    """

    label: str  # the form's label and the audit trail's word for it
    help: str  # CLI help and API description
    widget: Widget  # "page": chosen on its own page (scope), not on the options form
    cli: str  # the CLI flag
    # "value": --flag VALUE; "on"/"off": a bare flag setting True/False (the
    # help of an "off" flag reads "do not <help>"); "names": --flag VALUE sets
    # the field True and the field `names` to VALUE.
    cli_kind: CliKind = "value"
    names: str | None = None
    metavar: str | None = None
    # The scopes whose plans use this option; in any other scope it must keep
    # its default (see Plan._unused_options_keep_defaults).
    scopes: frozenset[Scope] = frozenset(Scope)
    # The principals whose plans use this option; with any other it must keep
    # its default, exactly like a scope that does not use it.
    principals: frozenset[Principal] = frozenset(Principal)
    # The longest value the form and the API accept before the domain's own rule speaks.
    max_length: int = 200

    def unused_by(self, scope: Any, principal: Any) -> str | None:
        """Why a plan of this scope and principal does not use the option (None: it does)."""
        if isinstance(scope, Scope) and scope not in self.scopes:
            used = " or ".join(sorted(s.value for s in self.scopes))
            return f"Only {used}-scope plans use the {self.label}; this is a plan for {scope.value} scope: leave it out."
        if isinstance(principal, Principal) and principal not in self.principals:
            used = " or ".join(sorted(p.value for p in self.principals))
            return (
                f"Only plans whose principal is {used} use the {self.label}; this plan's principal is "
                f"{principal.value}: leave it out."
            )
        return None


_ORG = frozenset({Scope.ORGANIZATION})
_USER = frozenset({Principal.IAM_USER})
_ROLES = frozenset({Principal.INSTANCE_ROLE, Principal.ROLES_ANYWHERE})
_ANYWHERE = frozenset({Principal.ROLES_ANYWHERE})
_IAM_NAME_SCHEMA: dict[str, Any] = {"pattern": "^[A-Za-z0-9+=,.@_-]{1,64}$", "minLength": 1, "maxLength": 64}
# What the API schema states of the Roles Anywhere inputs (the domain checks the rest): ASCII
# only, so a request body stays far below the server's limit (Settings.max_body_bytes).
_PEM_SCHEMA: dict[str, Any] = {"pattern": "^[-A-Za-z0-9+/= \r\n\t]*$", "maxLength": MAX_PEM_CHARACTERS}
_PCA_ARN_SCHEMA: dict[str, Any] = {"pattern": "^[a-z0-9:/-]*$", "maxLength": 200}
_CN_SCHEMA: dict[str, Any] = {"pattern": "^[A-Za-z0-9 .@_*+=,:/-]{0,64}$", "maxLength": 64}
_SECRET_PREFIX_SCHEMA: dict[str, Any] = {
    "pattern": "^[A-Za-z0-9/_+=.@-]{1,128}$",
    "minLength": 1,
    "maxLength": 128,
}


class Plan(BaseModel):
    """What to set up. Field names are also the form and API field names; `Option` says how each is offered."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scope: Annotated[
        Scope,
        Option(
            label="scope",
            help="organization (management account) or one account",
            widget="page",
            cli="--scope",
        ),
    ] = Scope.ORGANIZATION
    # Right after scope: the validators of the fields below see it (docs/facts.md#keyless-sensors).
    principal: Annotated[
        Principal,
        Option(
            label="connector principal",
            help="how the connector authenticates: an IAM user's access key, the sensor's EC2 instance role, "
            "or IAM Roles Anywhere with the sensor's certificate",
            widget="radio",
            cli="--principal",
        ),
    ] = Principal.IAM_USER
    user_name: Annotated[
        str,
        Field(json_schema_extra=_IAM_NAME_SCHEMA),
        Option(
            label="IAM user name",
            help="IAM user the connector signs in as (principal iam-user)",
            widget="text",
            cli="--user-name",
            metavar="NAME",
            principals=_USER,
        ),
    ] = DEFAULT_USER_NAME
    # The connector's own role where the sensor needs no key: in the management
    # account (organization scope) or the account (docs/decisions.md, "The sensor role").
    sensor_role_name: Annotated[
        str,
        Field(json_schema_extra=_IAM_NAME_SCHEMA),
        Option(
            label="sensor role name",
            help="IAM role the sensor's credentials belong to (principals instance-role and roles-anywhere)",
            widget="text",
            cli="--sensor-role-name",
            metavar="NAME",
            principals=_ROLES,
        ),
    ] = DEFAULT_SENSOR_ROLE_NAME
    # The common IAM role name entered in the connector (organization scope);
    # with a dedicated member role, that role's name.
    role_name: Annotated[
        str,
        Field(json_schema_extra=_IAM_NAME_SCHEMA),
        Option(
            label="role name",
            help="common IAM role name in member accounts, entered in the connector (organization scope)",
            widget="text",
            cli="--role-name",
            metavar="NAME",
            scopes=_ORG,
        ),
    ] = DEFAULT_ROLE_NAME
    # Deploy a dedicated least-privilege member role named `role_name` instead
    # of relying on OrganizationAccountAccessRole (docs/facts.md#organization-account-access-role).
    dedicated_member_role: Annotated[
        bool,
        Option(
            label="member role",
            help="deploy a dedicated least-privilege member role with the common role name (organization scope)",
            widget="checkbox",
            cli="--member-role",
            cli_kind="names",
            names="role_name",
            metavar="NAME",
            scopes=_ORG,
        ),
    ] = False
    secrets_manager: Annotated[
        bool,
        Option(
            label="Secrets Manager",
            help="use AWS Secrets Manager for temporary private keys",
            widget="checkbox",
            cli="--no-secrets-manager",
            cli_kind="off",
        ),
    ] = True
    secret_prefix: Annotated[
        str,
        Field(json_schema_extra=_SECRET_PREFIX_SCHEMA),
        Option(
            label="secret prefix",
            help="Secrets Manager name prefix the least-privilege policies allow",
            widget="text",
            cli="--secret-prefix",
            metavar="PREFIX",
        ),
    ] = DEFAULT_SECRET_PREFIX
    partition: Annotated[
        Partition,
        Option(label="partition", help="AWS partition", widget="select", cli="--partition"),
    ] = Partition.AWS
    regions: Annotated[
        tuple[str, ...],
        Field(min_length=1, max_length=MAX_REGIONS),
        Option(
            label="regions",
            help="comma-separated ACM regions (default: the partition's home region)",
            widget="regions",
            cli="--regions",
            metavar="REGION[,REGION...]",
        ),
    ] = ("us-east-1",)
    style: Annotated[
        PolicyStyle,
        Option(
            label="policy style",
            help="AWS managed policies as documented, or custom least-privilege ones",
            widget="radio",
            cli="--style",
        ),
    ] = PolicyStyle.DOCUMENTED
    # Also automate certificates on Elastic Load Balancing listeners (docs/facts.md#elb-permissions).
    elb: Annotated[
        bool,
        Option(
            label="ELB listeners",
            help="also automate certificates on Elastic Load Balancing listeners",
            widget="checkbox",
            cli="--elb",
            cli_kind="on",
        ),
    ] = False
    # IAM Roles Anywhere's trust anchor: the organization's CA certificate, or an
    # AWS Private CA (exactly one; docs/facts.md#keyless-sensors). After
    # `partition`, which the Private CA ARN must match.
    trust_anchor_certificate: Annotated[
        str,
        Field(validate_default=True, json_schema_extra=_PEM_SCHEMA),
        Option(
            label="trust anchor CA certificate",
            help="the CA certificate (PEM file) that issues the sensor's certificate (principal roles-anywhere; "
            "or give --trust-anchor-pca-arn)",
            widget="textarea",
            cli="--trust-anchor-certificate",
            cli_kind="file",
            metavar="FILE",
            principals=_ANYWHERE,
            max_length=MAX_PEM_CHARACTERS + 1,
        ),
    ] = ""
    trust_anchor_pca_arn: Annotated[
        str,
        Field(validate_default=True, json_schema_extra=_PCA_ARN_SCHEMA),
        Option(
            label="trust anchor Private CA ARN",
            help="an AWS Private CA that issues the sensor's certificate, instead of a CA certificate "
            "(principal roles-anywhere)",
            widget="text",
            cli="--trust-anchor-pca-arn",
            metavar="ARN",
            principals=_ANYWHERE,
        ),
    ] = ""
    certificate_subject_cn: Annotated[
        str,
        Field(validate_default=True, json_schema_extra=_CN_SCHEMA),
        Option(
            label="sensor certificate subject CN",
            help="the common name in the sensor certificate's subject; the role trusts only that "
            "(principal roles-anywhere)",
            widget="text",
            cli="--certificate-subject-cn",
            metavar="CN",
            principals=_ANYWHERE,
        ),
    ] = ""

    @model_validator(mode="before")
    @classmethod
    def _default_regions_follow_partition(cls, data: Any) -> Any:
        # Without regions given, default to the partition's home region (us-east-1
        # in aws: where CloudFront certificates must live) rather than a region
        # of another partition.
        if isinstance(data, dict) and data.get("regions") is None:
            try:
                partition = Partition(data.get("partition", Partition.AWS))
            except ValueError:
                return data
            return {**data, "regions": (HOME_REGION[partition],)}
        return data

    @field_validator("*")
    @classmethod
    def _unused_options_keep_defaults(cls, value: Any, info: ValidationInfo) -> Any:
        # An option the plan's scope or principal does not use is refused, never
        # stored (docs/decisions.md, "Options a plan does not use"): a value
        # other than its default would be saved, logged and printed while
        # meaning nothing. `scope` and `principal` are the first fields, so
        # info.data has them.
        if info.field_name is None or value == cls.model_fields[info.field_name].default:
            return value
        reason = plan_options()[info.field_name].unused_by(info.data.get("scope"), info.data.get("principal"))
        if reason:
            raise ValueError(reason)
        return value

    @field_validator("user_name", "role_name", "sensor_role_name")
    @classmethod
    def _iam_name(cls, value: str) -> str:
        error = iam_name_error(value)
        if error:
            raise ValueError(error)
        return value

    @field_validator("dedicated_member_role")
    @classmethod
    def _dedicated_role_name(cls, value: bool, info: ValidationInfo) -> bool:
        # A StackSet that creates OrganizationAccountAccessRole fails in every
        # account Organizations created, where that role already exists.
        if (
            value
            and info.data.get("scope") is Scope.ORGANIZATION
            and info.data.get("role_name") == DEFAULT_ROLE_NAME
        ):
            raise ValueError(
                f"Give the dedicated member role its own name: {DEFAULT_ROLE_NAME} already exists in every "
                "account that AWS Organizations created, so deploying a role with that name would fail there."
            )
        return value

    @field_validator("secret_prefix")
    @classmethod
    def _secret_prefix(cls, value: str) -> str:
        error = secret_prefix_error(value)
        if error:
            raise ValueError(error)
        return value

    @field_validator("regions", mode="before")
    @classmethod
    def _split_regions(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.replace("\n", ",").split(",")]
        if isinstance(value, list | tuple):
            seen: list[Any] = []
            for item in value:
                if item == "" or item in seen:
                    continue
                seen.append(item)
            return tuple(seen)
        return value

    # Roles Anywhere's inputs (app/domain/keyless.py). Checked field by field,
    # so each message names its field; they run on defaults too
    # (validate_default), which is how a missing CN or trust anchor is caught.
    @field_validator("trust_anchor_certificate")
    @classmethod
    def _trust_anchor_certificate(cls, value: str, info: ValidationInfo) -> str:
        if value:
            value = value.strip().replace("\r\n", "\n")
            error = ca_certificate_error(value)
            if error:
                raise ValueError(error)
        return value

    @field_validator("trust_anchor_pca_arn")
    @classmethod
    def _trust_anchor_pca_arn(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if value:
            partition = info.data.get("partition")
            if not isinstance(partition, Partition):
                return value  # the partition's own error is reported
            error = private_ca_arn_error(partition, value)
            if error:
                raise ValueError(error)
        if info.data.get("principal") is Principal.ROLES_ANYWHERE and "trust_anchor_certificate" in info.data:
            pem = info.data["trust_anchor_certificate"]
            if pem and value:
                raise ValueError(
                    "Give the trust anchor once: a CA certificate or an AWS Private CA ARN, not both."
                )
            if not pem and not value:
                raise ValueError(
                    "IAM Roles Anywhere needs a trust anchor: paste the CA certificate that issues the "
                    "sensor's certificate, or give an AWS Private CA ARN."
                )
        return value

    @field_validator("certificate_subject_cn")
    @classmethod
    def _certificate_subject_cn(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if value or info.data.get("principal") is Principal.ROLES_ANYWHERE:
            error = subject_cn_error(value)
            if error:
                raise ValueError(
                    error
                    if value
                    else "IAM Roles Anywhere needs the sensor certificate's subject CN: "
                    "the role trusts only a certificate with that common name."
                )
        return value

    @model_validator(mode="after")
    def _regions_in_partition(self) -> Plan:
        for region in self.regions:
            error = region_error(self.partition, region)
            if error:
                raise ValueError(error)
        return self

    @property
    def is_organization(self) -> bool:
        return self.scope is Scope.ORGANIZATION

    @property
    def uses_role_principal(self) -> bool:
        """Whether the connector is a role (instance role or Roles Anywhere) rather than an IAM user."""
        return self.principal is not Principal.IAM_USER

    @property
    def uses_default_role(self) -> bool:
        return self.is_organization and not self.dedicated_member_role and self.role_name == DEFAULT_ROLE_NAME

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def plan_options() -> dict[str, Option]:
    """Every plan field's `Option`, in the model's order; a field without one is a programming error."""
    found: dict[str, Option] = {}
    for name, info in Plan.model_fields.items():
        options = [item for item in info.metadata if isinstance(item, Option)]
        if len(options) != 1:
            raise TypeError(f"Plan.{name} needs exactly one Option (how the form, API and CLI offer it)")
        found[name] = options[0]
    return found


def _enum(kind: type[Scope] | type[Principal], value: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        return None


def unused_options(scope: Any, principal: Any) -> frozenset[str]:
    """The fields a plan of this scope and principal does not use (they keep their defaults)."""
    scope, principal = _enum(Scope, scope), _enum(Principal, principal)
    return frozenset(name for name, option in plan_options().items() if option.unused_by(scope, principal))


def in_scope(plan: Plan, scope: str) -> dict[str, Any]:
    """The plan's input with another scope: options that scope does not use go back to their defaults."""
    data = plan.to_json_dict()
    data["scope"] = scope
    for name in unused_options(scope, plan.principal):
        del data[name]
    return data


def stored_plan(data: dict[str, Any]) -> tuple[Plan, tuple[str, ...]]:
    """A plan as this or an older version stored it, and the fields dropped to load it.

    Older versions stored options the scope does not use (now refused): those
    go back to their defaults, as `in_scope` does when a plan changes scope;
    so do options the plan's principal does not use. Plans stored before the
    principal existed have none: they load as iam-user plans, which is what they were.
    The dropped names list only fields that held something other than the default.
    """
    scope = data.get("scope", Scope.ORGANIZATION.value)
    principal = data.get("principal", Principal.IAM_USER.value)
    unused = unused_options(scope, principal)
    clean = {name: value for name, value in data.items() if name in plan_options() and name not in unused}
    fields = Plan.model_fields
    dropped = tuple(
        name
        for name, value in data.items()
        if name not in clean and value not in (None, fields[name].default if name in fields else None)
    )
    return Plan.model_validate(clean), dropped


def parse_plan(data: dict[str, Any]) -> Plan:
    """Build a Plan from loosely typed input; raise PlanError with per-field messages."""
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(validation_messages(exc)) from None


def validation_messages(exc: ValidationError) -> dict[str, str]:
    """Map a pydantic error to {field: message}, never echoing the input value."""
    errors: dict[str, str] = {}
    for err in exc.errors(include_input=False, include_url=False):
        loc = err.get("loc") or ()
        field = str(loc[0]) if loc else "regions"
        message = str(err.get("msg", "Invalid value."))
        message = message.removeprefix("Value error, ")
        if err.get("type") == "enum":
            message = "Choose one of the listed options."
        elif err.get("type") == "extra_forbidden":
            message = "Unknown field."
        elif err.get("type") in {"too_short"} and field == "regions":
            message = "Choose at least one region."
        elif err.get("type") in {"too_long"} and field == "regions":
            message = f"Choose at most {MAX_REGIONS} regions."
        errors.setdefault(field, message)
    return errors
