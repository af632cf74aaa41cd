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


class Scope(StrEnum):
    ORGANIZATION = "organization"
    ACCOUNT = "account"


class PolicyStyle(StrEnum):
    # "as documented": the AWS managed policies and the seed's inline policy.
    DOCUMENTED = "documented"
    # custom, scoped policies in place of the managed ones (issue 3).
    LEAST_PRIVILEGE = "least-privilege"


DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
DEFAULT_USER_NAME = "digicert-tlm-connector"
DEFAULT_SECRET_PREFIX = "digicert-tlm/"  # noqa: S105 - a name prefix, not a secret
MAX_REGIONS = 40


class PlanError(ValueError):
    """A plan that breaks a rule; `errors` maps form field -> message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


Widget = Literal["page", "text", "checkbox", "select", "radio", "regions"]
CliKind = Literal["value", "on", "off", "names"]


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


_ORG = frozenset({Scope.ORGANIZATION})
_IAM_NAME_SCHEMA: dict[str, Any] = {"pattern": "^[A-Za-z0-9+=,.@_-]{1,64}$", "minLength": 1, "maxLength": 64}
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
    user_name: Annotated[
        str,
        Field(json_schema_extra=_IAM_NAME_SCHEMA),
        Option(
            label="IAM user name",
            help="IAM user the connector signs in as",
            widget="text",
            cli="--user-name",
            metavar="NAME",
        ),
    ] = DEFAULT_USER_NAME
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
        # An option the plan's scope does not use is refused, never stored
        # (docs/decisions.md, "Options a plan does not use"): a value other
        # than its default would be saved, logged and printed while meaning
        # nothing. `scope` is the first field, so info.data has it.
        scope = info.data.get("scope")
        if info.field_name is None or not isinstance(scope, Scope):
            return value
        option = plan_options()[info.field_name]
        if scope not in option.scopes and value != cls.model_fields[info.field_name].default:
            used = " or ".join(sorted(s.value for s in option.scopes))
            raise ValueError(
                f"Only {used}-scope plans use the {option.label}; this is a plan for {scope.value} scope: leave it out."
            )
        return value

    @field_validator("user_name", "role_name")
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


def in_scope(plan: Plan, scope: str) -> dict[str, Any]:
    """The plan's input with another scope: options that scope does not use go back to their defaults."""
    data = plan.to_json_dict()
    data["scope"] = scope
    if scope in set(Scope):
        for name, option in plan_options().items():
            if Scope(scope) not in option.scopes:
                del data[name]
    return data


def stored_plan(data: dict[str, Any]) -> tuple[Plan, tuple[str, ...]]:
    """A plan as this or an older version stored it, and the fields dropped to load it.

    Older versions stored options the scope does not use (now refused): those
    go back to their defaults, as `in_scope` does when a plan changes scope.
    The dropped names list only fields that held something other than the default.
    """
    scope = data.get("scope", Scope.ORGANIZATION.value)
    used = {name for name, option in plan_options().items() if scope in {s.value for s in option.scopes}}
    clean = {name: value for name, value in data.items() if name in used}
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
