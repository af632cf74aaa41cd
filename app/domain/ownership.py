"""What the wizard owns on the connector's principal, so `setup.sh` can converge to a plan.

Pure (stdlib + the plan). Run the script of one plan, then of another, and the
user must end up with exactly the second plan's policies. The script removes
only what the wizard owns (docs/setup-script.md#ownership):

- an attachment on the plan's user of a policy that *some* plan of the same
  partition attaches: the AWS managed policies of the documented style and the
  customer managed policies of the least-privilege style, by their fixed
  names (in the account the script runs in);
- the inline policy of that fixed name on that user.

Everything else on the user (policies attached by hand, other inline
policies) is left alone and named in the script's output. A customer managed
policy that leaves the plan is detached; the policy itself is deleted only
when the script created it (it carries `WIZARD_TAG`) and nothing else is
attached to it, so a policy a person created by hand under the same name survives.

The principal is the IAM user or, for a keyless plan, the sensor role (issue 13.2): the same
policies by the same names go to either, so what is owned does not depend on it. The wizard
also owns the sensor role, its instance profile and the IAM Roles Anywhere trust anchor and
profile named after it (app/domain/principal.py; docs/setup-script.md#principal).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from app.domain.attachments import attachments
from app.domain.plan import Plan, PolicyStyle, Scope

# The tag setup.sh puts on every customer managed policy it creates.
WIZARD_TAG = ("created-by", "aws-connector-wizard")


@dataclass(frozen=True, slots=True)
class UserPolicies:
    """Policies on the connector's user: AWS managed ARNs, customer managed names, inline names."""

    managed_arns: tuple[str, ...]
    custom_names: tuple[str, ...]
    inline_names: tuple[str, ...]


def plan_user_policies(plan: Plan) -> UserPolicies:
    """What `plan` puts on its user (app/domain/attachments.py), by ARN or name."""
    found = attachments(plan)
    return UserPolicies(
        managed_arns=found.managed_arns,
        custom_names=tuple(policy.name for policy in found.custom),
        inline_names=tuple(policy.name for policy in found.inline),
    )


def _variants(plan: Plan) -> list[Plan]:
    """Every plan of the same partition and user that differs in scope, style or a yes/no option.

    Built from the model's fields, so an option added later (a bool that adds
    a policy) is covered without touching this function.
    """
    switches = [name for name, field in Plan.model_fields.items() if field.annotation is bool]
    variants = []
    for scope, style, *flags in itertools.product(Scope, PolicyStyle, *([False, True] for _ in switches)):
        update: dict[str, Any] = {"scope": scope, "style": style, **dict(zip(switches, flags, strict=True))}
        variants.append(plan.model_copy(update=update))
    return variants


def owned_user_policies(plan: Plan) -> UserPolicies:
    """Everything any plan of this partition may have put on the user: what the script may remove."""
    managed: dict[str, None] = {}
    custom: dict[str, None] = {}
    inline: dict[str, None] = {}
    for variant in _variants(plan):
        policies = plan_user_policies(variant)
        managed.update(dict.fromkeys(policies.managed_arns))
        custom.update(dict.fromkeys(policies.custom_names))
        inline.update(dict.fromkeys(policies.inline_names))
    return UserPolicies(tuple(managed), tuple(custom), tuple(inline))
