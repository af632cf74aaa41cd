"""The offline demo organization: moto in-process on loopback, seeded like a real organization.

`start_demo()` starts moto's ThreadedMotoServer on 127.0.0.1 (a free port),
then seeds it through the AWS API, as an admin would have built it:

- an organization with all features, trusted access for AWS Account Management;
- the connector's IAM user in the management account, with an access key
  (emulator-only credentials, useless anywhere else); a plan that names another
  user, or a sensor role, gets its own principal on its first demo run
  (`connector_credentials`);
- member accounts created by Organizations (they get OrganizationAccountAccessRole);
- invited member accounts, which do not have that role;
- one account whose role trusts another account instead of the management account;
- one region that is not enabled.

moto does not evaluate trust policies (its AssumeRole succeeds for any role,
existing or not) and has no notion of opt-in regions, so those denials are
*simulated*: `DemoOrganization.hooks(plan)` returns botocore `before-send`
handlers that answer AssumeRole with AWS's AccessDenied, naming the plan's
own principal as the caller, for exactly the accounts whose role is missing
or untrusted in the emulator, and reject calls to the disabled region.
`notes` says so in words the UI shows.

moto is an optional dependency (the `demo` extra): import this module only
in demo mode, in tests and in the benchmark.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from pydantic import SecretStr

from app.aws.clients import Credentials, Hook, pin_loggers
from app.aws.simulate import DenyAssumeRole, DisabledRegions, PartitionArns
from app.domain.iam import HOME_REGION, Partition, partition_of_region
from app.domain.plan import DEFAULT_ROLE_NAME, DEFAULT_USER_NAME, Plan
from app.domain.principal import connector_principal_arn
from app.domain.verification.causes import ACCOUNT_SERVICE_PRINCIPAL

MANAGEMENT_ACCOUNT_ID = "123456789012"  # moto's default account
DEMO_REGION = "us-east-1"
DISABLED_REGION = "ap-east-1"
# Any key moto does not know acts as the default (management) account's admin.
_ADMIN = {"aws_access_key_id": "AKIAADMINDEMOSEEDER0", "aws_secret_access_key": "demo-admin-secret-not-real"}

_CREATED_NAMES = (
    "Production",
    "Staging",
    "Development",
    "Shared services",
    "Security tooling",
    "Log archive",
    "Networking",
    "Data platform",
    "Payments",
    "Web frontend",
)
_INVITED_NAMES = ("Acquired Co. (invited)", "Legacy billing (invited)", "Partner sandbox (invited)")


class EmulatorError(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoAccount:
    id: str
    name: str
    kind: str  # created | invited | untrusted


@dataclass(frozen=True)
class DemoOrganization:
    endpoint_url: str
    management_account_id: str
    user_arn: str
    credentials: Credentials
    accounts: tuple[DemoAccount, ...]
    disabled_regions: frozenset[str] = frozenset({DISABLED_REGION})
    role_name: str = DEFAULT_ROLE_NAME
    denied: dict[str, str] = field(default_factory=dict)  # account id -> "role" | "scp"
    partition: Partition = Partition.AWS

    def hooks(self, plan: Plan) -> list[Hook]:
        """The simulation's handlers for a run of `plan`: its denials name the plan's own principal."""
        return [
            ("before-send.sts.AssumeRole", DenyAssumeRole(self.denied, caller_arn=connector_arn(self, plan))),
            ("before-send", DisabledRegions(set(self.disabled_regions))),
            ("before-send", PartitionArns(_partition_name)),
        ]

    def accounts_of(self, kind: str) -> list[DemoAccount]:
        return [a for a in self.accounts if a.kind == kind]

    @property
    def notes(self) -> tuple[str, ...]:
        """What the UI must say about the simulation."""
        invited = ", ".join(a.name for a in self.accounts_of("invited")) or "none"
        untrusted = ", ".join(a.name for a in self.accounts_of("untrusted")) or "none"
        regions = ", ".join(sorted(self.disabled_regions))
        return (
            "Simulation: every AWS call goes to a local emulator (moto) on this machine; no real AWS "
            "account is involved and the demo credentials work nowhere else.",
            f"Simulated denial: sts:AssumeRole into {self.role_name} is denied where the role does not exist "
            f"(the management account, and the invited accounts: {invited}) and where its trust policy "
            f"trusts another account ({untrusted}). The emulator itself never refuses AssumeRole.",
            f"Simulated denial: the region {regions} is treated as not enabled in every account "
            "(add it to the plan's regions to see how that looks).",
            "Not simulated: service control policies, throttling and IAM permission checks (the emulator "
            "allows every call the connector makes).",
        )


class DemoEmulator:
    """A ThreadedMotoServer on 127.0.0.1 and a free port."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        # The werkzeug request log prints a line per call.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        pin_loggers()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.url = ""

    def start(self) -> str:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self.url

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        reset_emulator(self.url)


def reset_emulator(url: str) -> None:
    """moto's reset API: forget every resource (used between tests)."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310 (our loopback URL)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        if response.status != 200:
            raise EmulatorError(f"moto reset answered {response.status}")


def _partition_name(region: str) -> str | None:
    partition = partition_of_region(region)
    return partition.value if partition else None


def _admin(service: str, endpoint_url: str, region: str = DEMO_REGION, **credentials: Any) -> Any:
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": 2}, max_pool_connections=32),
        **(credentials or _ADMIN),
    )


def _as_account(sts: Any, endpoint_url: str, account_id: str, role_name: str, service: str) -> Any:
    """A client acting inside a member account (moto grants AssumeRole unconditionally); sts is the admin's."""
    region = sts.meta.region_name
    partition = _partition_name(region) or "aws"
    creds = sts.assume_role(
        RoleArn=f"arn:{partition}:iam::{account_id}:role/{role_name}", RoleSessionName="demo-seed"
    )
    c = creds["Credentials"]
    return _admin(
        service,
        endpoint_url,
        region,
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
    )


def _delete_role(sts: Any, endpoint_url: str, account_id: str, role_name: str) -> None:
    iam = _as_account(sts, endpoint_url, account_id, role_name, "iam")
    for policy in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=role_name, PolicyArn=policy["PolicyArn"])
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role_name, PolicyName=name)
    iam.delete_role(RoleName=role_name)


def _trusting(sts: Any, account_id: str) -> str:
    """A trust policy that lets `account_id` (in the partition of `sts`'s region) assume the role."""
    partition = _partition_name(sts.meta.region_name) or "aws"
    principal = {"AWS": f"arn:{partition}:iam::{account_id}:root"}
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _ensure_role(sts: Any, endpoint_url: str, account_id: str, role_name: str) -> None:
    """Create the common role where moto's create_account did not (it does so only in `aws`)."""
    iam = _as_account(sts, endpoint_url, account_id, role_name, "iam")
    if any(r["RoleName"] == role_name for r in iam.list_roles()["Roles"]):
        return
    iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=_trusting(sts, MANAGEMENT_ACCOUNT_ID))
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_role_policy(
        RoleName=role_name, PolicyName="AdministratorAccess", PolicyDocument=json.dumps(admin)
    )


def _trust_other_account(sts: Any, endpoint_url: str, account_id: str, role_name: str) -> None:
    iam = _as_account(sts, endpoint_url, account_id, role_name, "iam")
    iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=_trusting(sts, "210987654321"))


def _mark_invited(management_account_id: str, account_id: str, partition: Partition) -> None:
    """AWS Organizations records how an account joined; moto has no invitations, so set it directly."""
    from moto.organizations.models import organizations_backends

    # moto keeps one Organizations backend per partition (its global region's key).
    backend = organizations_backends[management_account_id][partition.value]
    backend.get_account_by_id(account_id).joined_method = "INVITED"


def seed_organization(
    endpoint_url: str,
    *,
    created: int = 6,
    invited: int = 2,
    untrusted: int = 1,
    trusted_access: bool = True,
    feature_set: str = "ALL",
    user_name: str = DEFAULT_USER_NAME,
    role_name: str = DEFAULT_ROLE_NAME,
    names: Sequence[str] = (),
    partition: Partition = Partition.AWS,
) -> DemoOrganization:
    """Build an organization in the emulator at `endpoint_url` through the AWS API, in `partition`."""
    region = HOME_REGION[partition]
    org = _admin("organizations", endpoint_url, region)
    org.create_organization(FeatureSet=feature_set)
    if trusted_access:
        org.enable_aws_service_access(ServicePrincipal=ACCOUNT_SERVICE_PRINCIPAL)

    iam = _admin("iam", endpoint_url, region)
    user = iam.create_user(UserName=user_name)["User"]
    key = iam.create_access_key(UserName=user_name)["AccessKey"]
    credentials = Credentials(
        access_key_id=key["AccessKeyId"], secret_access_key=SecretStr(key["SecretAccessKey"])
    )

    total = created + invited + untrusted
    kinds = ["created"] * created + ["untrusted"] * untrusted + ["invited"] * invited
    accounts: list[DemoAccount] = []
    invited_seen = 0
    for index, kind in enumerate(kinds):
        if index < len(names):
            name = names[index]
        elif kind == "invited":
            small = invited <= len(_INVITED_NAMES)
            name = _INVITED_NAMES[invited_seen] if small else f"Invited {index:04d} (invited)"
            invited_seen += 1
        elif total <= len(_CREATED_NAMES):
            name = _CREATED_NAMES[index]
        else:
            name = f"Workload {index:04d}"
        status = org.create_account(AccountName=name, Email=f"aws+{index}@example.com", RoleName=role_name)
        account_id = status["CreateAccountStatus"]["AccountId"]
        accounts.append(DemoAccount(account_id, name, kind))

    denied: dict[str, str] = {MANAGEMENT_ACCOUNT_ID: "role"}
    sts = _admin("sts", endpoint_url, region)
    for account in accounts:
        if partition is not Partition.AWS:
            _ensure_role(sts, endpoint_url, account.id, role_name)
        if account.kind == "invited":
            _mark_invited(MANAGEMENT_ACCOUNT_ID, account.id, partition)
            _delete_role(sts, endpoint_url, account.id, role_name)
            denied[account.id] = "role"
        elif account.kind == "untrusted":
            _trust_other_account(sts, endpoint_url, account.id, role_name)
            denied[account.id] = "role"
    return DemoOrganization(
        endpoint_url=endpoint_url,
        management_account_id=MANAGEMENT_ACCOUNT_ID,
        user_arn=str(user["Arn"]),
        credentials=credentials,
        accounts=tuple(accounts),
        role_name=role_name,
        denied=denied,
        partition=partition,
    )


def start_demo(**seed: Any) -> tuple[DemoEmulator, DemoOrganization]:
    """Start the emulator and seed the demo organization; the caller stops the emulator."""
    emulator = DemoEmulator()
    url = emulator.start()
    try:
        return emulator, seed_organization(url, **seed)
    except Exception:
        emulator.stop()
        raise


# A demo run signs in as the plan's own principal: the identity check accepts no
# other (docs/decisions.md#verifying-a-keyless-plan).
DEMO_SESSION_NAME = "connector-wizard-demo"


def connector_arn(organization: DemoOrganization, plan: Plan) -> str:
    """Who `plan`'s demo run is, as AWS names a caller: the plan's IAM user, or its sensor role's session.

    The simulated denials name it, as AWS's AccessDenied names the caller
    (docs/facts.md#temporary-credentials has the session's ARN form).
    """
    account = organization.management_account_id
    if plan.uses_role_principal:
        partition = organization.partition.value
        return f"arn:{partition}:sts::{account}:assumed-role/{plan.sensor_role_name}/{DEMO_SESSION_NAME}"
    return connector_principal_arn(plan, account)


def _iam_has(iam: Any, operation: str, key: str, name_key: str, name: str) -> bool:
    """Whether IAM lists `name` on any page (boto3's paginator follows IsTruncated and Marker).

    One list call answers at most MaxItems, 100 by default, and IAM may answer fewer:
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListUsers.html
    """
    pages = iam.get_paginator(operation).paginate()
    return any(item[name_key] == name for page in pages for item in page[key])


def connector_credentials(organization: DemoOrganization, plan: Plan) -> Credentials:
    """Credentials of `plan`'s connector principal in the demo organization, created on first use.

    The plan's IAM user with an access key, or a session of the plan's sensor
    role. The emulator does not evaluate trust policies, so an administrator's
    AssumeRole stands in for the session EC2 or IAM Roles Anywhere would hand
    the sensor: the same role, so the same identity check.
    """
    region = HOME_REGION[organization.partition]
    iam = _admin("iam", organization.endpoint_url, region)
    if plan.uses_role_principal:
        name = plan.sensor_role_name
        sts = _admin("sts", organization.endpoint_url, region)
        if not _iam_has(iam, "list_roles", "Roles", "RoleName", name):
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trusting(sts, MANAGEMENT_ACCOUNT_ID))
        session = sts.assume_role(
            RoleArn=connector_principal_arn(plan, organization.management_account_id),
            RoleSessionName=DEMO_SESSION_NAME,
        )["Credentials"]
        return Credentials(
            access_key_id=session["AccessKeyId"],
            secret_access_key=SecretStr(session["SecretAccessKey"]),
            session_token=SecretStr(session["SessionToken"]),
        )
    if connector_arn(organization, plan) == organization.user_arn:
        return organization.credentials  # the user the organization was seeded with
    # Another user name: that user, with a new key per run (IAM allows a user two; the older goes).
    if not _iam_has(iam, "list_users", "Users", "UserName", plan.user_name):
        iam.create_user(UserName=plan.user_name)
    keys = iam.list_access_keys(UserName=plan.user_name)["AccessKeyMetadata"]
    for old in sorted(keys, key=lambda k: k["CreateDate"])[: max(0, len(keys) - 1)]:
        iam.delete_access_key(UserName=plan.user_name, AccessKeyId=old["AccessKeyId"])
    made = iam.create_access_key(UserName=plan.user_name)["AccessKey"]
    return Credentials(
        access_key_id=made["AccessKeyId"], secret_access_key=SecretStr(made["SecretAccessKey"])
    )
