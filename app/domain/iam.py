"""IAM and AWS naming rules, partitions and regions.

Pure: stdlib only. Everything a user types that ends up in an ARN, a policy, a
template or a shell command is checked here first, with AWS's real rules, so
that no later layer has to escape its way out of bad input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Partition(StrEnum):
    """AWS partitions: ARNs and endpoints differ between them (docs/facts.md#partitions)."""

    AWS = "aws"
    AWS_US_GOV = "aws-us-gov"
    AWS_CN = "aws-cn"


PARTITION_LABELS: dict[Partition, str] = {
    Partition.AWS: "AWS (commercial)",
    Partition.AWS_US_GOV: "AWS GovCloud (US)",
    Partition.AWS_CN: "AWS China",
}

# Regions per partition, from https://docs.aws.amazon.com/general/latest/gr/rande.html
# and botocore's endpoints.json (a test in tests/aws cross-checks this table
# against botocore so it cannot silently go stale).
REGIONS: dict[Partition, tuple[str, ...]] = {
    Partition.AWS: (
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
    ),
    Partition.AWS_US_GOV: ("us-gov-east-1", "us-gov-west-1"),
    Partition.AWS_CN: ("cn-north-1", "cn-northwest-1"),
}

# Each region's name as AWS writes it beside the code (the console's region
# menu; https://docs.aws.amazon.com/general/latest/gr/rande.html). A test in
# tests/aws checks these against the descriptions in botocore's endpoints.json.
REGION_NAMES: dict[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "af-south-1": "Africa (Cape Town)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "ap-east-2": "Asia Pacific (Taipei)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-northeast-3": "Asia Pacific (Osaka)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-south-2": "Asia Pacific (Hyderabad)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-southeast-3": "Asia Pacific (Jakarta)",
    "ap-southeast-4": "Asia Pacific (Melbourne)",
    "ap-southeast-5": "Asia Pacific (Malaysia)",
    "ap-southeast-6": "Asia Pacific (New Zealand)",
    "ap-southeast-7": "Asia Pacific (Thailand)",
    "ca-central-1": "Canada (Central)",
    "ca-west-1": "Canada West (Calgary)",
    "eu-central-1": "Europe (Frankfurt)",
    "eu-central-2": "Europe (Zurich)",
    "eu-north-1": "Europe (Stockholm)",
    "eu-south-1": "Europe (Milan)",
    "eu-south-2": "Europe (Spain)",
    "eu-west-1": "Europe (Ireland)",
    "eu-west-2": "Europe (London)",
    "eu-west-3": "Europe (Paris)",
    "il-central-1": "Israel (Tel Aviv)",
    "me-central-1": "Middle East (UAE)",
    "me-south-1": "Middle East (Bahrain)",
    "mx-central-1": "Mexico (Central)",
    "sa-east-1": "South America (São Paulo)",
    "us-gov-east-1": "AWS GovCloud (US-East)",
    "us-gov-west-1": "AWS GovCloud (US-West)",
    "cn-north-1": "China (Beijing)",
    "cn-northwest-1": "China (Ningxia)",
}


@dataclass(frozen=True, slots=True)
class RegionSet:
    """A named choice of regions offered beside the checkboxes ("All", "Europe", …)."""

    key: str
    label: str
    regions: tuple[str, ...]


def region_sets(partition: Partition) -> tuple[RegionSet, ...]:
    """Common sets of the partition's regions; ACM for CloudFront needs us-east-1, so every US set has it."""
    regions = REGIONS[partition]
    sets = [RegionSet("all", "All", regions)]
    if partition is Partition.AWS:
        for key, label, prefix in (
            ("us", "United States", "us-"),
            ("eu", "Europe", "eu-"),
            ("ap", "Asia Pacific", "ap-"),
        ):
            sets.append(RegionSet(key, label, tuple(r for r in regions if r.startswith(prefix))))
    sets.append(RegionSet("home", f"Only {HOME_REGION[partition]}", (HOME_REGION[partition],)))
    return tuple(sets)


def partition_of_region(region: str) -> Partition | None:
    """The partition a region belongs to, or None for a region this wizard does not know."""
    return next((p for p, regions in REGIONS.items() if region in regions), None)


# AWS Account Management (the `account` service: trusted access for
# account.amazonaws.com, account:ListRegions) is not offered in AWS GovCloud
# (US): docs/facts.md#govcloud.
ACCOUNT_MANAGEMENT_PARTITIONS = frozenset({Partition.AWS, Partition.AWS_CN})


def has_account_management(partition: Partition) -> bool:
    return partition in ACCOUNT_MANAGEMENT_PARTITIONS


def has_opt_in_regions(partition: Partition) -> bool:
    """Whether a region of `partition` can be disabled for an account (GovCloud has no opt-in regions)."""
    return partition is not Partition.AWS_US_GOV


def account_management_absent(partition: Partition) -> str:
    """Why the Account Management steps and checks do not apply in `partition` (one plain paragraph)."""
    return (
        f"AWS Account Management is not offered in the {PARTITION_LABELS[partition]} partition, so there is "
        "no trusted access for account.amazonaws.com to enable or check, and account:ListRegions cannot be "
        "used there. The partition has no opt-in regions either: both of its regions are enabled for every "
        "account (docs/facts.md#govcloud)."
    )


# The region each partition's global services (IAM, Organizations) live in.
HOME_REGION: dict[Partition, str] = {
    Partition.AWS: "us-east-1",
    Partition.AWS_US_GOV: "us-gov-west-1",
    Partition.AWS_CN: "cn-northwest-1",
}

# IAM user and role names: "Names can contain alphanumeric characters and the
# following: + = , . @ _ -", 1-64 characters.
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html
# https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
# (the API pattern [\w+=,.@-]+ is ASCII: \w there means [A-Za-z0-9_]).
_IAM_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")
IAM_NAME_RULE = "1–64 characters: letters A–Z and a–z, digits, and + = , . @ _ -"

# Secrets Manager secret names: "The secret name can contain ASCII letters,
# numbers, and the following characters: /_+=.@-", up to 512 characters.
# https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html
# A prefix is used inside an ARN pattern followed by "*", so it also must not
# contain IAM wildcards; we cap it well below the limit.
_SECRET_PREFIX = re.compile(r"[A-Za-z0-9/_+=.@-]{1,128}")
SECRET_PREFIX_RULE = "1–128 characters: letters, digits, and / _ + = . @ -"  # noqa: S105 - a rule text, not a secret


# Messages name the rule, never the input (README, Security): an echoed value
# is a reflection channel for markup and a way to smuggle text into pages
# and logs (issue 12, finding 8).


def iam_name_error(value: str) -> str | None:
    """Return why `value` is not a valid IAM user or role name (the rule, never the value), or None."""
    if not value:
        return "Enter a name: " + IAM_NAME_RULE + "."
    if len(value) > 64:
        return "Too long: IAM allows at most 64 characters."
    if not _IAM_NAME.fullmatch(value):
        return "An IAM name has only " + IAM_NAME_RULE + "."
    return None


def secret_prefix_error(value: str) -> str | None:
    if not _SECRET_PREFIX.fullmatch(value):
        return "A secret name prefix must be " + SECRET_PREFIX_RULE + "."
    return None


def region_error(partition: Partition, region: str) -> str | None:
    if region not in REGIONS[partition]:
        return f"Choose regions of the {PARTITION_LABELS[partition]} partition only."
    return None


def managed_policy_arn(partition: Partition, name: str) -> str:
    """ARN of an AWS managed policy: arn:<partition>:iam::aws:policy/<name>."""
    return f"arn:{partition.value}:iam::aws:policy/{name}"


def role_arn_in_any_account(partition: Partition, role_name: str) -> str:
    return f"arn:{partition.value}:iam::*:role/{role_name}"
