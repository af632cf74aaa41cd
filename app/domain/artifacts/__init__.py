"""Every artifact of a plan, rendered by pure functions: JSON, CLI, CloudFormation, Terraform, Markdown.

Pure (stdlib only, plus the domain). The web page, the API and the CLI call:

- `artifacts(plan)`: the files, each with its bundle path, format, media
  type, title, description and text;
- `artifact(plan, path)`: one of them (or None), for a single download;
- `render_format(plan, fmt)`: one format as one text (what `connector-wizard
  policy --format FMT` prints);
- `bundle(plan)`: {path: bytes} with `manifest.json` (every file's SHA-256);
- `bundle_zip(plan)`: that bundle as a reproducible zip (fixed timestamps,
  sorted entries), and `bundle_file_name(plan)` for its download name;
- `artifact_explanations(plan)`: per file, the policies it grants and why each
  permission is there (`explanations.principal_explanations` and `member_role_explanations`).

Nothing here reads the clock, the environment or the disk: the same plan
always gives byte-identical files (the golden tests rely on it).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from functools import lru_cache

from app.domain import member_role
from app.domain.explanations import member_role_explanations, principal_explanations
from app.domain.least_privilege import PolicyExplanation
from app.domain.plan import Plan
from app.domain.policies import render_json

from . import cloudformation, shell, terraform
from .documents import documents
from .markdown import CHECKLIST_FILE, checklist_markdown
from .sensor import principal_text

FORMATS = ("json", "cli", "cloudformation", "terraform", "markdown")
MANIFEST_FILE = "manifest.json"
ZIP_MEDIA_TYPE = "application/zip"

# Media types by file extension. YAML: RFC 9512. Terraform has no registered
# type; text/plain keeps browsers from doing anything but showing or saving it.
MEDIA_TYPES = {
    ".json": "application/json",
    ".yaml": "application/yaml",
    ".tf": "text/plain; charset=utf-8",
    ".sh": "text/x-shellscript; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
}
# A fixed timestamp makes the zip reproducible (the earliest a zip can hold).
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Artifact:
    path: str  # relative path inside the bundle, "/"-separated
    format: str  # one of FORMATS
    title: str
    description: str
    content: str

    @property
    def file_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES["." + self.path.rsplit(".", 1)[-1]]

    @property
    def executable(self) -> bool:
        return self.path.endswith(".sh")

    @property
    def data(self) -> bytes:
        return self.content.encode("utf-8")


def artifacts(plan: Plan) -> list[Artifact]:
    """Every file of the plan's bundle except the manifest, in a stable order."""
    return list(_artifacts(plan))


@lru_cache(maxsize=64)
def _artifacts(plan: Plan) -> tuple[Artifact, ...]:
    # Plans and artifacts are immutable (frozen dataclasses of strings), and
    # `artifact`, `render_format`, `bundle` and the explanations each ask again
    # for the same plan's files: build the bundle once (~6.5 ms each time).
    # Callers get a fresh list, so they cannot change what is cached.
    text = principal_text(plan)
    out = [
        Artifact(doc.file_name, "json", doc.title, doc.description, render_json(doc.document))
        for doc in documents(plan)
    ]
    out.append(
        Artifact(
            shell.SETUP_SCRIPT,
            "cli",
            "AWS CLI script",
            "Bash script that does the whole setup with the AWS CLI; idempotent; "
            + (
                "creates no access key: the sensor's credentials are temporary."
                if plan.uses_role_principal
                else "creates an access key only with --create-access-key."
            ),
            shell.setup_script(plan),
        )
    )
    out.append(
        Artifact(
            cloudformation.MANAGEMENT_TEMPLATE,
            "cloudformation",
            f"CloudFormation: the connector's {text.title}",
            "Template for the "
            + ("management account" if plan.is_organization else "account")
            + f": {text.contents} (no access key).",
            cloudformation.render_management(plan),
        )
    )
    if member_role.applies(plan):
        out.append(
            Artifact(
                cloudformation.STACKSET_TEMPLATE,
                "cloudformation",
                "CloudFormation: member role StackSet",
                f"Template for a service-managed StackSet that puts the role {plan.role_name} in every "
                "member account, with automatic deployment to new accounts.",
                cloudformation.render_stackset(plan),
            )
        )
        out.append(
            Artifact(
                cloudformation.MANAGEMENT_ROLE_TEMPLATE,
                "cloudformation",
                "CloudFormation: member role in the management account",
                "The same role as a single stack in the management account, which StackSets skip.",
                cloudformation.render_management_role(plan),
            )
        )
    out.append(
        Artifact(
            cloudformation.DEPLOY_SCRIPT,
            "cli",
            "CloudFormation deploy commands",
            "Bash script with the exact aws cloudformation commands"
            + (" (deploy, create-stack-set, create-stack-instances)" if member_role.applies(plan) else "")
            + " for the templates in this folder.",
            shell.deploy_script(plan),
        )
    )
    out.append(
        Artifact(
            terraform.MAIN_FILE,
            "terraform",
            f"Terraform: the connector's {text.title}",
            f"{text.contents[0].upper()}{text.contents[1:]} (no access key, so no secret in the state).",
            terraform.main_tf(plan),
        )
    )
    if member_role.applies(plan):
        out.append(
            Artifact(
                terraform.MEMBER_ROLE_FILE,
                "terraform",
                "Terraform: member role",
                "aws_cloudformation_stack_set for the member accounts, and an optional stack for the "
                "management account.",
                terraform.member_role_tf(plan),
            )
        )
    out.append(
        Artifact(
            CHECKLIST_FILE,
            "markdown",
            "Checklist (Markdown)",
            "The plan, why each permission is there, and every step with console and CLI instructions.",
            checklist_markdown(plan),
        )
    )
    return tuple(out)


def artifact(plan: Plan, path: str) -> Artifact | None:
    """The artifact at `path` in the bundle, or None (never reads the disk: paths are only compared)."""
    for item in artifacts(plan):
        if item.path == path:
            return item
    return None


def render_format(plan: Plan, fmt: str) -> str:
    """Every artifact of one format as one text, for printing.

    json: one object {file name: policy document}. cli: the setup script.
    cloudformation: the templates as one YAML stream (documents separated by
    "---"). terraform: the .tf files one after the other (still valid HCL).
    markdown: the checklist.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "json":
        return json.dumps({doc.file_name: doc.document for doc in documents(plan)}, indent=4) + "\n"
    if fmt == "cli":
        return shell.setup_script(plan)
    if fmt == "cloudformation":
        templates = [a.content for a in artifacts(plan) if a.format == "cloudformation"]
        return "---\n".join(templates)
    if fmt == "terraform":
        return "\n".join(a.content for a in artifacts(plan) if a.format == "terraform")
    return checklist_markdown(plan)


def manifest(plan: Plan, files: list[Artifact]) -> str:
    entries = [
        {
            "path": item.path,
            "sha256": hashlib.sha256(item.data).hexdigest(),
            "bytes": len(item.data),
            "media_type": item.media_type,
            "format": item.format,
            "title": item.title,
        }
        for item in files
    ]
    return (
        json.dumps(
            {"generator": "aws-connector-wizard", "plan": plan.to_json_dict(), "files": entries}, indent=2
        )
        + "\n"
    )


def bundle(plan: Plan) -> dict[str, bytes]:
    """Relative path -> file content for every artifact, plus manifest.json."""
    files = artifacts(plan)
    out = {item.path: item.data for item in files}
    out[MANIFEST_FILE] = manifest(plan, files).encode("utf-8")
    return out


def bundle_file_name(plan: Plan) -> str:
    return f"connector-setup-{plan.scope.value}-{plan.partition.value}-{plan.style.value}.zip"


def bundle_zip(plan: Plan) -> bytes:
    """The bundle as a zip: reproducible bytes, scripts marked executable, everything in one folder."""
    folder = bundle_file_name(plan).removesuffix(".zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(bundle(plan).items()):
            info = zipfile.ZipInfo(f"{folder}/{path}", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if path.endswith(".sh") else 0o644
            info.external_attr = (0o100000 | mode) << 16  # regular file + permissions (Unix)
            info.create_system = 3  # Unix, so unzip honours the permissions
            archive.writestr(info, data)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class ArtifactExplanation:
    path: str
    title: str
    policies: tuple[PolicyExplanation, ...]


def artifact_explanations(plan: Plan) -> list[ArtifactExplanation]:
    """For each file, the policies it grants and why each permission is there (for the Policies page)."""
    # Split by who gets them, not by how a label reads: a keyless plan's principal is a role too.
    user_side = tuple(principal_explanations(plan))
    role_side = tuple(member_role_explanations(plan))
    by_file = {e.file_name: e for e in user_side + role_side if e.file_name}
    out: list[ArtifactExplanation] = []
    for item in artifacts(plan):
        if item.format == "json":
            found = by_file.get(item.path)
            policies: tuple[PolicyExplanation, ...] = (found,) if found else ()
        elif item.path in (
            cloudformation.STACKSET_TEMPLATE,
            cloudformation.MANAGEMENT_ROLE_TEMPLATE,
            terraform.MEMBER_ROLE_FILE,
        ):
            policies = role_side
        elif item.path in (cloudformation.MANAGEMENT_TEMPLATE, terraform.MAIN_FILE):
            policies = user_side
        else:
            policies = user_side + role_side
        out.append(ArtifactExplanation(item.path, item.title, policies))
    return out
