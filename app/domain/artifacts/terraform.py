"""Terraform (HCL): the same resources as the CloudFormation templates.

Pure. Policy documents are HCL objects in `locals` and reach IAM through
`jsonencode()`, as the AWS provider's documentation recommends; the member
role is the very CloudFormation template of `cloudformation.py`, deployed by
`aws_cloudformation_stack_set` (service-managed, automatic deployment) and,
for the management account that StackSets skip, an optional
`aws_cloudformation_stack`.
"""

from __future__ import annotations

from app.domain import member_role
from app.domain.attachments import attachments
from app.domain.iam import HOME_REGION
from app.domain.permission_catalogue import comment_for_action
from app.domain.plan import Plan, Principal
from app.domain.principal import roles_anywhere_profile_name, trust_anchor_name

from . import cloudformation, sensor
from .hcltext import Block, Comment, Expr, render

MAIN_FILE = "terraform/main.tf"
MEMBER_ROLE_FILE = "terraform/member-role.tf"
COMMENTS = {"Action": comment_for_action}

# Terraform resource names for the custom policies (locals share the name).
POLICY_RESOURCE_NAMES = {
    "DigiCertTLMOrganizationsRead": "organizations_read",
    "DigiCertTLMCertificateManager": "certificate_manager",
    "DigiCertTLMSecretsManagerPrefix": "secrets_manager_prefix",
    "DigiCertTLMElasticLoadBalancing": "elastic_load_balancing",
}
MANAGED_RESOURCE_NAMES = {
    "AWSOrganizationsReadOnlyAccess": "organizations_read_only_access",
    "AWSCertificateManagerFullAccess": "certificate_manager_full_access",
    "SecretsManagerReadWrite": "secrets_manager_read_write",
    "ElasticLoadBalancingFullAccess": "elastic_load_balancing_full_access",
}
USER = Expr("aws_iam_user.connector.name")
ROLE = Expr("aws_iam_role.sensor.name")


def principal_resource(plan: Plan) -> Expr:
    """The Terraform address of the principal the policies go to (for depends_on)."""
    return Expr("aws_iam_role.sensor" if plan.uses_role_principal else "aws_iam_user.connector")


def _principal_blocks(plan: Plan) -> tuple[list[Block | Comment], list[tuple[str, object]]]:
    """The principal's resources and outputs, and the locals they use (the sensor role's trust)."""
    if not plan.uses_role_principal:
        return [Block("resource", ("aws_iam_user", "connector"), [("name", plan.user_name)])], []
    items: list[Block | Comment] = []
    anchor_arn = Expr("aws_rolesanywhere_trust_anchor.sensor.arn")
    if plan.principal is Principal.ROLES_ANYWHERE:
        source_type, source_data = sensor.anchor_source(plan, sensor.terraform_name)
        items.append(Comment("The organization's CA, which issues the sensor's certificate."))
        items.append(
            Block(
                "resource",
                ("aws_rolesanywhere_trust_anchor", "sensor"),
                [
                    ("name", trust_anchor_name(plan)),
                    ("enabled", True),
                    Block(
                        "source",
                        body=[
                            ("source_type", source_type),
                            Block("source_data", body=list(source_data.items())),
                        ],
                    ),
                ],
            )
        )
    items.append(Comment(cloudformation.sensor_role_description(plan)))
    items.append(
        Block(
            "resource",
            ("aws_iam_role", "sensor"),
            [
                ("name", plan.sensor_role_name),
                ("description", cloudformation.sensor_role_description(plan)),
                ("assume_role_policy", Expr("jsonencode(local.sensor_role_trust_policy)")),
            ],
        )
    )
    if plan.principal is Principal.INSTANCE_ROLE:
        items.append(Comment("Give the sensor's EC2 instance this instance profile."))
        items.append(
            Block(
                "resource",
                ("aws_iam_instance_profile", "sensor"),
                [("name", plan.sensor_role_name), ("role", ROLE)],
            )
        )
    else:
        items.append(
            Block(
                "resource",
                ("aws_rolesanywhere_profile", "sensor"),
                [
                    ("name", roles_anywhere_profile_name(plan)),
                    ("enabled", True),
                    ("role_arns", [Expr("aws_iam_role.sensor.arn")]),
                ],
            )
        )
    return items, [("sensor_role_trust_policy", sensor.sensor_trust(plan, anchor_arn))]


# Each output's resource (sensor.principal_outputs) as a Terraform address.
_OUTPUT_RESOURCES = {
    "user": "aws_iam_user.connector",
    "role": "aws_iam_role.sensor",
    "instance_profile": "aws_iam_instance_profile.sensor",
    "profile": "aws_rolesanywhere_profile.sensor",
    "trust_anchor": "aws_rolesanywhere_trust_anchor.sensor",
}


def _outputs(plan: Plan) -> list[Block]:
    """The same outputs as the CloudFormation stack's, named in snake case."""
    return [
        Block(
            "output",
            (sensor.terraform_name(output.name),),
            [("value", Expr(f"{_OUTPUT_RESOURCES[output.resource]}.{output.attribute}"))],
        )
        for output in sensor.principal_outputs(plan)
    ]


def main_tf(plan: Plan) -> str:
    role = plan.uses_role_principal
    # The same resource names on a user and on a role: aws_iam_user_policy_attachment.X or
    # aws_iam_role_policy_attachment.X.
    kind, attach_to = ("role", ROLE) if role else ("user", USER)
    principal_items, principal_locals = _principal_blocks(plan)
    what = (
        "The connector's IAM user in the "
        + ("organization's management account" if plan.is_organization else "AWS account")
        + ", with its policies. No access key: its secret would land in the Terraform state."
    )
    if role:
        what = (
            "The sensor's IAM role in the "
            + ("organization's management account" if plan.is_organization else "AWS account")
            + ", with the connector's policies. "
            + sensor.principal_text(plan).no_key
        )
    items: list[Block | Comment] = [
        Comment(f"{MAIN_FILE} - generated by aws-connector-wizard."),
        Comment(what),
        *(Comment(line) for line in cloudformation.prerequisite_lines(plan)),
        Block(
            "terraform",
            body=[
                ("required_version", ">= 1.5.0"),
                Block(
                    "required_providers",
                    body=[("aws", {"source": "hashicorp/aws", "version": ">= 6.0"})],
                ),
            ],
        ),
        Comment("IAM and Organizations are global; the partition's home region serves them."),
        provider := Block("provider", ("aws",), [("region", HOME_REGION[plan.partition])]),
        *principal_items,
    ]
    locals_body: list[tuple[str, object] | Block | Comment] = list(principal_locals)
    found = attachments(plan)
    if found.managed:
        for managed in found.managed:
            items.append(Comment(f"AWS managed policy {managed.name}: {managed.purpose}"))
            items.append(
                Block(
                    "resource",
                    (f"aws_iam_{kind}_policy_attachment", MANAGED_RESOURCE_NAMES[managed.name]),
                    [(kind, attach_to), ("policy_arn", managed.arn)],
                )
            )
    else:
        for policy in found.custom:
            name = POLICY_RESOURCE_NAMES[policy.name]
            locals_body.append((f"{name}_policy", policy.document))
            items.append(Comment(policy.purpose))
            items.append(
                Block(
                    "resource",
                    ("aws_iam_policy", name),
                    [
                        ("name", policy.name),
                        ("description", policy.purpose),
                        ("policy", Expr(f"jsonencode(local.{name}_policy)")),
                    ],
                )
            )
            items.append(
                Block(
                    "resource",
                    (f"aws_iam_{kind}_policy_attachment", name),
                    [(kind, attach_to), ("policy_arn", Expr(f"aws_iam_policy.{name}.arn"))],
                )
            )
    for inline in found.inline:
        locals_body.append(("inline_policy", inline.document))
        items.append(
            Comment(
                'The inline policy, corrected: GetAccessKeyInfo needs Resource "*"; GetSessionToken needs no permission.'
                if not role
                else "The inline policy: sts:AssumeRole on the common role (a role needs nothing else from STS)."
            )
        )
        items.append(
            Block(
                "resource",
                (f"aws_iam_{kind}_policy", "common_role_access"),
                [
                    ("name", inline.name),
                    (kind, attach_to),
                    ("policy", Expr("jsonencode(local.inline_policy)")),
                ],
            )
        )
    items += _outputs(plan)
    if locals_body:
        # The documents first, so a reader sees what is granted before where.
        items.insert(items.index(provider) + 1, Block("locals", body=locals_body))
    return render(items, COMMENTS)


def member_role_tf(plan: Plan) -> str:
    region = member_role.stack_set_region(plan)
    account_id = Expr("data.aws_caller_identity.current.account_id")
    items: list[Block | Comment] = [
        Comment(f"{MEMBER_ROLE_FILE} - generated by aws-connector-wizard."),
        Comment(
            f"The dedicated member role {plan.role_name}: a service-managed StackSet puts it in every member "
            "account, and in accounts that join later."
        ),
        Comment("Needs trusted access for StackSets once: aws cloudformation activate-organizations-access"),
        *(Comment(line) for line in cloudformation.secret_prefix_lines(plan)),
        Block(
            "variable",
            ("create_management_account_role",),
            [
                ("description", "Also create the role in the management account, which StackSets skip."),
                ("type", Expr("bool")),
                ("default", False),
            ],
        ),
        Block("data", ("aws_caller_identity", "current")),
        Block("data", ("aws_organizations_organization", "current")),
        Comment("The same template as cloudformation/member-role-stackset.yaml."),
        Block("locals", body=[("member_role_template", cloudformation.member_role_template(plan))]),
        Block(
            "resource",
            ("aws_cloudformation_stack_set", "member_role"),
            [
                ("name", member_role.STACK_SET_NAME),
                ("description", f"Dedicated member role {plan.role_name} for the DigiCert TLM connector."),
                ("permission_model", "SERVICE_MANAGED"),
                ("capabilities", ["CAPABILITY_NAMED_IAM"]),
                ("parameters", {"ManagementAccountId": account_id}),
                ("template_body", Expr("jsonencode(local.member_role_template)")),
                Block(
                    "auto_deployment",
                    body=[("enabled", True), ("retain_stacks_on_account_removal", False)],
                ),
                Comment("AWS sets the administration role of a service-managed StackSet itself."),
                Block("lifecycle", body=[("ignore_changes", [Expr("administration_role_arn")])]),
                ("depends_on", [principal_resource(plan)]),
            ],
        ),
        Comment("IAM is global: one region only, or the second stack collides on the role name."),
        Block(
            "resource",
            ("aws_cloudformation_stack_set_instance", "member_role"),
            [
                ("stack_set_name", Expr("aws_cloudformation_stack_set.member_role.name")),
                ("stack_set_instance_region", region),
                Block(
                    "deployment_targets",
                    body=[
                        (
                            "organizational_unit_ids",
                            [Expr("data.aws_organizations_organization.current.roots[0].id")],
                        )
                    ],
                ),
                Block(
                    "operation_preferences",
                    body=[("max_concurrent_percentage", 100), ("failure_tolerance_percentage", 10)],
                ),
            ],
        ),
        Comment("The management account: a single stack of the same template, if wanted."),
        Block(
            "resource",
            ("aws_cloudformation_stack", "member_role_management_account"),
            [
                ("count", Expr("var.create_management_account_role ? 1 : 0")),
                ("name", member_role.MANAGEMENT_STACK_NAME),
                ("capabilities", ["CAPABILITY_NAMED_IAM"]),
                ("parameters", {"ManagementAccountId": account_id}),
                ("template_body", Expr("jsonencode(local.member_role_template)")),
                ("depends_on", [principal_resource(plan)]),
            ],
        ),
        Block("output", ("member_role_name",), [("value", plan.role_name)]),
    ]
    return render(items, COMMENTS)
