"""The app's route table, enumerated for sweeps (CSRF, headers, view-only links).

Sweeps read the routes from the app itself, so a route added later is swept
too; `concrete_path` fills in the path parameters every route here uses.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the template, e.g. /w/{token}/steps/{step_id}

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def endpoints(app: FastAPI, methods: frozenset[str]) -> list[Endpoint]:
    """Every (method, path) the app serves, included routers flattened (FastAPI >= 0.160 nests them)."""
    found = set()
    for route in iter_route_contexts(app.routes):
        if route.path and route.methods:
            for method in route.methods & methods:
                found.add(Endpoint(method, route.path))
    return sorted(found, key=str)


def concrete_path(template: str, *, token: str, link_id: int, step_id: str = "create-user") -> str:
    # `path`: a file every plan generates (the downloads).
    values = {"token": token, "step_id": step_id, "link_id": str(link_id), "path": "checklist.md"}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return values.get(name, "x")

    return re.sub(r"\{([^}]+)\}", fill, template)


MINTED = re.compile(r"/w/([A-Za-z0-9_-]{43})</code>")


def mint_link(client: Any, token: str, *, kind: str = "view", label: str = "", days: int = 30) -> str:
    """Mint a link through the share page; return its raw token (shown once)."""
    response = client.form_post(f"/w/{token}/links", {"kind": kind, "label": label, "days": str(days)})
    # Post/redirect/get: the POST answers 303, the page it leads to shows the link once.
    assert [r.status_code for r in response.history] == [303] and response.status_code == 200, response.text
    match = MINTED.search(response.text)
    assert match, "the new link is shown on the page"
    return match.group(1)


def link_ids(client: Any, token: str) -> list[int]:
    """Ids of the wizard's links, from the revoke forms of its share page."""
    page = client.get(f"/w/{token}/links")
    return [int(i) for i in re.findall(r"/links/(\d+)/revoke", page.text)]


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value is not None:
                self.ids[value] += 1


def duplicate_ids(html: str) -> list[str]:
    """The id attributes that occur more than once (an id must be unique in a document)."""
    parser = _Ids()
    parser.feed(html)
    return sorted(name for name, count in parser.ids.items() if count > 1)
