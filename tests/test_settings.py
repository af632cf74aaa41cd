"""Settings fail fast and are all documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import ENV_PREFIX, Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_in_the_readme_table() -> None:
    documented = set(
        re.findall(r"^\|\s*`(CONNECTOR_WIZARD_[A-Z0-9_]+)`", README.read_text(), flags=re.MULTILINE)
    )
    expected = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert expected - documented == set(), "settings missing from the README table"
    assert documented - expected == set(), "README documents settings that do not exist"


@pytest.mark.parametrize(
    ("env", "value"),
    [
        ("DATABASE_URL", "mysql://x"),
        ("PORT", "99999"),
        ("LINK_DAYS", "400"),
        ("LOG_FORMAT", "xml"),
        ("FORWARDED_ALLOW_IPS", "proxy.internal"),
    ],
)
def test_bad_values_fail_fast(monkeypatch: pytest.MonkeyPatch, env: str, value: str) -> None:
    monkeypatch.setenv(ENV_PREFIX + env, value)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_defaults_are_safe() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.allow_server_credentials is False
    assert settings.operator_secret is None
    assert settings.is_sqlite
    assert settings.host == "127.0.0.1"
