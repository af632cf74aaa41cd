"""Request logs: one masked line per request, request ids, JSON when configured.

The end-to-end tests run `connector-wizard serve` as its own process with the
logging configuration it really uses, drive it over HTTP with real share
tokens, stop it, and search everything it printed for those tokens.
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.web import logs

TOKEN = "A" * 20 + "_-" + "b" * 21  # 43 characters of the token alphabet


@pytest.mark.parametrize(
    ("path", "masked"),
    [
        (f"/w/{TOKEN}", "/w/***"),
        (f"/w/{TOKEN}/checklist", "/w/***/checklist"),
        (f"/w/{TOKEN}x/steps/create-user", "/w/***/steps/create-user"),  # mistyped: masked all the same
        (f"/api/v1/wizards/{TOKEN}", "/api/v1/wizards/***"),
        (f"/api/v1/wizards/{TOKEN}/steps/create-user", "/api/v1/wizards/***/steps/create-user"),
        ("/api/v1/wizards", "/api/v1/wizards"),
        ("/api/v1/plan/policies", "/api/v1/plan/policies"),
        ("/static/app.css", "/static/app.css"),
    ],
)
def test_mask_path(path: str, masked: str) -> None:
    assert logs.mask_path(path) == masked


def test_mask_text_catches_a_bare_token_anywhere_but_not_longer_words() -> None:
    assert logs.mask_text(f"failed for {TOKEN}.") == "failed for ***."
    digest = "0123456789abcdef" * 4  # a 64-character sha256: not a token
    assert logs.mask_text(digest) == digest


def test_json_formatter_emits_one_object_with_extras_and_masks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom on /w/%s", (TOKEN,), None)
    record.request_id = "r1"
    record.status = 500
    line = logs.JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "boom on /w/***"
    assert entry["level"] == "ERROR" and entry["logger"] == "x"
    assert entry["request_id"] == "r1" and entry["status"] == 500
    assert TOKEN not in line


def _csrf_client(base_url: str) -> httpx.Client:
    value = secrets.token_urlsafe(16)
    return httpx.Client(
        base_url=base_url, headers={"X-CSRF-Token": value}, cookies={"cw_csrf": value}, timeout=10
    )


def _exercise(base_url: str) -> tuple[list[str], list[str]]:
    """Hit every token-bearing route; return the tokens used and the request ids answered."""
    ids: list[str] = []
    with _csrf_client(base_url) as client:
        created = client.post("/api/v1/wizards", json={})
        assert created.status_code == 201
        token = created.json()["token"]
        unknown = secrets.token_urlsafe(32)
        responses = [
            client.get(f"/w/{token}"),  # redirects to its first page
            client.get(f"/w/{token}/checklist"),
            client.put(f"/api/v1/wizards/{token}/steps/create-user", json={"done": True}),
            client.get(f"/api/v1/wizards/{token}"),
            client.get(f"/w/{token}x/checklist"),  # mistyped link: 404, still masked
            client.get(f"/api/v1/wizards/{unknown}"),  # unknown token: 404
            # A token smuggled into the request id header is not echoed into the logs.
            client.get("/healthz", headers={"X-Request-ID": token}),
            client.get("/readyz"),
        ]
        # Without the CSRF pair: refused, and still logged masked.
        refused = httpx.put(f"{base_url}/api/v1/wizards/{token}/steps/create-user", json={"done": False})
        responses.append(refused)
    assert [r.status_code for r in responses] == [303, 200, 200, 200, 404, 404, 200, 200, 403]
    ids = [created.headers["x-request-id"], *(r.headers["x-request-id"] for r in responses)]
    assert len(set(ids)) == len(ids)
    assert token not in ids
    return [token, unknown], ids


def test_json_logs_have_request_fields_and_never_a_token(start_server: Any, tmp_path: Path) -> None:
    server = start_server(f"sqlite:///{tmp_path / 'w.sqlite3'}", CONNECTOR_WIZARD_LOG_FORMAT="json")
    tokens, ids = _exercise(server.base_url)
    server.stop()
    text = server.log_text()
    for token in tokens:
        assert token not in text
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    access = [entry for entry in entries if entry["logger"] == logs.ACCESS_LOGGER]
    assert [entry["request_id"] for entry in access] == ids
    assert {"request_id", "method", "path", "status", "duration_ms", "time", "level"} <= set(access[0])
    paths = [(entry["method"], entry["path"], entry["status"]) for entry in access]
    assert ("PUT", "/api/v1/wizards/***/steps/create-user", 200) in paths
    assert ("GET", "/w/***/checklist", 404) in paths
    assert ("PUT", "/api/v1/wizards/***/steps/create-user", 403) in paths
    assert all(isinstance(entry["duration_ms"], float) for entry in access)
    # uvicorn's own access log (raw paths) is off; ours replaces it.
    assert not any(entry["logger"] == "uvicorn.access" for entry in entries)
    assert any(entry["message"] == "Application shutdown complete." for entry in entries)


def test_text_logs_never_show_a_token_either(start_server: Any, tmp_path: Path) -> None:
    server = start_server(f"sqlite:///{tmp_path / 'w.sqlite3'}", CONNECTOR_WIZARD_LOG_FORMAT="text")
    tokens, ids = _exercise(server.base_url)
    server.stop()
    text = server.log_text()
    for token in tokens:
        assert token not in text
    assert f"[{ids[3]}] PUT /api/v1/wizards/***/steps/create-user 200" in text


def test_access_log_off_keeps_request_ids(start_server: Any, tmp_path: Path) -> None:
    server = start_server(
        f"sqlite:///{tmp_path / 'w.sqlite3'}",
        CONNECTOR_WIZARD_LOG_FORMAT="json",
        CONNECTOR_WIZARD_ACCESS_LOG="false",
    )
    response = httpx.get(f"{server.base_url}/healthz", headers={"X-Request-ID": "lb-1234"})
    assert response.headers["x-request-id"] == "lb-1234"  # a sane incoming id is kept for correlation
    server.stop()
    assert logs.ACCESS_LOGGER not in server.log_text()


def test_request_id_reaches_log_lines_written_during_the_request(client: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger=logs.ACCESS_LOGGER)
    # caplog's handler is not the app's: give it the same filter so records get the id stamped
    # while the request's context is current, as the configured handlers do.
    id_filter = logs.RequestIdFilter()
    caplog.handler.addFilter(id_filter)
    try:
        response = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    finally:
        caplog.handler.removeFilter(id_filter)
    request_id = response.headers["x-request-id"]
    assert request_id != "bad id with spaces" and len(request_id) == 32
    (record,) = [r for r in caplog.records if r.name == logs.ACCESS_LOGGER]
    assert (record.method, record.path, record.status) == ("GET", "/healthz", 200)
    assert getattr(record, "request_id", None) == request_id
    assert logs.request_id_var.get() == "-"  # reset after the request


FORGED = "2026-01-01 00:00:00,000 INFO connector_wizard.access [forged] GET /admin 200"


def test_text_logs_escape_control_characters_so_a_path_cannot_forge_a_line(
    start_server: Any, tmp_path: Path
) -> None:
    """%0a, %0d, %1b and %00 in a path (decoded by the server) stay on the request's own line."""
    server = start_server(f"sqlite:///{tmp_path / 'w.sqlite3'}", CONNECTOR_WIZARD_LOG_FORMAT="text")
    path = "/nowhere%0a" + FORGED.replace(" ", "%20") + "%0d%1b[2J%1b[31mred%00end%e2%80%a8sep"
    response = httpx.get(server.base_url + path, timeout=10)
    assert response.status_code == 404
    server.stop()
    text = server.log_text()
    lines = text.split("\n")
    assert not any(line.startswith(FORGED[:10]) for line in lines)
    assert not any(ch in text for ch in "\r\x1b\x00\u2028")
    (logged,) = [line for line in lines if "/nowhere" in line]
    assert "/nowhere\\n2026-01-01" in logged and "\\r\\x1b[2J\\x1b[31mred\\x00end\\u2028sep 404" in logged


def test_text_formatter_escapes_messages_and_keeps_tracebacks_indented() -> None:
    try:
        raise ValueError("bad\nFORGED LINE\x1b[0m")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom %s", ("a\r\nb",), sys.exc_info())
    record.request_id = "r1"
    line = logs.TextFormatter().format(record)
    first, *rest = line.split("\n")
    assert first.endswith("[r1] boom a\\r\\nb")
    assert rest and all(part.startswith(" ") for part in rest[1:])
    assert "\x1b" not in line and "    FORGED LINE\\x1b[0m" in line


def test_no_trace_span_is_started_even_with_a_tracer_provider_configured(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FastAPI's native OpenTelemetry is off (docs/decisions.md#no-native-telemetry).

    Its server span carries the raw path (`url.path`), so a share token would
    reach whatever tracing backend an operator configured; the access log masks
    it, a span would not. A provider that records what it is asked for stands
    in for a configured SDK (FastAPI uses any provider but the API's default
    proxy and its no-op one).
    """
    from opentelemetry import trace

    spans: list[dict[str, Any]] = []

    class RecordingTracer(trace.NoOpTracer):
        def start_span(self, name: str, *args: Any, attributes: Any = None, **kwargs: Any) -> trace.Span:
            spans.append({"name": name, **dict(attributes or {})})
            return super().start_span(name, *args, attributes=attributes, **kwargs)

    class RecordingProvider(trace.TracerProvider):
        def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
            return RecordingTracer()

    monkeypatch.setattr(trace, "get_tracer_provider", RecordingProvider)
    token = client.new_wizard()
    response = client.get(f"/w/{token}/checklist")
    assert response.status_code == 200
    assert spans == []
