"""Least-privilege custom policies for the connector user (issue 3).

Pure. `custom_user_policies(plan)` replaces the AWS managed policies of the
*as documented* style with scoped custom policies.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.plan import Plan
from app.domain.policies import PolicyDocument


@dataclass(frozen=True, slots=True)
class CustomPolicy:
    name: str  # the IAM policy name to create
    file_name: str  # its JSON file in the export bundle
    purpose: str  # why it is there, in plain words
    document: PolicyDocument


def custom_user_policies(plan: Plan) -> list[CustomPolicy]:
    raise NotImplementedError("least-privilege policies are being built in issue 3")
