"""Reading pages back as a reader (or a copy button) sees them: stdlib html.parser, no app code.

`code_blocks(html)`: {file name: text} of every `<figure data-file>` code block,
the text a copy button copies (textContent, entities decoded).
`attached_items(html)`: the `data-attached` list items of the attachments list.
`wizard_for(client, plan)`: a wizard holding a plan, to read its pages.
"""

from __future__ import annotations

from html.parser import HTMLParser

from fastapi import FastAPI

from app.domain.plan import Plan
from app.main import engine_of
from app.store import db, wizards
from tests.conftest import WizardClient


def wizard_for(client: WizardClient, plan: Plan) -> str:
    """A wizard holding `plan`, straight through the store (whatever the forms accept); its edit token."""
    app = client.app
    assert isinstance(app, FastAPI)
    _, token = wizards.create_wizard(engine_of(app), plan=plan, actor="test", now=db.utcnow(), link_days=1)
    return token


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: dict[str, list[str]] = {}
        self.items: list[dict[str, str]] = []
        self._figure: str | None = None
        self._in_code = False
        self._chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "figure" and "data-file" in found:
            self._figure = found["data-file"]
        elif tag == "code" and self._figure is not None and "id" in found:
            self._in_code, self._chunks = True, []
        elif tag == "li" and "data-attached" in found:
            self.items.append(found)

    def handle_endtag(self, tag: str) -> None:
        if tag == "code" and self._in_code:
            assert self._figure is not None
            self.blocks.setdefault(self._figure, []).append("".join(self._chunks))
            self._in_code = False
        elif tag == "figure":
            self._figure = None

    def handle_data(self, data: str) -> None:
        if self._in_code:
            self._chunks.append(data)


def _read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def code_blocks(html: str) -> dict[str, list[str]]:
    """File name -> the texts of the code blocks that show it (a page may show a file twice)."""
    return _read(html).blocks


def attached_items(html: str) -> list[dict[str, str]]:
    """The attributes of every `<li data-attached=...>` of the attachments list, in page order."""
    return _read(html).items
