"""CloudFormation templates: the management account's user, and the member role.

Pure. Templates are built as dicts and written by `yamltext` (every string
double-quoted, so a value can never become YAML structure). ARNs carry the
plan's partition literally, like the JSON documents, so every format holds
the same policy text.

- management-account.yaml: the IAM user, its managed or custom policies and
  inline policy. No access key: a key's secret would end up in the stack's
  outputs or events; the checklist creates it by hand.
- member-role-stackset.yaml: the dedicated member role, for a service-managed
  StackSet with automatic deployment.
- member-role-management-account.yaml: the same role as a single stack in the
  management account, which service-managed StackSets never deploy to.
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-manage-auto-deployment.html
"""

from __future__ import annotations

import textwrap
from typing import Any

from app.domain import member_role
from app.domain.attachments import attachments
from app.domain.checklist import TRUSTED_ACCESS_COMMAND
from app.domain.iam import HOME_REGION, account_management_absent, has_account_management
from app.domain.least_privilege import SECRET_PREFIX_ASSUMED, uses_secret_prefix
from app.domain.permission_catalogue import comment_for_action
from app.domain.plan import Plan, PolicyStyle, Principal
from app.domain.principal import (
    connector_principal_name,
    connector_principal_noun,
    roles_anywhere_profile_name,
    trust_anchor_name,
)

from . import sensor, yamltext

MANAGEMENT_TEMPLATE = "cloudformation/management-account.yaml"
STACKSET_TEMPLATE = "cloudformation/member-role-stackset.yaml"
MANAGEMENT_ROLE_TEMPLATE = "cloudformation/member-role-management-account.yaml"
DEPLOY_SCRIPT = "cloudformation/deploy.sh"

ACCOUNT_ID_PATTERN = "^[0-9]{12}$"
USER_LOGICAL_ID = "ConnectorUser"
SENSOR_ROLE_LOGICAL_ID = "SensorRole"
INSTANCE_PROFILE_LOGICAL_ID = "SensorInstanceProfile"
TRUST_ANCHOR_LOGICAL_ID = "SensorTrustAnchor"
ROLES_ANYWHERE_PROFILE_LOGICAL_ID = "SensorRolesAnywhereProfile"
ROLE_LOGICAL_ID = "MemberRole"
_POLICY_LOGICAL_IDS = {
    "DigiCertTLMOrganizationsRead": "OrganizationsReadPolicy",
    "DigiCertTLMCertificateManager": "CertificateManagerPolicy",
    "DigiCertTLMSecretsManagerPrefix": "SecretsManagerPolicy",
    "DigiCertTLMElasticLoadBalancing": "ElasticLoadBalancingPolicy",
}
COMMENTS = {"Action": comment_for_action}


def management_template(plan: Plan) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    found = attachments(plan)
    refs: list[Any] = list(found.managed_arns)
    for policy in found.custom:
        logical_id = _POLICY_LOGICAL_IDS[policy.name]
        refs.append({"Ref": logical_id})
        resources[logical_id] = {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "ManagedPolicyName": policy.name,
                "Description": policy.purpose,
                "PolicyDocument": policy.document,
            },
        }
    grants: dict[str, Any] = {"ManagedPolicyArns": refs}
    if found.inline:
        grants["Policies"] = [{"PolicyName": p.name, "PolicyDocument": p.document} for p in found.inline]
    resources = {**_principal_resources(plan, grants), **resources}
    scope = "organization's management account" if plan.is_organization else "AWS account"
    least = plan.style is PolicyStyle.LEAST_PRIVILEGE
    policies = "least-privilege custom policies" if least else "AWS managed policies, as documented"
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{sensor.principal_text(plan).template} for the DigiCert Trust Lifecycle Manager AWS "
        f"connector in the {scope} ({policies}). Creates no access key.",
        "Resources": resources,
        "Outputs": _outputs(plan),
    }


# Each output's resource (sensor.principal_outputs): its logical id, and its ARN's Fn::GetAtt attribute.
_OUTPUT_RESOURCES = {
    "user": (USER_LOGICAL_ID, "Arn"),
    "role": (SENSOR_ROLE_LOGICAL_ID, "Arn"),
    "instance_profile": (INSTANCE_PROFILE_LOGICAL_ID, "Arn"),
    "profile": (ROLES_ANYWHERE_PROFILE_LOGICAL_ID, "ProfileArn"),
    "trust_anchor": (TRUST_ANCHOR_LOGICAL_ID, "TrustAnchorArn"),
}


def _outputs(plan: Plan) -> dict[str, Any]:
    outputs = {}
    for output in sensor.principal_outputs(plan):
        logical_id, arn = _OUTPUT_RESOURCES[output.resource]
        value = {"Ref": logical_id} if output.attribute == "name" else {"Fn::GetAtt": [logical_id, arn]}
        outputs[output.name] = {"Description": output.description, "Value": value}
    return outputs


def _principal_resources(plan: Plan, grants: dict[str, Any]) -> dict[str, Any]:
    """The principal the policies go to (`grants`: ManagedPolicyArns, Policies), and what gives it to the sensor."""
    if not plan.uses_role_principal:
        user = {"UserName": plan.user_name, **grants}
        return {USER_LOGICAL_ID: {"Type": "AWS::IAM::User", "Properties": user}}
    resources: dict[str, Any] = {}
    anchor_arn = {"Fn::GetAtt": list(_OUTPUT_RESOURCES["trust_anchor"])}
    if plan.principal is Principal.ROLES_ANYWHERE:
        source_type, source_data = sensor.anchor_source(plan, sensor.cloudformation_name)
        resources[TRUST_ANCHOR_LOGICAL_ID] = {
            "Type": "AWS::RolesAnywhere::TrustAnchor",
            "Properties": {
                "Name": trust_anchor_name(plan),
                "Enabled": True,
                "Source": {"SourceType": source_type, "SourceData": source_data},
            },
        }
    role = {
        "RoleName": plan.sensor_role_name,
        "Description": sensor_role_description(plan),
        "AssumeRolePolicyDocument": sensor.sensor_trust(plan, anchor_arn),
        **grants,
    }
    resources[SENSOR_ROLE_LOGICAL_ID] = {"Type": "AWS::IAM::Role", "Properties": role}
    if plan.principal is Principal.INSTANCE_ROLE:
        # The sensor's EC2 instance gets the role through an instance profile of the same name.
        resources[INSTANCE_PROFILE_LOGICAL_ID] = {
            "Type": "AWS::IAM::InstanceProfile",
            "Properties": {
                "InstanceProfileName": plan.sensor_role_name,
                "Roles": [{"Ref": SENSOR_ROLE_LOGICAL_ID}],
            },
        }
    else:
        resources[ROLES_ANYWHERE_PROFILE_LOGICAL_ID] = {
            "Type": "AWS::RolesAnywhere::Profile",
            "Properties": {
                "Name": roles_anywhere_profile_name(plan),
                "Enabled": True,
                "RoleArns": [{"Fn::GetAtt": [SENSOR_ROLE_LOGICAL_ID, "Arn"]}],
            },
        }
    return resources


def sensor_role_description(plan: Plan) -> str:
    where = "on EC2" if plan.principal is Principal.INSTANCE_ROLE else "through IAM Roles Anywhere"
    return f"The DigiCert TLM connector's sensor {where}: the connector's permissions, no long-lived key."


def member_role_template(plan: Plan, *, management_account: bool = False) -> dict[str, Any]:
    # The trust policy's principal names the connector's user or sensor role in the management
    # account, whose id is a parameter (the plan does not know it).
    trust = member_role.trust_policy(plan, "${ManagementAccountId}")
    principal = trust["Statement"][0]["Principal"]
    # ${AWS::Partition} is the plan's partition wherever the stack runs; cfn-lint
    # (I3042) prefers it to a literal inside Fn::Sub.
    arn = principal["AWS"].replace(f"arn:{plan.partition.value}:", "arn:${AWS::Partition}:", 1)
    principal["AWS"] = {"Fn::Sub": arn}
    where = (
        "the management account (service-managed StackSets do not deploy there)"
        if management_account
        else "every member account (service-managed StackSet with automatic deployment)"
    )
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"Dedicated member role {plan.role_name} for the DigiCert Trust Lifecycle Manager AWS "
        f"connector, in {where}. Only the connector's {connector_principal_noun(plan)} can assume it; it can "
        "only manage ACM certificates" + (" and its temporary secrets." if plan.secrets_manager else "."),
        "Parameters": {
            "ManagementAccountId": {
                "Type": "String",
                "Description": "Id of the organization's management account, where the connector's "
                f"{connector_principal_noun(plan)} is.",
                "AllowedPattern": ACCOUNT_ID_PATTERN,
                "ConstraintDescription": "a 12-digit AWS account id",
            }
        },
        "Resources": {
            ROLE_LOGICAL_ID: {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": plan.role_name,
                    "Description": member_role.role_description(plan),
                    "AssumeRolePolicyDocument": trust,
                    "Policies": [
                        {"PolicyName": policy.name, "PolicyDocument": policy.document}
                        for policy in member_role.permission_policies(plan)
                    ],
                },
            }
        },
        "Outputs": {
            "RoleArn": {
                "Description": "The role the connector assumes.",
                "Value": {"Fn::GetAtt": [ROLE_LOGICAL_ID, "Arn"]},
            }
        },
    }


def prerequisite_lines(plan: Plan) -> list[str]:
    """What must be true before the principal's files work, for a template's or a .tf file's header."""
    lines: list[str] = []
    if plan.is_organization and has_account_management(plan.partition):
        lines += [
            "Prerequisite: trusted access for AWS Account Management (organization with all features),",
            f"once, from the management account: {TRUSTED_ACCESS_COMMAND}",
        ]
    elif plan.is_organization:
        # No such prerequisite where the service does not exist (docs/facts.md#govcloud).
        lines += textwrap.wrap(account_management_absent(plan.partition), 96)
    return lines + secret_prefix_lines(plan)


def secret_prefix_lines(plan: Plan) -> list[str]:
    """The Secrets Manager prefix's caveat for a header (docs/secret-prefix.md), when a policy uses it."""
    if not uses_secret_prefix(plan):
        return []
    return [
        f"Secrets Manager is limited to names starting with {plan.secret_prefix}: {SECRET_PREFIX_ASSUMED}.",
        "Confirm it (DigiCert support, or the connector's CreateSecret events in CloudTrail) before relying on it.",
    ]


def _account_id_command() -> str:
    return 'MANAGEMENT_ACCOUNT_ID="$(aws sts get-caller-identity --query=Account --output=text)"'


def management_header(plan: Plan) -> list[str]:
    region = HOME_REGION[plan.partition]
    return [
        f"{MANAGEMENT_TEMPLATE} - generated by aws-connector-wizard for {connector_principal_name(plan)}.",
        "Deploy in the " + ("management account" if plan.is_organization else "account") + ":",
        f"  aws cloudformation deploy --region={region} --stack-name={member_role.USER_STACK_NAME} \\",
        "    --template-file=management-account.yaml --capabilities=CAPABILITY_NAMED_IAM",
        sensor.principal_text(plan).no_key,
        *(prerequisite_lines(plan)),
    ]


def stackset_header(plan: Plan) -> list[str]:
    region = member_role.stack_set_region(plan)
    return [
        f"{STACKSET_TEMPLATE} - generated by aws-connector-wizard.",
        f"Deploy from the management account, after the {connector_principal_noun(plan)} exists (the trust "
        "policy names it):",
        f"  aws cloudformation activate-organizations-access --region={region}",
        f"  {_account_id_command()}",
        "  ROOT_ID=\"$(aws organizations list-roots --query='Roots[0].Id' --output=text)\"",
        *(f"  {line}" for line in member_role.create_stack_set_command(plan, continuation=" \\")),
        *(f"  {line}" for line in member_role.create_stack_instances_command(plan, continuation=" \\")),
        "One region only: IAM roles are global, a second region would collide on the role name.",
        *secret_prefix_lines(plan),
    ]


def management_role_header(plan: Plan) -> list[str]:
    region = member_role.stack_set_region(plan)
    return [
        f"{MANAGEMENT_ROLE_TEMPLATE} - generated by aws-connector-wizard.",
        "Service-managed StackSets never deploy to the management account. Deploy this stack there only",
        "if the connector should reach the management account through the role as well:",
        f"  {_account_id_command()}",
        f"  aws cloudformation deploy --region={region} --stack-name={member_role.MANAGEMENT_STACK_NAME} \\",
        "    --template-file=member-role-management-account.yaml --capabilities=CAPABILITY_NAMED_IAM \\",
        '    --parameter-overrides="ManagementAccountId=$MANAGEMENT_ACCOUNT_ID"',
        *secret_prefix_lines(plan),
    ]


def render_management(plan: Plan) -> str:
    return yamltext.dump(management_template(plan), header=management_header(plan), comments=COMMENTS)


def render_stackset(plan: Plan) -> str:
    return yamltext.dump(member_role_template(plan), header=stackset_header(plan), comments=COMMENTS)


def render_management_role(plan: Plan) -> str:
    return yamltext.dump(
        member_role_template(plan, management_account=True),
        header=management_role_header(plan),
        comments=COMMENTS,
    )
