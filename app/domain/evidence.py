"""Evidence export: the wizard's report as JSON and as Markdown, for a change ticket.

Pure (stdlib + the domain). The web layer gathers the records (plan,
checklist states, events, last verification) into an `Evidence` and calls
`evidence_json()` or `evidence_markdown()`. Every artifact is listed with its
SHA-256 so a reviewer can check that the files applied are the files reviewed.

`artifact_digests(plan)` lists every file of the plan's bundle
(app/domain/artifacts), hashed from the same bytes as the downloads.

Free text (names, notes, labels) is escaped for Markdown, so a note cannot
inject a link, an image or HTML into the exported document.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.domain.artifacts import artifacts
from app.domain.attachments import attachments, permissions_json
from app.domain.least_privilege import secret_prefix_note, uses_secret_prefix
from app.domain.plan import Plan
from app.domain.principal import connector_principal_kind, connector_principal_name
from app.domain.verification.results import summary_sentence

FORMAT = "aws-connector-wizard/evidence/1"


@dataclass(frozen=True, slots=True)
class ArtifactDigest:
    path: str
    sha256: str
    size: int
    title: str


@dataclass(frozen=True, slots=True)
class StepProgress:
    number: int
    step_id: str
    title: str
    done: bool
    done_by: str
    done_at: datetime | None
    note: str


@dataclass(frozen=True, slots=True)
class ActivityEntry:
    at: datetime
    actor: str
    kind: str
    text: str  # audit.describe()
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VerificationSummary:
    """The last stored verification run, only when one exists (never invented)."""

    finished_at: datetime
    actor: str
    status: str
    counts: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Evidence:
    plan: Plan
    wizard_created_at: datetime
    wizard_updated_at: datetime
    plan_version: int
    generated_at: datetime
    generated_by: str
    steps: Sequence[StepProgress]
    artifacts: Sequence[ArtifactDigest]
    activity: Sequence[ActivityEntry]
    verification: VerificationSummary | None = None

    @property
    def done_count(self) -> int:
        return sum(1 for step in self.steps if step.done)


def digest(path: str, data: bytes, title: str) -> ArtifactDigest:
    return ArtifactDigest(path=path, sha256=hashlib.sha256(data).hexdigest(), size=len(data), title=title)


def artifact_digests(plan: Plan) -> list[ArtifactDigest]:
    """Every artifact of the plan's bundle with its SHA-256: the same bytes as the downloads."""
    return [digest(a.path, a.data, a.title) for a in artifacts(plan)]


# --- JSON ---------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def evidence_json(evidence: Evidence) -> dict[str, Any]:
    plan = evidence.plan
    return {
        "format": FORMAT,
        "generated_at": _iso(evidence.generated_at),
        "generated_by": evidence.generated_by,
        "wizard": {
            "created_at": _iso(evidence.wizard_created_at),
            "updated_at": _iso(evidence.wizard_updated_at),
            "plan_version": evidence.plan_version,
        },
        "plan": plan.to_json_dict(),
        # The AWS managed policies the plan attaches (none for least privilege); `permissions`
        # has everything it attaches, in the shape of `connector-wizard policy --json`.
        "managed_policies": list(attachments(plan).managed_arns),
        "permissions": permissions_json(plan),
        "artifacts": [
            {"path": a.path, "title": a.title, "sha256": a.sha256, "bytes": a.size}
            for a in evidence.artifacts
        ],
        "checklist": {
            "done": evidence.done_count,
            "total": len(evidence.steps),
            "steps": [
                {
                    "number": s.number,
                    "id": s.step_id,
                    "title": s.title,
                    "done": s.done,
                    "done_by": s.done_by if s.done else None,
                    "done_at": _iso(s.done_at) if s.done else None,
                    "note": s.note,
                }
                for s in evidence.steps
            ],
        },
        "verification": (
            {
                "finished_at": _iso(evidence.verification.finished_at),
                "by": evidence.verification.actor,
                "status": evidence.verification.status,
                "counts": dict(evidence.verification.counts),
            }
            if evidence.verification
            else None
        ),
        "activity": [
            {"at": _iso(e.at), "actor": e.actor, "kind": e.kind, "text": e.text, "detail": dict(e.detail)}
            for e in evidence.activity
        ],
    }


# --- the same export for every request ------------------------------------------

# An export is rendered once per wizard revision with these two in place of who
# asked and when (web/evidence.py caches it), then stamped per request: building
# one with 10,000 events cost ~0.5 s of CPU (issue 12, finding 3).
GENERATED_AT_PLACEHOLDER = datetime(2000, 1, 1, tzinfo=UTC)


def stamp(body: str, fmt: str, *, by_placeholder: str, at: datetime, by: str) -> str:
    """An export rendered with the placeholders, with who asked and when put in.

    Only the first occurrence of each is replaced: the header, which comes
    before any text a user typed ("generated_at"/"generated_by" lead the JSON;
    "Generated … by …" is the Markdown's first paragraph).
    """
    if fmt == "json":
        old_at, new_at, new_by = _iso(GENERATED_AT_PLACEHOLDER), _iso(at), json.dumps(by)[1:-1]
    else:
        old_at, new_at, new_by = _when(GENERATED_AT_PLACEHOLDER), _when(at), md_text(by)
    return body.replace(str(old_at), str(new_at), 1).replace(by_placeholder, new_by, 1)


# --- Markdown -----------------------------------------------------------------

# CommonMark lets a backslash escape any ASCII punctuation; these are the ones
# that start emphasis, code spans, links (and so images), raw HTML, autolinks,
# strikethrough or a table cell mid-line. Text never starts a line here.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


# Words that GFM's autolink extension (and linkify in other renderers) would
# turn into links without any markup: `scheme://`, `//host`, `www.`, an e-mail
# address, `mailto:`/`xmpp:`, and (linkify-it's fuzzy links) a bare domain
# such as `example.com` (https://github.github.com/gfm/#autolinks-extension-).
# Escaping cannot stop them all (linkify reads the text after escapes are
# resolved), so such a word becomes a code span, which no renderer links
# (issue 12, finding 9; docs/hardening.md).
_LINKY = re.compile(r"://|^//|www\.|@|^(mailto|xmpp):|\.[a-z]{2,}", re.IGNORECASE)


def md_text(value: object) -> str:
    """Free text as inert Markdown on one line (table cells cannot hold line breaks), no bare links."""
    return " ".join(_md_word(word) for word in str(value).split())


def _md_word(word: str) -> str:
    if _LINKY.search(word):
        # A `|` would end a table cell even inside a code span: as in a URL, %7C.
        return md_code(word.replace("|", "%7C"))
    return _MD_SPECIAL.sub(r"\\\1", word)


def md_code(value: object) -> str:
    """A value as a code span; the fence is longer than any backtick run inside."""
    text = " ".join(str(value).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _secrets_cell(plan: Plan) -> str:
    if not plan.secrets_manager:
        return "no"
    if not uses_secret_prefix(plan):
        return "yes"
    return f"yes, name prefix {md_code(plan.secret_prefix)} ({md_text(secret_prefix_note(plan))})"


def attachments_markdown(plan: Plan) -> list[str]:
    """What the plan attaches, as Markdown list items (`attachments`: the same as every other surface)."""
    found = attachments(plan)
    user = f"{found.principal_kind} {md_code(found.principal_name)}"
    lines = [f"- AWS managed policy {md_code(row.arn)} on the {user}" for row in found.managed]
    lines += [
        f"- Custom policy {md_code(policy.name)} ({md_code(policy.file_name)}) on the {user}"
        for policy in found.custom
    ]
    lines += [
        f"- Inline policy {md_code(policy.name)} ({md_code(policy.file_name)}) on the {user}"
        for policy in found.inline
    ]
    role = found.member_role
    if role is not None:
        lines.append(
            f"- Member role {md_code(role.name)} in every member account: trust policy {md_code(role.trust_file)}"
        )
        lines += [
            f"- Inline policy {md_code(policy.name)} ({md_code(policy.file_name)}) on the member role "
            f"{md_code(role.name)}"
            for policy in role.policies
        ]
    return lines


def evidence_markdown(evidence: Evidence) -> str:
    plan = evidence.plan
    lines: list[str] = [
        "# AWS connector setup: evidence",
        "",
        f"Generated {_when(evidence.generated_at)} by {md_text(evidence.generated_by)} with aws-connector-wizard. "
        f"Wizard started {_when(evidence.wizard_created_at)}; plan version {evidence.plan_version}, "
        f"last changed {_when(evidence.wizard_updated_at)}.",
        "",
        "## Plan",
        "",
        "| Setting | Value |",
        "|---|---|",
        f"| Scope | {plan.scope.value} |",
        f"| Connector principal | {plan.principal.value} |",
        f"| IAM {connector_principal_kind(plan)} | {md_code(connector_principal_name(plan))} |",
    ]
    if plan.is_organization:
        member = " (dedicated member role)" if plan.dedicated_member_role else ""
        lines.append(f"| Common IAM role | {md_code(plan.role_name)}{member} |")
    lines += [
        f"| Secrets Manager | {_secrets_cell(plan)} |",
        f"| Partition | {plan.partition.value} |",
        f"| Regions | {', '.join(plan.regions)} |",
        f"| Policy style | {plan.style.value} |",
        "",
        "## Policies attached",
        "",
    ]
    lines += attachments_markdown(plan)
    lines += ["", "## Artifacts", ""]
    if evidence.artifacts:
        lines += ["| File | SHA-256 | Bytes |", "|---|---|---|"]
        lines += [f"| {md_code(a.path)} | `{a.sha256}` | {a.size} |" for a in evidence.artifacts]
    else:
        lines.append("This plan has no policy files to apply by hand.")
    lines += [
        "",
        f"## Checklist: {evidence.done_count} of {len(evidence.steps)} done",
        "",
        "| # | Step | State | By | When | Note |",
        "|---|---|---|---|---|---|",
    ]
    for s in evidence.steps:
        state = "done" if s.done else "open"
        by = md_text(s.done_by) if s.done else ""
        when = _when(s.done_at) if s.done else ""
        lines.append(f"| {s.number} | {md_text(s.title)} | {state} | {by} | {when} | {md_text(s.note)} |")
    if evidence.verification is not None:
        v = evidence.verification
        # The report page's sentence, from the same function and the same stored
        # counts: the export cannot say other numbers than the page.
        lines += [
            "",
            "## Last verification",
            "",
            f"{md_text(v.status)}, finished {_when(v.finished_at)} by {md_text(v.actor)}. "
            + summary_sentence(v.counts),
        ]
    lines += ["", "## Activity", ""]
    if evidence.activity:
        lines += [f"- {_when(e.at)} — {md_text(e.actor)}: {md_text(e.text)}" for e in evidence.activity]
    else:
        lines.append("No activity recorded.")
    return "\n".join(lines) + "\n"
