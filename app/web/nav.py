"""The navigation around every wizard page: the link, the step list, Back and Next.

A plain value for templates; the routes build it and nothing here renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from fastapi import Request

from app.domain.checklist import checklist
from app.domain.journey import STEPS, StepStatus, step_statuses
from app.domain.plan import Plan
from app.store import share_links, steps, verifications
from app.web.deps import engine_of

if TYPE_CHECKING:
    from sqlalchemy import Engine  # SQLAlchemy is loaded on first use (docs/decisions.md#cold-start)

# The wizard's pages in order: (slug, title). Verify is optional.
WIZARD_PAGES = STEPS


@dataclass(frozen=True)
class WizardNav:
    """What every wizard page shows around its content: the link, the step list, Back and Next."""

    token: str
    current: str
    can_edit: bool
    plan: Plan
    version: int
    # What an upgrade removed from the stored plan (shown on every page until the plan is saved).
    notice: str = ""
    pages: tuple[tuple[str, str], ...] = WIZARD_PAGES
    # Read only when a page shows the step list (a tick's fragment does not).
    engine: Engine | None = field(default=None, compare=False, repr=False)
    wizard_id: str = ""

    def url(self, slug: str = "") -> str:
        return f"/w/{self.token}/{slug}" if slug else f"/w/{self.token}"

    @cached_property
    def steps(self) -> tuple[StepStatus, ...]:
        """Each step's state (done, current, to do) for the step list."""
        ticked = verification = None
        if self.engine is not None and self.wizard_id:
            done = steps.done_step_ids(self.engine, wizard_id=self.wizard_id)
            ids = {step.id for step in checklist(self.plan)}
            ticked = len(done & ids)
            last = verifications.list_runs(self.engine, wizard_id=self.wizard_id, limit=1)
            verification = last[0].status.value if last else None
        return step_statuses(
            plan_saved=self.version > 0,
            ticked=ticked or 0,
            total=len(checklist(self.plan)),
            verification=verification,
        )

    @property
    def done_count(self) -> int:
        return sum(1 for step in self.steps if step.state == "done")

    def neighbour(self, offset: int) -> tuple[str, str] | None:
        """The step before (-1) or after (+1) the current page, as (slug, title)."""
        slugs = [slug for slug, _ in self.pages]
        if self.current not in slugs:
            return None
        index = slugs.index(self.current) + offset
        return self.pages[index] if 0 <= index < len(self.pages) else None

    @property
    def tools(self) -> tuple[tuple[str, str], ...]:
        """Pages beside the numbered steps: (slug, title). Sharing needs an edit link."""
        shared = (("links", "Share"),) if self.can_edit else ()
        return (*shared, ("activity", "Activity"))


def wizard_nav(request: Request, access: share_links.Access, current: str) -> WizardNav:
    """The navigation for page `current` of the wizard the request's link opens."""
    token = request.path_params["token"]
    wizard = access.wizard
    return WizardNav(
        token,
        current,
        access.can_edit,
        wizard.plan,
        wizard.version,
        wizard.notice,
        engine=engine_of(request),
        wizard_id=wizard.id,
    )
