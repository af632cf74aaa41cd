"""The JSON API under schemathesis (4.x, in process): no server error, every default check passes.

Every operation gets MAX_EXAMPLES generated cases in the fuzzing phase, plus
schemathesis's deterministic coverage-phase cases (boundaries, wrong types,
missing fields, unsupported methods), against a real app on a real SQLite
file, with every default check (not_a_server_error, status code, content
type, response schema and headers conformance, positive data acceptance,
negative data rejection, ...).

So that the fuzzer reaches the handlers instead of stopping at the door:
- every case carries the CSRF cookie and header;
- routes with a share link get a valid edit token in the path;
- positive cases (schema-valid data) get a step id that exists and, for half
  of them, the current version, so saves succeed as well as conflict;
- regions are kept inside the chosen partition, a dedicated member role
  gets a name of its own, and options the chosen scope does not use are left
  out: rules across fields that OpenAPI cannot state (the schema states every
  single-field rule).
Negative cases are left exactly as generated.
"""

from __future__ import annotations

import secrets
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings
from schemathesis.python import asgi

from app.domain.iam import HOME_REGION, REGIONS, Partition
from app.domain.plan import DEFAULT_ROLE_NAME, Principal, Scope, unused_options
from app.main import create_app
from tests.conftest import FUZZ_SEED, FUZZ_SEED_ENV, make_settings

# test_the_fuzzer_reached_every_handler reads STATUSES, which the fuzzing tests fill in this
# process: under xdist one worker runs the whole module (tests/conftest.py).
pytestmark = pytest.mark.same_worker

MAX_EXAMPLES = 40  # per operation, fuzzing phase; the whole module runs in ~15 s on 2 cores
RANDOM_EXAMPLES = 15  # per operation, with the run's random seed
CSRF = secrets.token_urlsafe(32)
CA_PEM = (Path(__file__).resolve().parents[1] / "fixtures" / "example-sensor-ca.pem").read_text()
# Files every plan generates (GET /api/v1/plan/artifacts/{path}).
COMMON_FILES = ("checklist.md", "setup.sh", "cloudformation/management-account.yaml")

APP = create_app(make_settings(Path(tempfile.mkdtemp(prefix="cw-schemathesis-")), link_rate_per_minute=0))
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)
# Set-up requests go through schemathesis's own in-process client: one app lifespan for all.
CLIENT = asgi.get_client(APP)
STATUSES: Counter[tuple[str, int]] = Counter()


def _create_wizard() -> str:
    created = CLIENT.post(
        "/api/v1/wizards", json={}, headers={"X-CSRF-Token": CSRF}, cookies={"cw_csrf": CSRF}
    )
    assert created.status_code == 201, created.text
    return str(created.json()["token"])


def _fit_plan(plan: dict[str, Any]) -> None:
    # Options the scope or the principal does not use are refused unless left at their defaults.
    for name in unused_options(
        plan.get("scope", Scope.ORGANIZATION.value), plan.get("principal", "iam-user")
    ):
        plan.pop(name, None)
    # Roles Anywhere needs one trust anchor (a CA certificate: the schema cannot say which
    # text is one) and the certificate's subject CN.
    if plan.get("principal") == Principal.ROLES_ANYWHERE.value:
        plan.update(
            trust_anchor_certificate=CA_PEM, trust_anchor_pca_arn="", certificate_subject_cn="tlm-sensor"
        )
    # A rule across two fields: a dedicated member role needs its own name.
    if plan.get("dedicated_member_role") in (True, "true") and plan.get("role_name", DEFAULT_ROLE_NAME) == (
        DEFAULT_ROLE_NAME
    ):
        plan["role_name"] = "DigiCertTLMMemberRole"
    partition = plan.get("partition", "aws")
    if partition not in {p.value for p in Partition} or not isinstance(plan.get("regions"), list):
        return
    allowed = REGIONS[Partition(partition)]
    plan["regions"] = [r for r in plan["regions"] if r in allowed] or [HOME_REGION[Partition(partition)]]


def _current(token: str) -> dict[str, Any]:
    body: dict[str, Any] = CLIENT.get(f"/api/v1/wizards/{token}").json()
    return body


@pytest.fixture(scope="module", autouse=True)
def _stop_app() -> Iterator[None]:
    yield
    asgi.shutdown_lifespans()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    _check(case)


@schema.parametrize()
@settings(max_examples=RANDOM_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@seed(FUZZ_SEED)
def test_api_conforms_to_its_schema_with_a_random_seed(case: schemathesis.Case) -> None:
    """Besides the fixed set above: a new seed every run (printed in the header), so runs explore."""
    try:
        _check(case)
    except BaseException as error:
        error.add_note(f"random seed {FUZZ_SEED}: rerun with {FUZZ_SEED_ENV}={FUZZ_SEED}")
        raise


def _check(case: schemathesis.Case) -> None:
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    path = case.path_parameters or {}
    token = path.get("token")
    # A negative case may have its invalid part in the token: keep that one as generated.
    if isinstance(token, str) and (positive or 1 <= len(token) <= 100):
        path["token"] = TOKEN
    if positive:
        if "step_id" in path:
            # A step the plan has now, whatever the fuzzer made of the plan meanwhile (a keyless
            # plan has no create-user or create-access-key step).
            ids = [step["id"] for step in _current(TOKEN)["steps"]]
            path["step_id"] = ids[len(str(path["step_id"])) % len(ids)]
        if "path" in path:
            path["path"] = COMMON_FILES[len(str(path["path"])) % len(COMMON_FILES)]
        if isinstance(case.query, dict):
            _fit_plan(case.query)
        if isinstance(case.body, dict):
            _fit_plan(case.body)
            if isinstance(case.body.get("plan"), dict):
                _fit_plan(case.body["plan"])
            version = case.body.get("version")
            if isinstance(version, int) and version % 2 == 0:
                current = _current(TOKEN)
                if case.operation.path.endswith("/plan"):
                    case.body["version"] = current["version"]
                elif case.operation.path.endswith("/note"):
                    step = next(s for s in current["steps"] if s["id"] == path["step_id"])
                    case.body["version"] = step["note_version"]
    response = case.call_and_validate(headers={"X-CSRF-Token": CSRF}, cookies={"cw_csrf": CSRF})
    STATUSES[(case.operation.label, response.status_code)] += 1


TOKEN = _create_wizard()


def test_the_fuzzer_reached_every_handler() -> None:
    """Runs after the fuzzing above: every operation also answered with success, not only errors."""
    operations = {label for label, _ in STATUSES}
    documented = sum(len(methods) for methods in APP.openapi()["paths"].values())
    assert len(operations) == documented, STATUSES
    succeeded = {label for (label, status) in STATUSES if status < 400}
    assert succeeded == operations, STATUSES
    # Saves both won and lost against the current version.
    assert STATUSES[("PUT /api/v1/wizards/{token}/plan", 409)] > 0
    assert STATUSES[("PUT /api/v1/wizards/{token}/steps/{step_id}/note", 409)] > 0
