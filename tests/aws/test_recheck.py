"""A fix for exactly what failed, against moto over HTTP: fix commands in `verify --json`, re-checks of chosen accounts."""

from __future__ import annotations

import json

import pytest

from app.domain.fixes import fix_script, fixes
from app.domain.verification.drift import drift
from app.domain.verification.recheck import NotMembers
from app.domain.verification.results import Status
from tests.aws.conftest import plan_of, run_org
from tests.aws.test_cli_verify import _cli


def test_verify_json_failures_carry_their_fix_commands() -> None:
    result = _cli("--demo", "--json", env={})
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    failed = [a for a in data["accounts"] if a["status"] == "fail"]
    passed = [a["account_id"] for a in data["accounts"] if a["status"] == "pass"]
    assert failed and passed
    for account in failed:
        commands = " ".join(c for fix in account["fix_commands"] for c in fix["commands"])
        assert account["account_id"] in commands or account["fix_commands"][0]["advice"]
    every_command = " ".join(c for fix in data["fixes"] for c in fix["commands"])
    assert all(account_id not in every_command for account_id in passed)
    invited = [a["account_id"] for a in failed if a["cause"] == "role-missing"]
    assert invited
    assert f"Accounts={','.join(invited)},AccountFilterType=INTERSECTION" in every_command


def test_accounts_option_refuses_bad_input_with_one_line() -> None:
    for args, needle in [
        (("--accounts", "12345"), "12 digits"),
        (("--accounts", ","), "at least one"),
        (("--scope", "account", "--accounts", "123456789012"), "organization scope"),
        (("--demo", "--accounts", "999999999999"), "not an active member"),
    ]:
        result = _cli(*args, env={})
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "--accounts" in result.stderr and needle in result.stderr
        assert "Traceback" not in result.stderr
    assert "12345" not in _cli("--accounts", "12345", env={}).stderr  # the input is not echoed


def test_recheck_only_the_failed_accounts(small_org) -> None:  # type: ignore[no-untyped-def]
    plan = plan_of(regions="us-east-1")
    first = run_org(plan, small_org)
    failed = [a.account_id for a in first.failed_accounts()]
    assert len(failed) == 2 and len(first.accounts) > 3

    again = run_org_only(plan, small_org, failed)
    assert [a.account_id for a in again.accounts] == failed
    assert again.only_accounts == tuple(failed)
    # The accounts not re-checked are not reported as gone.
    assert all(item.change.value != "gone" for item in drift(first, again).items)
    # The fix script of the re-check names exactly the same failed accounts.
    script = fix_script(plan, again)
    for account in first.accounts:
        assert (account.account_id in script) == (account.status is Status.FAIL)
    assert {a for fix in fixes(plan, again) for a in fix.accounts} == set(failed)

    with pytest.raises(NotMembers):
        run_org_only(plan, small_org, [failed[0], "999999999999"])


def run_org_only(plan, org, ids):  # type: ignore[no-untyped-def]
    from app.aws.clients import AwsSettings, ClientSet
    from app.aws.runner import verify

    clients = ClientSet(
        credentials=org.credentials,
        partition=plan.partition,
        aws=AwsSettings(endpoint_url=org.endpoint_url),
        hooks=org.hooks(plan),
    )
    return verify(plan, clients, only_accounts=ids)
