"""A small IAM policy evaluator: does a set of policy documents allow one call?

Pure (stdlib only). It answers for the policies this wizard writes and the
documented scope of the AWS managed policies it attaches, so that a test can
prove the live checks call nothing the plan does not grant
(app/domain/check_calls.py). It follows IAM's rules for what it supports and is
conservative about the rest:

- `Action` and `Resource` patterns use `*` and `?`; actions compare without
  case, resources with case.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
- An action with no resource types (a call with `resource="*"`) is allowed only
  by a statement whose `Resource` includes `"*"`: scoped to an ARN it grants
  nothing (docs/facts.md#sts).
- An explicit `Deny` that matches wins over every `Allow`.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- Conditions: only `StringEquals` on `aws:RequestedRegion` is understood; a
  statement with any other condition, `NotAction` or `NotResource` is taken to
  allow nothing (so the answer can only err towards "not allowed").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

NO_RESOURCE_TYPE = "*"


@dataclass(frozen=True, slots=True)
class Request:
    """One call as IAM sees it: the action, the resource ARN (or "*"), the region it is sent to."""

    action: str
    resource: str = NO_RESOURCE_TYPE
    region: str | None = None


@cache
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    return _pattern(pattern, True).fullmatch(action) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    if resource == NO_RESOURCE_TYPE:
        return pattern == "*"
    return _pattern(pattern, False).fullmatch(resource) is not None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _condition_holds(condition: Mapping[str, Any] | None, request: Request) -> bool:
    if not condition:
        return True
    for operator, keys in condition.items():
        if operator != "StringEquals" or not isinstance(keys, Mapping):
            return False
        for key, values in keys.items():
            if key.lower() != "aws:requestedregion" or request.region is None:
                return False
            if request.region not in [str(v) for v in _as_list(values)]:
                return False
    return True


def _statement_matches(statement: Mapping[str, Any], request: Request) -> bool:
    if "NotAction" in statement or "NotResource" in statement:
        return False
    actions = [str(a) for a in _as_list(statement.get("Action"))]
    resources = [str(r) for r in _as_list(statement.get("Resource"))]
    return (
        any(action_matches(a, request.action) for a in actions)
        and any(resource_matches(r, request.resource) for r in resources)
        and _condition_holds(statement.get("Condition"), request)
    )


def allows(documents: Iterable[Mapping[str, Any]], request: Request) -> bool:
    """Whether the policy documents together allow `request` (an Allow matches and no Deny does)."""
    allowed = False
    for document in documents:
        for statement in _as_list(document.get("Statement")):
            if not isinstance(statement, Mapping) or not _statement_matches(statement, request):
                continue
            if statement.get("Effect") == "Deny":
                return False
            if statement.get("Effect") == "Allow":
                allowed = True
    return allowed
