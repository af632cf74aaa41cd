"""setup.sh run by the real AWS CLI against moto over HTTP: it converges to the plan (issue 11 item 9).

Plan A (as documented, Secrets Manager on) then plan B (least privilege,
Secrets Manager off, a dedicated member role) must leave exactly plan B's
policies on the user; a second run of B changes nothing (no new policy
version, no StackSet update); what the wizard does not own (a policy and an
inline policy added by hand) is left alone; back to A, the custom policies the
script created are detached and deleted.

The AWS CLI (v1, from the package index) lives in its own virtualenv,
`.venv-awscli`, made by scripts/test.sh: its botocore pin differs from the
project's. moto runs in a child process so that MOTO_IAM_LOAD_MANAGED_POLICIES
is in its environment before its IAM backend loads (AWS managed policies exist,
so attaching them can fail like on AWS); the fixture checks that it took.

moto lacks `cloudformation activate-organizations-access`
(reference: moto's IMPLEMENTATION_COVERAGE): a wrapper named `aws` answers that
one command itself and hands every other call to the real CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from app.domain.least_privilege import custom_user_policies
from app.domain.plan import Plan
from app.domain.policies import INLINE_POLICY_NAME, attached_managed_policies
from tests.domain.artifact_matrix import write_bundle

ROOT = Path(__file__).resolve().parents[2]
AWS_CLI = Path(os.environ.get("CONNECTOR_WIZARD_AWS_CLI", ROOT / ".venv-awscli" / "bin" / "aws"))
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

_MOTO_CHILD = """
import logging, sys
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
print(f"http://{host}:{port}", flush=True)
sys.stdin.read()  # until the test closes our stdin
server.stop()
"""

# Only the command moto lacks is answered here; everything else goes to the real CLI.
_ACTIVATE_ONLY_WRAPPER = """#!/usr/bin/env bash
# Fake for ONE command moto does not implement: cloudformation activate-organizations-access.
if [ "${{1:-}}" = cloudformation ] && [ "${{2:-}}" = activate-organizations-access ] \\
  && [ "${{3:-}}" != --generate-cli-skeleton ]; then
  exit 0
fi
exec {cli} "$@"
"""


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    if not AWS_CLI.exists():
        if os.environ.get("CI"):
            pytest.fail(f"the AWS CLI is missing at {AWS_CLI}: scripts/test.sh installs it")
        pytest.skip("the AWS CLI virtualenv is missing: run scripts/test.sh once")
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    child = subprocess.Popen(
        [sys.executable, "-c", _MOTO_CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None and child.stdin is not None
    url = child.stdout.readline().strip()
    try:
        assert url.startswith("http://127.0.0.1:"), url
        # The env var took: AWS managed policies exist (without it this raises NoSuchEntity).
        _client("iam", url).get_policy(PolicyArn="arn:aws:iam::aws:policy/AWSCertificateManagerFullAccess")
        yield url
    finally:
        child.stdin.close()
        child.wait(timeout=20)
        child.stdout.close()


def _client(service: str, url: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url, **CREDENTIALS)


@pytest.fixture
def aws(moto_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment the scripts run in: the real CLI (behind the one-command wrapper), moto, no config."""
    requests = urllib_post_reset(moto_url)
    assert requests == 200
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "aws"
    wrapper.write_text(_ACTIVATE_ONLY_WRAPPER.format(cli=AWS_CLI))
    wrapper.chmod(0o755)
    return {
        "PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
    }


def urllib_post_reset(url: str) -> int:
    import urllib.request

    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310 - loopback
    # Resetting reloads the AWS managed policies of every account moto knows: seconds, not milliseconds.
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return int(response.status)


def _run(plan: Plan, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    write_bundle(plan, folder)
    return subprocess.run(
        [str(folder / "setup.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=folder,
        timeout=300,
    )


def _user_state(iam: Any, user: str) -> tuple[set[str], set[str]]:
    attached = {p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]}
    inline = set(iam.list_user_policies(UserName=user)["PolicyNames"])
    return attached, inline


def _custom_arns(plan: Plan, account: str) -> set[str]:
    return {f"arn:aws:iam::{account}:policy/{p.name}" for p in custom_user_policies(plan)}


PLAN_A = Plan()  # organization, as documented, Secrets Manager on, OrganizationAccountAccessRole
PLAN_B = Plan(
    style="least-privilege",
    secrets_manager=False,
    dedicated_member_role=True,
    role_name="DigiCertTLMMemberRole",
)


# Four script runs of 10-25 AWS CLI calls each (~0.4 s of CPU per call): well within the
# default timeout alone, not always on a shared 2-core machine.
@pytest.mark.timeout(900)
def test_setup_converges_from_plan_a_to_plan_b_and_leaves_the_rest_alone(
    aws: dict[str, str], moto_url: str, tmp_path: Path
) -> None:
    iam = _client("iam", moto_url)
    _client("organizations", moto_url).create_organization(FeatureSet="ALL")
    _client("organizations", moto_url).create_account(Email="member@example.com", AccountName="member")
    account = _client("sts", moto_url).get_caller_identity()["Account"]
    user = PLAN_A.user_name

    a = _run(PLAN_A, tmp_path / "a", aws)
    assert a.returncode == 0, a.stderr
    assert _user_state(iam, user) == (
        {p.arn for p in attached_managed_policies(PLAN_A)},
        {INLINE_POLICY_NAME},
    )
    assert "arn:aws:iam::aws:policy/SecretsManagerReadWrite" in _user_state(iam, user)[0]

    # What a person adds by hand is not the wizard's.
    hand = iam.create_policy(
        PolicyName="AddedByHand",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    not_ours = {hand, "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}
    for arn in not_ours:
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.put_user_policy(
        UserName=user,
        PolicyName="InlineByHand",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
            }
        ),
    )

    b = _run(PLAN_B, tmp_path / "b", aws)
    assert b.returncode == 0, b.stderr
    assert _user_state(iam, user) == (
        _custom_arns(PLAN_B, account) | not_ours,
        {INLINE_POLICY_NAME, "InlineByHand"},
    )
    for arn in attached_managed_policies(PLAN_A):
        assert f"+ aws iam detach-user-policy --user-name={user} --policy-arn={arn.arn}" in b.stderr
    assert f"Left alone (not this wizard's): the policy {hand}" in b.stderr
    assert "Left alone (not this wizard's): the inline policy InlineByHand" in b.stderr
    # The documents in IAM are the bundle's files.
    for policy in custom_user_policies(PLAN_B):
        arn = f"arn:aws:iam::{account}:policy/{policy.name}"
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        stored = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
        assert stored == json.loads((tmp_path / "b" / policy.file_name).read_text())
    cloudformation = _client("cloudformation", moto_url)
    name = "digicert-tlm-member-role"
    instances = cloudformation.list_stack_instances(StackSetName=name)["Summaries"]
    assert instances and {i["Status"] for i in instances} == {"CURRENT"}
    assert "Done." in b.stderr

    # Plan B again: nothing changes, no policy gets a new version, the StackSet is not updated.
    before = _snapshot(iam, cloudformation, user, account)
    again = _run(PLAN_B, tmp_path / "b-again", aws)
    assert again.returncode == 0, again.stderr
    assert _snapshot(iam, cloudformation, user, account) == before
    changes = [line for line in again.stderr.splitlines() if line.startswith("+ ")]
    assert not [
        c for c in changes if any(w in c for w in ("create-", "delete-", "detach-", "update-stack-set"))
    ]
    assert again.stderr.count("is up to date: no new version") == len(custom_user_policies(PLAN_B))
    assert "The StackSet is up to date" in again.stderr

    # Back to plan A: the custom policies the script created are detached and deleted.
    back = _run(PLAN_A, tmp_path / "a-again", aws)
    assert back.returncode == 0, back.stderr
    assert _user_state(iam, user) == (
        {p.arn for p in attached_managed_policies(PLAN_A)} | not_ours,
        {INLINE_POLICY_NAME, "InlineByHand"},
    )
    existing = {p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]}
    assert existing == {hand}


def _snapshot(iam: Any, cloudformation: Any, user: str, account: str) -> Any:
    local = {
        p["Arn"]: [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=p["Arn"])["Versions"]]
        for p in iam.list_policies(Scope="Local")["Policies"]
    }
    operations = cloudformation.list_stack_set_operations(StackSetName="digicert-tlm-member-role")[
        "Summaries"
    ]
    return _user_state(iam, user), local, len(operations)


def test_a_user_name_that_looks_like_an_option_stays_a_value(
    aws: dict[str, str], moto_url: str, tmp_path: Path
) -> None:
    # Issue 12 item 9: `--user-name "$USER_NAME"` let the CLI read "--debug" as its own option.
    plan = Plan(scope="account", user_name="--debug", secrets_manager=False)
    result = _run(plan, tmp_path / "dash", aws)
    assert result.returncode == 0, result.stderr
    iam = _client("iam", moto_url)
    assert _user_state(iam, "--debug") == ({p.arn for p in attached_managed_policies(plan)}, set())
    assert "MANAGEMENT_ACCOUNT_ID" not in (tmp_path / "dash" / "setup.sh").read_text()


# --- keyless sensors (issue 13.2): the sensor role instead of the user ---------------------

USER_PLAN = Plan(style="least-privilege", secrets_manager=False)
INSTANCE_ROLE_PLAN = Plan(principal="instance-role", style="least-privilege", secrets_manager=False)


def _role_state(iam: Any, role: str) -> tuple[set[str], set[str]]:
    attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]}
    inline = set(iam.list_role_policies(RoleName=role)["PolicyNames"])
    return attached, inline


def _keyless_snapshot(iam: Any, user: str, role: str) -> Any:
    local = {
        p["Arn"]: [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=p["Arn"])["Versions"]]
        for p in iam.list_policies(Scope="Local")["Policies"]
    }
    profile = iam.get_instance_profile(InstanceProfileName=role)["InstanceProfile"]
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    return (
        _user_state(iam, user),
        _role_state(iam, role),
        local,
        [r["RoleName"] for r in profile["Roles"]],
        trust,
        [k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]],
    )


@pytest.mark.timeout(900)
def test_switching_to_the_instance_role_moves_the_policies_and_converges(
    aws: dict[str, str], moto_url: str, tmp_path: Path
) -> None:
    iam = _client("iam", moto_url)
    _client("organizations", moto_url).create_organization(FeatureSet="ALL")
    account = _client("sts", moto_url).get_caller_identity()["Account"]
    user, role = USER_PLAN.user_name, INSTANCE_ROLE_PLAN.sensor_role_name

    first = _run(USER_PLAN, tmp_path / "user", aws)
    assert first.returncode == 0, first.stderr
    wanted = (_custom_arns(USER_PLAN, account), {INLINE_POLICY_NAME})
    assert _user_state(iam, user) == wanted
    # What a person put on the user by hand, and the access key the connector used, are not the wizard's.
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]

    switched = _run(INSTANCE_ROLE_PLAN, tmp_path / "role", aws)
    assert switched.returncode == 0, switched.stderr
    # The role has exactly the plan's policies (the same customer managed policies, kept, not recreated);
    # the user keeps only what is not the wizard's.
    assert _role_state(iam, role) == (_custom_arns(INSTANCE_ROLE_PLAN, account), {INLINE_POLICY_NAME})
    assert _user_state(iam, user) == ({"arn:aws:iam::aws:policy/IAMReadOnlyAccess"}, set())
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]] == [key]
    assert (
        "Left alone (not this wizard's): the policy arn:aws:iam::aws:policy/IAMReadOnlyAccess"
        in switched.stderr
    )
    assert f"Left alone: the user {user} itself and its access keys" in switched.stderr
    assert "create-policy " not in switched.stderr and "delete-policy " not in switched.stderr
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    profile = iam.get_instance_profile(InstanceProfileName=role)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [role]
    assert "create-access-key" not in switched.stderr
    assert "Done." in switched.stderr

    # The same plan again: nothing changes.
    before = _keyless_snapshot(iam, user, role)
    again = _run(INSTANCE_ROLE_PLAN, tmp_path / "role-again", aws)
    assert again.returncode == 0, again.stderr
    assert _keyless_snapshot(iam, user, role) == before
    changes = [line for line in again.stderr.splitlines() if line.startswith("+ ")]
    assert not [
        c for c in changes if any(w in c for w in ("create-", "delete-", "detach-", "update-", "add-role"))
    ], changes
    assert "its trust policy is up to date" in again.stderr
    assert "The instance profile holds the role already." in again.stderr

    # Back to the user: the policies move back; the instance profile this script created is retired.
    back = _run(USER_PLAN, tmp_path / "user-again", aws)
    assert back.returncode == 0, back.stderr
    assert _user_state(iam, user) == (wanted[0] | {"arn:aws:iam::aws:policy/IAMReadOnlyAccess"}, wanted[1])
    assert _role_state(iam, role) == (set(), set())
    assert f"Left alone: the role {role} itself" in back.stderr
    assert f"+ aws iam delete-instance-profile --instance-profile-name={role}" in back.stderr
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_instance_profile(InstanceProfileName=role)


# --- IAM Roles Anywhere: moto does not implement it (docs: moto's IMPLEMENTATION_COVERAGE) --------


class RolesAnywhereStub:
    """A STUB, not IAM Roles Anywhere: a loopback HTTP server answering exactly the REST calls setup.sh
    makes (ListTrustAnchors, CreateTrustAnchor, GetTrustAnchor, UpdateTrustAnchor, ListProfiles,
    CreateProfile, GetProfile, UpdateProfile; paths from the service model). The real AWS CLI sends
    them (AWS_ENDPOINT_URL_ROLESANYWHERE), so its argument parsing, the JSON it sends and the
    queries it applies are real; what AWS would validate or change on its side is not tested."""

    def __init__(self, account: str) -> None:
        import http.server
        import threading
        import uuid

        self.calls: list[tuple[str, str, Any]] = []
        self.anchors: dict[str, dict[str, Any]] = {}
        self.profiles: dict[str, dict[str, Any]] = {}
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                path = self.path.split("?", 1)[0]
                stub.calls.append((self.command, path, body))
                kind, _, ident = path.strip("/").partition("/")
                arn = f"arn:aws:rolesanywhere:{REGION}:{account}:"
                if (self.command, path) == ("GET", "/trustanchors"):
                    return self._answer(200, {"trustAnchors": list(stub.anchors.values())})
                if (self.command, path) == ("POST", "/trustanchors"):
                    new = str(uuid.uuid4())
                    stub.anchors[new] = {
                        "trustAnchorId": new,
                        "trustAnchorArn": f"{arn}trust-anchor/{new}",
                        "name": body["name"],
                        "source": body["source"],
                        "enabled": body.get("enabled", False),
                    }
                    return self._answer(201, {"trustAnchor": stub.anchors[new]})
                if kind == "trustanchor" and ident in stub.anchors and self.command in ("GET", "PATCH"):
                    stub.anchors[ident].update({k: v for k, v in body.items() if k in ("name", "source")})
                    return self._answer(200, {"trustAnchor": stub.anchors[ident]})
                if (self.command, path) == ("GET", "/profiles"):
                    return self._answer(200, {"profiles": list(stub.profiles.values())})
                if (self.command, path) == ("POST", "/profiles"):
                    new = str(uuid.uuid4())
                    stub.profiles[new] = {
                        "profileId": new,
                        "profileArn": f"{arn}profile/{new}",
                        "name": body["name"],
                        "roleArns": body["roleArns"],
                        "enabled": body.get("enabled", False),
                    }
                    return self._answer(201, {"profile": stub.profiles[new]})
                if kind == "profile" and ident in stub.profiles and self.command in ("GET", "PATCH"):
                    stub.profiles[ident].update({k: v for k, v in body.items() if k == "roleArns"})
                    return self._answer(200, {"profile": stub.profiles[ident]})
                return self._answer(400, {"message": f"the stub does not answer {self.command} {path}"})

            do_GET = do_POST = do_PATCH = _handle  # http.server calls do_<METHOD>

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


ROLES_ANYWHERE_PLAN = Plan(
    scope="account",
    principal="roles-anywhere",
    style="least-privilege",
    secrets_manager=False,
    trust_anchor_certificate=(ROOT / "tests" / "fixtures" / "sensor-ca.pem").read_text(),
    certificate_subject_cn="tlm-sensor.example.com",
)


@pytest.mark.timeout(900)
def test_roles_anywhere_setup_against_moto_and_a_roles_anywhere_stub(
    aws: dict[str, str], moto_url: str, tmp_path: Path
) -> None:
    from app.domain.keyless import roles_anywhere_trust_policy

    iam = _client("iam", moto_url)
    account = _client("sts", moto_url).get_caller_identity()["Account"]
    plan, role = ROLES_ANYWHERE_PLAN, ROLES_ANYWHERE_PLAN.sensor_role_name
    stub = RolesAnywhereStub(account)
    env = {**aws, "AWS_ENDPOINT_URL_ROLESANYWHERE": stub.url}
    try:
        first = _run(plan, tmp_path / "first", env)
        assert first.returncode == 0, first.stderr
        (anchor,) = stub.anchors.values()
        assert anchor["name"] == "digicert-tlm-sensor-ca" and anchor["enabled"] is True
        assert anchor["source"] == {
            "sourceType": "CERTIFICATE_BUNDLE",
            "sourceData": {"x509CertificateData": plan.trust_anchor_certificate},
        }
        # The role trusts Roles Anywhere for exactly this trust anchor and certificate subject.
        trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        assert trust == roles_anywhere_trust_policy(
            plan.partition, anchor["trustAnchorArn"], plan.certificate_subject_cn
        )
        role_arn = iam.get_role(RoleName=role)["Role"]["Arn"]
        (profile,) = stub.profiles.values()
        assert profile["name"] == "digicert-tlm-sensor" and profile["roleArns"] == [role_arn]
        assert profile["enabled"] is True
        assert _role_state(iam, role) == (_custom_arns(plan, account), set())
        for line in (
            f"--trust-anchor-arn={anchor['trustAnchorArn']}",
            f"--profile-arn={profile['profileArn']}",
            f"--role-arn={role_arn}",
        ):
            assert line in first.stderr
        assert "create-access-key" not in first.stderr and "Done." in first.stderr

        # Again: Roles Anywhere is only read, IAM unchanged.
        writes = len([c for c in stub.calls if c[0] != "GET"])
        before = (_role_state(iam, role), iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])
        again = _run(plan, tmp_path / "again", env)
        assert again.returncode == 0, again.stderr
        assert len([c for c in stub.calls if c[0] != "GET"]) == writes
        assert (
            _role_state(iam, role),
            iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"],
        ) == before
        changes = [line for line in again.stderr.splitlines() if line.startswith("+ ")]
        assert not [c for c in changes if any(w in c for w in ("create-", "delete-", "detach-", "update-"))]
        assert "its CA is up to date" in again.stderr and "it names the sensor role" in again.stderr
        # Exactly the calls the stub was written for, and nothing else reached it.
        assert {(method, path.split("/")[1]) for method, path, _ in stub.calls} == {
            ("GET", "trustanchors"),
            ("POST", "trustanchors"),
            ("GET", "trustanchor"),
            ("GET", "profiles"),
            ("POST", "profiles"),
            ("GET", "profile"),
        }

        # On to the instance role: the same role now trusts EC2 and keeps exactly its policies; the
        # Roles Anywhere trust anchor and profile are left alone (docs/setup-script.md#principal).
        ec2 = Plan(scope="account", principal="instance-role", style="least-privilege", secrets_manager=False)
        calls = len(stub.calls)
        moved = _run(ec2, tmp_path / "ec2", env)
        assert moved.returncode == 0, moved.stderr
        trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
        assert f"+ aws iam update-assume-role-policy --role-name={role}" in moved.stderr
        assert _role_state(iam, role) == (_custom_arns(ec2, account), set())
        assert len(stub.calls) == calls and len(stub.anchors) == len(stub.profiles) == 1
    finally:
        stub.close()


@pytest.mark.timeout(900)
def test_two_roles_anywhere_setups_in_one_account_each_keep_their_own_anchor_and_profile(
    aws: dict[str, str], moto_url: str, tmp_path: Path
) -> None:
    # setup.sh finds the trust anchor and profile by name: named after the sensor role, a second
    # setup (another sensor role) creates its own instead of re-pointing the first one's profile.
    iam = _client("iam", moto_url)
    account = _client("sts", moto_url).get_caller_identity()["Account"]
    second = ROLES_ANYWHERE_PLAN.model_copy(update={"sensor_role_name": "tlm-sensor-lab"})
    stub = RolesAnywhereStub(account)
    env = {**aws, "AWS_ENDPOINT_URL_ROLESANYWHERE": stub.url}
    try:
        for plan in (ROLES_ANYWHERE_PLAN, second):
            result = _run(plan, tmp_path / plan.sensor_role_name, env)
            assert result.returncode == 0, result.stderr
        anchors = {a["name"]: a["trustAnchorArn"] for a in stub.anchors.values()}
        assert set(anchors) == {"digicert-tlm-sensor-ca", "tlm-sensor-lab-ca"}
        profiles = {p["name"]: p["roleArns"] for p in stub.profiles.values()}
        for plan in (ROLES_ANYWHERE_PLAN, second):
            role = iam.get_role(RoleName=plan.sensor_role_name)["Role"]
            assert profiles[plan.sensor_role_name] == [role["Arn"]]
            # Each role trusts Roles Anywhere for its own trust anchor only.
            condition = role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
            assert condition["ArnEquals"]["aws:SourceArn"] == anchors[f"{plan.sensor_role_name}-ca"]
        assert not [c for c in stub.calls if c[0] == "PATCH"]
    finally:
        stub.close()
