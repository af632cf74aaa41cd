"""One plan schema: the options form, the API and the CLI offer exactly the domain `Plan`'s fields.

Each surface is built from `Plan` and its `Option`s (app/domain/plan.py). These
tests fail when a field is added to `Plan` without reaching every surface: no
`Option` (import fails), no API parameter, no CLI option, no form input, or a
surface that reads it back differently. Every plan of the artifact matrix goes
through each surface and must come back as the same plan.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from starlette.datastructures import FormData

from app.cli import _parser, plan_from_args
from app.domain.iam import Partition
from app.domain.plan import Plan, Principal, Scope, plan_options
from app.web.api import PlanBody, PlanQuery
from app.web.forms import OPTION_FIELDS, options_input
from tests.conftest import WizardClient
from tests.domain.artifact_matrix import MATRIX

FIELDS = tuple(Plan.model_fields)
PLAN_COMMANDS = ("policy", "export", "verify", "handoff")


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = _parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub: argparse.ArgumentParser = action.choices[command]
    return sub


def _argv(plan: Plan, files: Path | None = None) -> list[str]:
    """The command line that asks for `plan`: a flag for every field that is not its default.

    A "file" option (a PEM certificate) gets a file under `files` holding the value.
    """
    argv: list[str] = []
    # Fields a "names" option gives (--member-role NAME gives role_name too).
    named = {o.names for n, o in plan_options().items() if o.cli_kind == "names" and getattr(plan, n)}
    for name, option in plan_options().items():
        value, default = getattr(plan, name), Plan.model_fields[name].default
        if option.cli_kind == "names":
            if value:
                argv += [option.cli, getattr(plan, str(option.names))]
        elif name in named:
            continue
        elif option.cli_kind in {"on", "off"}:
            if value != default:
                argv.append(option.cli)
        elif name == "regions":
            argv += [option.cli, ",".join(value)]
        elif option.cli_kind == "file" and value != default:
            assert files is not None, name
            path = files / f"{name}.pem"
            path.write_text(value + "\n")
            argv += [option.cli, str(path)]
        elif value is not None and value != default:
            argv += [option.cli, str(getattr(value, "value", value))]
    return argv


def _form(plan: Plan) -> FormData:
    """What the options form posts for `plan` (unticked checkboxes are absent, regions repeat)."""
    items: list[tuple[str, str]] = []
    for name in OPTION_FIELDS:
        value = getattr(plan, name)
        widget = plan_options()[name].widget
        if widget == "checkbox":
            if value:
                items.append((name, "on"))
        elif widget == "regions":
            items += [(name, region) for region in value]
        elif value is not None:
            items.append((name, str(getattr(value, "value", value))))
    return FormData(items)


def test_every_plan_field_has_one_option_and_every_surface_has_every_field() -> None:
    assert tuple(plan_options()) == FIELDS
    assert tuple(PlanQuery.model_fields) == FIELDS
    assert tuple(PlanBody.model_fields) == FIELDS
    # The form edits every field but the scope, which has its own page.
    pages = {name for name, option in plan_options().items() if option.widget == "page"}
    assert pages == {"scope"}
    assert set(OPTION_FIELDS) == set(FIELDS) - pages
    for command in PLAN_COMMANDS:
        dests = {a.dest: a.option_strings for a in _subparser(command)._actions}
        for name, option in plan_options().items():
            assert dests.get(name) == [option.cli], (command, name)


def test_the_api_schema_lists_every_plan_field(sqlite_client: WizardClient) -> None:
    schema = sqlite_client.get("/api/v1/openapi.json").json()
    query = {p["name"] for p in schema["paths"]["/api/v1/plan/policies"]["get"]["parameters"]}
    assert query == set(FIELDS)
    assert set(schema["components"]["schemas"]["PlanBody"]["properties"]) == set(FIELDS)


# Keyless plans (issue 13.2): every principal, the trust anchor both ways.
_CA_PEM = (Path(__file__).parent / "fixtures" / "example-sensor-ca.pem").read_text().strip()
_PCA = "arn:aws-us-gov:acm-pca:us-gov-west-1:123456789012:certificate-authority/12345678-1234-1234-1234-123456789012"
PRINCIPAL_PLANS = {
    "instance-role": Plan(principal=Principal.INSTANCE_ROLE, sensor_role_name="tlm-sensor"),
    "roles-anywhere-pem": Plan(
        scope=Scope.ACCOUNT,
        principal=Principal.ROLES_ANYWHERE,
        trust_anchor_certificate=_CA_PEM,
        certificate_subject_cn="tlm-sensor-1.example.com",
    ),
    "roles-anywhere-pca": Plan(
        principal=Principal.ROLES_ANYWHERE,
        partition=Partition.AWS_US_GOV,
        regions=("us-gov-west-1",),
        trust_anchor_pca_arn=_PCA,
        certificate_subject_cn="sensor 1",
        dedicated_member_role=True,
        role_name="TLMMember",
    ),
}


@pytest.mark.parametrize("key", sorted(MATRIX) + sorted(PRINCIPAL_PLANS))
def test_every_surface_reads_a_plan_back_as_the_same_plan(key: str, tmp_path: Path) -> None:
    plan = MATRIX.get(key) or PRINCIPAL_PLANS[key]
    for command in PLAN_COMMANDS:
        args = _subparser(command).parse_args(
            _argv(plan, tmp_path) + (["--output", "x"] if command == "export" else [])
        )
        assert plan_from_args(args) == plan, command
    current = Plan(scope=plan.scope)
    assert Plan.model_validate(options_input(current, _form(plan))) == plan
    query = PlanQuery.model_validate(plan.to_json_dict())
    assert Plan.model_validate(query.plan_input()) == plan
    assert Plan.model_validate(PlanBody.model_validate(plan.to_json_dict()).plan_input()) == plan


@pytest.mark.parametrize("scope", list(Scope))
def test_the_options_page_has_an_input_for_every_option_its_scope_uses(
    sqlite_client: WizardClient, scope: Scope
) -> None:
    token = sqlite_client.new_wizard()
    sqlite_client.form_post(f"/w/{token}/scope", {"scope": scope.value, "version": "1"})
    page = sqlite_client.get(f"/w/{token}/options").text
    for name in OPTION_FIELDS:
        used = scope in plan_options()[name].scopes
        assert (f'name="{name}"' in page) is used, name
