"""One plan, one truth (issue 11, "Proof"): every surface shows the same permission set.

For generated plans (both styles, both scopes, every partition, Secrets
Manager on and off, member role on and off) each surface is read back on its
own, the way its reader reads it, never through the function that built it:

- the Policies page: HTML through the app (TestClient), the attachments list and its JSON blocks;
- the report page (and print view) and the options preview: their attachments lists, with the
  downloads they name (the report's sha256 column checked);
- report.json, and report.md with the files its sha256 column names;
- `connector-wizard policy --json`, through the CLI's entry point (`app.cli.main`);
- the API's `/api/v1/plan/policies` (its `permissions` table's `attached` flags, and `attached`);
- the bundle.zip download, following its checklist.md's CLI commands;
- setup.sh (its commands and here-documents), CloudFormation (YAML) and Terraform (HCL).

Each gives a `Permissions`: the AWS managed ARNs, the custom and inline
policies of the user (name and document), the member role's trust policy and
its policies. They must all be equal.

To extend it when the plan gets an option: give the new `Plan` field its
values in `FIELD_VALUES` (a test fails until every field has some), teach
`cli_args` and `api_params` its option, and when a surface is added, add its reader to
`SURFACES`.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import json
import re
import shlex
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app.cli import main
from app.domain.iam import REGIONS, Partition
from app.domain.plan import (
    DEFAULT_ROLE_NAME,
    DEFAULT_SECRET_PREFIX,
    DEFAULT_SENSOR_ROLE_NAME,
    DEFAULT_USER_NAME,
    Plan,
    PolicyStyle,
    Principal,
    Scope,
)
from app.main import create_app
from tests.conftest import WizardClient, make_settings
from tests.domain.artifact_matrix import (
    SENSOR_CA_PEM,
    hcl_locals,
    hcl_resources,
    heredocs,
    load_yaml,
    parse_hcl,
)
from tests.pagehtml import attached_items, code_blocks, wizard_for

# --- plans, generated from the Plan's fields ---------------------------------------

# Field -> its values, given the fields drawn before it (regions follow the partition).
FIELD_VALUES: dict[str, Callable[[dict[str, Any]], st.SearchStrategy[Any]]] = {
    "scope": lambda _: st.sampled_from(list(Scope)),
    "style": lambda _: st.sampled_from(list(PolicyStyle)),
    "partition": lambda _: st.sampled_from(list(Partition)),
    "regions": lambda drawn: st.lists(
        st.sampled_from(REGIONS[drawn["partition"]]), min_size=1, max_size=3, unique=True
    ).map(tuple),
    "secrets_manager": lambda _: st.booleans(),
    "secret_prefix": lambda drawn: (
        st.sampled_from([DEFAULT_SECRET_PREFIX, "certs/tlm_keys."])
        if drawn["secrets_manager"]
        else st.just(DEFAULT_SECRET_PREFIX)
    ),
    "dedicated_member_role": lambda drawn: (
        st.booleans() if drawn["scope"] is Scope.ORGANIZATION else st.just(False)
    ),
    "role_name": lambda drawn: st.sampled_from(
        ["TLMMemberRole", "tlm.member@x"]
        if drawn["dedicated_member_role"]
        else [DEFAULT_ROLE_NAME, "TLMMemberRole"]
    ),
    "principal": lambda _: st.sampled_from(list(Principal)),
    "user_name": lambda drawn: (
        st.sampled_from(["digicert-tlm-connector", "tlm+connector=1,x.y@z_w-v"])
        if drawn["principal"] is Principal.IAM_USER
        else st.just(DEFAULT_USER_NAME)
    ),
    "sensor_role_name": lambda drawn: (
        st.just(DEFAULT_SENSOR_ROLE_NAME)
        if drawn["principal"] is Principal.IAM_USER
        else st.sampled_from([DEFAULT_SENSOR_ROLE_NAME, "tlm.sensor+ec2@x"])
    ),
    # Roles Anywhere: the CA certificate or a Private CA of the plan's partition (exactly one).
    "trust_anchor_certificate": lambda drawn: (
        st.sampled_from(["", SENSOR_CA_PEM])
        if drawn["principal"] is Principal.ROLES_ANYWHERE
        else st.just("")
    ),
    "trust_anchor_pca_arn": lambda drawn: (
        st.just(
            f"arn:{drawn['partition'].value}:acm-pca:{REGIONS[drawn['partition']][0]}:111122223333:"
            "certificate-authority/11111111-2222-3333-4444-555555555555"
        )
        if drawn["principal"] is Principal.ROLES_ANYWHERE and not drawn["trust_anchor_certificate"]
        else st.just("")
    ),
    "certificate_subject_cn": lambda drawn: (
        st.just("tlm-sensor.example.com") if drawn["principal"] is Principal.ROLES_ANYWHERE else st.just("")
    ),
    "elb": lambda _: st.booleans(),
}


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    drawn: dict[str, Any] = {}
    for name, values in FIELD_VALUES.items():
        drawn[name] = draw(values(drawn))
    if drawn["scope"] is Scope.ACCOUNT:  # options an account plan does not use
        drawn.update(dedicated_member_role=False, role_name=DEFAULT_ROLE_NAME)
    try:
        return Plan.model_validate(drawn)
    except ValidationError:
        assume(False)
        raise


def cli_args(plan: Plan) -> list[str]:
    """The plan as `connector-wizard policy` options, only those the plan uses."""
    args = [
        "--scope",
        plan.scope.value,
        "--principal",
        plan.principal.value,
        "--partition",
        plan.partition.value,
    ]
    if plan.principal is Principal.IAM_USER:
        args += ["--user-name", plan.user_name]
    else:
        args += ["--sensor-role-name", plan.sensor_role_name]
    if plan.trust_anchor_certificate:
        assert plan.trust_anchor_certificate.strip() == SENSOR_CA_PEM.strip()  # the only one the plans use
        args += ["--trust-anchor-certificate", str(SENSOR_CA_FILE)]
    if plan.trust_anchor_pca_arn:
        args += ["--trust-anchor-pca-arn", plan.trust_anchor_pca_arn]
    if plan.certificate_subject_cn:
        args += ["--certificate-subject-cn", plan.certificate_subject_cn]
    args += ["--regions", ",".join(plan.regions), "--style", plan.style.value]
    if plan.elb:
        args.append("--elb")
    if not plan.secrets_manager:
        args.append("--no-secrets-manager")
    elif plan.secret_prefix != DEFAULT_SECRET_PREFIX:
        args += ["--secret-prefix", plan.secret_prefix]
    if plan.is_organization and plan.dedicated_member_role:
        args += ["--member-role", plan.role_name]
    elif plan.is_organization and plan.role_name != DEFAULT_ROLE_NAME:
        args += ["--role-name", plan.role_name]
    return args


def api_params(plan: Plan) -> dict[str, str | list[str]]:
    """The plan as the API's query parameters, only those the plan uses."""
    params: dict[str, str | list[str]] = {
        "scope": plan.scope.value,
        "principal": plan.principal.value,
        "partition": plan.partition.value,
        "regions": list(plan.regions),
        "style": plan.style.value,
        "secrets_manager": "true" if plan.secrets_manager else "false",
    }
    if plan.principal is Principal.IAM_USER:
        params["user_name"] = plan.user_name
    else:
        params["sensor_role_name"] = plan.sensor_role_name
    for name in ("trust_anchor_certificate", "trust_anchor_pca_arn", "certificate_subject_cn"):
        if getattr(plan, name):
            params[name] = getattr(plan, name)
    if plan.elb:
        params["elb"] = "true"
    if plan.secrets_manager and plan.secret_prefix != DEFAULT_SECRET_PREFIX:
        params["secret_prefix"] = plan.secret_prefix
    if plan.is_organization and (plan.dedicated_member_role or plan.role_name != DEFAULT_ROLE_NAME):
        params["role_name"] = plan.role_name
    if plan.is_organization and plan.dedicated_member_role:
        params["dedicated_member_role"] = "true"
    return params


def test_every_plan_field_has_generated_values() -> None:
    assert set(FIELD_VALUES) == set(Plan.model_fields)


SENSOR_CA_FILE = Path(__file__).resolve().parent / "fixtures" / "sensor-ca.pem"


# --- what a surface says the plan grants ----------------------------------------------


def _doc(document: Any) -> str:
    """A policy document, compared by content (key order is the serializer's concern, not this test's)."""
    return json.dumps(document, sort_keys=True)


@dataclass
class Permissions:
    managed: set[str] = field(default_factory=set)  # AWS managed policy ARNs on the user
    custom: set[tuple[str, str]] = field(
        default_factory=set
    )  # (name, document) customer managed, on the user
    inline: set[tuple[str, str]] = field(default_factory=set)  # (name, document) inline, on the user
    trust: str | None = None  # the member role's trust policy
    role: set[tuple[str, str]] = field(default_factory=set)  # (name, document) the member role's policies


@dataclass(frozen=True)
class Surfaces:
    """Where a plan's surfaces are read from: a wizard holding it, in a running app."""

    plan: Plan
    client: WizardClient
    token: str

    def get(self, path: str) -> Any:
        response = self.client.get(f"/w/{self.token}/{path}")
        assert response.status_code == 200, (path, response.status_code)
        return response


# The management account's id in a trust policy, as the JSON file writes it
# (CloudFormation and Terraform take it as a parameter).
PLACEHOLDER = "MANAGEMENT_ACCOUNT_ID"


def _role_from_template(template: dict[str, Any], found: Permissions, partition: str) -> None:
    props = template["Resources"]["MemberRole"]["Properties"]
    trust = json.loads(json.dumps(props["AssumeRolePolicyDocument"]))
    for statement in trust["Statement"]:
        principal = statement["Principal"]
        if isinstance(principal.get("AWS"), dict):
            principal["AWS"] = (
                principal["AWS"]["Fn::Sub"]
                .replace("${AWS::Partition}", partition)
                .replace("${ManagementAccountId}", PLACEHOLDER)
            )
    found.trust = _doc(trust)
    found.role = {(p["PolicyName"], _doc(p["PolicyDocument"])) for p in props["Policies"]}


def from_policies_page(s: Surfaces) -> Permissions:
    html = s.get("policies").text
    blocks = code_blocks(html)
    found = Permissions()

    def document(file_name: str) -> str:
        texts = set(blocks[file_name])
        assert len(texts) == 1, file_name  # a file shown twice shows the same bytes
        return _doc(json.loads(texts.pop()))

    for item in attached_items(html):
        kind = item["data-attached"]
        if kind == "managed":
            found.managed.add(item["data-arn"])
        elif kind == "trust":
            found.trust = document(item["data-file"])
        else:
            getattr(found, kind).add((item["data-name"], document(item["data-file"])))
    return found


def _from_attached_list(s: Surfaces, html: str, digests: dict[str, str] | None) -> Permissions:
    """A page's attachments list; each file's document is the download (its sha256 checked when listed)."""
    found = Permissions()

    def document(file_name: str) -> str:
        data = s.get(f"download/{file_name}").content
        if digests is not None:
            assert hashlib.sha256(data).hexdigest() == digests[file_name], file_name
        return _doc(json.loads(data))

    for item in attached_items(html):
        kind = item["data-attached"]
        if kind == "managed":
            found.managed.add(item["data-arn"])
        elif kind == "trust":
            found.trust = document(item["data-file"])
        else:
            getattr(found, kind).add((item["data-name"], document(item["data-file"])))
    return found


def from_report_page(s: Surfaces) -> Permissions:
    html = s.get("report").text
    digests = dict(re.findall(r'<code>([^<]+)</code>.*?<code class="digest">([0-9a-f]{64})</code>', html))
    return _from_attached_list(s, html, digests)


def from_options_preview(s: Surfaces) -> Permissions:
    html = s.client.get(f"/w/{s.token}/options/preview", headers={"HX-Request": "true"}).text
    return _from_attached_list(s, html, None)


def _from_policy_json(out: dict[str, Any], managed: list[str]) -> Permissions:
    # The principal's policies: "user" for an iam-user plan, "sensor_role" for a keyless one.
    user, role = out["user"] or out["sensor_role"], out["member_role"]
    return Permissions(
        managed=set(managed),
        custom={(p["name"], _doc(p["document"])) for p in user["custom_policies"]},
        inline={(p["name"], _doc(p["document"])) for p in user["inline_policies"]},
        trust=_doc(role["trust_policy"]["document"]) if role else None,
        role={(p["name"], _doc(p["document"])) for p in role["permission_policies"]} if role else set(),
    )


def from_report_json(s: Surfaces) -> Permissions:
    body = s.get("report.json").json()
    return _from_policy_json(body["permissions"], body["managed_policies"])


def from_policy_json_cli(s: Surfaces) -> Permissions:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["policy", *cli_args(s.plan), "--json"]) == 0
    printed = json.loads(out.getvalue())
    assert printed["plan"] == s.plan.to_json_dict()  # the options said what the plan says
    return _from_policy_json(
        printed, [m["arn"] for m in (printed["user"] or printed["sensor_role"])["managed_policies"]]
    )


def from_api(s: Surfaces) -> Permissions:
    response = s.client.get("/api/v1/plan/policies", params=api_params(s.plan))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["plan"] == s.plan.to_json_dict()  # the parameters said what the plan says
    attached = [row["arn"] for row in body["permissions"] if row["attached"]]
    return _from_policy_json(body["attached"], attached)


_MD_CODE = re.compile(r"`([^`]+)`")


def from_report_md(s: Surfaces) -> Permissions:
    text = s.get("report.md").text
    section = text[text.index("## Policies attached") : text.index("## Artifacts")]
    digests = dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|", text, re.M))

    def document(file_name: str) -> str:
        data = s.get(f"download/{file_name}").content  # the file the report vouches for
        assert hashlib.sha256(data).hexdigest() == digests[file_name], file_name
        return _doc(json.loads(data))

    found = Permissions()
    for line in section.splitlines():
        values = _MD_CODE.findall(line)
        if line.startswith("- AWS managed policy "):
            found.managed.add(values[0])
        elif line.startswith("- Custom policy "):
            found.custom.add((values[0], document(values[1])))
        elif line.startswith("- Inline policy ") and "on the member role" in line:
            found.role.add((values[0], document(values[1])))
        elif line.startswith("- Inline policy "):
            found.inline.add((values[0], document(values[1])))
        elif line.startswith("- Member role "):
            found.trust = document(values[1])
        else:
            assert not line.startswith("- "), line
    return found


def _option(words: list[str], name: str) -> str:
    """The value of `name`: the scripts and the checklist write `--name=value` (docs/setup-script.md)."""
    for index, word in enumerate(words):
        if word == name:
            return words[index + 1]
        if word.startswith(name + "="):
            return word.removeprefix(name + "=")
    raise ValueError(f"{name} is not in the command")


def _has(words: list[str], name: str) -> bool:
    return any(word == name or word.startswith(name + "=") for word in words)


def from_bundle(s: Surfaces) -> Permissions:
    """The zip a user downloads, read as they would follow it: checklist.md's CLI commands."""
    archive = zipfile.ZipFile(io.BytesIO(s.get("bundle.zip").content))
    folder = archive.namelist()[0].split("/", 1)[0]

    def read(path: str) -> bytes:
        return archive.read(f"{folder}/{path.removeprefix('file://')}")

    checklist = read("checklist.md").decode()
    kind = _kind(s.plan)
    commands = re.findall(r"```bash\n(.*?)```", checklist, re.S)
    found = Permissions()
    created: set[tuple[str, str]] = set()
    attached_custom: set[str] = set()  # names of customer managed policies attached to the principal
    for line in "".join(commands).splitlines():
        words = shlex.split(line)
        if words[:3] == ["aws", "iam", f"attach-{kind}-policy"]:
            arn = _option(words, "--policy-arn")
            if ":iam::aws:policy/" in arn:  # the custom ones are attached by their account's ARN
                found.managed.add(arn)
            else:
                attached_custom.add(arn.rsplit("/", 1)[-1])
        elif words[:3] == ["aws", "iam", "create-policy"]:
            document = json.loads(read(_option(words, "--policy-document")))
            created.add((_option(words, "--policy-name"), _doc(document)))
        elif words[:3] == ["aws", "iam", f"put-{kind}-policy"]:
            document = json.loads(read(_option(words, "--policy-document")))
            found.inline.add((_option(words, "--policy-name"), _doc(document)))
        elif words[:3] == ["aws", "cloudformation", "create-stack-set"]:
            template = load_yaml(read(_option(words, "--template-body")).decode())
            _role_from_template(template, found, s.plan.partition.value)
    # A customer managed policy counts when it is created and attached to the plan's principal.
    found.custom = {(name, document) for name, document in created if name in attached_custom}
    return found


def _kind(plan: Plan) -> str:
    """IAM's word for the plan's principal in commands and resource types: user or role."""
    return "role" if plan.uses_role_principal else "user"


def _principal_name(plan: Plan) -> str:
    return plan.sensor_role_name if plan.uses_role_principal else plan.user_name


def _logical_lines(script: str) -> list[str]:
    return script.replace("\\\n", " ").splitlines()


def from_setup_script(s: Surfaces) -> Permissions:
    script = s.get("download/setup.sh").text
    documents = heredocs(script)

    def document(word: str) -> str:
        function = word.removeprefix("$(").removesuffix(")")
        return _doc(json.loads(documents[function]))

    found = Permissions()
    kind = _kind(s.plan)
    for line in _logical_lines(script):
        if line.lstrip().startswith("#") or not line.strip():
            continue
        words = shlex.split(line)
        if f"attach-{kind}-policy" in words and _has(words, "--policy-arn"):
            arn = _option(words, "--policy-arn")
            if arn.startswith("arn:"):
                found.managed.add(arn)
        elif words[0] == "attach_policy" and words[1].startswith("arn:"):
            found.managed.add(words[1])
        elif words[0] == "ensure_policy":
            found.custom.add((words[1], document(words[2])))
        elif f"put-{kind}-policy" in words:
            found.inline.add((_option(words, "--policy-name"), document(_option(words, "--policy-document"))))
        elif "create-stack-set" in words:
            body = _option(words, "--template-body").removeprefix("$(").removesuffix(")")
            _role_from_template(load_yaml(documents[body]), found, s.plan.partition.value)
    return found


def from_cloudformation(s: Surfaces) -> Permissions:
    template = load_yaml(s.get("download/cloudformation/management-account.yaml").text)
    resources = template["Resources"]
    # The plan's principal, and only it, carries the policies.
    principal_type = "AWS::IAM::Role" if s.plan.uses_role_principal else "AWS::IAM::User"
    user = next(r["Properties"] for r in resources.values() if r["Type"] == principal_type)
    assert user.get("RoleName", user.get("UserName")) == _principal_name(s.plan)
    found = Permissions()
    for arn in user.get("ManagedPolicyArns", []):
        if isinstance(arn, str):
            found.managed.add(arn)
        else:
            policy = resources[arn["Ref"]]["Properties"]
            found.custom.add((policy["ManagedPolicyName"], _doc(policy["PolicyDocument"])))
    found.inline = {(p["PolicyName"], _doc(p["PolicyDocument"])) for p in user.get("Policies", [])}
    stackset = s.client.get(f"/w/{s.token}/download/cloudformation/member-role-stackset.yaml")
    if stackset.status_code == 200:
        _role_from_template(load_yaml(stackset.text), found, s.plan.partition.value)
    return found


def from_terraform(s: Surfaces) -> Permissions:
    main_tf = parse_hcl(s.get("download/terraform/main.tf").text)
    local = hcl_locals(main_tf)

    def encoded(expression: str) -> str:
        name = re.fullmatch(r"\$\{jsonencode\(local\.(\w+)\)\}", expression)
        assert name, expression
        return _doc(local[name.group(1)])

    policies = hcl_resources(main_tf, "aws_iam_policy")
    found = Permissions()
    kind = _kind(s.plan)
    for attachment in hcl_resources(main_tf, f"aws_iam_{kind}_policy_attachment").values():
        arn = attachment["policy_arn"]
        ref = re.fullmatch(r"\$\{aws_iam_policy\.(\w+)\.arn\}", arn)
        if ref:
            policy = policies[ref.group(1)]
            found.custom.add((policy["name"], encoded(policy["policy"])))
        else:
            found.managed.add(arn)
    found.inline = {
        (p["name"], encoded(p["policy"])) for p in hcl_resources(main_tf, f"aws_iam_{kind}_policy").values()
    }
    role = s.client.get(f"/w/{s.token}/download/terraform/member-role.tf")
    if role.status_code == 200:
        template = hcl_locals(parse_hcl(role.text))["member_role_template"]
        _role_from_template(template, found, s.plan.partition.value)
    return found


# Every surface that shows what a plan grants. Add a reader here with a new surface.
SURFACES: dict[str, Callable[[Surfaces], Permissions]] = {
    "policies page": from_policies_page,
    "report page": from_report_page,
    "options preview": from_options_preview,
    "report.json": from_report_json,
    "report.md": from_report_md,
    "policy --json": from_policy_json_cli,
    "API /plan/policies": from_api,
    "bundle.zip": from_bundle,
    "setup.sh": from_setup_script,
    "cloudformation": from_cloudformation,
    "terraform": from_terraform,
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[WizardClient]:
    """The app without the share-link rate limit: each plan is read through a dozen pages and downloads."""
    settings = make_settings(tmp_path, link_rate_per_minute=0)
    with WizardClient(create_app(settings), base_url="http://testserver") as test_client:
        yield test_client


@settings(
    max_examples=25,
    derandomize=True,  # the same plans every run; a failure prints the plan
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    print_blob=True,
)
@given(plan=plans())
# Beyond the generated ones, the corners every run must see: member role in each style and partition,
# with ELB listeners (its policy on the user and on the role).
@example(
    plan=Plan(
        style=PolicyStyle.LEAST_PRIVILEGE,
        dedicated_member_role=True,
        role_name="TLMMemberRole",
        partition=Partition.AWS_US_GOV,
        regions=("us-gov-west-1",),
        secret_prefix="certs/tlm_keys.",
        elb=True,
    )
)
@example(
    plan=Plan(
        dedicated_member_role=True,
        role_name="tlm.member@x",
        secrets_manager=False,
        partition=Partition.AWS_CN,
        regions=("cn-north-1", "cn-northwest-1"),
        elb=True,
    )
)
# The keyless corners: the sensor role on EC2 with a member role trusting it, and Roles Anywhere.
@example(
    plan=Plan(
        principal=Principal.INSTANCE_ROLE,
        style=PolicyStyle.LEAST_PRIVILEGE,
        dedicated_member_role=True,
        role_name="TLMMemberRole",
        elb=True,
    )
)
@example(
    plan=Plan(
        scope=Scope.ACCOUNT,
        principal=Principal.ROLES_ANYWHERE,
        sensor_role_name="tlm.sensor+ec2@x",
        trust_anchor_certificate=SENSOR_CA_PEM,
        certificate_subject_cn="tlm-sensor.example.com",
    )
)
def test_every_surface_shows_the_same_permissions(client: WizardClient, plan: Plan) -> None:
    for name in (
        "scope",
        "principal",
        "style",
        "partition",
        "secrets_manager",
        "dedicated_member_role",
        "elb",
    ):
        event(f"{name}={getattr(plan, name)}")  # pytest --hypothesis-show-statistics shows the spread
    s = Surfaces(plan, client, wizard_for(client, plan))
    seen = {name: read(s) for name, read in SURFACES.items()}
    first_name, first = next(iter(seen.items()))
    # Never empty: every plan attaches something (ACM at least), so equality cannot hold vacuously.
    assert first.managed or first.custom, plan
    pending = PENDING_FOR_ROLE_PLANS if plan.uses_role_principal else {}
    for name, found in seen.items():
        if name in pending:
            # Strict: once the surface follows the principal, this fails until the entry goes.
            assert found != first, f"{name} follows the principal now: remove it from PENDING_FOR_ROLE_PLANS"
            continue
        assert found == first, f"{name} differs from {first_name} for {plan!r}"


# Surfaces that do not follow a keyless principal yet, and why (each must be removed when it does).
PENDING_FOR_ROLE_PLANS: dict[str, str] = {}


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_each_reader_sees_a_change(client: WizardClient, surface: str) -> None:
    """The readers can fail: each tells a least-privilege plan from an as-documented one."""
    read = SURFACES[surface]
    documented, least = Plan(), Plan(style=PolicyStyle.LEAST_PRIVILEGE)
    a = read(Surfaces(documented, client, wizard_for(client, documented)))
    b = read(Surfaces(least, client, wizard_for(client, least)))
    assert a.managed and not a.custom and b.custom and not b.managed
    assert a.inline == b.inline and len(a.inline) == 1


# --- the Secrets Manager prefix's caveat names the plan's own connector --------------------

# Every surface that shows least_privilege.secret_prefix_note, read the way its reader reads it
# (HTML unescaped, Markdown and the CLI's output as text). Add a reader here with a new surface.
CAVEAT_SURFACES: dict[str, Callable[[Surfaces], str]] = {
    "options page": lambda s: html.unescape(s.get("options").text),
    "policies page": lambda s: html.unescape(s.get("policies").text),
    "report page": lambda s: html.unescape(s.get("report").text),
    "checklist page": lambda s: html.unescape(s.get("checklist").text),
    "report.md": lambda s: s.get("report.md").text,
    "bundle.zip checklist.md": lambda s: _zipped_checklist(s.get("bundle.zip").content),
    "policy --format markdown": lambda s: _cli_output(["policy", *cli_args(s.plan), "--format", "markdown"]),
}


def _zipped_checklist(content: bytes) -> str:
    archive = zipfile.ZipFile(io.BytesIO(content))
    (name,) = (n for n in archive.namelist() if n.endswith("/checklist.md"))  # in the bundle's folder
    return archive.read(name).decode()


def _cli_output(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return out.getvalue()


@pytest.mark.parametrize("principal", list(Principal))
def test_the_secret_prefix_caveat_names_the_plans_connector_on_every_surface(
    client: WizardClient, principal: Principal
) -> None:
    """Where to look in CloudTrail: a role plan's connector is its sensor role, never "the connector user"."""
    keyless: dict[str, Any] = (
        {"trust_anchor_certificate": SENSOR_CA_PEM, "certificate_subject_cn": "tlm-sensor.example.com"}
        if principal is Principal.ROLES_ANYWHERE
        else {}
    )
    plan = Plan(principal=principal, style=PolicyStyle.LEAST_PRIVILEGE, **keyless)
    s = Surfaces(plan, client, wizard_for(client, plan))
    named = "sensor role" if plan.uses_role_principal else "user"
    for surface, read in CAVEAT_SURFACES.items():
        text = " ".join(read(s).split())
        found = re.findall(r"look for the connector ([a-z ]+)'s CreateSecret events", text)
        assert found, f"{surface} has no secret-prefix caveat for {principal.value}"
        assert set(found) == {named}, (surface, principal.value, found)
