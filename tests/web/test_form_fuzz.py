"""Every HTML form, found by reading the pages, gets non-ASCII and control characters in every field.

Nothing a person can type into a form is a server error (issue 12, finding 7
and Proof): the forms are not listed by hand but parsed out of the pages a
wizard shows (home, scope, options, policies, checklist, verify, share links,
activity, report), so a new form is fuzzed as soon as a page shows it. Each
form is sent once with every field replaced and once per field with only that
field replaced (the others keep their values, so the odd value reaches the
code behind the first validation), each time against a fresh wizard.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import pytest

from app.main import create_app
from tests.conftest import WizardClient, make_settings

# Non-ASCII (Latin-1 and beyond, wide, combining, emoji, right-to-left) and
# control characters (NUL, ESC sequence, CR LF, DEL, line separator, BOM).
VALUES = (
    "Łukasz 李雷 🙂 Ǆ é\u0301 مرحبا",
    "a\x00b\x1b[31mc\r\nd\te\x7ff\u2028g\u202eh\ufeffi%0a%00",
)
# Links the crawl does not follow: downloads and the way out.
SKIPPED_LINKS = (".zip", ".md", ".json", "/download/", "/static/")


@dataclass
class Form:
    page: str
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)


class _Forms(HTMLParser):
    """Forms (with the values a browser would send unchanged) and same-site links of one page."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._textarea: str | None = None
        self._text = ""
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.append(a["href"])
        if tag == "form":
            self._form = Form(
                self.page, urljoin(self.page, a.get("action") or self.page), a.get("method", "get").lower()
            )
            self.forms.append(self._form)
        if self._form is None or "name" not in a:
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self._form.fields.append((name, a.get("value", "on")))
            elif kind not in {"submit", "button", "image", "reset", "file"}:
                self._form.fields.append((name, a.get("value", "")))
        elif tag == "button" and a.get("type", "submit") == "submit" and "value" in a:
            if not any(existing == name for existing, _ in self._form.fields):
                self._form.fields.append((name, a["value"]))
        elif tag == "textarea":
            self._textarea, self._text = name, ""
        elif tag == "select":
            self._select, self._options = name, []
        if tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None
        elif tag == "select" and self._select is not None and self._form is not None:
            chosen = [value for value, selected in self._options if selected] or [
                value for value, _ in self._options[:1]
            ]
            self._form.fields += [(self._select, value) for value in chosen]
            self._select = None


def discover(client: WizardClient, token: str) -> list[Form]:
    """Every form on the home page and on every wizard page reachable from the scope page."""
    seen: set[str] = set()
    queue = ["/", f"/w/{token}/scope"]
    forms: list[Form] = []
    while queue and len(seen) < 40:
        page = queue.pop(0)
        if page in seen:
            continue
        seen.add(page)
        response = client.get(page)
        assert response.status_code < 500, page
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        parser = _Forms(page)
        parser.feed(response.text)
        forms += parser.forms
        for link in parser.links:
            path = urlsplit(link).path
            if path.startswith(f"/w/{token}/") and not any(skip in path for skip in SKIPPED_LINKS):
                queue.append(path)
    return forms


def cases(form: Form) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    names = list(dict.fromkeys(name for name, _ in form.fields))
    for value in VALUES:
        yield "every field", [(name, value) for name, _ in form.fields]
        for name in names:
            yield name, [(n, value if n == name else v) for n, v in form.fields]


@pytest.fixture
def fuzz_client(tmp_path: Path) -> Iterator[WizardClient]:
    settings = make_settings(
        tmp_path,
        link_rate_per_minute=0,
        verify_rate_per_minute=0,
        # Nothing leaves the machine: a verification that gets this far fails to connect.
        aws_endpoint_url="http://127.0.0.1:9",
        aws_connect_timeout=0.2,
        aws_read_timeout=0.2,
    )
    with WizardClient(create_app(settings), base_url="http://testserver") as client:
        yield client


def test_no_form_field_takes_the_server_down(fuzz_client: WizardClient) -> None:
    client = fuzz_client
    template = client.new_wizard()
    forms = discover(client, template)
    actions = {urlsplit(form.action).path.replace(template, "{token}") for form in forms}
    # The crawl really reached the wizard's forms (a broken crawl would pass vacuously).
    for expected in ("/wizards", "/me", "/w/{token}/scope", "/w/{token}/options", "/w/{token}/links"):
        assert expected in actions, sorted(actions)
    assert any(action.endswith("/note") for action in actions)
    assert any(action.startswith("/w/{token}/steps/") for action in actions)
    failures = []
    sent = 0
    for form in forms:
        for label, data in cases(form):
            token = client.new_wizard()
            url = form.action.replace(template, token)
            if form.method == "post":
                response = client.post(
                    url,
                    content=urlencode(data),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    follow_redirects=False,
                )
            else:
                response = client.get(url, params=data, follow_redirects=False)
            sent += 1
            if response.status_code >= 500:
                failures.append(
                    (urlsplit(form.action).path.replace(template, "{token}"), label, response.status_code)
                )
    assert sent > 50
    assert failures == []
