"""Every `docs/NAME.md#anchor` the repository cites exists, and nothing cites files outside the repository.

Comments point at docs/ for the why (docs/architecture.md); a renamed heading
or a missing anchor would leave a newcomer at a dead end. Anchors are a
heading's GitHub slug or an `<a id="…"></a>` tag (GitHub renders no `{#id}`).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITATION = re.compile(r"docs/([a-z0-9-]+\.md)(?:#([A-Za-z0-9_-]+))?")
CITING = ("app", "tests", "bench", "scripts", "templates", "static", "migrations", "docs")


def _citing_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder in CITING:
        files += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and p.suffix in {".py", ".md", ".html", ".js", ".css", ".sh"}
        ]
    return files


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    text = doc.read_text(encoding="utf-8")
    explicit = set(re.findall(r'<a id="([^"]+)"></a>', text))
    return explicit | {_slug(h) for h in re.findall(r"^#+ (.*)$", text, re.M)}


def test_every_cited_doc_and_anchor_exists() -> None:
    anchors = {doc.name: _anchors(doc) for doc in (ROOT / "docs").glob("*.md")}
    missing = set()
    for path in _citing_files():
        for doc, anchor in CITATION.findall(path.read_text(encoding="utf-8", errors="replace")):
            if doc not in anchors or (anchor and anchor not in anchors[doc]):
                missing.add(f"{path.relative_to(ROOT)}: docs/{doc}{'#' + anchor if anchor else ''}")
    assert anchors and not missing, sorted(missing)


def test_nothing_cites_files_outside_the_repository() -> None:
    # The product brief and engineering notes beside the repository, and the machine's own folders.
    outside = re.compile(r"PRODUCT\.md|ENGINEERING\.md|\.\./shared|/work/")
    found = [
        str(p.relative_to(ROOT))
        for p in _citing_files()
        if p != Path(__file__) and outside.search(p.read_text(encoding="utf-8", errors="replace"))
    ]
    assert found == []
