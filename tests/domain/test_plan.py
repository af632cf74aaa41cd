"""Plan validation with IAM's and AWS's real rules."""

from __future__ import annotations

import pytest

from app.domain.iam import REGIONS, Partition
from app.domain.plan import Plan, PlanError, Scope, parse_plan

# The rule, never the input (issue 12, finding 8).
ONLY = "An IAM name has only 1–64 characters"
BAD_NAMES = [
    ("", "Enter a name"),
    ("a" * 65, "at most 64"),
    ("role/with/slash", ONLY),
    ("<script>", ONLY),
    ("rôle", ONLY),
    ("name with space", ONLY),
    ("a$(id)", ONLY),
    ("x\ny", ONLY),
]


@pytest.mark.parametrize(("value", "message"), BAD_NAMES)
@pytest.mark.parametrize("field", ["user_name", "role_name"])
def test_bad_iam_names_are_rejected_with_a_clear_message(field: str, value: str, message: str) -> None:
    with pytest.raises(PlanError) as error:
        parse_plan({field: value})
    assert list(error.value.errors) == [field]
    assert message in error.value.errors[field]
    assert not value or value not in error.value.errors[field]


@pytest.mark.parametrize("value", ["a", "a" * 64, "Org.Role+=,@_-1", "OrganizationAccountAccessRole"])
def test_good_iam_names_pass(value: str) -> None:
    assert parse_plan({"role_name": value, "user_name": value}).role_name == value


def test_regions_must_belong_to_the_partition() -> None:
    with pytest.raises(PlanError) as error:
        parse_plan({"partition": "aws-cn", "regions": ["us-east-1"]})
    assert "regions of the AWS China partition only" in error.value.errors["regions"]
    with pytest.raises(PlanError) as error:
        parse_plan({"regions": ["us-east-7"]})
    # The rule, never the input (issue 12, finding 8).
    assert "us-east-7" not in error.value.errors["regions"]
    assert "AWS (commercial) partition" in error.value.errors["regions"]


def test_regions_are_split_deduplicated_and_default_to_the_home_region() -> None:
    assert parse_plan({"regions": "us-east-1, eu-west-1,us-east-1"}).regions == ("us-east-1", "eu-west-1")
    assert Plan(partition=Partition.AWS_US_GOV).regions == ("us-gov-west-1",)
    assert Plan(partition=Partition.AWS_CN).regions == ("cn-northwest-1",)
    with pytest.raises(PlanError) as error:
        parse_plan({"regions": []})
    assert error.value.errors == {"regions": "Choose at least one region."}
    assert parse_plan({"regions": list(REGIONS[Partition.AWS]) * 2}).regions == REGIONS[Partition.AWS]


def test_unknown_fields_and_enum_values_are_refused() -> None:
    with pytest.raises(PlanError) as error:
        parse_plan({"scope": "galaxy"})
    assert error.value.errors == {"scope": "Choose one of the listed options."}
    with pytest.raises(PlanError) as error:
        parse_plan({"admin": True})
    assert error.value.errors == {"admin": "Unknown field."}


def test_messages_never_echo_the_input() -> None:
    with pytest.raises(PlanError) as error:
        parse_plan({"user_name": "<script>alert(1)</script>", "secret_prefix": "$(rm -rf /)"})
    text = " ".join(error.value.errors.values())
    assert "alert(1)" not in text and "rm -rf" not in text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *[("secret_prefix", v) for v in ["", "a*", "a b", "p" * 129]],
    ],
)
def test_secret_prefix_rules(field: str, value: str) -> None:
    with pytest.raises(PlanError) as error:
        parse_plan({field: value})
    assert field in error.value.errors


def test_plan_is_immutable_and_round_trips_through_json() -> None:
    plan = Plan(scope=Scope.ACCOUNT, regions=("eu-west-1", "us-east-1"))
    with pytest.raises(Exception, match="frozen"):
        plan.scope = Scope.ORGANIZATION  # type: ignore[misc]
    assert Plan.model_validate_json(plan.model_dump_json()) == plan


def test_options_the_scope_does_not_use_keep_their_defaults() -> None:
    with pytest.raises(PlanError) as refused:
        parse_plan({"scope": "account", "role_name": "TLMRole", "dedicated_member_role": True})
    assert set(refused.value.errors) == {"role_name", "dedicated_member_role"}
    assert "Only organization-scope plans use the role name" in refused.value.errors["role_name"]
    # At its default an unused option is no choice at all: a whole plan read back (GET, then PUT) passes.
    account = Plan(scope="account")  # type: ignore[arg-type]
    assert parse_plan(account.to_json_dict()) == account


def test_an_older_stored_plan_loads_without_what_its_scope_does_not_use() -> None:
    from app.domain.plan import in_scope, stored_plan

    old = {**Plan(scope="account").to_json_dict(), "role_name": "TLMRole", "dedicated_member_role": True}  # type: ignore[arg-type]
    plan, dropped = stored_plan(old)
    assert plan == Plan(scope="account")  # type: ignore[arg-type]
    assert dropped == ("role_name", "dedicated_member_role")
    organization = Plan(role_name="TLMRole", dedicated_member_role=True, user_name="u")
    assert stored_plan(organization.to_json_dict()) == (organization, ())
    assert parse_plan(in_scope(organization, "account")) == Plan(scope="account", user_name="u")  # type: ignore[arg-type]


def test_the_external_id_is_no_option_any_more() -> None:
    # DigiCert's connector cannot send one (docs/facts.md, #external-id).
    with pytest.raises(PlanError) as error:
        parse_plan({"dedicated_member_role": True, "role_name": "TLM", "external_id": "ext-1234"})
    assert error.value.errors == {"external_id": "Unknown field."}
    assert "external_id" not in Plan.model_fields
