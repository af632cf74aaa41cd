"""Fixtures for the domain tests: a fake `aws` command that records calls and keeps a little state."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

FAKE_AWS = r"""
import json, os, sys
from pathlib import Path

# The scripts join values to their flags (--user-name=x); argparse in the real CLI
# splits them, and so does this fake, so the log reads ["--user-name", "x"].
args = []
for a in sys.argv[1:]:
    args += a.split("=", 1) if a.startswith("--") and "=" in a else [a]
if os.environ.get("FAKE_AWS_VERSION"):  # an old CLI: it knows no newer command
    if args == ["--version"]:
        print(os.environ["FAKE_AWS_VERSION"]); sys.exit(0)
    if "--generate-cli-skeleton" in args:
        print("aws: error: argument operation: Invalid choice", file=sys.stderr); sys.exit(2)
if "--generate-cli-skeleton" in args:  # the scripts' AWS CLI version check
    print("{}"); sys.exit(0)
state_file = Path(os.environ["FAKE_AWS_STATE"])
state = json.loads(state_file.read_text()) if state_file.exists() else {}
with open(os.environ["FAKE_AWS_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")

def arg(name):
    return args[args.index(name) + 1] if name in args else None

def save():
    state_file.write_text(json.dumps(state))

service, op = args[0], args[1]
query = arg("--query") or ""
policies = state.setdefault("policies", {})  # arn -> list of documents, the last is the default
if (service, op) == ("sts", "get-caller-identity"):
    print("111122223333")
elif (service, op) == ("iam", "get-user"):
    sys.exit(0 if arg("--user-name") in state.get("users", []) else 254)
elif (service, op) == ("iam", "create-user"):
    state.setdefault("users", []).append(arg("--user-name")); save()
elif (service, op) == ("iam", "get-role"):
    if arg("--role-name") not in state.get("roles", {}):
        sys.exit(254)
    if "AssumeRolePolicyDocument ==" in query:
        literal = query.split("`", 1)[1].rsplit("`", 1)[0].replace("\\`", "`")
        print("True" if json.loads(literal) == state["roles"][arg("--role-name")] else "False")
    else:
        print("arn:aws:iam::111122223333:role/" + arg("--role-name"))
elif (service, op) == ("iam", "create-role"):
    state.setdefault("roles", {})[arg("--role-name")] = json.loads(arg("--assume-role-policy-document")); save()
elif (service, op) == ("iam", "update-assume-role-policy"):
    state["roles"][arg("--role-name")] = json.loads(arg("--policy-document")); save()
elif (service, op) == ("iam", "get-instance-profile"):
    profiles = state.get("instance_profiles", {})
    if arg("--instance-profile-name") not in profiles:
        sys.exit(254)
    print(profiles[arg("--instance-profile-name")] if "RoleName" in query else "1")
elif (service, op) == ("iam", "create-instance-profile"):
    state.setdefault("instance_profiles", {})[arg("--instance-profile-name")] = ""; save()
elif (service, op) == ("iam", "add-role-to-instance-profile"):
    state["instance_profiles"][arg("--instance-profile-name")] = arg("--role-name"); save()
elif (service, op) == ("iam", "get-policy"):
    if arg("--policy-arn") not in policies:
        sys.exit(254)
    print("v%d" % len(policies[arg("--policy-arn")]))
elif (service, op) == ("iam", "get-policy-version"):
    # The script asks whether the default version's document equals its own (a JMESPath literal).
    literal = query.split("`", 1)[1].rsplit("`", 1)[0].replace("\\`", "`")
    print("True" if json.loads(literal) == policies[arg("--policy-arn")][-1] else "False")
elif (service, op) == ("iam", "create-policy"):
    arn = "arn:aws:iam::111122223333:policy/" + arg("--policy-name")
    policies[arn] = [json.loads(arg("--policy-document"))]; save()
elif (service, op) == ("iam", "list-policy-versions"):
    print(len(policies[arg("--policy-arn")]) if "length" in query else "v1")
elif (service, op) == ("iam", "create-policy-version"):
    policies[arg("--policy-arn")].append(json.loads(arg("--policy-document"))); save()
elif (service, op) == ("iam", "delete-policy-version"):
    policies[arg("--policy-arn")].pop(0); save()
elif (service, op) == ("organizations", "list-roots"):
    print("r-ab12")
elif (service, op) == ("cloudformation", "describe-stack-set"):
    if arg("--stack-set-name") not in state.get("stack_sets", {}):
        sys.exit(255)
    print(state["templates"][arg("--stack-set-name")] if "TemplateBody" in query else "111122223333")
elif (service, op) == ("cloudformation", "create-stack-set"):
    state.setdefault("stack_sets", {})[arg("--stack-set-name")] = 0
    state.setdefault("templates", {})[arg("--stack-set-name")] = arg("--template-body"); save()
elif (service, op) == ("cloudformation", "update-stack-set"):
    state["templates"][arg("--stack-set-name")] = arg("--template-body"); save()
    print("op-update")
elif (service, op) == ("cloudformation", "list-stack-instances"):
    if "length" in query:
        print(state["stack_sets"][arg("--stack-set-name")])
    else:
        print(os.environ.get("FAKE_AWS_OUTDATED_INSTANCES", ""))
elif (service, op) == ("cloudformation", "create-stack-instances"):
    state["stack_sets"][arg("--stack-set-name")] = 1; save()
    print("op-create")
elif (service, op) == ("cloudformation", "describe-stack-set-operation"):
    # moto finishes every operation at once: here FAKE_AWS_OPERATION_STATES plays a sequence.
    states = state.setdefault("operation_states", os.environ.get("FAKE_AWS_OPERATION_STATES", "SUCCEEDED").split(","))
    print(states.pop(0) if len(states) > 1 else states[0]); save()
elif (service, op) == ("cloudformation", "list-stack-set-operations"):
    print(os.environ.get("FAKE_AWS_RUNNING_OPERATION", ""))
elif (service, op) == ("cloudformation", "list-stack-set-operation-results"):
    print(os.environ.get("FAKE_AWS_OPERATION_FAILURES", ""))
elif (service, op) == ("iam", "create-access-key"):
    print("AKIAEXAMPLE\tsecret-example")
"""


@pytest.fixture
def fake_aws(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    aws = bin_dir / "aws"
    aws.write_text(f"#!{sys.executable}\n{FAKE_AWS}")
    aws.chmod(0o755)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_AWS_STATE": str(tmp_path / "state.json"),
        "FAKE_AWS_LOG": str(tmp_path / "calls.jsonl"),
        "HOME": str(tmp_path),
    }
