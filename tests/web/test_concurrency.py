"""Concurrent editors against a live server on 127.0.0.1: no lost update, no 5xx, no "database is locked".

Real HTTP (uvicorn in a thread, real sockets, one connection per client
thread) and a real SQLite file in WAL mode.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.domain.checklist import step_ids
from app.domain.plan import Plan
from app.main import create_app
from tests.conftest import make_settings
from tests.live import LiveServer

THREADS = 16
REQUESTS = 50
NOTE_ROUNDS = 100
LOCKED = "database is locked"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[str]:
    # No rate limit here: 800 requests from one address in a few seconds is the point.
    server = LiveServer(create_app(make_settings(tmp_path, link_rate_per_minute=0)))
    url = server.start()
    yield url
    server.stop()


def editor(base_url: str, csrf: str) -> httpx.Client:
    """One browser-like editor: its own connection, the CSRF cookie and header, htmx requests."""
    return httpx.Client(
        base_url=base_url,
        cookies={"cw_csrf": csrf},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true", "Origin": base_url},
        timeout=30,
    )


def new_wizard(base_url: str, csrf: str) -> str:
    with editor(base_url, csrf) as client:
        created = client.post("/api/v1/wizards", json={})
        assert created.status_code == 201, created.text
        return str(created.json()["token"])


def note_text(response: Any) -> str:
    match = re.search(r"<textarea[^>]*>(.*?)</textarea>", response.text, re.DOTALL)
    assert match, response.text
    return match.group(1)


def run_threads(count: int, target: Any) -> None:
    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a client thread hung"


def test_16_threads_toggling_steps_lose_no_update(live: str, caplog: pytest.LogCaptureFixture) -> None:
    csrf = secrets.token_urlsafe(32)
    token = new_wizard(live, csrf)
    steps = step_ids(Plan())
    assert len(steps) == 9
    # Thread n toggles step n % 9: steps 0-6 have two writers, 7-8 one. Every thread
    # alternates and ends on the step's target (done for even indexes), so the final
    # state is known whatever the interleaving.
    target = {step: index % 2 == 0 for index, step in enumerate(steps)}
    statuses: Counter[int] = Counter()
    mismatches: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        step = steps[n % len(steps)]
        mine: Counter[int] = Counter()
        with editor(live, csrf) as client:
            for j in range(REQUESTS):
                done = target[step] if (REQUESTS - 1 - j) % 2 == 0 else not target[step]
                try:
                    response = client.post(f"/w/{token}/steps/{step}?done={str(done).lower()}", data={})
                except httpx.HTTPError as error:
                    with lock:
                        errors.append(repr(error))
                    continue
                mine[response.status_code] += 1
                if LOCKED in response.text:
                    with lock:
                        errors.append(LOCKED)
                # The answer shows the state this very write left (read in its transaction).
                if f'aria-pressed="{str(done).lower()}"' not in response.text:
                    with lock:
                        mismatches.append(f"{step} {done}")
        with lock:
            statuses.update(mine)

    with caplog.at_level(logging.WARNING):
        run_threads(THREADS, work)
    assert errors == []
    assert statuses == Counter({200: THREADS * REQUESTS})
    assert mismatches == []
    assert LOCKED not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

    with editor(live, csrf) as client:
        final = {s["id"]: s["done"] for s in client.get(f"/api/v1/wizards/{token}").json()["steps"]}
        report = client.get(f"/w/{token}/report.json").json()
    assert final == target
    # The audit trail is the proof: per step, ticks and unticks alternate (a lost
    # update would show two ticks in a row), starting from "not done" and ending
    # on the final state; a step with one writer changed on every request.
    events: dict[str, list[str]] = {step: [] for step in steps}
    for entry in reversed(report["activity"]):  # oldest first
        if entry["kind"] in {"step.done", "step.undone"}:
            events[entry["detail"]["step"]].append(entry["kind"])
    for index, step in enumerate(steps):
        kinds = events[step]
        assert all(a != b for a, b in itertools.pairwise(kinds)), step
        assert kinds[0] == "step.done"
        assert (kinds[-1] == "step.done") is target[step]
        writers = 2 if index < THREADS - len(steps) else 1
        if writers == 1:
            # Every request flips the step, except a first "undo" of a step never done.
            assert len(kinds) == REQUESTS - (1 if target[step] else 0), step
        else:
            assert REQUESTS // 2 <= len(kinds) <= writers * REQUESTS, step


def test_two_editors_of_one_note_one_wins_one_gets_409(live: str, caplog: pytest.LogCaptureFixture) -> None:
    csrf = secrets.token_urlsafe(32)
    token = new_wizard(live, csrf)
    url = f"/w/{token}/steps/create-user/note"
    clients = [editor(live, csrf), editor(live, csrf)]
    barrier = threading.Barrier(2)
    rounds: list[tuple[int, int]] = []
    version = 0
    with caplog.at_level(logging.WARNING):
        for round_number in range(NOTE_ROUNDS):
            answers: list[Any] = [None, None]

            def save(
                n: int, version: int = version, round_number: int = round_number, answers: list[Any] = answers
            ) -> None:
                barrier.wait()  # both loaded the form at the same version; both save now
                answers[n] = clients[n].post(
                    url, data={"note": f"round {round_number} by editor {n}", "version": str(version)}
                )

            run_threads(2, save)
            codes = sorted(answer.status_code for answer in answers)
            rounds.append((codes[0], codes[1]))
            winner, loser = sorted(answers, key=lambda a: a.status_code)
            assert "Note saved" in winner.text
            # The loser sees the winner's note and keeps its own text.
            assert (
                note_text(loser)
                == note_text(winner)
                == f"round {round_number} by editor {answers.index(winner)}"
            )
            assert "Not saved" in loser.text
            version += 1
    for client in clients:
        client.close()
    assert rounds == [(200, 409)] * NOTE_ROUNDS
    assert LOCKED not in caplog.text
    with editor(live, csrf) as client:
        state = client.get(f"/api/v1/wizards/{token}").json()["steps"][1]
        report = client.get(f"/w/{token}/report.json").json()
    assert state["note_version"] == NOTE_ROUNDS
    assert sum(1 for e in report["activity"] if e["kind"] == "step.note") == NOTE_ROUNDS
