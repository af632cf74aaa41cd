"""The plans every artifact is checked for, and helpers that read the artifacts back.

Shared by the artifact tests (golden files, linters, cross-format equality).
Reading back uses the real parsers: PyYAML (what cfn-lint reads templates
with), python-hcl2, json, and bash for the scripts' here-documents.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import yaml

from app.domain.artifacts import Artifact, artifacts, bundle
from app.domain.plan import Plan

# A self-signed CA certificate (EC P-256, CA:TRUE), made once for the golden files.
SENSOR_CA_PEM = (Path(__file__).resolve().parents[1] / "fixtures" / "sensor-ca.pem").read_text()

REGIONS = {
    "aws": ("us-east-1", "eu-central-1"),
    "aws-us-gov": ("us-gov-west-1",),
    "aws-cn": ("cn-north-1", "cn-northwest-1"),
}


def _matrix() -> dict[str, Plan]:
    plans: dict[str, Plan] = {}
    for scope in ("account", "organization"):
        for style in ("documented", "least-privilege"):
            for secrets in (True, False):
                for partition, regions in REGIONS.items():
                    roles = (False, True) if scope == "organization" else (False,)
                    for dedicated in roles:
                        key = "-".join(
                            [scope, style, "secrets" if secrets else "no-secrets", partition]
                            + (["member-role"] if dedicated else [])
                        )
                        plans[key] = Plan(
                            scope=scope,
                            style=style,
                            secrets_manager=secrets,
                            partition=partition,
                            regions=regions,
                            dedicated_member_role=dedicated,
                            role_name="DigiCertTLMMemberRole"
                            if dedicated
                            else "OrganizationAccountAccessRole",
                        )
    # Beyond the cross product: a custom common role that is not deployed by
    # us, and a member role with a custom prefix, user name and many regions.
    plans["organization-documented-secrets-aws-custom-role"] = Plan(role_name="TLM.Connector@Role_1")
    plans["organization-least-privilege-secrets-aws-member-role-custom"] = Plan(
        style="least-privilege",
        dedicated_member_role=True,
        role_name="tlm-member",
        secret_prefix="certs/tlm_keys.",
        user_name="tlm+connector=1,x.y@z_w-v",
        regions=("eu-west-1", "us-east-1", "ap-southeast-2"),
    )
    # Elastic Load Balancing listeners (issue 13): both styles, both scopes, a member role, other partitions.
    plans["organization-documented-secrets-aws-member-role-elb"] = Plan(
        dedicated_member_role=True, role_name="DigiCertTLMMemberRole", elb=True
    )
    plans["organization-least-privilege-secrets-aws-member-role-elb"] = Plan(
        style="least-privilege",
        dedicated_member_role=True,
        role_name="DigiCertTLMMemberRole",
        regions=REGIONS["aws"],
        elb=True,
    )
    plans["organization-documented-no-secrets-aws-cn-elb"] = Plan(
        partition="aws-cn", regions=REGIONS["aws-cn"], secrets_manager=False, elb=True
    )
    plans["account-least-privilege-no-secrets-aws-us-gov-elb"] = Plan(
        scope="account",
        style="least-privilege",
        partition="aws-us-gov",
        regions=REGIONS["aws-us-gov"],
        secrets_manager=False,
        elb=True,
    )
    # Keyless sensors (issue 13.2): the sensor role on EC2, both scopes and styles, a member role
    # trusting the role, other partitions, a custom role name.
    plans["organization-documented-secrets-aws-instance-role"] = Plan(principal="instance-role")
    plans["organization-least-privilege-secrets-aws-member-role-instance-role"] = Plan(
        principal="instance-role",
        style="least-privilege",
        dedicated_member_role=True,
        role_name="DigiCertTLMMemberRole",
    )
    plans["account-least-privilege-no-secrets-aws-instance-role"] = Plan(
        scope="account", principal="instance-role", style="least-privilege", secrets_manager=False
    )
    plans["account-documented-secrets-aws-us-gov-instance-role"] = Plan(
        scope="account", principal="instance-role", partition="aws-us-gov", regions=REGIONS["aws-us-gov"]
    )
    plans["organization-least-privilege-no-secrets-aws-cn-instance-role-elb"] = Plan(
        principal="instance-role",
        sensor_role_name="tlm.sensor+ec2@x",
        style="least-privilege",
        secrets_manager=False,
        partition="aws-cn",
        regions=REGIONS["aws-cn"],
        elb=True,
    )
    # IAM Roles Anywhere: the organization's CA certificate, or an AWS Private CA.
    anywhere = {"principal": "roles-anywhere", "certificate_subject_cn": "tlm-sensor.example.com"}
    plans["organization-least-privilege-secrets-aws-member-role-roles-anywhere"] = Plan(
        **anywhere,
        trust_anchor_certificate=SENSOR_CA_PEM,
        style="least-privilege",
        dedicated_member_role=True,
        role_name="DigiCertTLMMemberRole",
    )
    plans["account-documented-no-secrets-aws-roles-anywhere-pca"] = Plan(
        **anywhere, scope="account", secrets_manager=False, trust_anchor_pca_arn=_pca_arn("aws", "us-east-1")
    )
    plans["organization-documented-secrets-aws-us-gov-roles-anywhere-pca"] = Plan(
        **anywhere,
        partition="aws-us-gov",
        regions=REGIONS["aws-us-gov"],
        trust_anchor_pca_arn=_pca_arn("aws-us-gov", "us-gov-west-1"),
    )
    plans["account-least-privilege-secrets-aws-cn-roles-anywhere"] = Plan(
        **anywhere,
        scope="account",
        style="least-privilege",
        partition="aws-cn",
        regions=REGIONS["aws-cn"],
        trust_anchor_certificate=SENSOR_CA_PEM,
        sensor_role_name="tlm.sensor@onprem",
    )
    return plans


def _pca_arn(partition: str, region: str) -> str:
    return f"arn:{partition}:acm-pca:{region}:111122223333:certificate-authority/11111111-2222-3333-4444-555555555555"


MATRIX: dict[str, Plan] = _matrix()


@functools.cache
def plan_artifacts(key: str) -> tuple[Artifact, ...]:
    return tuple(artifacts(MATRIX[key]))


def unique(fmt: str, suffix: str = "") -> dict[str, tuple[str, Artifact]]:
    """Distinct artifact texts of a format across the matrix: sha -> (plan key, artifact)."""
    import hashlib

    found: dict[str, tuple[str, Artifact]] = {}
    for key in MATRIX:
        for item in plan_artifacts(key):
            if item.format == fmt and item.path.endswith(suffix):
                found.setdefault(hashlib.sha256(item.data).hexdigest(), (key, item))
    return found


# --- reading HCL back ---------------------------------------------------------

_HCL_U8 = re.compile(r"\\U([0-9a-fA-F]{8})")


def hcl_string(raw: str) -> str:
    """Decode a python-hcl2 string (it keeps quotes and escapes) into its value."""
    assert raw.startswith('"') and raw.endswith('"'), raw
    inner = raw[1:-1].replace("$${", "${").replace("%%{", "%{")
    inner = _HCL_U8.sub(lambda m: chr(int(m.group(1), 16)), inner)
    # HCL's remaining escapes (\" \\ \n \r \t \uNNNN) are JSON's.
    return str(json.loads('"' + inner.replace("\n", "\\n") + '"'))


def hcl_value(value: Any) -> Any:
    """python-hcl2 output -> plain values: quoted strings decoded, expressions kept as ${...}."""
    if isinstance(value, dict):
        return {
            (hcl_string(k) if k.startswith('"') else k): hcl_value(v)
            for k, v in value.items()
            if k not in ("__is_block__", "__comments__", "__inline_comments__")
        }
    if isinstance(value, list):
        return [hcl_value(v) for v in value]
    if isinstance(value, str) and value.startswith('"') and value.endswith('"') and len(value) >= 2:
        return hcl_string(value)
    return value


def parse_hcl(text: str) -> dict[str, Any]:
    return dict(hcl_value(hcl2.loads(text)))


def hcl_locals(parsed: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in parsed.get("locals", []):
        merged.update(block)
    return merged


def hcl_resources(parsed: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for block in parsed.get("resource", []):
        for resource_type, named in block.items():
            if resource_type == kind:
                out.update(named)
    return out


# --- reading the scripts back -------------------------------------------------

_HEREDOC = re.compile(
    r"^(?P<name>[a-z_]+)\(\) \{\n  cat <<'(?P<end>[A-Z_]+)'\n(?P<body>.*?)\n(?P=end)\n\}", re.M | re.S
)


def heredocs(script: str) -> dict[str, str]:
    """Function name -> the document its quoted here-document prints."""
    return {m.group("name"): m.group("body") + "\n" for m in _HEREDOC.finditer(script)}


def load_yaml(text: str) -> Any:
    return yaml.safe_load(text)


def write_bundle(plan: Plan, folder: Path) -> Path:
    """Write a plan's bundle like `connector-wizard export` does, scripts executable."""
    for relative, data in bundle(plan).items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if relative.endswith(".sh"):
            target.chmod(0o755)
    return folder


def run_script(
    script: Path, env: dict[str, str], *args: str
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    """Run a script with the fake `aws` (conftest `fake_aws`); return the result and the recorded calls."""
    log = Path(env["FAKE_AWS_LOG"])
    log.write_text("")
    result = subprocess.run(
        [str(script), *args], env=env, capture_output=True, text=True, check=False, cwd="/"
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return result, calls
