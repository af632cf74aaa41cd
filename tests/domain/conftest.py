"""Fixtures for the domain tests: a fake `aws` command that records calls and keeps a little state."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

FAKE_AWS = r"""
import json, os, sys
from pathlib import Path

args = sys.argv[1:]
state_file = Path(os.environ["FAKE_AWS_STATE"])
state = json.loads(state_file.read_text()) if state_file.exists() else {}
with open(os.environ["FAKE_AWS_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")

def arg(name):
    return args[args.index(name) + 1] if name in args else None

def save():
    state_file.write_text(json.dumps(state))

service, op = args[0], args[1]
if (service, op) == ("sts", "get-caller-identity"):
    print("111122223333")
elif (service, op) == ("iam", "get-user"):
    sys.exit(0 if arg("--user-name") in state.get("users", []) else 254)
elif (service, op) == ("iam", "create-user"):
    state.setdefault("users", []).append(arg("--user-name")); save()
elif (service, op) == ("iam", "get-policy"):
    sys.exit(0 if arg("--policy-arn") in state.get("policies", {}) else 254)
elif (service, op) == ("iam", "create-policy"):
    arn = "arn:aws:iam::111122223333:policy/" + arg("--policy-name")
    state.setdefault("policies", {})[arn] = 1; save()
elif (service, op) == ("iam", "list-policy-versions"):
    print(state["policies"][arg("--policy-arn")] if "length" in arg("--query") else "v1")
elif (service, op) == ("iam", "create-policy-version"):
    state["policies"][arg("--policy-arn")] += 1; save()
elif (service, op) == ("iam", "delete-policy-version"):
    state["policies"][arg("--policy-arn")] -= 1; save()
elif (service, op) == ("organizations", "list-roots"):
    print("r-ab12")
elif (service, op) == ("cloudformation", "describe-stack-set"):
    sys.exit(0 if arg("--stack-set-name") in state.get("stack_sets", {}) else 255)
elif (service, op) == ("cloudformation", "create-stack-set"):
    state.setdefault("stack_sets", {})[arg("--stack-set-name")] = 0; save()
elif (service, op) == ("cloudformation", "list-stack-instances"):
    print(state["stack_sets"][arg("--stack-set-name")])
elif (service, op) == ("cloudformation", "create-stack-instances"):
    state["stack_sets"][arg("--stack-set-name")] = 1; save()
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
