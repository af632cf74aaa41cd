"""Ordered, plan-specific setup steps, each with console instructions and CLI commands.

Pure. Step ids are stable strings: ticks are stored by id, so renaming an id
loses ticks (the golden tests make such a change visible).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from functools import lru_cache

from app.domain import member_role
from app.domain.attachments import attachments
from app.domain.connector_auth import connector_authentication
from app.domain.iam import account_management_absent, has_account_management
from app.domain.least_privilege import (
    SECRET_PREFIX_ASSUMED,
    SECRETS_POLICY_NAME,
    CustomPolicy,
    secret_prefix_note,
)
from app.domain.plan import DEFAULT_ROLE_NAME, Plan, PolicyStyle, Principal
from app.domain.policies import INLINE_POLICY_FILE, INLINE_POLICY_NAME, ManagedPolicy
from app.domain.principal import (
    SENSOR_AWS_PROFILE,
    SENSOR_ROLE_TRUST_FILE,
    TRUST_ANCHOR_ARN_PLACEHOLDER,
    TRUST_ANCHOR_SOURCE_FILE,
    connector_principal_arn,
    connector_principal_kind,
    connector_principal_label,
    connector_principal_name,
    instance_profile_name,
    roles_anywhere_profile_name,
    roles_anywhere_region,
    sensor_aws_config,
    sensor_credential_process,
    trust_anchor_name,
)


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    title: str
    why: str
    console: tuple[str, ...]
    cli: tuple[str, ...]
    warning: str | None = None
    # Where the `console` instructions are carried out (the heading above them).
    where: str = "In the AWS console"


def custom_policy_step_id(policy_name: str) -> str:
    """The checklist step that creates and attaches the custom policy `policy_name` (least privilege)."""
    return f"custom-policy-{policy_name}"


def _q(value: str) -> str:
    return shlex.quote(value)


def checklist(plan: Plan) -> list[Step]:
    """The steps for `plan`, in the order an admin should do them."""
    return list(_checklist(plan))


@lru_cache(maxsize=512)
def _checklist(plan: Plan) -> tuple[Step, ...]:
    # Plans and steps are immutable, and every page and tick asks again for the
    # same plan's steps: build them once (a tick asked twice, ~70 µs each).
    steps: list[Step] = []
    if plan.is_organization and has_account_management(plan.partition):
        steps.append(_enable_trusted_access())
    if plan.principal is Principal.ROLES_ANYWHERE:
        steps.append(_create_trust_anchor(plan))
    steps.append(_create_sensor_role(plan) if plan.uses_role_principal else _create_user(plan))
    found = attachments(plan)
    steps.extend(_attach_managed(plan, found.managed))
    steps.extend(_custom_policy_steps(plan, found.custom))
    if plan.is_organization:
        steps.append(_put_inline_policy(plan))
        steps.append(_member_role(plan))
    if plan.principal is Principal.INSTANCE_ROLE:
        steps.append(_attach_instance_profile(plan))
    elif plan.principal is Principal.ROLES_ANYWHERE:
        steps.append(_create_roles_anywhere_profile(plan))
        steps.append(_sensor_aws_profile(plan))
    else:
        steps.append(_create_access_key(plan))
    steps.append(_configure_connector(plan))
    return tuple(steps)


def _entity(plan: Plan) -> tuple[str, str]:
    """("user" or "role", its name): who gets the connector's policies (attachments.py)."""
    return connector_principal_kind(plan), connector_principal_name(plan)


# The source document: "Make sure the AWS Account Management service is enabled for the AWS
# organization" (trusted access for account.amazonaws.com, docs/one-plan-one-truth.md).
TRUSTED_ACCESS_COMMAND = (
    "aws organizations enable-aws-service-access --service-principal=account.amazonaws.com"
)


def step_ids(plan: Plan) -> list[str]:
    return [step.id for step in checklist(plan)]


def _enable_trusted_access() -> Step:
    return Step(
        id="enable-trusted-access",
        title="Enable trusted access for AWS Account Management",
        why=(
            "The source document: “Make sure the AWS Account Management service is enabled for "
            "the AWS organization.” Trusted access needs an organization with all features "
            "enabled, and is turned on from the management account."
        ),
        console=(
            "Sign in to the management account and open the AWS Organizations console.",
            "Choose Services, then AWS Account Management.",
            "Choose Enable trusted access and confirm.",
        ),
        cli=(
            TRUSTED_ACCESS_COMMAND,
            "aws organizations list-aws-service-access-for-organization",
        ),
    )


def _create_user(plan: Plan) -> Step:
    where = "the management account of the organization" if plan.is_organization else "the AWS account"
    return Step(
        id="create-user",
        title=f"Create the IAM user {plan.user_name}",
        why=f"The connector signs in as an IAM user in {where}."
        + (
            # The first step here, so the missing trusted-access step is explained where it would be.
            " No step enables trusted access for AWS Account Management: "
            + account_management_absent(plan.partition)
            if plan.is_organization and not has_account_management(plan.partition)
            else ""
        ),
        console=(
            f"Sign in to {where} and open the IAM console.",
            "Choose Users, then Create user.",
            f"User name: {plan.user_name}. Do not give it console access.",
        ),
        cli=(f"aws iam create-user --user-name={_q(plan.user_name)}",),
    )


def _where(plan: Plan) -> str:
    return "the management account of the organization" if plan.is_organization else "the AWS account"


def _create_trust_anchor(plan: Plan) -> Step:
    """Roles Anywhere: the organization's CA (or AWS Private CA) becomes a trust anchor."""
    region = roles_anywhere_region(plan)
    name = trust_anchor_name(plan)
    pca = bool(plan.trust_anchor_pca_arn)
    return Step(
        id="create-trust-anchor",
        title=f"Create the IAM Roles Anywhere trust anchor {name}",
        why=(
            "IAM Roles Anywhere trusts certificates issued by this CA: the sensor proves who it is with its "
            "own certificate and private key, so no access key exists anywhere. The trust anchor is "
            f"regional; the wizard uses {region}."
        ),
        console=(
            f"Sign in to {_where(plan)}, open the IAM Roles Anywhere console in {region}.",
            f"Choose Create a trust anchor and name it {name}.",
            (
                f"Certificate authority source: AWS Private CA, and choose {plan.trust_anchor_pca_arn}."
                if pca
                else "Certificate authority source: External certificate bundle, and paste the CA certificate "
                f"({TRUST_ANCHOR_SOURCE_FILE} in the bundle holds it)."
            ),
        ),
        cli=(
            f'TRUST_ANCHOR_ARN="$(aws rolesanywhere create-trust-anchor --region={region} --name={_q(name)} '
            f"--enabled --source=file://{TRUST_ANCHOR_SOURCE_FILE} "
            '--query=trustAnchor.trustAnchorArn --output=text)"',
        ),
    )


def _create_sensor_role(plan: Plan) -> Step:
    """The connector's role (instance-role, roles-anywhere), in place of a user."""
    name = plan.sensor_role_name
    trust = (
        "EC2 may assume it for the sensor's instance (an instance profile carries it there)"
        if plan.principal is Principal.INSTANCE_ROLE
        else "IAM Roles Anywhere may assume it for a certificate from the trust anchor whose subject CN is "
        f"{plan.certificate_subject_cn}"
    )
    trusted_entity = (
        "AWS service, EC2"
        if plan.principal is Principal.INSTANCE_ROLE
        else "Custom trust policy, and paste the role's trust policy from the Policies page (it names the trust "
        "anchor and the certificate's subject CN)"
    )
    document = f"file://{SENSOR_ROLE_TRUST_FILE}"
    if plan.principal is Principal.ROLES_ANYWHERE:
        # The trust policy names the trust anchor, whose ARN exists only now.
        document = f'"$(sed "s|{TRUST_ANCHOR_ARN_PLACEHOLDER}|$TRUST_ANCHOR_ARN|" {SENSOR_ROLE_TRUST_FILE})"'
    return Step(
        id="create-sensor-role",
        title=f"Create the IAM role {name} for the sensor",
        why=(
            f"The connector is this role in {_where(plan)}, not a user with an access key: {trust}. "
            "It gets the connector's policies in the next steps."
        ),
        console=(
            f"Sign in to {_where(plan)} and open the IAM console.",
            f"Choose Roles, then Create role. Trusted entity: {trusted_entity}.",
            f"Role name: {name}.",
        ),
        cli=(f"aws iam create-role --role-name={_q(name)} --assume-role-policy-document={document}",),
    )


def _attach_instance_profile(plan: Plan) -> Step:
    """instance-role: the role reaches the sensor's EC2 instance through an instance profile."""
    profile = instance_profile_name(plan)
    return Step(
        id="attach-instance-profile",
        title="Give the sensor's EC2 instance the role",
        why=(
            f"EC2 hands the role's temporary credentials to the instance through the instance profile "
            f"{profile}; the sensor's default credential provider chain finds them. Run the sensor on an "
            f"EC2 instance in {_where(plan)}. Nothing to copy, nothing to rotate."
        ),
        console=(
            f"The IAM console created the instance profile {profile} with the role (it does for EC2 roles).",
            "In the EC2 console select the sensor's instance, then Actions, Security, Modify IAM role.",
            f"Choose {profile} and Update IAM role.",
        ),
        cli=(
            f"aws iam create-instance-profile --instance-profile-name={_q(profile)}",
            f"aws iam add-role-to-instance-profile --instance-profile-name={_q(profile)} "
            f"--role-name={_q(plan.sensor_role_name)}",
            'aws ec2 associate-iam-instance-profile --region="$SENSOR_REGION" --instance-id="$SENSOR_INSTANCE_ID" '
            f"--iam-instance-profile=Name={_q(profile)}",
        ),
        warning="Attaching an instance profile needs iam:PassRole on the role for whoever runs the command.",
    )


def _create_roles_anywhere_profile(plan: Plan) -> Step:
    """roles-anywhere: the profile says which role a session from the trust anchor may get."""
    region = roles_anywhere_region(plan)
    name = roles_anywhere_profile_name(plan)
    role_arn = connector_principal_arn(plan, "$ACCOUNT_ID")
    return Step(
        id="create-roles-anywhere-profile",
        title=f"Create the IAM Roles Anywhere profile {name}",
        why=(
            f"A Roles Anywhere profile names the roles a certificate's session may take: only {plan.sensor_role_name}."
        ),
        console=(
            f"In the IAM Roles Anywhere console ({region}) choose Create a profile and name it {name}.",
            f"Roles: {plan.sensor_role_name}. Leave session policies empty.",
        ),
        cli=(
            'ACCOUNT_ID="$(aws sts get-caller-identity --query=Account --output=text)"',
            f'PROFILE_ARN="$(aws rolesanywhere create-profile --region={region} --name={_q(name)} --enabled '
            f'--role-arns="{role_arn}" --query=profile.profileArn --output=text)"',
        ),
    )


def _sensor_aws_profile(plan: Plan) -> Step:
    """roles-anywhere: the sensor's AWS config profile runs the signing helper as credential_process."""
    return Step(
        id="sensor-aws-profile",
        title=f"Add the AWS profile {SENSOR_AWS_PROFILE} on the sensor",
        why=(
            "The connector's AWS profile name method reads credentials from this profile: credential_process "
            "runs AWS's signing helper, which signs with the sensor certificate's private key and returns "
            "temporary credentials. The private key stays on the sensor. The commands run on the sensor: set "
            "TRUST_ANCHOR_ARN, PROFILE_ARN and ACCOUNT_ID there to the values the steps above saved."
        ),
        console=(
            "On the sensor system, install AWS's credential helper aws_signing_helper (IAM Roles Anywhere User "
            "Guide, Obtaining temporary security credentials).",
            "Put the sensor's certificate (issued by the trust anchor's CA, subject CN "
            f"{plan.certificate_subject_cn}) and its private key where the profile says.",
            "Add to the AWS config file of the user the sensor runs as, with the ARNs filled in:",
            *sensor_aws_config(plan).splitlines(),
        ),
        cli=(
            # `aws configure set` writes the same settings into the AWS config file; double quotes
            # let the shell fill in the ARNs the steps before saved (the rest is validated plain text).
            f"aws configure set profile.{SENSOR_AWS_PROFILE}.credential_process "
            + '"'
            + sensor_credential_process(
                plan,
                account_id="$ACCOUNT_ID",
                trust_anchor_arn="$TRUST_ANCHOR_ARN",
                profile_arn="$PROFILE_ARN",
            )
            + '"',
            f"aws configure set profile.{SENSOR_AWS_PROFILE}.region {roles_anywhere_region(plan)}",
        ),
        where="On the sensor system",
    )


def _attach_managed(plan: Plan, managed: tuple[ManagedPolicy, ...]) -> list[Step]:
    kind, name = _entity(plan)
    steps = []
    for policy in managed:
        steps.append(
            Step(
                id=f"attach-{policy.name}",
                title=f"Attach the AWS managed policy {policy.name}",
                why=policy.purpose + (" (optional)" if policy.optional else ""),
                console=(
                    f"In the IAM console open the {kind} {name}.",
                    "Choose Add permissions, then Attach policies"
                    + (" directly." if kind == "user" else "."),
                    f"Search for {policy.name}, select it and choose Add permissions.",
                ),
                cli=(f"aws iam attach-{kind}-policy --{kind}-name={_q(name)} --policy-arn={_q(policy.arn)}",),
                warning=(
                    "SecretsManagerReadWrite is unscoped: it can read every secret in the account. "
                    f"The least-privilege style scopes it to a name prefix ({SECRET_PREFIX_ASSUMED})."
                    if policy.name == "SecretsManagerReadWrite"
                    else None
                ),
            )
        )
    return steps


def _custom_policy_steps(plan: Plan, custom: tuple[CustomPolicy, ...]) -> list[Step]:
    """Least-privilege style: custom managed policies created and attached (see artifacts)."""
    kind, name = _entity(plan)
    steps = []
    for policy in custom:
        steps.append(
            Step(
                id=custom_policy_step_id(policy.name),
                title=f"Create and attach the policy {policy.name}",
                why=policy.purpose,
                console=(
                    "In the IAM console choose Policies, then Create policy, and switch to JSON.",
                    f"Paste the document {policy.file_name} and name the policy {policy.name}.",
                    f"Open the {kind} {name}, choose Add permissions, Attach policies"
                    + (" directly" if kind == "user" else "")
                    + f", and select {policy.name}.",
                ),
                cli=(
                    f"aws iam create-policy --policy-name={_q(policy.name)} "
                    f"--policy-document=file://{_q(policy.file_name)}",
                    f"aws iam attach-{kind}-policy --{kind}-name={_q(name)} --policy-arn="
                    f'"arn:{plan.partition.value}:iam::$(aws sts get-caller-identity --query=Account '
                    f'--output=text):policy/{policy.name}"',
                ),
                warning=secret_prefix_note(plan) if policy.name == SECRETS_POLICY_NAME else None,
            )
        )
    return steps


def _put_inline_policy(plan: Plan) -> Step:
    corrected = plan.style is PolicyStyle.LEAST_PRIVILEGE
    kind, name = _entity(plan)
    return Step(
        id="put-inline-policy",
        title=f"Add the inline policy {INLINE_POLICY_NAME}",
        why=(
            f"Lets the {kind} reach member accounts from the management account through the common "
            f"role {plan.role_name}. "
            + (
                "A role keeps only sts:AssumeRole: role credentials cannot call sts:GetSessionToken and "
                "have no access key for sts:GetAccessKeyInfo to look up."
                if kind == "role"
                else 'This is the corrected policy: sts:GetAccessKeyInfo on "*", no sts:GetSessionToken (it needs '
                "no permission)."
                if corrected
                else "Use the corrected version shown on the Policies page: as documented, "
                "sts:GetAccessKeyInfo is scoped to a role ARN and grants nothing, and sts:GetSessionToken needs "
                "no permission at all."
            )
        ),
        console=(
            f"In the IAM console open the {kind} {name}.",
            "Choose Add permissions, then Create inline policy, and switch to JSON.",
            f"Paste the inline policy from the Policies page and name it {INLINE_POLICY_NAME}.",
        ),
        cli=(
            f"aws iam put-{kind}-policy --{kind}-name={_q(name)} --policy-name="
            f"{INLINE_POLICY_NAME} --policy-document=file://{INLINE_POLICY_FILE}",
        ),
    )


def _member_role(plan: Plan) -> Step:
    if plan.dedicated_member_role:
        region = member_role.stack_set_region(plan)
        template = "file://cloudformation/member-role-stackset.yaml"
        return Step(
            id="member-role",
            title=f"Deploy the member role {plan.role_name} to every member account",
            why=(
                f"A dedicated role that only the {connector_principal_label(plan)} can assume"
                + ", with ACM permissions only"
                + (
                    f" and Secrets Manager limited to the name prefix {plan.secret_prefix} ({SECRET_PREFIX_ASSUMED})"
                    if plan.secrets_manager
                    else ""
                )
                + (
                    " and Elastic Load Balancing listener certificates in the chosen regions"
                    if plan.elb
                    else ""
                )
                + ". A service-managed StackSet deploys it to every member account, and automatically to "
                "accounts that join later. StackSets do not deploy to the management account: if the "
                "connector should reach it through the role too, also deploy "
                "member-role-management-account.yaml there as a single stack."
            ),
            console=(
                f"Create the {_entity(plan)[0]} first (the role's trust policy names it), and download the CloudFormation "
                "bundle from the Policies page.",
                "In the management account open CloudFormation, StackSets, and enable trusted access with "
                "AWS Organizations if asked.",
                "Choose Create StackSet, upload member-role-stackset.yaml, set ManagementAccountId to this "
                "account's id, and choose service-managed permissions with automatic deployment on.",
                f"Deploy to the organization's root (all member accounts) in {region} only: the role is "
                "global.",
            ),
            cli=(
                f"aws cloudformation activate-organizations-access --region={region}",
                'MANAGEMENT_ACCOUNT_ID="$(aws sts get-caller-identity --query=Account --output=text)"',
                "ROOT_ID=\"$(aws organizations list-roots --query='Roots[0].Id' --output=text)\"",
                " ".join(member_role.create_stack_set_command(plan, continuation=None, template=template)),
                " ".join(member_role.create_stack_instances_command(plan, continuation=None)),
            ),
            warning=secret_prefix_note(plan) if plan.secrets_manager else None,
        )
    if plan.role_name == DEFAULT_ROLE_NAME:
        return Step(
            id="member-role",
            title=f"Make sure {DEFAULT_ROLE_NAME} exists in every member account",
            why=(
                "The source document: “By default, all member accounts in an AWS organization have a "
                f"common IAM role named {DEFAULT_ROLE_NAME}.” That is only true for accounts that "
                "AWS Organizations created: accounts that were invited into the organization do not "
                "have it until someone creates it."
            ),
            console=(
                "For each invited member account: sign in to it, open IAM, Roles, Create role.",
                "Trusted entity: AWS account, the management account's id; attach AdministratorAccess "
                f"(as Organizations does) and name it {DEFAULT_ROLE_NAME}.",
                "Or choose a dedicated member role in Options: it needs far fewer rights.",
            ),
            cli=(
                "aws organizations list-accounts --query='Accounts[?Status==`ACTIVE`].[Id,Name]' --output=text",
            ),
            warning=(
                f"{DEFAULT_ROLE_NAME} carries administrator rights in every member account: the "
                "connector's credentials can then do anything there. A dedicated least-privilege member role "
                "is safer."
            ),
        )
    return Step(
        id="member-role",
        title=f"Create the role {plan.role_name} in every member account",
        why=(
            "The source document: “you can create a custom IAM role and apply it to all the member "
            "accounts.” It must trust the management account and allow ACM"
            + (" and Elastic Load Balancing (ElasticLoadBalancingFullAccess)." if plan.elb else ".")
        ),
        console=(
            "Create the role in every member account, trusting the management account, with ACM access; "
            "a service-managed CloudFormation StackSet does this for all accounts at once.",
        ),
        cli=(
            "aws organizations list-accounts --query='Accounts[?Status==`ACTIVE`].[Id,Name]' --output=text",
        ),
    )


def _create_access_key(plan: Plan) -> Step:
    return Step(
        id="create-access-key",
        title=f"Create an access key for {plan.user_name}",
        why=(
            "The connector authenticates with this key. Keep the secret only until it is typed into "
            "the connector (or your PAM vault)."
        ),
        console=(
            f"In the IAM console open the user {plan.user_name}, tab Security credentials.",
            "Choose Create access key, use case Third-party service, and copy both values.",
        ),
        cli=(f"aws iam create-access-key --user-name={_q(plan.user_name)}",),
        warning="The secret access key is shown once. Never paste it into a ticket or chat.",
    )


CONNECTOR_PRODUCT = "DigiCert Trust Lifecycle Manager's AWS connector"


def connector_settings(plan: Plan) -> list[tuple[str, str]]:
    """What to type into DigiCert's connector for this plan, setting by setting.

    The authentication is the plan principal's DigiCert method
    (app/domain/connector_auth.py): the IAM user's access key typed in or as a
    PAM vault reference, nothing for the sensor's default credential chain (an
    EC2 instance profile), or the name of the sensor's AWS profile (Roles
    Anywhere); plus the common role name for organizations. The connector has
    no external-ID field (docs/facts.md).
    """
    settings = [
        ("Scope", "Organization" if plan.is_organization else "Account"),
        *connector_authentication(plan),
    ]
    if plan.is_organization:
        settings.append(("Common IAM role name", plan.role_name))
    settings.append(("Regions", ", ".join(plan.regions)))
    if plan.elb:
        settings.append(
            (
                "Elastic Load Balancing",
                "turn on the connector's ELB automation, so it attaches renewed certificates to the load "
                "balancers' listeners",
            )
        )
    return settings


def handoff_text(plan: Plan) -> str:
    """The hand-off as plain text (`connector-wizard handoff`): the connector's settings, and for Roles
    Anywhere the sensor's AWS config profile; the same as the checklist's last steps."""
    lines = [
        f"In {CONNECTOR_PRODUCT}:",
        *(f"  {label}: {value}" for label, value in connector_settings(plan)),
    ]
    for step in _checklist(plan):
        if step.where != "In the AWS console" and step.id != "configure-connector":
            lines += ["", f"{step.where}: {step.title}", *(f"  {line}" for line in step.console)]
    return "\n".join(lines) + "\n"


def _configure_connector(plan: Plan) -> Step:
    console = [
        "In DigiCert Trust Lifecycle Manager open Integrations, Connectors, and add an AWS unified connector.",
        *(f"{label}: {value}." for label, value in connector_settings(plan)),
    ]
    who = f"the sensor role {plan.sensor_role_name}" if plan.uses_role_principal else plan.user_name
    if plan.is_organization:
        why = (
            f"The connector signs in as {who} and reaches every member account through the role "
            f"{plan.role_name}: the name must match exactly, or it cannot reach them."
        )
    else:
        why = f"The connector signs in as {who} and manages certificates in this account only."
    return Step(
        id="configure-connector",
        title="Enter the settings in the connector"
        if plan.uses_role_principal
        else "Enter the key and settings in the connector",
        why=why,
        console=tuple(console),
        cli=(),
        where=f"In {CONNECTOR_PRODUCT}",
    )
