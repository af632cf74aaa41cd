"""Bash scripts: the whole setup with the AWS CLI, and the CloudFormation deployment.

Pure. Every value from the plan enters the script once, as a variable
assignment quoted with `shlex.quote`, and policy documents and templates are
embedded as quoted here-documents (`<<'END'`: no expansion at all), so nothing
a user typed can become shell syntax; every value is joined to its flag
(`--user-name="$USER_NAME"`), so a value starting with "-" is never an option.
The scripts use `set -euo pipefail`, check before creating, create no access
key unless `--create-access-key` is given, and print every command before
running it.

`setup.sh` converges (docs/setup-script.md): run after another plan's script,
it removes what the wizard owns and this plan no longer has
(app/domain/ownership.py) and leaves everything else alone; an unchanged
policy gets no new version; it waits for StackSet operations and names the
accounts where one failed instead of saying "Done".
"""

from __future__ import annotations

import shlex
import textwrap
from dataclasses import dataclass

from app.domain import member_role
from app.domain.attachments import attachments
from app.domain.checklist import CONNECTOR_PRODUCT, TRUSTED_ACCESS_COMMAND, connector_settings
from app.domain.iam import HOME_REGION, account_management_absent, has_account_management
from app.domain.least_privilege import SECRET_PREFIX_ASSUMED, uses_secret_prefix
from app.domain.ownership import (
    WIZARD_TAG,
    owned_user_policies,
    plan_user_policies,
)
from app.domain.plan import Plan, PolicyStyle, Principal
from app.domain.principal import roles_anywhere_profile_name, trust_anchor_name, trust_anchor_source

from . import cloudformation, sensor
from .documents import render_json
from .yamltext import comment

SETUP_SCRIPT = "setup.sh"
_POLICY_END = "END_OF_POLICY"
_TEMPLATE_END = "END_OF_TEMPLATE"

_RUN_FUNCTIONS = r"""step() { printf '\n==> %s\n' "$*" >&2; }

# Print a command, then run it; long arguments (policy documents, templates) are
# shown by their length only.
run() {
  local shown=() arg
  for arg in "$@"; do
    if [ "${#arg}" -gt 120 ]; then shown+=("<${#arg} characters>"); else shown+=("$arg"); fi
  done
  printf '+ %s\n' "${shown[*]}" >&2
  "$@"
}
"""

# StackSet operations: how often to look, and for how long (a re-run waits for
# an operation still running instead of failing with OperationInProgressException).
_STACK_SET_FUNCTIONS = r"""STACK_SET_FAILED=false
# Wait for one StackSet operation, then name every account where it did not succeed.
wait_for_operation() {
  local id="$1" status polls=0 failures
  while :; do
    status="$(aws cloudformation describe-stack-set-operation --region="$REGION" \
      --stack-set-name="$STACK_SET_NAME" --operation-id="$id" \
      --query=StackSetOperation.Status --output=text)"
    case "$status" in
      RUNNING | QUEUED | STOPPING) ;;
      *) break ;;
    esac
    polls=$((polls + 1))
    if [ "$polls" -gt "$STACK_SET_MAX_POLLS" ]; then
      echo "StackSet operation $id is still $status: run this script again later." >&2
      exit 1
    fi
    echo "StackSet operation $id: $status; waiting ${STACK_SET_POLL_SECONDS}s" >&2
    sleep "$STACK_SET_POLL_SECONDS"
  done
  failures="$(aws cloudformation list-stack-set-operation-results --region="$REGION" \
    --stack-set-name="$STACK_SET_NAME" --operation-id="$id" \
    --query="Summaries[?Status!='SUCCEEDED'].[Account,Region,Status,StatusReason]" --output=text)"
  if [ "$status" != SUCCEEDED ] || [ -n "$failures" ]; then
    STACK_SET_FAILED=true
    echo "StackSet operation $id ended $status. Accounts where it did not succeed:" >&2
    printf '%s\n' "${failures:-  (none listed)}" >&2
  fi
}

# A re-run while an operation of the StackSet is still going waits for it first.
wait_for_running_operations() {
  local id
  for id in $(aws cloudformation list-stack-set-operations --region="$REGION" \
    --stack-set-name="$STACK_SET_NAME" \
    --query="Summaries[?Status=='RUNNING' || Status=='QUEUED' || Status=='STOPPING'].OperationId" \
    --output=text); do
    echo "Another StackSet operation is in progress ($id): waiting for it." >&2
    wait_for_operation "$id"
  done
}
"""


def _heredoc_function(name: str, body: str, end: str) -> list[str]:
    if any(line == end for line in body.splitlines()):
        raise ValueError(f"{end} may not appear on a line of its own in an embedded document")
    return [f"{name}() {{", f"  cat <<'{end}'", body.rstrip("\n"), end, "}", ""]


# Shared with app.domain.fixes (fix.sh prints and runs its commands the same way).
RUN_FUNCTIONS = _RUN_FUNCTIONS
heredoc_function = _heredoc_function


def _function_name(file_name: str) -> str:
    return "document_" + file_name.removesuffix(".json").replace("-", "_")


def _assign(name: str, value: str) -> str:
    return f"{name}={shlex.quote(value)}"


def _account_variable(plan: Plan) -> str:
    # Account scope has no management account: its scripts say ACCOUNT_ID.
    return "MANAGEMENT_ACCOUNT_ID" if plan.is_organization else "ACCOUNT_ID"


def _options(plan: Plan) -> list[tuple[str, str, str]]:
    options = []
    if not plan.uses_role_principal:  # a role has no access key (docs/facts.md#keyless-sensors)
        options.append(
            (
                "--create-access-key",
                "CREATE_ACCESS_KEY",
                "also create an access key for the user and print it (once)",
            )
        )
    if member_role.applies(plan):
        options.append(
            (
                "--management-account-role",
                "MANAGEMENT_ACCOUNT_ROLE",
                "also deploy the member role in the management account (StackSets skip it)",
            )
        )
    return options


def _argument_parsing(plan: Plan, usage: str) -> list[str]:
    options = _options(plan)
    lines = [f"{variable}=false" for _, variable, _ in options]
    lines += ['for arg in "$@"; do', '  case "$arg" in']
    lines += [f"    {flag}) {variable}=true ;;" for flag, variable, _ in options]
    lines += [
        f"    -h | --help) echo {shlex.quote(usage)}; exit 0 ;;",
        '    *) echo "unknown option: $arg (try --help)" >&2; exit 2 ;;',
        "  esac",
        "done",
    ]
    return lines


def _usage(script: str, plan: Plan) -> tuple[str, list[str]]:
    options = _options(plan)
    usage = (f"usage: ./{script} " + " ".join(f"[{flag}]" for flag, _, _ in options)).rstrip()
    lines = [usage] + [f"  {flag}  {text}" for flag, _, text in options]
    return usage, lines


# The AWS CLI versions that know every command the scripts run: the newest is
# cloudformation activate-organizations-access (docs/setup-script.md#aws-cli).
AWS_CLI_NEEDED = "the AWS CLI v2, or v1 1.27.150 or later"


def _header(plan: Plan, script: str, what: str) -> list[str]:
    _, usage_lines = _usage(script, plan)
    principal = (
        f"sensor role: {plan.sensor_role_name} ({plan.principal.value})"
        if plan.uses_role_principal
        else f"user: {plan.user_name}"
    )
    summary = [
        f"scope: {plan.scope.value}; partition: {plan.partition.value}; regions: {', '.join(plan.regions)}",
        f"{principal}; policy style: {plan.style.value}; "
        f"Secrets Manager: {'yes' if plan.secrets_manager else 'no'}",
        *(
            [f"Secrets Manager name prefix: {plan.secret_prefix} ({SECRET_PREFIX_ASSUMED}; confirm it)"]
            if uses_secret_prefix(plan)
            else []
        ),
    ]
    if plan.is_organization:
        summary.append(
            f"common role: {plan.role_name}"
            + (" (dedicated member role)" if plan.dedicated_member_role else "")
        )
    return [
        "#!/usr/bin/env bash",
        f"# {script} - generated by aws-connector-wizard.",
        f"# {what}",
        *(f"# {comment(line)}" for line in summary),
        "#",
        *(f"# {line}" for line in usage_lines),
        f"# Safe to run again: each step checks first or is idempotent. Needs {AWS_CLI_NEEDED}",
        "# and credentials for the " + ("management account." if plan.is_organization else "account."),
        "set -euo pipefail",
        "",
    ]


def _common_variables(plan: Plan, *, both_principals: bool = False) -> list[str]:
    lines = [
        "export AWS_PAGER=''",
        _assign("REGION", HOME_REGION[plan.partition]),
        "# IAM and Organizations are global; any region of the partition serves them. The AWS CLI v1",
        "# reads only AWS_DEFAULT_REGION, v2 prefers AWS_REGION: both are set, to the same region.",
        'export AWS_REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-$REGION}}"',
        'export AWS_DEFAULT_REGION="$AWS_REGION"',
    ]
    # setup.sh converges both principals (the one the plan uses and the one it no longer does).
    if both_principals or not plan.uses_role_principal:
        lines.append(_assign("USER_NAME", plan.user_name))
    # (deploy.sh names no role: CloudFormation creates it, and the stack's outputs say what it made.)
    if both_principals:
        lines.append(_assign("SENSOR_ROLE_NAME", plan.sensor_role_name))
    if member_role.applies(plan):
        lines += [
            _assign("ROLE_NAME", plan.role_name),
            _assign("STACK_SET_NAME", member_role.STACK_SET_NAME),
            'STACK_SET_POLL_SECONDS="${STACK_SET_POLL_SECONDS:-15}"',
            'STACK_SET_MAX_POLLS="${STACK_SET_MAX_POLLS:-240}"',
        ]
    return lines


def _require_aws_cli(plan: Plan, script: str) -> list[str]:
    """Stop with one line when the AWS CLI is missing or too old for the newest command used."""
    service, command = (
        ("cloudformation", "activate-organizations-access")
        if member_role.applies(plan)
        else ("iam", "list-policy-tags")
    )
    return [
        f"# The newest command this script runs is {service} {command}: an AWS CLI that lacks it is too old.",
        "if ! command -v aws >/dev/null 2>&1; then",
        f'  echo "{script} needs {AWS_CLI_NEEDED}: no aws command on PATH." >&2',
        "  exit 1",
        "fi",
        f"if ! aws {service} {command} --generate-cli-skeleton >/dev/null 2>&1; then",
        f'  echo "{script} needs {AWS_CLI_NEEDED}; found $(aws --version 2>&1 | head -n 1)." >&2',
        "  exit 1",
        "fi",
        "",
    ]


def _caller_account(plan: Plan) -> list[str]:
    account = _account_variable(plan)
    return [
        'step "Checking the credentials"',
        f'{account}="$(aws sts get-caller-identity --query=Account --output=text)"',
        f'echo "Account: ${account}" >&2',
        "",
    ]


def _trusted_access(plan: Plan) -> list[str]:
    if not has_account_management(plan.partition):
        # No step to run: say why instead (docs/facts.md#govcloud).
        return [*(f"# {line}" for line in textwrap.wrap(account_management_absent(plan.partition), 96)), ""]
    return [
        'step "Enabling trusted access for AWS Account Management (account.amazonaws.com)"',
        f"run {TRUSTED_ACCESS_COMMAND}",
        "",
    ]


def _stack_set_lines(plan: Plan, template_body: str, template_text: str) -> list[str]:
    """Create (or update) the member-role StackSet and its instances; wait; name failed accounts.

    `template_body` is the CLI argument, `template_text` a shell expression for
    the same template's text (compared with the StackSet's: unchanged, no update).
    """
    continuation = " \\"
    create_set = member_role.create_stack_set_command(plan, continuation=continuation, template=template_body)
    create_instances = member_role.create_stack_instances_command(plan, continuation=continuation)
    create_instances[0] = 'OPERATION_ID="$(run ' + create_instances[0]
    create_instances[-1] += " \\"
    create_instances.append('  --query=OperationId --output=text)"')
    describe = 'aws cloudformation describe-stack-set --region="$REGION" --stack-set-name="$STACK_SET_NAME"'
    return [
        'step "Deploying the member role $ROLE_NAME to every member account (service-managed StackSet)"',
        'run aws cloudformation activate-organizations-access --region="$REGION"',
        "ROOT_ID=\"$(aws organizations list-roots --query='Roots[0].Id' --output=text)\"",
        f'if CURRENT_ACCOUNT="$({describe} \\',
        "  --query=\"StackSet.Parameters[?ParameterKey=='ManagementAccountId'].ParameterValue | [0]\" "
        '--output=text 2>/dev/null)"; then',
        "  wait_for_running_operations",
        f'  CURRENT_TEMPLATE="$({describe} --query=StackSet.TemplateBody --output=text)"',
        f'  if [ "$CURRENT_TEMPLATE" = {template_text} ] && [ "$CURRENT_ACCOUNT" = "$MANAGEMENT_ACCOUNT_ID" ]; then',
        '    echo "The StackSet is up to date: nothing to update." >&2',
        "  else",
        '    OPERATION_ID="$(run aws cloudformation update-stack-set --region="$REGION" \\',
        '      --stack-set-name="$STACK_SET_NAME" \\',
        f"      --template-body={template_body} \\",
        "      --capabilities=CAPABILITY_NAMED_IAM \\",
        '      --parameters="ParameterKey=ManagementAccountId,ParameterValue=$MANAGEMENT_ACCOUNT_ID" \\',
        '      --query=OperationId --output=text)"',
        '    wait_for_operation "$OPERATION_ID"',
        "  fi",
        "else",
        *(f"  {'run ' if i == 0 else ''}{line}" for i, line in enumerate(create_set)),
        "fi",
        'INSTANCES="$(aws cloudformation list-stack-instances --region="$REGION" '
        '--stack-set-name="$STACK_SET_NAME" --query=\'length(Summaries)\' --output=text)"',
        'if [ "$INSTANCES" = "0" ]; then',
        *(f"  {line}" for line in create_instances),
        '  wait_for_operation "$OPERATION_ID"',
        "else",
        '  echo "Stack instances exist already ($INSTANCES); new accounts get the role automatically." >&2',
        "fi",
        "# Every account's stack instance must be current; name each one that is not.",
        'OUTDATED="$(aws cloudformation list-stack-instances --region="$REGION" '
        '--stack-set-name="$STACK_SET_NAME" \\',
        '  --query="Summaries[?Status!=\'CURRENT\'].[Account,Region,Status,StatusReason]" --output=text)"',
        'if [ -n "$OUTDATED" ]; then',
        "  STACK_SET_FAILED=true",
        '  echo "Accounts whose member role is not current:" >&2',
        "  printf '%s\\n' \"$OUTDATED\" >&2",
        "fi",
        "",
    ]


def _access_key_lines() -> list[str]:
    return [
        'if [ "$CREATE_ACCESS_KEY" = true ]; then',
        '  step "Creating an access key for $USER_NAME: it is shown once; type it into the connector only"',
        '  run aws iam create-access-key --user-name="$USER_NAME" \\',
        "    --query='AccessKey.[AccessKeyId,SecretAccessKey]' --output=text",
        "else",
        '  step "No access key created: run again with --create-access-key, or create it in the IAM console"',
        "fi",
        "",
    ]


def _finish(plan: Plan, *, stack_outputs: bool = False) -> list[str]:
    """Fail naming what is not done, or say what to type into the connector (the checklist's hand-off)."""
    lines = []
    if member_role.applies(plan):
        lines += [
            'if [ "$STACK_SET_FAILED" = true ]; then',
            '  step "Not done: the member role $ROLE_NAME is missing or out of date in the accounts listed above."',
            '  echo "Fix what their status reasons say, then run this script again." >&2',
            "  exit 1",
            "fi",
            "",
        ]
    if plan.uses_role_principal and stack_outputs:
        lines += [
            'step "No access key: what the sensor needs, from the stack\'s outputs"',
            f'aws cloudformation describe-stacks --region="$REGION" --stack-name={member_role.USER_STACK_NAME} \\',
            "  --query='Stacks[0].Outputs[].[OutputKey,OutputValue]' --output=text >&2",
            "",
        ]
    elif plan.uses_role_principal:
        lines += _sensor_outputs(plan)
    else:
        lines += _access_key_lines()
    lines.append(f"step {shlex.quote('Done. In ' + CONNECTOR_PRODUCT + ', enter:')}")
    lines += [f"echo {shlex.quote(f'  {label}: {value}')} >&2" for label, value in connector_settings(plan)]
    return lines


def _tag_query() -> str:
    key, value = WIZARD_TAG
    return f"length(Tags[?Key=='{key}' && Value=='{value}'])"


def _ensure_policy_function(plan: Plan) -> list[str]:
    key, value = WIZARD_TAG
    account = _account_variable(plan)
    return [
        "# Create a customer managed policy (tagged as the wizard's), or, when its default version differs",
        "# from this plan's document, give it a new default version (IAM keeps at most five, so the oldest",
        "# non-default one goes first); then attach it. An unchanged policy gets no new version.",
        "ensure_policy() {",
        '  local name="$1" document="$2" description="$3" arn default literal same count oldest',
        f'  arn="arn:{plan.partition.value}:iam::${{{account}}}:policy/${{name}}"',
        '  if default="$(aws iam get-policy --policy-arn="$arn" --query=Policy.DefaultVersionId '
        '--output=text 2>/dev/null)"; then',
        "    # JMESPath compares the JSON values (key order and spacing do not matter); in its",
        "    # JSON literal (between backticks) a backtick is written \\`.",
        "    literal=${document//\\`/\\\\\\`}",
        '    same="$(aws iam get-policy-version --policy-arn="$arn" --version-id="$default" \\',
        '      --query="PolicyVersion.Document == \\`${literal}\\`" --output=text)"',
        '    if [ "$same" = True ]; then',
        '      echo "The policy $name is up to date: no new version." >&2',
        "    else",
        '      count="$(aws iam list-policy-versions --policy-arn="$arn" --query=\'length(Versions)\' '
        '--output=text)"',
        '      if [ "$count" -ge 5 ]; then',
        '        oldest="$(aws iam list-policy-versions --policy-arn="$arn" \\',
        "          --query='sort_by(Versions[?!IsDefaultVersion], &CreateDate)[0].VersionId' --output=text)\"",
        '        run aws iam delete-policy-version --policy-arn="$arn" --version-id="$oldest"',
        "      fi",
        '      run aws iam create-policy-version --policy-arn="$arn" --policy-document="$document" '
        "--set-as-default >/dev/null",
        "    fi",
        "  else",
        '    run aws iam create-policy --policy-name="$name" --policy-document="$document" \\',
        f'      --description="$description" --tags="Key={key},Value={value}" >/dev/null',
        "  fi",
        '  attach_policy "$arn"',
        "}",
        "",
    ]


@dataclass(frozen=True, slots=True)
class _Principal:
    """A principal as the script names it: IAM's word (user, role) and the variable holding its name."""

    kind: str
    variable: str
    title: str

    def flag(self) -> str:
        return f'--{self.kind}-name="${self.variable}"'

    def iam(self, verb: str, rest: str) -> str:
        """`aws iam VERB-{kind}-...` on this principal, e.g. iam("attach", "policy --policy-arn=...")."""
        noun, _, args = rest.partition(" ")
        return f"aws iam {verb}-{self.kind}-{noun} {self.flag()}" + (f" {args}" if args else "")


_ARN_ARG = 'policy --policy-arn="$arn"'
_FIRST_ARG = 'policy --policy-arn="$1"'
_NAME_ARG = 'policy --policy-name="$name"'
_USER = _Principal("user", "USER_NAME", "the user $USER_NAME")
_ROLE = _Principal("role", "SENSOR_ROLE_NAME", "the sensor role $SENSOR_ROLE_NAME")


def _principal(plan: Plan) -> _Principal:
    return _ROLE if plan.uses_role_principal else _USER


def _other_principal(plan: Plan) -> _Principal:
    return _USER if plan.uses_role_principal else _ROLE


def _user_policy_functions(plan: Plan) -> list[str]:
    me = _principal(plan)
    return [
        f"# Attach a policy unless it is attached already (ATTACHED: the {me.kind}'s policies when the run began).",
        "attach_policy() {",
        '  local arn="$1" attached',
        "  for attached in $ATTACHED; do",
        '    if [ "$attached" = "$arn" ]; then',
        '      echo "Attached already: $arn" >&2',
        "      return 0",
        "    fi",
        "  done",
        f"  run {me.iam('attach', _ARN_ARG)}",
        "}",
        "",
        "# Detach a customer managed policy this plan no longer has; delete the policy too when this",
        "# script created it (it carries the wizard's tag) and nothing else uses it.",
        "retire_policy() {",
        f"  run {me.iam('detach', _FIRST_ARG)}",
        '  delete_policy_if_unused "$1"',
        "}",
        "",
        "delete_policy_if_unused() {",
        '  local arn="$1" tagged users versions version',
        f'  tagged="$(aws iam list-policy-tags --policy-arn="$arn" --query="{_tag_query()}" --output=text)"',
        '  users="$(aws iam get-policy --policy-arn="$arn" \\',
        '    --query="sum([Policy.AttachmentCount, not_null(Policy.PermissionsBoundaryUsageCount, \\`0\\`)])" '
        '--output=text)"',
        '  if [ "$tagged" = 0 ]; then',
        '    echo "Kept the policy $arn itself: this script did not create it." >&2',
        '  elif [ "$users" != 0 ]; then',
        '    echo "Kept the policy $arn itself: something else still uses it." >&2',
        "  else",
        '    versions="$(aws iam list-policy-versions --policy-arn="$arn" '
        "--query='Versions[?!IsDefaultVersion].VersionId' --output=text)\"",
        "    for version in $versions; do",
        '      run aws iam delete-policy-version --policy-arn="$arn" --version-id="$version"',
        "    done",
        '    run aws iam delete-policy --policy-arn="$arn"',
        "  fi",
        "}",
        "",
    ]


def _custom_policy_arn(plan: Plan, name: str) -> str:
    """A customer managed policy's ARN in this account, as a case pattern or a word of the script."""
    return f'"arn:{plan.partition.value}:iam::${{{_account_variable(plan)}}}:policy/"{shlex.quote(name)}'


def _case_patterns(patterns: list[str]) -> str:
    return " | ".join(patterns)


def _converge_lines(plan: Plan) -> list[str]:
    """Remove from the principal what the wizard owns and this plan lacks (app/domain/ownership.py)."""
    me = _principal(plan)
    wanted, owned = plan_user_policies(plan), owned_user_policies(plan)

    keep = [shlex.quote(a) for a in wanted.managed_arns] + [
        _custom_policy_arn(plan, n) for n in wanted.custom_names
    ]
    detach = [shlex.quote(a) for a in owned.managed_arns if a not in wanted.managed_arns]
    retire = [_custom_policy_arn(plan, n) for n in owned.custom_names if n not in wanted.custom_names]
    name_variable = "$" + me.variable
    lines = [
        f'step "Removing what this wizard put on {name_variable} before and this plan no longer includes"',
        "# The wizard owns (docs/setup-script.md#ownership): the AWS managed and customer managed policies",
        f"# some plan of it attaches, and its inline policy. Anything else on the {me.kind} is left alone.",
        "for arn in $ATTACHED; do",
        '  case "$arn" in',
        f"    {_case_patterns(keep)}) ;;",
    ]
    if detach:
        lines.append(f"    {_case_patterns(detach)}) run {me.iam('detach', _ARN_ARG)} ;;")
    if retire:
        lines.append(f'    {_case_patterns(retire)}) retire_policy "$arn" ;;')
    lines += [
        '    *) echo "Left alone (not this wizard\'s): the policy $arn" >&2 ;;',
        "  esac",
        "done",
        f'INLINE="$(aws iam list-{me.kind}-policies {me.flag()} --query=PolicyNames --output=text)"',
        "for name in $INLINE; do",
        '  case "$name" in',
    ]
    if wanted.inline_names:
        lines.append(f"    {_case_patterns([shlex.quote(n) for n in wanted.inline_names])}) ;;")
    dropped = [shlex.quote(n) for n in owned.inline_names if n not in wanted.inline_names]
    if dropped:
        lines.append(f"    {_case_patterns(dropped)}) run {me.iam('delete', _NAME_ARG)} ;;")
    lines += [
        '    *) echo "Left alone (not this wizard\'s): the inline policy $name" >&2 ;;',
        "  esac",
        "done",
        "",
    ]
    return lines


# The trust anchor's source (CLI JSON: the API's member names), embedded like the documents.
TRUST_ANCHOR_SOURCE_FUNCTION = "trust_anchor_source"
# The sensor role's trust policy, embedded like the policies; for roles-anywhere the trust anchor's
# ARN is known only once it exists, so the document holds this word in its place.
SENSOR_TRUST_FUNCTION = "sensor_role_trust_policy"
_ANCHOR_STAND_IN = "TRUST_ANCHOR_ARN_FROM_CREATE_TRUST_ANCHOR"


def _wizard_tag_argument() -> str:
    key, value = WIZARD_TAG
    return f'--tags="Key={key},Value={value}"'


def _user_lines() -> list[str]:
    return [
        'step "Creating the IAM user $USER_NAME"',
        'if aws iam get-user --user-name="$USER_NAME" >/dev/null 2>&1; then',
        '  echo "The user exists already." >&2',
        "else",
        '  run aws iam create-user --user-name="$USER_NAME" >/dev/null',
        "fi",
        'ATTACHED="$(aws iam list-attached-user-policies --user-name="$USER_NAME" \\',
        "  --query='AttachedPolicies[].PolicyArn' --output=text)\"",
        "",
    ]


def _principal_lines(plan: Plan) -> list[str]:
    """The sensor role (created, or its trust policy brought up to date) and what gives it to the sensor."""
    trusted = "ec2.amazonaws.com" if plan.principal is Principal.INSTANCE_ROLE else "IAM Roles Anywhere"
    lines = []
    if plan.principal is Principal.ROLES_ANYWHERE:
        lines += _trust_anchor_lines(plan)
        lines += [
            "# The role trusts Roles Anywhere only for this trust anchor (its ARN, known now) and the sensor's",
            "# certificate subject (docs/facts.md#keyless-sensors).",
            f'TRUST="$({SENSOR_TRUST_FUNCTION})"',
            f'TRUST="${{TRUST//{_ANCHOR_STAND_IN}/$TRUST_ANCHOR_ARN}}"',
            "",
        ]
    else:
        lines.append(f'TRUST="$({SENSOR_TRUST_FUNCTION})"')
    lines += [
        f'step "Creating the sensor role $SENSOR_ROLE_NAME (trusted by {trusted})"',
        'if aws iam get-role --role-name="$SENSOR_ROLE_NAME" >/dev/null 2>&1; then',
        "  # Compared as JSON values, like the policies (docs/setup-script.md#policy-versions).",
        "  literal=${TRUST//\\`/\\\\\\`}",
        '  same="$(aws iam get-role --role-name="$SENSOR_ROLE_NAME" \\',
        '    --query="Role.AssumeRolePolicyDocument == \\`${literal}\\`" --output=text)"',
        '  if [ "$same" = True ]; then',
        '    echo "The role exists already; its trust policy is up to date." >&2',
        "  else",
        '    run aws iam update-assume-role-policy --role-name="$SENSOR_ROLE_NAME" --policy-document="$TRUST"',
        "  fi",
        "else",
        '  run aws iam create-role --role-name="$SENSOR_ROLE_NAME" --assume-role-policy-document="$TRUST" \\',
        f"    --description={shlex.quote(cloudformation.sensor_role_description(plan))} \\",
        f"    {_wizard_tag_argument()} >/dev/null",
        "fi",
        'ATTACHED="$(aws iam list-attached-role-policies --role-name="$SENSOR_ROLE_NAME" \\',
        "  --query='AttachedPolicies[].PolicyArn' --output=text)\"",
        "",
    ]
    if plan.principal is Principal.INSTANCE_ROLE:
        lines += [
            'step "Creating the instance profile $SENSOR_ROLE_NAME with the role, for the sensor\'s EC2 instance"',
            'if aws iam get-instance-profile --instance-profile-name="$SENSOR_ROLE_NAME" >/dev/null 2>&1; then',
            '  echo "The instance profile exists already." >&2',
            "else",
            '  run aws iam create-instance-profile --instance-profile-name="$SENSOR_ROLE_NAME" \\',
            f"    {_wizard_tag_argument()} >/dev/null",
            "fi",
            *_profile_roles(),
            "# An instance profile holds one role: IAM refuses a second one (LimitExceeded), and so does this.",
            'if [ "$PROFILE_ROLES" = "$SENSOR_ROLE_NAME" ]; then',
            '  echo "The instance profile holds the role already." >&2',
            "else",
            '  run aws iam add-role-to-instance-profile --instance-profile-name="$SENSOR_ROLE_NAME" \\',
            '    --role-name="$SENSOR_ROLE_NAME"',
            "fi",
            "",
        ]
    else:
        lines += _roles_anywhere_profile_lines(plan)
    return lines


def _no_arn(variable: str) -> str:
    # `--output=text` prints None for a JMESPath null (no such resource).
    return f'[ -z "${variable}" ] || [ "${variable}" = None ]'


def _trust_anchor_lines(plan: Plan) -> list[str]:
    """The IAM Roles Anywhere trust anchor: created, or its source (the CA) brought up to date.

    Found by its name, the sensor role's (app/domain/principal.py): Roles Anywhere names hold only
    `[ a-zA-Z0-9-_]`, so the name is safe inside the JMESPath literal's quotes.
    """
    key, value = WIZARD_TAG
    return [
        _assign("TRUST_ANCHOR_NAME", trust_anchor_name(plan)),
        "step \"Creating the IAM Roles Anywhere trust anchor $TRUST_ANCHOR_NAME (the CA that issues the sensor's "
        'certificate)"',
        f'SOURCE="$({TRUST_ANCHOR_SOURCE_FUNCTION})"',
        'TRUST_ANCHOR_ARN="$(aws rolesanywhere list-trust-anchors \\',
        '  --query="trustAnchors[?name==\'$TRUST_ANCHOR_NAME\'].trustAnchorArn | [0]" --output=text)"',
        f"if {_no_arn('TRUST_ANCHOR_ARN')}; then",
        '  TRUST_ANCHOR_ARN="$(run aws rolesanywhere create-trust-anchor --name="$TRUST_ANCHOR_NAME" --enabled \\',
        f'    --source="$SOURCE" --tags=key={key},value={value} \\',
        '    --query=trustAnchor.trustAnchorArn --output=text)"',
        "else",
        "  literal=${SOURCE//\\`/\\\\\\`}",
        '  same="$(aws rolesanywhere get-trust-anchor --trust-anchor-id="${TRUST_ANCHOR_ARN##*/}" \\',
        '    --query="trustAnchor.source == \\`${literal}\\`" --output=text)"',
        '  if [ "$same" = True ]; then',
        '    echo "The trust anchor exists already; its CA is up to date." >&2',
        "  else",
        '    run aws rolesanywhere update-trust-anchor --trust-anchor-id="${TRUST_ANCHOR_ARN##*/}" \\',
        '      --source="$SOURCE" >/dev/null',
        "  fi",
        "fi",
        'echo "Trust anchor: $TRUST_ANCHOR_ARN" >&2',
        "",
    ]


def _roles_anywhere_profile_lines(plan: Plan) -> list[str]:
    """The Roles Anywhere profile: created with the sensor role, or its role list brought up to date."""
    key, value = WIZARD_TAG
    return [
        _assign("PROFILE_NAME", roles_anywhere_profile_name(plan)),
        'step "Creating the IAM Roles Anywhere profile $PROFILE_NAME for the sensor role"',
        'ROLE_ARN="$(aws iam get-role --role-name="$SENSOR_ROLE_NAME" --query=Role.Arn --output=text)"',
        'PROFILE_ARN="$(aws rolesanywhere list-profiles \\',
        '  --query="profiles[?name==\'$PROFILE_NAME\'].profileArn | [0]" --output=text)"',
        f"if {_no_arn('PROFILE_ARN')}; then",
        '  PROFILE_ARN="$(run aws rolesanywhere create-profile --name="$PROFILE_NAME" --enabled \\',
        f'    --role-arns="$ROLE_ARN" --tags=key={key},value={value} \\',
        '    --query=profile.profileArn --output=text)"',
        "else",
        '  PROFILE_ROLES="$(aws rolesanywhere get-profile --profile-id="${PROFILE_ARN##*/}" \\',
        "    --query='profile.roleArns' --output=text)\"",
        '  if [ "$PROFILE_ROLES" = "$ROLE_ARN" ]; then',
        '    echo "The profile exists already; it names the sensor role." >&2',
        "  else",
        '    run aws rolesanywhere update-profile --profile-id="${PROFILE_ARN##*/}" --role-arns="$ROLE_ARN" >/dev/null',
        "  fi",
        "fi",
        'echo "Profile: $PROFILE_ARN" >&2',
        "",
    ]


def _profile_roles() -> list[str]:
    return [
        'PROFILE_ROLES="$(aws iam get-instance-profile --instance-profile-name="$SENSOR_ROLE_NAME" \\',
        "  --query='InstanceProfile.Roles[].RoleName' --output=text)\"",
    ]


def _retire_instance_profile_lines() -> list[str]:
    """A plan without the instance role: the sensor role leaves the instance profile of its name, and the
    profile goes when this wizard created it (docs/setup-script.md#ownership)."""
    key, value = WIZARD_TAG
    tagged = f"length(not_null(InstanceProfile.Tags, \\`[]\\`)[?Key=='{key}' && Value=='{value}'])"
    return [
        'if aws iam get-instance-profile --instance-profile-name="$SENSOR_ROLE_NAME" >/dev/null 2>&1; then',
        '  step "This plan uses no instance profile: the instance profile $SENSOR_ROLE_NAME is retired"',
        *(f"  {line}" for line in _profile_roles()),
        '  if [ "$PROFILE_ROLES" = "$SENSOR_ROLE_NAME" ]; then',
        '    run aws iam remove-role-from-instance-profile --instance-profile-name="$SENSOR_ROLE_NAME" \\',
        '      --role-name="$SENSOR_ROLE_NAME"',
        "    PROFILE_ROLES=",
        "  fi",
        '  TAGGED="$(aws iam get-instance-profile --instance-profile-name="$SENSOR_ROLE_NAME" \\',
        f'    --query="{tagged}" --output=text)"',
        '  if [ "$TAGGED" = 1 ] && [ -z "$PROFILE_ROLES" ]; then',
        '    run aws iam delete-instance-profile --instance-profile-name="$SENSOR_ROLE_NAME"',
        "  else",
        '    echo "Left alone (not this wizard\'s, or holding another role): the instance profile $SENSOR_ROLE_NAME" >&2',
        "  fi",
        "fi",
        "",
    ]


def _sensor_outputs(plan: Plan) -> list[str]:
    """What the sensor needs (no access key: the role's credentials are temporary)."""
    if plan.principal is Principal.ROLES_ANYWHERE:
        return [
            'step "No access key: the sensor\'s AWS profile runs the signing helper with its certificate and key"',
            "# What credential_process needs (docs/facts.md#keyless-sensors):",
            'echo "  --trust-anchor-arn=$TRUST_ANCHOR_ARN" >&2',
            'echo "  --profile-arn=$PROFILE_ARN" >&2',
            'echo "  --role-arn=$ROLE_ARN" >&2',
            "",
        ]
    lines = [
        'ROLE_ARN="$(aws iam get-role --role-name="$SENSOR_ROLE_NAME" --query=Role.Arn --output=text)"',
        'echo "Sensor role: $ROLE_ARN" >&2',
    ]
    if plan.principal is Principal.INSTANCE_ROLE:
        lines += [
            'step "No access key: give the sensor\'s EC2 instance the instance profile $SENSOR_ROLE_NAME"',
            'echo "  aws ec2 associate-iam-instance-profile --instance-id=INSTANCE_ID'
            ' --iam-instance-profile=Name=$SENSOR_ROLE_NAME" >&2',
            "",
        ]
    return lines


def _other_principal_lines(plan: Plan) -> list[str]:
    """The principal this plan does not use (the user of an earlier iam-user plan, or the sensor role of
    an earlier keyless one): the wizard's policies come off it; it itself, and the rest, are left alone.

    Runs after this plan's policies are attached, so a customer managed policy both use stays.
    """
    other = _other_principal(plan)
    owned = owned_user_policies(plan)
    wanted = plan_user_policies(plan)

    managed = [shlex.quote(a) for a in owned.managed_arns]
    kept_custom = [_custom_policy_arn(plan, n) for n in owned.custom_names if n in wanted.custom_names]
    retired_custom = [_custom_policy_arn(plan, n) for n in owned.custom_names if n not in wanted.custom_names]
    detach = f"run {other.iam('detach', _ARN_ARG)}"
    name = "$" + other.variable
    lines = [
        f"if aws iam get-{other.kind} {other.flag()} >/dev/null 2>&1; then",
        f'  step "This plan uses {_principal(plan).title}: the wizard\'s policies come off the {other.kind} {name}"',
        f'  OTHER_ATTACHED="$(aws iam list-attached-{other.kind}-policies {other.flag()} \\',
        "    --query='AttachedPolicies[].PolicyArn' --output=text)\"",
        "  for arn in $OTHER_ATTACHED; do",
        '    case "$arn" in',
        f"      {_case_patterns(managed + kept_custom)}) {detach} ;;",
    ]
    if retired_custom:
        lines.append(f'      {_case_patterns(retired_custom)}) {detach}; delete_policy_if_unused "$arn" ;;')
    lines += [
        f'      *) echo "Left alone (not this wizard\'s): the policy $arn on the {other.kind} {name}" >&2 ;;',
        "    esac",
        "  done",
        f'  OTHER_INLINE="$(aws iam list-{other.kind}-policies {other.flag()} --query=PolicyNames --output=text)"',
        "  for name in $OTHER_INLINE; do",
        '    case "$name" in',
        f"      {_case_patterns([shlex.quote(n) for n in owned.inline_names])}) "
        f"run {other.iam('delete', _NAME_ARG)} ;;",
        f'      *) echo "Left alone (not this wizard\'s): the inline policy $name on the {other.kind} {name}" >&2 ;;',
        "    esac",
        "  done",
        f'  echo "Left alone: the {other.kind} {name} itself'
        + (
            ' and its access keys (delete them once the sensor uses its role)." >&2'
            if other.kind == "user"
            else ' (delete it once nothing uses it)." >&2'
        ),
        "fi",
        "",
    ]
    return lines


def setup_script(plan: Plan) -> str:
    """The whole setup with the AWS CLI (the route for teams that script everything)."""
    what = "Prepares AWS for the DigiCert Trust Lifecycle Manager AWS connector with the AWS CLI."
    lines = _header(plan, SETUP_SCRIPT, what)
    usage, _ = _usage(SETUP_SCRIPT, plan)
    lines += _argument_parsing(plan, usage)
    lines += ["", *_common_variables(plan, both_principals=True), "", _RUN_FUNCTIONS]
    if member_role.applies(plan):
        lines.append(_STACK_SET_FUNCTIONS)
    lines += _ensure_policy_function(plan) if plan.style is PolicyStyle.LEAST_PRIVILEGE else []
    lines += _user_policy_functions(plan)

    # Embedded documents: the same JSON as the bundle's files.
    found = attachments(plan)
    custom = found.custom
    for policy in custom:
        lines += _heredoc_function(
            _function_name(policy.file_name), render_json(policy.document), _POLICY_END
        )
    for inline in found.inline:
        lines += _heredoc_function(
            _function_name(inline.file_name), render_json(inline.document), _POLICY_END
        )
    if plan.uses_role_principal:
        trust = sensor.sensor_trust(plan, _ANCHOR_STAND_IN)
        lines += _heredoc_function(SENSOR_TRUST_FUNCTION, render_json(trust), _POLICY_END)
    if plan.principal is Principal.ROLES_ANYWHERE:
        # The same text as the bundle's roles-anywhere-trust-anchor-source.json.
        source = render_json(trust_anchor_source(plan))
        lines += _heredoc_function(TRUST_ANCHOR_SOURCE_FUNCTION, source, _POLICY_END)
    if member_role.applies(plan):
        lines += _heredoc_function(
            "member_role_template", cloudformation.render_stackset(plan), _TEMPLATE_END
        )

    lines += _require_aws_cli(plan, SETUP_SCRIPT)
    lines += _caller_account(plan)
    if plan.is_organization:
        lines += _trusted_access(plan)
    lines += _principal_lines(plan) if plan.uses_role_principal else _user_lines()
    me = _principal(plan)
    for managed in found.managed:
        lines += [
            f'step "Attaching the AWS managed policy {managed.name}"',
            f"attach_policy {shlex.quote(managed.arn)}",
            "",
        ]
    for policy in custom:
        lines += [
            f'step "Creating and attaching the policy {policy.name}"',
            f'ensure_policy {policy.name} "$({_function_name(policy.file_name)})" \\',
            f"  {shlex.quote(policy.purpose)}",
            "",
        ]
    for inline in found.inline:
        corrected = "" if plan.uses_role_principal else " (corrected)"
        lines += [
            f'step "Putting the inline policy {inline.name}{corrected} on the {me.kind}"',
            f"run aws iam put-{me.kind}-policy {me.flag()} --policy-name={inline.name} \\",
            f'  --policy-document="$({_function_name(inline.file_name)})"',
            "",
        ]
    lines += _converge_lines(plan)
    lines += _other_principal_lines(plan)
    if plan.principal is not Principal.INSTANCE_ROLE:
        lines += _retire_instance_profile_lines()
    if member_role.applies(plan):
        lines += _stack_set_lines(plan, '"$(member_role_template)"', '"$(member_role_template)"')
        lines += [
            'if [ "$MANAGEMENT_ACCOUNT_ROLE" = true ]; then',
            '  step "Deploying the member role $ROLE_NAME in the management account (single stack)"',
            '  TEMPLATE_FILE="$(mktemp)"',
            "  trap 'rm -f \"$TEMPLATE_FILE\"' EXIT",
            '  member_role_template >"$TEMPLATE_FILE"',
            '  run aws cloudformation deploy --region="$REGION" '
            f"--stack-name={member_role.MANAGEMENT_STACK_NAME} \\",
            '    --template-file="$TEMPLATE_FILE" --capabilities=CAPABILITY_NAMED_IAM \\',
            "    --no-fail-on-empty-changeset \\",
            '    --parameter-overrides="ManagementAccountId=$MANAGEMENT_ACCOUNT_ID"',
            "fi",
            "",
        ]
    lines += _finish(plan)
    return "\n".join(lines) + "\n"


def deploy_script(plan: Plan) -> str:
    """cloudformation/deploy.sh: the exact commands that deploy this bundle's templates."""
    what = "Deploys this folder's CloudFormation templates (run it from anywhere; it uses its own folder)."
    text = sensor.principal_text(plan)
    lines = _header(plan, "deploy.sh", what)
    usage, _ = _usage("deploy.sh", plan)
    lines += _argument_parsing(plan, usage)
    lines += ["", *_common_variables(plan), "", _RUN_FUNCTIONS]
    if member_role.applies(plan):
        lines.append(_STACK_SET_FUNCTIONS)
    lines += ['cd "$(dirname "$0")"', ""]
    lines += _require_aws_cli(plan, "deploy.sh")
    lines += _caller_account(plan)
    if plan.is_organization:
        lines += _trusted_access(plan)
    lines += [
        f'step "Deploying the {text.stack} stack ({text.stack_contents}, no access key)"',
        f'run aws cloudformation deploy --region="$REGION" --stack-name={member_role.USER_STACK_NAME} \\',
        "  --template-file=management-account.yaml --capabilities=CAPABILITY_NAMED_IAM \\",
        "  --no-fail-on-empty-changeset",
        "",
    ]
    if member_role.applies(plan):
        lines += _stack_set_lines(
            plan, "file://member-role-stackset.yaml", '"$(cat member-role-stackset.yaml)"'
        )
        lines += [
            'if [ "$MANAGEMENT_ACCOUNT_ROLE" = true ]; then',
            '  step "Deploying the member role $ROLE_NAME in the management account (single stack)"',
            '  run aws cloudformation deploy --region="$REGION" '
            f"--stack-name={member_role.MANAGEMENT_STACK_NAME} \\",
            "    --template-file=member-role-management-account.yaml --capabilities=CAPABILITY_NAMED_IAM \\",
            "    --no-fail-on-empty-changeset \\",
            '    --parameter-overrides="ManagementAccountId=$MANAGEMENT_ACCOUNT_ID"',
            "fi",
            "",
        ]
    lines += _finish(plan, stack_outputs=True)
    return "\n".join(lines) + "\n"
