"""`connector-wizard verify` as a user runs it: a subprocess, the default credential chain, moto over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from app.aws.demo import seed_organization


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CONNECTOR_WIZARD_"))}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "verify", *args],
        env={
            **clean,
            **env,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_default_chain_table_and_json_exit_status(endpoint: str) -> None:
    org = seed_organization(endpoint, created=3, invited=0, untrusted=0, trusted_access=False)
    env = {
        "CONNECTOR_WIZARD_AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": org.credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": org.credentials.secret_access_key.get_secret_value(),
    }
    table = _cli(
        "--scope",
        "organization",
        "--role-name",
        "OrganizationAccountAccessRole",
        "--regions",
        "us-east-1,eu-west-1",
        env=env,
    )
    assert table.returncode == 1, table.stderr
    assert "FAIL    Trusted access" in table.stdout
    assert "enable-trusted-access" in table.stdout
    assert org.user_arn in table.stdout
    assert env["AWS_SECRET_ACCESS_KEY"] not in table.stdout + table.stderr

    as_json = _cli("--json", "--scope", "account", "--regions", "us-east-1", env=env)
    assert as_json.returncode == 0, as_json.stdout
    data = json.loads(as_json.stdout)
    assert data["status"] == "pass" and data["source"] == "cli" and data["caller_arn"] == org.user_arn


def test_bad_input_and_missing_credentials(endpoint: str) -> None:
    bad = _cli("--regions", "mars-1", env={})
    assert bad.returncode == 2 and "--regions" in bad.stderr and "Traceback" not in bad.stderr
    # verify's old spelling, now that it takes policy's plan options: one line, exit 2.
    old = _cli("--secrets-manager", env={})
    assert old.returncode == 2 and old.stderr.count("\n") == 1
    assert old.stderr.startswith("connector-wizard: --secrets-manager: ")
    none = _cli("--scope", "account", env={"CONNECTOR_WIZARD_AWS_ENDPOINT_URL": endpoint})
    assert none.returncode == 1
    assert "no-credentials" in none.stdout or "No AWS credentials" in none.stdout


def test_demo_flag_runs_the_simulated_organization() -> None:
    result = _cli("--demo", "--failures-only", env={})
    assert result.returncode == 1
    assert "Simulated denial" in result.stdout
    assert "role-missing" in result.stdout and "(invited)" in result.stdout


def test_demo_flag_signs_in_as_a_role_plans_sensor_role_and_its_denials_name_it() -> None:
    result = _cli("--demo", "--json", "--principal", "instance-role", "--regions", "us-east-1", env={})
    data = json.loads(result.stdout)
    caller = "arn:aws:sts::123456789012:assumed-role/digicert-tlm-sensor/connector-wizard-demo"
    assert data["caller_arn"] == caller
    denied = [a for a in data["accounts"] if "sts:AssumeRole" in (a.get("detail") or "")]
    assert denied, data["accounts"]
    assert all(f"User: {caller} is not authorized" in a["detail"] for a in denied)
