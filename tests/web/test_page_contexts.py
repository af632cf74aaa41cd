"""Typed page contexts: what each template receives is one frozen dataclass (issue 14).

docs/architecture.md#page-contexts. These tests read the templates themselves
(Jinja's AST), so a template that reads a variable its context lacks fails
here even in a branch no other test renders, and a context field no template
reads is dead weight that fails too. The page cache builds a context only on
a miss: a sweep of the wizard's pages counts the contexts built.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import jinja2.meta
import pytest
from jinja2 import nodes

from app.resources import resource_path
from app.web import render
from app.web.activity import ActivityPage
from app.web.checklist import ChecklistPage, NoteFragment, TickFragment
from app.web.errors import ErrorPage
from app.web.links import LinksPage, RevokeAllPage
from app.web.pages import HomePage, OptionsPage, PoliciesPage, ReportPage, ScopePage
from app.web.verify import VerifyPage, VerifyProgressFragment
from tests.conftest import WizardClient

# (template, block rendered alone or None for the whole page, the context it gets)
RENDERS: list[tuple[str, str | None, type[Any]]] = [
    ("home.html", None, HomePage),
    ("error.html", None, ErrorPage),
    ("scope.html", None, ScopePage),
    ("options.html", None, OptionsPage),
    ("options.html", "form", OptionsPage),
    ("options.html", "preview", OptionsPage),
    ("policies.html", None, PoliciesPage),
    ("report.html", None, ReportPage),
    ("checklist.html", None, ChecklistPage),
    ("checklist.html", "progress", ChecklistPage),
    ("checklist.html", "status", TickFragment),
    ("checklist.html", "note", NoteFragment),
    ("links.html", None, LinksPage),
    ("revoke_all.html", None, RevokeAllPage),
    ("activity.html", None, ActivityPage),
    ("verify.html", None, VerifyPage),
    ("verify.html", "start", VerifyPage),
    ("verify.html", "progress", VerifyProgressFragment),
]

# What every template gets besides its context: the request, deps.page_globals,
# the per-request values (render.PER_REQUEST) and the environment's globals.
PER_REQUEST = {"request", "demo", *render.PER_REQUEST}


def _environment() -> jinja2.Environment:
    return render.make_templates()


def _read(env: jinja2.Environment, name: str, block: str | None) -> set[str]:
    """The variables template `name` (or its `block` alone) reads from its context."""
    source = (resource_path("templates") / name).read_text(encoding="utf-8")
    tree = env.parse(source)
    if block is not None:
        found = [b for b in tree.find_all(nodes.Block) if b.name == block]
        assert len(found) == 1, (name, block)
        tree = nodes.Template(found[0].body, lineno=1)
        tree.set_environment(env)
    # Names the template (or block) sets itself ({% set %}, loop variables) are its own, not the context's.
    own = {node.name for node in tree.find_all(nodes.Name) if node.ctx in {"store", "param"}}
    read = jinja2.meta.find_undeclared_variables(tree) - own - set(env.globals)
    if block is None and isinstance(tree.body[0], nodes.Extends):
        read |= _read(env, "base.html", None)
    return read


def _fields(context: type[Any]) -> set[str]:
    return {field.name for field in dataclasses.fields(context)}


@pytest.mark.parametrize(("name", "block", "context"), RENDERS, ids=lambda v: getattr(v, "__name__", v))
def test_a_template_reads_only_fields_of_its_context(
    name: str, block: str | None, context: type[Any]
) -> None:
    env = _environment()
    missing = _read(env, name, block) - _fields(context) - PER_REQUEST
    assert not missing, f"{name} {block or ''} reads {sorted(missing)}, which {context.__name__} lacks"


@pytest.mark.parametrize("context", sorted({c for _, _, c in RENDERS}, key=lambda c: c.__name__))
def test_every_field_of_a_context_is_read_by_its_template(context: type[Any]) -> None:
    env = _environment()
    read: set[str] = set()
    for name, block, rendered in RENDERS:
        if rendered is context:
            read |= _read(env, name, block)
    assert _fields(context) <= read, (
        f"{context.__name__}: no template reads {sorted(_fields(context) - read)}"
    )


def test_contexts_are_frozen_dataclasses() -> None:
    for _, _, context in RENDERS:
        assert dataclasses.is_dataclass(context), context
        params = context.__dataclass_params__  # type: ignore[attr-defined]
        assert params.frozen, context


def test_no_template_asks_whether_a_variable_is_defined() -> None:
    # An optional value is a field with a default (None, False), never a missing key.
    for path in sorted((resource_path("templates")).glob("*.html")):
        text = path.read_text(encoding="utf-8")
        assert " is defined" not in text and " is not defined" not in text, path.name


def test_a_context_field_the_template_lacks_fails_the_render(client: WizardClient) -> None:
    """StrictUndefined still catches a typo: a template's variable no context field provides."""
    env = client.app.state.templates  # type: ignore[attr-defined]
    template = env.from_string("{{ nav.url('scope') }} {{ navv }}")
    with pytest.raises(jinja2.UndefinedError):
        template.render(render.template_variables(RevokeAllPage(nav=_Nav())))


class _Nav:
    def url(self, slug: str) -> str:
        return slug


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The class of every context render() or render_page() turns into template variables."""
    seen: list[str] = []
    real = render.template_variables

    def recording(context: render.PageContext) -> dict[str, Any]:
        seen.append(type(context).__name__)
        return real(context)

    monkeypatch.setattr(render, "template_variables", recording)
    yield seen


PAGES = {
    "scope": "ScopePage",
    "options": "OptionsPage",
    "options/preview": "OptionsPage",
    "policies": "PoliciesPage",
    "checklist": "ChecklistPage",
    "checklist/progress": "ChecklistPage",
    "verify": "VerifyPage",
    "report": "ReportPage",
    "activity": "ActivityPage",
    "links": "LinksPage",
    "links/revoke-all": "RevokeAllPage",
}


def test_each_page_builds_its_context_once_and_a_cached_page_none(
    client: WizardClient, built: list[str]
) -> None:
    token = client.new_wizard()
    for slug, context in PAGES.items():
        for headers in ({}, {"HX-Request": "true"}):
            client.app.state.page_cache.clear()  # type: ignore[attr-defined]
            built.clear()
            first = client.get(f"/w/{token}/{slug}", headers=headers)
            assert first.status_code == 200, slug
            assert built == [context], (slug, headers)
            again = client.get(f"/w/{token}/{slug}", headers=headers)
            assert again.status_code == 200, slug
            assert built == [context], f"{slug}: a cached page built its context again"


def test_home_and_error_pages_get_their_contexts(client: WizardClient, built: list[str]) -> None:
    assert client.get("/").status_code == 200
    assert client.get("/w/" + "x" * 43 + "/scope").status_code == 404
    assert built == ["HomePage", "ErrorPage"]


def test_a_stale_scope_save_answers_409_with_the_saved_choice(client: WizardClient) -> None:
    """_save_plan raises PlanConflict; the route renders the scope page as saved now, with 409."""
    token = client.new_wizard()
    first = client.form_post(
        f"/w/{token}/scope", {"scope": "account", "version": "1"}, follow_redirects=False
    )
    assert first.status_code == 303
    stale = client.form_post(f"/w/{token}/scope", {"scope": "organization", "version": "1"})
    assert stale.status_code == 409
    assert stale.context["conflict"] is True  # type: ignore[attr-defined]
    assert "Someone else changed this wizard" in stale.text
    assert 'value="account" checked' in stale.text and 'value="organization" checked' not in stale.text
    assert client.get(f"/api/v1/wizards/{token}").json()["plan"]["scope"] == "account"


def test_a_note_outcome_shows_beside_its_own_step_only(client: WizardClient) -> None:
    """Without htmx a note save answers the whole checklist: the message is on the saved step alone."""
    token = client.new_wizard()
    client.form_post(f"/w/{token}/steps/create-user/note", {"note": "ours", "version": "0"})
    stale = client.form_post(f"/w/{token}/steps/create-user/note", {"note": "mine", "version": "0"})
    assert stale.status_code == 409
    html = stale.text
    start = html.index('<li id="step-create-user"')
    step = html[start : html.index('<li id="step-', start + 1)]
    assert "someone else saved this note first" in step and '<pre class="unsaved">mine</pre>' in step
    assert html.count("someone else saved this note first") == 1
    assert html.count('aria-invalid="true"') == 1


def test_every_template_sees_the_environments_globals_as_a_plain_dict() -> None:
    # render.TemplateEnvironment: a template's globals are copied from the environment's
    # when it loads (a dict, not Jinja's ChainMap, which each render copied key by key).
    env = render.make_templates()
    page = env.get_template("checklist.html")
    assert type(page.globals) is dict
    assert page.globals == env.globals
    # A global reaches a rendered block, and a render cannot change the environment's.
    inline = env.from_string("{{ static_url('app.css') }}{% set local = 1 %}")
    assert inline.render() == render.static_url("app.css")
    inline.globals["extra"] = 1
    assert "extra" not in env.globals


def test_the_time_is_read_only_for_a_template_that_can_show_it() -> None:
    # render() reads the clock for a template that names now_iso or now_text,
    # itself or through a template it extends, includes or imports.
    env = render.TemplateEnvironment(
        loader=jinja2.DictLoader(
            {
                "base.html": "<p>{% block body %}{% endblock %}</p>",
                "stamped.html": "{% extends 'base.html' %}{% block body %}{{ now_text }}{% endblock %}",
                "child.html": "{% extends 'stamped.html' %}",
                "plain.html": "{% extends 'base.html' %}{% block body %}{{ x }}{% endblock %}",
                "named.html": "{% include which %}",
                "loop.html": "{% include 'loop.html' %}",
            }
        )
    )
    found = {
        name: env.reads_time(name)
        for name in ("stamped.html", "child.html", "plain.html", "named.html", "loop.html")
    }
    assert found == {
        "stamped.html": True,
        "child.html": True,
        "plain.html": False,
        "named.html": True,  # named by an expression: could be any template
        "loop.html": False,
    }
    app_templates = render.make_templates()
    assert app_templates.reads_time("report.html") and not app_templates.reads_time("checklist.html")
