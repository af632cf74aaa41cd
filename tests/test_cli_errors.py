"""The command line as a newcomer meets it (issue 15, items 12-14): bad input, missing extras, help.

Every subcommand runs in its own process, like a user's shell runs it; a
missing optional extra is simulated by an import hook in that process that
makes `import moto` / `import psycopg` fail as if they were not installed
(the code under test runs unchanged).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from app.cli import _parser, main
from tests.conftest import REPO

# Runs the CLI with the given top-level modules impossible to import.
BLOCKED_RUNNER = """
import sys
blocked = set(sys.argv[1].split(",")) - {""}
class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, NotInstalled())
from app.cli import main
raise SystemExit(main(sys.argv[2:]))
"""


def run_cli(
    args: list[str], *, blocked: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_WIZARD_")}
    return subprocess.run(
        [sys.executable, "-c", BLOCKED_RUNNER, blocked, *args],
        cwd=REPO,
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _cases(tmp: Path) -> list[tuple[list[str], str, str]]:
    """(argv, blocked modules, what the one line must say) for every subcommand."""
    a_file = tmp / "a-file.txt"
    a_file.write_text("mine\n")
    missing = f"sqlite:///{tmp / 'nowhere' / 'missing.sqlite3'}"
    postgres = "postgresql+psycopg://wizard:secret@127.0.0.1:1/wizard"
    return [
        (["serve", "--port", "99999"], "", "--port: "),
        (["serve", "--database-url", "mysql://x"], "", "--database-url: must be"),
        (["serve", "--database-url", postgres], "psycopg", "pip install '.[postgres]'"),
        (["serve", "--demo"], "moto", "pip install '.[demo]'"),
        (["demo"], "moto", "pip install '.[demo]'"),
        (["demo", "--workers", "0"], "", "--workers: "),
        (["policy", "--role-name", "bad/name"], "", "--role-name: "),
        (["export", "--output", str(a_file)], "", "--output: is a file"),
        (["export", "--output", str(a_file / "sub")], "", "--output: cannot write there"),
        (["export", "--output", "/proc/connector-wizard-test"], "", "--output: cannot write there"),
        (["verify", "--demo"], "moto", "pip install '.[demo]'"),
        (["verify", "--regions", "mars-1"], "", "--regions: "),
        (["verify", "--profile", "no-such-profile-4711"], "", "--profile: no such profile"),
        (["handoff", "--principal", "instance-role", "--user-name", "x"], "", "--user-name: Only plans"),
        (["db", "current", "--database-url", postgres], "psycopg", "pip install '.[postgres]'"),
        (["db", "upgrade", "--database-url", "mysql://x"], "", "--database-url: must be"),
        (["db", "current", "--database-url", missing], "", "no SQLite database at"),
        (["db", "purge", "--database-url", missing], "", "no SQLite database at"),
        (["db", "backup", "--database-url", missing], "", "needs a PATH"),
    ]


def test_every_subcommand_with_bad_input_says_one_line_and_exits_2(tmp_path: Path) -> None:
    cases = _cases(tmp_path)
    assert {argv[0] for argv, _, _ in cases} == set(_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    failures = []
    # Four at a time: each case is a fresh interpreter (~1 s of imports).
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = list(pool.map(lambda case: run_cli(case[0], blocked=case[1]), cases))
    for (argv, blocked, expected), done in zip(cases, runs, strict=True):
        lines = done.stderr.splitlines()
        if not (
            done.returncode == 2
            and len(lines) == 1
            and lines[0].startswith("connector-wizard: ")
            and expected in lines[0]
            and "Traceback" not in done.stderr + done.stdout
            and "secret" not in done.stderr  # a database password is never printed
        ):
            failures.append(f"{argv} (blocked {blocked!r}): exit {done.returncode}\n{done.stderr[-800:]}")
    assert failures == []
    # Nothing was created where the database was missing.
    assert not (tmp_path / "nowhere").exists()


def test_a_bad_setting_in_the_environment_names_the_variable() -> None:
    done = run_cli(["serve"], env={"CONNECTOR_WIZARD_PORT": "99999"})
    assert done.returncode == 2 and done.stderr.startswith("connector-wizard: CONNECTOR_WIZARD_PORT: ")
    assert "Traceback" not in done.stderr


def test_reexport_removes_only_what_its_own_earlier_manifest_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bundle"
    assert main(["export", "--output", str(out), "--style", "least-privilege"]) == 0
    first = json.loads((out / "manifest.json").read_text())
    earlier = {item["path"] for item in first["files"]}
    (out / "my-notes.txt").write_text("the user's own file\n")
    capsys.readouterr()

    assert main(["export", "--output", str(out), "--scope", "account"]) == 0
    err = capsys.readouterr().err
    now = {item["path"] for item in json.loads((out / "manifest.json").read_text())["files"]}
    stale = earlier - now
    assert stale, "the two plans should produce different files"
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert on_disk == now | {"manifest.json", "my-notes.txt"}
    assert err.startswith(f"warning: removed {len(stale)} files of an earlier export")
    assert all(path in err for path in stale)

    # A listed file the user changed since is kept, and said so.
    assert main(["export", "--output", str(out), "--style", "least-privilege"]) == 0
    edited = sorted(stale)[0]
    (out / edited).write_text("edited by hand\n")
    capsys.readouterr()
    assert main(["export", "--output", str(out), "--scope", "account"]) == 0
    err = capsys.readouterr().err
    assert f"warning: kept 1 files of an earlier export that were changed since: {edited}" in err
    assert (out / edited).read_text() == "edited by hand\n"
    assert "my-notes.txt" not in err and (out / "my-notes.txt").exists()


def test_a_manifest_cannot_point_outside_its_folder(tmp_path: Path) -> None:
    out, victim = tmp_path / "bundle", tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    out.mkdir()
    digest = hashlib.sha256(victim.read_bytes()).hexdigest()
    (out / "manifest.json").write_text(
        json.dumps(
            {"generator": "aws-connector-wizard", "files": [{"path": "../victim.txt", "sha256": digest}]}
        )
    )
    assert main(["export", "--output", str(out)]) == 0
    assert victim.read_text() == "keep me\n"


def test_every_option_of_every_command_shows_its_default_and_has_help() -> None:
    parser = _parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    missing = []
    for name, command in commands.items():
        formatter = command._get_formatter()
        for action in command._actions:
            if not action.option_strings or action.dest == "help" or action.help == "==SUPPRESS==":
                continue
            text = formatter._get_help_string(action) or ""  # type: ignore[attr-defined]
            if not action.help or ("default" not in text and not action.required):
                missing.append(f"{name} {action.option_strings[0]}: {text!r}")
    assert missing == []


def test_the_readme_shows_what_readyz_really_answers(client: Any) -> None:
    readme = (REPO / "README.md").read_text()
    shown = re.search(r"curl -fsS http://127\.0\.0\.1:8000/readyz\s+# (\{.*\})", readme)
    assert shown, "README lost its /readyz example"
    assert json.loads(shown.group(1)) == client.get("/readyz").json()


@pytest.mark.parametrize(
    ("argv", "rule"),
    [
        (
            ["policy", "--partition", "zq-typed<value>"],
            "--partition: must be one of: aws, aws-us-gov, aws-cn",
        ),
        (["export", "--style", "zq-typed<value>", "--output", "x"], "--style: must be one of: documented,"),
        (["policy", "--format", "zq-typed<value>"], "--format: must be one of: text, json,"),
        (["verify", "--concurrency", "zq-typed<value>"], "--concurrency: must be a whole number"),
        (["verify", "--concurrency", "9999"], "--concurrency: must be a whole number from 1 to 128"),
        (["serve", "--port", "zq-typed<value>"], "--port: must be a whole number"),
        (["db", "zq-typed<value>"], "db_command: must be one of: upgrade, current, purge, backup"),
        (["zq-typed<value>"], "command: must be one of: serve, policy,"),
        (["policy", "zq-typed<value>"], "1 argument(s) not recognised; --help lists the options"),
    ],
)
def test_argument_errors_state_the_rule_and_never_echo_the_input(
    argv: list[str], rule: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert rule in err.splitlines()[-1], err
    assert "zq-typed" not in err and "9999" not in err, err
