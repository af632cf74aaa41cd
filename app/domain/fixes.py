"""A fix for exactly what failed: commands generated from the plan and one verification report.

Pure (stdlib + the domain). Every failure of a report (a failed check, a
member account whose role could not be assumed, a region of a member account)
gets the remedy for exactly its scope: the accounts and regions that failed,
never one that passed. The same `Fix` values feed the verify page, the
`fix.sh` download, `verify --json` and the CLI text, so they cannot disagree.

Sources for the commands: docs/facts.md#fixes.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.domain import member_role
from app.domain.artifacts import yamltext
from app.domain.artifacts.documents import render_json
from app.domain.artifacts.shell import RUN_FUNCTIONS, heredoc_function
from app.domain.iam import HOME_REGION, managed_policy_arn
from app.domain.least_privilege import CustomPolicy, custom_user_policies
from app.domain.plan import DEFAULT_ROLE_NAME, Plan, PolicyStyle
from app.domain.policies import INLINE_POLICY_NAME, corrected_inline_policy
from app.domain.principal import (
    connector_principal_kind,
    connector_principal_label,
    connector_principal_name,
)
from app.domain.verification.causes import (
    ACCOUNT_SERVICE_PRINCIPAL,
    CAUSE_TEXT,
    CUSTOM_POLICY_FOR,
    MANAGED_POLICY_FOR,
    Cause,
)
from app.domain.verification.results import AccountResult, CheckResult, Report, Status

FIX_SCRIPT = "fix.sh"
# The StackSet that creates OrganizationAccountAccessRole where it is missing
# (invited accounts): a separate set, so it never touches the connector's own.
ORG_ACCESS_STACK_SET = "digicert-tlm-organization-account-access-role"
_TEMPLATE_END = "END_OF_TEMPLATE"
_POLICY_END = "END_OF_POLICY"

# The check whose failure a missing user permission explains -> what the user needs.
_NEED_FOR_CHECK = {
    "organization": "organizations",
    "member-accounts": "organizations",
    "trusted-access": "organizations",
    "acm": "acm",
    "secrets-manager": "secrets-manager",
    "elb": "elb",
    "access-key-info": "inline",
    "session-token": "inline",
}
_DENIED = (Cause.CALLER_POLICY, Cause.ACCESS_DENIED)
_ROLE_CAUSES = (Cause.ROLE_MISSING, Cause.ROLE_NOT_ASSUMABLE)


@dataclass(frozen=True, slots=True)
class Fix:
    """One remedy: the failures it covers (their drift keys), its commands and what to know first."""

    id: str
    title: str
    covers: tuple[str, ...]
    commands: tuple[str, ...] = ()
    advice: str = ""
    accounts: tuple[str, ...] = ()
    # Lines that define what `commands` use (embedded documents): the script only.
    setup: tuple[str, ...] = ()

    @property
    def command_text(self) -> str:
        return "\n".join(self.commands)


def failure_keys(report: Report) -> list[str]:
    """Every failure of the report, keyed as `verification.drift` keys them."""
    keys = [f"check:{c.key}" for c in report.checks if c.status is Status.FAIL and c.id != "member-access"]
    for account in report.accounts:
        if account.role_status is Status.FAIL:
            keys.append(f"account:{account.account_id}:role")
        keys += [
            f"account:{account.account_id}:{r.region}" for r in account.regions if r.status is Status.FAIL
        ]
    return keys


def failed_account_ids(report: Report) -> tuple[str, ...]:
    """The member accounts with at least one failure, in the report's order."""
    return tuple(a.account_id for a in report.accounts if a.failed)


# --- the user's own permissions ---------------------------------------------------


def _user_policy_for(plan: Plan, need: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(what, commands, setup lines) that give the connector (user or sensor role) `need` as the plan grants it."""
    kind = connector_principal_kind(plan)
    named = f"--{kind}-name={shlex.quote(connector_principal_name(plan))}"
    if need == "inline":
        function = "document_inline_policy"
        return (
            f"the corrected inline policy {INLINE_POLICY_NAME}",
            (
                f"aws iam put-{kind}-policy {named} --policy-name={INLINE_POLICY_NAME} "
                f'--policy-document="$({function})"',
            ),
            tuple(heredoc_function(function, render_json(corrected_inline_policy(plan)), _POLICY_END)),
        )
    if plan.style is PolicyStyle.DOCUMENTED:
        name = MANAGED_POLICY_FOR[need]
        arn = managed_policy_arn(plan.partition, name)
        return (
            f"the AWS managed policy {name}",
            (f"aws iam attach-{kind}-policy {named} --policy-arn={shlex.quote(arn)}",),
            (),
        )
    policy = _custom_policy(plan, need)
    if policy is None:
        return ("", (), ())
    function = "document_" + policy.file_name.removesuffix(".json").replace("-", "_")
    arn = f'"arn:{plan.partition.value}:iam::${{ACCOUNT_ID}}:policy/{policy.name}"'
    return (
        f"the policy {policy.name}",
        (
            'ACCOUNT_ID="$(aws sts get-caller-identity --query=Account --output=text)"',
            f"aws iam get-policy --policy-arn={arn} >/dev/null 2>&1 || "
            f'aws iam create-policy --policy-name={policy.name} --policy-document="$({function})" >/dev/null',
            f"aws iam attach-{kind}-policy {named} --policy-arn={arn}",
        ),
        tuple(heredoc_function(function, render_json(policy.document), _POLICY_END)),
    )


def _custom_policy(plan: Plan, need: str) -> CustomPolicy | None:
    for policy in custom_user_policies(plan):
        if policy.name == CUSTOM_POLICY_FOR[need]:
            return policy
    return None


def _accounts(count: int) -> str:
    return f"{count} failed account" + ("" if count == 1 else "s")


def _check_fixes(plan: Plan, checks: Iterable[CheckResult]) -> list[Fix]:
    fixes: list[Fix] = []
    denied: dict[str, list[str]] = {}
    own_regions: list[tuple[str, str]] = []  # (region, key)
    advice: dict[Cause, list[str]] = {}
    for check in checks:
        if check.status is not Status.FAIL or check.id == "member-access":
            continue
        key = f"check:{check.key}"
        cause = check.cause
        if check.id == "trusted-access" and cause is Cause.TRUSTED_ACCESS_DISABLED:
            fixes.append(
                Fix(
                    id="trusted-access",
                    title="Enable trusted access for AWS Account Management",
                    covers=(key,),
                    commands=(
                        "aws organizations enable-aws-service-access --service-principal="
                        + ACCOUNT_SERVICE_PRINCIPAL,
                    ),
                    advice="Run it in the management account.",
                )
            )
        elif cause is Cause.NOT_ALL_FEATURES:
            fixes.append(
                Fix(
                    id="all-features",
                    title="Enable all features in the organization",
                    covers=(key,),
                    commands=("aws organizations enable-all-features",),
                    advice=(
                        "Every invited member account must approve the change before it completes; then "
                        "enable trusted access for AWS Account Management and verify again."
                    ),
                )
            )
        elif cause in _DENIED and check.id in _NEED_FOR_CHECK:
            denied.setdefault(_NEED_FOR_CHECK[check.id], []).append(key)
        elif cause is Cause.REGION_NOT_ENABLED and check.region:
            own_regions.append((check.region, key))
        else:
            advice.setdefault(cause or Cause.UNEXPECTED, []).append(key)
    for need, keys in denied.items():
        what, commands, setup = _user_policy_for(plan, need)
        if not commands:
            advice.setdefault(Cause.CALLER_POLICY, []).extend(keys)
            continue
        fixes.append(
            Fix(
                id=f"user-policy-{need}",
                title=f"Give the {connector_principal_label(plan)} {what}",
                covers=tuple(keys),
                commands=commands,
                advice="Exactly what the plan grants for the failed calls; nothing else is attached.",
                setup=setup,
            )
        )
    for region, key in own_regions:
        fixes.append(
            Fix(
                id=f"enable-region-self-{region}",
                title=f"Enable the region {region} in the connector's own account",
                covers=(key,),
                # The management account may not name itself: it calls EnableRegion
                # "in standalone context", without --account-id (docs/facts.md#fixes).
                commands=(f"aws account enable-region --region-name={shlex.quote(region)}",),
                advice="Enabling a region takes minutes, sometimes hours; verify again when it is ENABLED.",
            )
        )
    for cause, keys in advice.items():
        fixes.append(
            Fix(
                id=f"advice-{cause.value}",
                title="No command can fix this from here",
                covers=tuple(keys),
                advice=CAUSE_TEXT[cause],
            )
        )
    return fixes


# --- member accounts ------------------------------------------------------------------


def _targets(accounts: tuple[str, ...]) -> str:
    # AWS CLI shorthand, as in AWS's own example for service-managed StackSets:
    # OrganizationalUnitIds=OU,Accounts=A1,A2,AccountFilterType=INTERSECTION
    return (
        '"OrganizationalUnitIds=$ROOT_ID,Accounts=' + ",".join(accounts) + ',AccountFilterType=INTERSECTION"'
    )


_ROOT_ID = "ROOT_ID=\"$(aws organizations list-roots --query='Roots[0].Id' --output=text)\""


def _dedicated_role_fix(plan: Plan, accounts: tuple[str, ...], keys: tuple[str, ...]) -> Fix:
    region = member_role.stack_set_region(plan)
    return Fix(
        id="member-role-stack-instances",
        title=f"Deploy the member role {plan.role_name} to the {_accounts(len(accounts))}",
        covers=keys,
        accounts=accounts,
        commands=(
            _ROOT_ID,
            f"aws cloudformation create-stack-instances --region={region} "
            f"--stack-set-name={member_role.STACK_SET_NAME} --deployment-targets={_targets(accounts)} "
            f"--regions={region}",
        ),
        advice=(
            f"Adds StackSet instances for exactly these accounts (the StackSet {member_role.STACK_SET_NAME} "
            "must exist: setup.sh or the CloudFormation bundle creates it). If an account already has an "
            "instance, its role was changed by hand: `aws cloudformation update-stack-instances` with the "
            "same targets restores it."
        ),
    )


def org_access_role_template() -> str:
    """A stack that creates OrganizationAccountAccessRole as AWS Organizations does in created accounts."""
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "OrganizationAccountAccessRole for an invited member account, as AWS Organizations "
        "creates it in the accounts it creates: administrator rights, trusted by the management account.",
        "Parameters": {
            "ManagementAccountId": {
                "Type": "String",
                "Description": "Id of the organization's management account.",
                "AllowedPattern": "^[0-9]{12}$",
            }
        },
        "Resources": {
            "OrganizationAccountAccessRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": DEFAULT_ROLE_NAME,
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {
                                    "AWS": {
                                        "Fn::Sub": "arn:${AWS::Partition}:iam::${ManagementAccountId}:root"
                                    }
                                },
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "ManagedPolicyArns": [
                        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess"}
                    ],
                },
            }
        },
    }
    header = [
        "Creates OrganizationAccountAccessRole in invited member accounts (generated by aws-connector-wizard).",
        "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_create-cross-account-role.html",
    ]
    return yamltext.dump(template, header=header)


def _default_role_fix(plan: Plan, accounts: tuple[str, ...], keys: tuple[str, ...]) -> Fix:
    region = HOME_REGION[plan.partition]
    return Fix(
        id="org-access-role",
        title=f"Create {DEFAULT_ROLE_NAME} in the {_accounts(len(accounts))}",
        covers=keys,
        accounts=accounts,
        commands=(
            'MANAGEMENT_ACCOUNT_ID="$(aws sts get-caller-identity --query=Account --output=text)"',
            _ROOT_ID,
            # Service-managed StackSets need trusted access for CloudFormation StackSets.
            f"aws cloudformation activate-organizations-access --region={region}",
            f"aws cloudformation describe-stack-set --region={region} --stack-set-name={ORG_ACCESS_STACK_SET} "
            ">/dev/null 2>&1 || "
            f"aws cloudformation create-stack-set --region={region} --stack-set-name={ORG_ACCESS_STACK_SET} "
            '--template-body="$(org_access_role_template)" --permission-model=SERVICE_MANAGED '
            "--auto-deployment=Enabled=false --capabilities=CAPABILITY_NAMED_IAM "
            '--parameters="ParameterKey=ManagementAccountId,ParameterValue=$MANAGEMENT_ACCOUNT_ID"',
            f"aws cloudformation create-stack-instances --region={region} --stack-set-name={ORG_ACCESS_STACK_SET} "
            f"--deployment-targets={_targets(accounts)} --regions={region}",
        ),
        advice=(
            f"Invited accounts have no {DEFAULT_ROLE_NAME}; this creates it, with the administrator rights "
            "AWS Organizations gives it, in exactly these accounts. Better: choose the dedicated member role "
            "in Options, which can only manage certificates."
        ),
        setup=tuple(heredoc_function("org_access_role_template", org_access_role_template(), _TEMPLATE_END)),
    )


def _account_fixes(plan: Plan, accounts: Iterable[AccountResult]) -> list[Fix]:
    fixes: list[Fix] = []
    role_failed: list[AccountResult] = []
    regions: list[tuple[AccountResult, str]] = []
    role_permissions: list[tuple[AccountResult, str]] = []
    advice: dict[Cause, list[str]] = {}
    for account in accounts:
        if account.role_status is Status.FAIL:
            if account.cause in _ROLE_CAUSES:
                role_failed.append(account)
            else:
                advice.setdefault(account.cause or Cause.UNEXPECTED, []).append(
                    f"account:{account.account_id}:role"
                )
            continue
        for region in account.regions:
            if region.status is not Status.FAIL:
                continue
            key = f"account:{account.account_id}:{region.region}"
            if region.cause is Cause.REGION_NOT_ENABLED:
                regions.append((account, region.region))
            elif region.cause is Cause.MEMBER_ROLE_PERMISSIONS and member_role.applies(plan):
                role_permissions.append((account, key))
            else:
                advice.setdefault(region.cause or Cause.UNEXPECTED, []).append(key)
    if role_failed:
        ids = tuple(a.account_id for a in role_failed)
        role_keys = tuple(f"account:{i}:role" for i in ids)
        if member_role.applies(plan):
            fixes.append(_dedicated_role_fix(plan, ids, role_keys))
        elif plan.role_name == DEFAULT_ROLE_NAME:
            # Missing (invited accounts): create it. Present but not assumable: creating it again
            # would fail on the existing name; its trust policy (or an SCP) is what to change.
            missing = tuple(a.account_id for a in role_failed if a.cause is Cause.ROLE_MISSING)
            if missing:
                fixes.append(_default_role_fix(plan, missing, tuple(f"account:{i}:role" for i in missing)))
            present = tuple(i for i in ids if i not in missing)
            if present:
                fixes.append(
                    Fix(
                        id="org-access-role-trust",
                        title=f"Let the management account assume {DEFAULT_ROLE_NAME} in the "
                        f"{_accounts(len(present))}",
                        covers=tuple(f"account:{i}:role" for i in present),
                        accounts=present,
                        advice=(
                            f"{DEFAULT_ROLE_NAME} in {', '.join(present)} does not let the management "
                            "account assume it: in each account, its trust policy must trust the management "
                            "account (aws iam update-assume-role-policy), and no service control policy may "
                            "deny sts:AssumeRole. Or choose the dedicated member role in Options."
                        ),
                    )
                )
        else:
            fixes.append(
                Fix(
                    id="custom-role",
                    title=f"Create the role {plan.role_name} in the {_accounts(len(ids))}",
                    covers=role_keys,
                    accounts=ids,
                    advice=(
                        f"Create {plan.role_name} in {', '.join(ids)}, trusting the management account and "
                        "allowing ACM; or choose the dedicated member role in Options, which the wizard "
                        "deploys to every account with a StackSet."
                    ),
                )
            )
    if role_permissions:
        ids = tuple(dict.fromkeys(a.account_id for a, _ in role_permissions))
        home = member_role.stack_set_region(plan)
        fixes.append(
            Fix(
                id="member-role-update",
                title=f"Restore the member role's permissions in the {_accounts(len(ids))}",
                covers=tuple(key for _, key in role_permissions),
                accounts=ids,
                commands=(
                    _ROOT_ID,
                    f"aws cloudformation update-stack-instances --region={home} "
                    f"--stack-set-name={member_role.STACK_SET_NAME} --deployment-targets={_targets(ids)} "
                    f"--regions={home}",
                ),
                advice="Re-applies the StackSet's template to exactly these accounts. If a service control "
                "policy denies ACM there, only an organization administrator can change it.",
            )
        )
    for member, region_name in regions:
        # The management account cannot name itself in EnableRegion (docs/facts.md#fixes).
        target = "" if member.is_management else f"--account-id={member.account_id} "
        fixes.append(
            Fix(
                id=f"enable-region-{member.account_id}-{region_name}",
                title=f"Enable {region_name} in {member.name or member.account_id} ({member.account_id})",
                covers=(f"account:{member.account_id}:{region_name}",),
                accounts=(member.account_id,),
                commands=(f"aws account enable-region {target}--region-name={shlex.quote(region_name)}",),
                advice="Run from the management account (trusted access for AWS Account Management on).",
            )
        )
    for cause, keys in advice.items():
        named = tuple(dict.fromkeys(k.split(":")[1] for k in keys))
        fixes.append(
            Fix(
                id=f"advice-accounts-{cause.value}",
                title=f"No command can fix this from here ({', '.join(named)})",
                covers=tuple(keys),
                accounts=named,
                advice=CAUSE_TEXT[cause],
            )
        )
    return fixes


def fixes(plan: Plan, report: Report, *, accounts: Iterable[str] | None = None) -> list[Fix]:
    """The remedies for every failure of `report` (only the given member accounts', when named)."""
    chosen = None if accounts is None else set(accounts)
    members = [a for a in report.accounts if a.failed and (chosen is None or a.account_id in chosen)]
    return _check_fixes(plan, report.checks) + _account_fixes(plan, members)


def fix_for_key(plan: Plan, report: Report) -> dict[str, Fix]:
    """Failure key -> the fix that covers it (what `verify --json` attaches to each failure)."""
    return {key: fix for fix in fixes(plan, report) for key in fix.covers}


def fix_script(plan: Plan, report: Report) -> str:
    """fix.sh: every runnable fix of the report, in order, printing each command before it runs it."""
    found = fixes(plan, report)
    count = len(failure_keys(report))
    lines = [
        "#!/usr/bin/env bash",
        f"# {FIX_SCRIPT} - generated by aws-connector-wizard for {count} failures of the verification",
        f"# started {report.started_at.isoformat()} ({report.scope} scope).",
        "# It acts on exactly the failed accounts and regions. Needs the AWS CLI v2 and credentials for",
        "# the " + ("management account." if plan.is_organization else "account."),
        "set -euo pipefail",
        "export AWS_PAGER=''",
        f'export AWS_REGION="${{AWS_REGION:-{HOME_REGION[plan.partition]}}}"',
        "",
        RUN_FUNCTIONS,
    ]
    seen_setup: set[str] = set()
    for fix in found:
        block = "\n".join(fix.setup)
        if block and block not in seen_setup:
            seen_setup.add(block)
            lines += list(fix.setup)
    for fix in found:
        lines.append(f"step {shlex.quote(fix.title)}")
        if fix.advice:
            lines += [f"# {yamltext.comment(part)}" for part in _wrap(fix.advice)]
        if not fix.commands:
            lines.append(f"echo {shlex.quote('Not fixable by a command: ' + fix.advice)} >&2")
        for command in fix.commands:
            assignment = command.split("=", 1)[0]
            if assignment.isidentifier() and assignment.isupper():
                lines.append(command)
            elif " || " in command:
                first, second = command.split(" || ", 1)
                lines.append(f"{first} || run {second}")
            else:
                lines.append(f"run {command}")
        lines.append("")
    if not found:
        lines.append('echo "Nothing failed: nothing to fix." >&2')
    else:
        lines.append('step "Done: verify again to confirm."')
    return "\n".join(lines) + "\n"


def _wrap(text: str, width: int = 96) -> list[str]:
    out: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        out.append(line)
    return out


def report_json_with_fixes(plan: Plan, report: Report) -> dict[str, Any]:
    """The report's JSON with each failure's fix (`verify --json`): a check's `fix_command`, an
    account's `fix_commands`, and every fix once under `fixes` (what it covers, commands, advice)."""
    data = report.to_json_dict()
    by_key = fix_for_key(plan, report)

    def fix_dict(fix: Fix) -> dict[str, Any]:
        return {"id": fix.id, "title": fix.title, "commands": list(fix.commands), "advice": fix.advice}

    for item, check in zip(data["checks"], report.checks, strict=True):
        fix = by_key.get(f"check:{check.key}") if check.status is Status.FAIL else None
        if fix is not None:
            item["fix_command"] = fix_dict(fix)
    for item, member in zip(data["accounts"], report.accounts, strict=True):
        prefix = f"account:{member.account_id}:"
        own = {by_key[k].id: by_key[k] for k in by_key if k.startswith(prefix)}
        if own:
            item["fix_commands"] = [fix_dict(fix) for fix in own.values()]
    data["fixes"] = [{**fix_dict(fix), "covers": list(fix.covers)} for fix in fixes(plan, report)]
    return data
