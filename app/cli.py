"""`connector-wizard`: serve the app, print policies and artifacts, verify, operate the database.

Each subcommand is one `_cmd_*` function registered in `_parser()`. Invalid
input exits with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

# Seam "start-up without the cycle collector" (docs/decisions.md#cold-start),
# first part: these imports load most of what any command needs (pydantic, the
# plan, the settings), and with the collector on they ran ~75 collections over
# what they allocated, none of it garbage: ~2% of a restart's instructions
# (cachegrind, bench/README.md). So they run with the collector off; what they
# loaded lives as long as the process and is frozen (out of every later
# collection, as the lifespan does for the rest of start-up, app/main.py), and
# the collector is back as it was. `serve` then keeps it off until its
# lifespan has started (_cmd_serve).
_collecting = gc.isenabled()
gc.disable()
from pydantic import ValidationError  # noqa: E402

from app.domain.plan import Plan, PlanError, parse_plan, plan_options  # noqa: E402
from app.settings import ENV_PREFIX  # noqa: E402

gc.freeze()
if _collecting:
    gc.enable()


class CliError(Exception):
    """A one-line message for the user; exit status 2."""


# Optional extras (pyproject.toml) and the module each one brings.
EXTRAS = {"demo": "moto", "postgres": "psycopg"}


def _has_module(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # blocked, or a broken half-import
        return False


def require_extra(extra: str, what: str) -> None:
    """CliError with the install line when the optional `extra` is not installed."""
    if not _has_module(EXTRAS[extra]):
        raise CliError(f"{what} needs the {extra} extra; install it with: pip install '.[{extra}]'")


def _settings(**flags: Any) -> Any:
    """Settings with the options typed on the command line over the environment.

    A bad option value is a CliError naming the option (`--database-url`);
    a bad environment variable reaches main(), which names the variable.
    """
    from app.settings import Settings

    given = {key: value for key, value in flags.items() if value is not None}
    try:
        settings = Settings(**given)
    except ValidationError as error:
        first = error.errors(include_input=False)[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        if field in given:
            message = str(first["msg"]).removeprefix("Value error, ")
            raise CliError(f"--{field.replace('_', '-')}: {message}") from None
        raise
    if not settings.is_sqlite:
        require_extra("postgres", "A postgresql+psycopg:// database")
    return settings


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default (a flag's is "off"; a plan option's is the plan's)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            not action.option_strings
            or action.required
            or action.default is argparse.SUPPRESS
            or "default" in text
        ):
            return text
        if action.nargs == 0:
            return f"{text} (default: off)"
        default = action.default
        if default is None and action.dest in Plan.model_fields:
            default = getattr(Plan(), action.dest)
        if isinstance(default, tuple | list):
            default = ",".join(str(item) for item in default)
        shown = default.value if isinstance(default, StrEnum) else default
        return f"{text} (default: {'none' if shown in (None, '', False) else shown})"


class _Parser(argparse.ArgumentParser):
    """argparse, with errors that state the rule and never echo what was typed.

    argparse's own messages quote the value ("invalid choice: 'x' (choose
    from ...)", "invalid int value: 'x'", "unrecognized arguments: x"), which
    puts whatever was pasted back on the terminal; the project's rule for bad
    input is a clear message that never echoes it (docs/hardening.md,
    "Messages never echo input").
    Subcommands' parsers are of this class too (add_subparsers uses the
    parent's class).
    """

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        choices = action.choices
        if choices is None or value in choices:
            return
        if isinstance(choices, range):
            rule = f"must be a whole number from {choices.start} to {choices.stop - 1}"
        else:
            rule = "must be one of: " + ", ".join(str(choice) for choice in choices)
        raise argparse.ArgumentError(action, rule)

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        try:
            return super()._get_value(action, arg_string)
        except argparse.ArgumentError:
            if action.type is int:
                raise argparse.ArgumentError(action, "must be a whole number") from None
            raise

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(f"{len(extras)} argument(s) not recognised; --help lists the options")
        return parsed


def _plan_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per plan field, from the plan's own schema (`Option` in app/domain/plan.py).

    Every option defaults to "not given" (None): the plan's default applies,
    and only what the user typed reaches the plan's rules.
    """
    for name, option in plan_options().items():
        annotation = Plan.model_fields[name].annotation
        if option.cli_kind in {"on", "off"}:
            parser.add_argument(
                option.cli,
                dest=name,
                action="store_const",
                const=option.cli_kind == "on",
                default=None,
                help=option.help if option.cli_kind == "on" else f"do not {option.help}",
            )
            continue
        choices = None
        if isinstance(annotation, type) and issubclass(annotation, StrEnum):
            choices = [member.value for member in annotation]
        parser.add_argument(
            option.cli, dest=name, default=None, choices=choices, metavar=option.metavar, help=option.help
        )


def _server_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that run the web app; each overrides its CONNECTOR_WIZARD_* setting."""
    parser.add_argument(
        "--host", default=None, help=_setting_help("host", "address to listen on (0.0.0.0: every interface)")
    )
    parser.add_argument("--port", type=int, default=None, help=_setting_help("port", "port to listen on"))
    _database_argument(parser)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help=_setting_help("workers", "server processes on the same port"),
    )


def _setting_help(name: str, text: str) -> str:
    """Help for an option that overrides a setting: what it is, and its default (the setting's)."""
    from app.settings import Settings

    default = Settings.model_fields[name].default
    return f"{text} (default: {ENV_PREFIX}{name.upper()}, or {default})"


def _database_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        default=None,
        metavar="URL",
        help=_setting_help("database_url", "sqlite:///FILE or postgresql+psycopg://USER:PASSWORD@HOST/DB"),
    )


def plan_from_args(args: argparse.Namespace) -> Plan:
    """The plan the options typed on the command line describe; CliError naming the option if it breaks a rule."""
    data: dict[str, Any] = {}
    flags: dict[str, str] = {}  # plan field -> the option that gave it
    for name, option in plan_options().items():
        value = getattr(args, name, None)
        if value is None:
            continue
        if option.cli_kind == "names" and option.names is not None:
            # `--member-role NAME` is the dedicated role and its name, the common
            # role name: a --role-name beside it would be a second name for the
            # same role (docs/decisions.md, "One plan schema").
            if getattr(args, option.names, None) is not None:
                other = plan_options()[option.names].cli
                raise CliError(f"{other}: not together with {option.cli}, which names the role already")
            data[name], data[option.names] = True, value
            flags[name] = flags[option.names] = option.cli
        elif option.cli_kind == "file":
            data[name] = _read_option_file(option.cli, value, option.max_length)
            flags[name] = option.cli
        else:
            data[name] = value
            flags[name] = option.cli
    try:
        return parse_plan(data)
    except PlanError as error:
        field, message = next(iter(error.errors.items()))
        raise CliError(f"{flags.get(field) or plan_options()[field].cli}: {message}") from None


def _read_option_file(flag: str, path: str, limit: int) -> str:
    """The text of the file an option names (a PEM certificate), at most `limit` characters.

    The plan's rule judges the text; this only reads it. Messages never echo
    the path or the content (docs/decisions.md, "Options a plan does not use").
    """
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(limit)
    except FileNotFoundError:
        raise CliError(f"{flag}: no such file") from None
    except UnicodeDecodeError:
        raise CliError(f"{flag}: the file is not text (expected a PEM certificate)") from None
    except OSError as error:
        raise CliError(f"{flag}: cannot read the file ({error.strerror or type(error).__name__})") from None


def _cmd_policy(args: argparse.Namespace) -> int:
    from app.domain import attachments

    if args.json and args.format is not None:
        raise CliError("--json: not together with --format; give one of them")
    plan = plan_from_args(args)
    if args.json:
        # The plan's permissions, built in the domain (README.md documents the shape).
        sys.stdout.write(json.dumps(attachments.policy_json(plan), indent=2) + "\n")
        return 0
    if args.format not in (None, "text"):
        from app.domain.artifacts import render_format

        sys.stdout.write(render_format(plan, args.format))
        return 0
    sys.stdout.write(policy_text(plan))
    return 0


def policy_text(plan: Plan) -> str:
    """`policy`'s text: what the plan attaches, then DigiCert's table and inline policy with the lint."""
    from app.domain import attachments, policies

    found = attachments.attachments(plan)
    lines = [f"Attached by this plan ({plan.style.value}) to the IAM {found.principal_label}:"]
    lines += [f"  AWS managed policy {row.name}\n    {row.arn}" for row in found.managed]
    named = [("Custom policy", p.name, p.file_name, p.document) for p in found.custom]
    named += [("Inline policy", p.name, p.file_name, p.document) for p in found.inline]
    for kind, name, file_name, document in named:
        lines += [f"  {kind} {name} ({file_name}):", _indented(policies.render_json(document))]
    role = found.member_role
    if role is not None:
        lines += [
            f"Member role {role.name} in every member account, trust policy ({role.trust_file}):",
            _indented(policies.render_json(role.trust_policy)),
        ]
        for policy in role.policies:
            lines += [
                f"  Inline policy {policy.name} ({policy.file_name}):",
                _indented(policies.render_json(policy.document)),
            ]
    lines += [
        "",
        f"Permissions for {plan.scope.value} scope ({plan.partition.value}), as DigiCert documents them:",
    ]
    for row in policies.documented_permissions(plan):
        flag = " (optional)" if row.optional else ""
        used = "" if (not row.optional or plan.secrets_manager) else " — left out"
        lines.append(f"  {row.name}{flag}{used}\n    {row.arn}\n    {row.purpose}")
    if plan.is_organization:
        documented = policies.documented_inline_policy(plan)
        lines += ["", "Inline policy, as documented:", json.dumps(documented, indent=4)]
        lines += [f"  ! {finding.code}: {finding.explanation}" for finding in attachments.lint_findings(plan)]
        lines += [
            "",
            "Inline policy, corrected:",
            json.dumps(policies.corrected_inline_policy(plan), indent=4),
        ]
    return "\n".join(lines) + "\n"


def _indented(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.rstrip("\n").splitlines())


def _cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.domain.artifacts import bundle

    plan = plan_from_args(args)
    out = Path(args.output)
    files = bundle(plan)
    if out.exists() and not out.is_dir():
        raise CliError("--output: is a file; give a folder (a new one, or one an earlier export wrote)")
    earlier = _earlier_export(out)
    try:
        for relative, content in files.items():
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    except OSError as error:
        raise CliError(f"--output: cannot write there ({error.strerror or type(error).__name__})") from None
    removed, kept = _remove_stale(out, earlier, set(files))
    if removed:
        print(
            f"warning: removed {len(removed)} files of an earlier export that this plan does not produce: "
            + ", ".join(removed),
            file=sys.stderr,
        )
    if kept:
        print(
            f"warning: kept {len(kept)} files of an earlier export that were changed since: "
            + ", ".join(kept),
            file=sys.stderr,
        )
    print(f"wrote {len(files)} files to {out}")
    return 0


def _earlier_export(out: Any) -> dict[str, str]:
    """Path -> sha256 of the files an earlier export's manifest.json in `out` lists ({} if none)."""
    from app.domain.artifacts import MANIFEST_FILE

    try:
        data = json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8"))
        if data.get("generator") != "aws-connector-wizard":
            return {}
        return {str(item["path"]): str(item["sha256"]) for item in data["files"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # no manifest of ours: nothing of an earlier export to tidy


def _remove_stale(out: Any, earlier: dict[str, str], written: set[str]) -> tuple[list[str], list[str]]:
    """Delete files the earlier manifest listed that this export did not write, if unchanged since.

    Only those: anything else in the folder is the user's. A listed file that
    was edited since (its sha256 differs) is kept and reported.
    """
    import hashlib

    root = out.resolve()
    removed: list[str] = []
    kept: list[str] = []
    for relative, digest in sorted(earlier.items()):
        if relative in written:
            continue
        target = (out / relative).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            continue  # outside the folder (a tampered manifest) or gone already
        if hashlib.sha256(target.read_bytes()).hexdigest() != digest:
            kept.append(relative)
            continue
        try:
            target.unlink()
        except OSError:
            kept.append(relative)
            continue
        removed.append(relative)
    return removed, kept


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.web.logs import logging_config

    overrides = {
        "host": args.host,
        "port": args.port,
        "database_url": args.database_url,
        "workers": args.workers,
        "demo": True if args.demo else None,
    }
    settings = _settings(**overrides)  # checks the options (and extras) before anything starts
    if settings.workers == 1:
        # Start-up without the cycle collector: importing the app ran several
        # full collections over everything loaded so far, ~10% of a start
        # (docs/decisions.md#cold-start). The lifespan switches it back on once
        # start-up is done (app.main._freeze_startup_objects). With several
        # workers this process only supervises; each worker starts normally.
        gc.disable()
    if settings.demo:
        require_extra("demo", "The demo (a local AWS emulator)")
    for key, value in overrides.items():
        if value is not None:
            # uvicorn workers re-create the app from the environment.
            os.environ[ENV_PREFIX + key.upper()] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    _no_core_dumps()
    from app.web.server import HEADER_TIMEOUT_ENV, PROTOCOL

    # Worker processes read it from the environment (uvicorn's Config has no field for it).
    os.environ[HEADER_TIMEOUT_ENV] = str(settings.header_timeout_seconds)
    # One process: the app gets the settings built above (the environment and the .env
    # file are read once). Several workers each build the app, and their settings,
    # from the environment set above: uvicorn imports a factory by name in each.
    factory: str | Callable[[], Any] = "app.main:create_app"
    if settings.workers == 1:
        import functools

        from app.main import create_app

        factory = functools.partial(create_app, settings)
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        # X-Forwarded-For / -Proto only from the proxies the operator names
        # (uvicorn's ProxyHeadersMiddleware, outermost: rate limits, logs and
        # the scheme then see the real client); off by default.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        server_header=False,
        # The standard library's event loop, not uvloop: under load uvloop
        # starves some connections (a handler burning 0.5 ms, 50 connections:
        # p99 460-530 ms with uvloop, 43 ms with asyncio, same throughput;
        # bench/README.md).
        loop="asyncio",
        # Our logging (app/web/logs.py), applied in every worker: tokens masked,
        # JSON if configured. uvicorn's access log stays off; ours replaces it.
        log_config=logging_config(settings.log_format),
        access_log=False,
        # Header size and read time (431, 408), which uvicorn does not bound with
        # httptools (app/web/server.py), and concurrent connections (503 beyond).
        http=PROTOCOL,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        limit_concurrency=settings.max_connections,
    )
    return 0


def _no_core_dumps() -> None:
    """No core file from this process or its workers: it would hold typed AWS keys (issue 12, finding 9).

    Python cannot wipe a string, so keys typed for a verification stay in freed
    memory until it is reused; a core dump would write them to disk
    (docs/hardening.md). Workers inherit the limit.
    """
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _cmd_demo(args: argparse.Namespace) -> int:
    """`serve` with the demo organization: a local AWS emulator, no AWS account needed."""
    args.demo = True
    return _cmd_serve(args)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def report_table(report: Any, *, failures_only: bool = False) -> str:
    """The verification report as plain text: checks, then the member-account matrix."""
    from app.domain.verification.results import Status

    lines = [
        f"Verification of the {report.scope} scope as {report.caller_arn or 'unknown caller'} "
        f"({report.elapsed_seconds:.1f} s): {report.status.value.upper()}",
    ]
    lines += [f"  note: {note}" for note in report.simulated]
    rows = [["STATUS", "CHECK", "CALL", "FIX"]]
    details: list[str] = []
    for check in report.checks:
        if failures_only and check.status is not Status.FAIL:
            continue
        name = check.title + (f" ({check.region})" if check.region else "")
        rows.append([check.status.value.upper(), name, check.call, check.fix or ""])
        if check.status in (Status.FAIL, Status.WARN):
            code = f" [{check.error_code}]" if check.error_code else ""
            details.append(f"  {name}{code}: {check.explanation}")
    lines += ["", *_table(rows)]
    if details:
        lines += ["", "Why:", *details]
    accounts = [a for a in report.accounts if not failures_only or a.failed]
    if accounts:
        header = ["STATUS", "ACCOUNT", "NAME", "JOINED", "ROLE", *report.regions, "CAUSE", "FIX"]
        matrix = [header]
        for account in accounts:
            regions = {r.region: r.status.value for r in account.regions}
            matrix.append(
                [
                    account.status.value.upper(),
                    account.account_id,
                    account.name[:32],
                    account.joined_method,
                    "assumed" if account.role_status is Status.PASS else account.role_status.value,
                    *(regions.get(region, "") for region in report.regions),
                    account.cause.value if account.cause else "",
                    account.fix or "",
                ]
            )
        lines += ["", f"Member accounts ({len(accounts)} shown of {len(report.accounts)}):", *_table(matrix)]
    return "\n".join(lines)


def _cmd_verify(args: argparse.Namespace) -> int:
    """Run the live checks with the default credential chain; exit 1 on any failure."""
    from app.aws.clients import SHARED, AwsSettings, ClientSet, Hook, ProfileMissing, profile_session
    from app.aws.runner import verify
    from app.domain.fixes import fixes, report_json_with_fixes
    from app.domain.verification.recheck import NotMembers, parse_account_ids
    from app.settings import Settings

    if args.old_secrets_manager:
        raise CliError("--secrets-manager: gone; verify checks Secrets Manager unless --no-secrets-manager")
    plan = plan_from_args(args)
    only_accounts: tuple[str, ...] = ()
    if args.accounts is not None:
        if not plan.is_organization:
            raise CliError("--accounts: member accounts exist only in the organization scope.")
        try:
            only_accounts = parse_account_ids(args.accounts)
        except ValueError as error:
            raise CliError(f"--accounts: {error}") from None
    try:
        settings = Settings()
    except ValidationError as error:
        raise CliError(f"settings: {error.errors()[0]['msg']}") from None
    endpoint_url = settings.aws_endpoint_url
    credentials = None
    hooks: list[Hook] = []
    simulated: tuple[str, ...] = ()
    emulator = None
    if args.demo:
        require_extra("demo", "--demo (a local AWS emulator)")
        from app.aws.demo import connector_credentials, start_demo

        emulator, organization = start_demo()
        # The plan's own principal, as the identity check expects (a user's key or a role's session).
        endpoint_url, credentials = organization.endpoint_url, connector_credentials(organization, plan)
        hooks, simulated = organization.hooks(plan), organization.notes
    aws = AwsSettings(
        endpoint_url=endpoint_url,
        connect_timeout=settings.aws_connect_timeout,
        read_timeout=settings.aws_read_timeout,
        concurrency=args.concurrency or settings.verify_concurrency,
    )
    shared = SHARED
    if args.profile is not None:
        if args.demo:
            raise CliError("--profile: not with --demo, which brings the demo connector's credentials")
        try:
            shared = profile_session(args.profile)
        except ProfileMissing as error:
            raise CliError(f"--profile: {error}") from None
    clients = ClientSet(
        credentials=credentials, partition=plan.partition, aws=aws, hooks=hooks, shared=shared
    )
    try:
        report = verify(
            plan,
            clients,
            source="demo" if args.demo else "cli",
            simulated=simulated,
            only_accounts=only_accounts,
        )
    except NotMembers as error:
        raise CliError(f"--accounts: {error}") from None
    finally:
        if emulator is not None:
            emulator.stop()
    if args.json:
        print(json.dumps(report_json_with_fixes(plan, report), indent=2, sort_keys=True))
    else:
        print(report_table(report, failures_only=args.failures_only))
        found = fixes(plan, report)
        if found:
            lines = ["", "Fixes (the verify page's fix.sh runs them all):"]
            for fix in found:
                lines.append(f"  {fix.title}")
                lines += [f"    $ {command}" for command in fix.commands]
                if not fix.commands:
                    lines.append(f"    {fix.advice}")
            print("\n".join(lines))
    return 1 if report.status.value == "fail" else 0


def _cmd_handoff(args: argparse.Namespace) -> int:
    """Print what to enter in DigiCert's connector (and on a keyless sensor) for the plan."""
    from app.domain.checklist import handoff_text

    print(handoff_text(plan_from_args(args)), end="")
    return 0


def _cmd_db(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from app.store import db

    settings = _settings(database_url=args.database_url)
    if args.db_command == "backup" and not args.path:
        raise CliError("db backup needs a PATH for the copy")
    url = make_url(settings.database_url)
    if args.db_command != "upgrade" and url.get_backend_name() == "sqlite":
        from pathlib import Path

        if url.database and url.database != ":memory:" and not Path(url.database).exists():
            # Opening it would create an empty file (and its folder): say so instead.
            raise CliError(
                f"no SQLite database at {url.database}; check --database-url "
                f"({ENV_PREFIX}DATABASE_URL), or create it with: connector-wizard db upgrade"
            )
    engine = db.make_engine(settings.database_url)
    try:
        if args.db_command == "upgrade":
            db.upgrade(engine)
            print(f"database at {db.current_revision(engine)} (head {db.head_revision()})")
        elif args.db_command == "current":
            return _db_current(engine)
        elif args.db_command == "purge":
            from app.store import db, wizards

            counts = wizards.purge_expired(engine, now=db.utcnow())
            print(f"purged {counts['links']} links and {counts['wizards']} wizards")
        elif args.db_command == "backup":
            return _db_backup(engine, args.path)
    except SQLAlchemyError as error:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise CliError(f"database {where}: {type(error).__name__}: {reason}") from None
    finally:
        engine.dispose()
    return 0


def _db_current(engine: Any) -> int:
    """Print where the database stands; exit 0 only when it is at head."""
    from app.store import db

    current, head = db.current_revision(engine), db.head_revision()
    where = engine.url.render_as_string(hide_password=True)
    if current == head:
        print(f"{where}: at {current}, the latest migration: up to date")
        return 0
    if current is None:
        print(f"{where}: no migrations applied (empty or new database); head is {head}.")
        print("The server applies them on start, or run: connector-wizard db upgrade")
    else:
        print(f"{where}: at {current}; this version's head is {head}.")
        print("Run `connector-wizard db upgrade` (or start the server, which does) — unless a newer version")
        print("of the app migrated this database past this version's head.")
    return 1


def _db_backup(engine: Any, path: str) -> int:
    from pathlib import Path

    from app.store.backup import BackupError, backup_sqlite

    try:
        result = backup_sqlite(engine, Path(path))
    except BackupError as error:
        raise CliError(f"db backup: {error}") from None
    print(f"backed up {result.wizards} wizards to {result.path} ({result.bytes} bytes, integrity_check ok)")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="connector-wizard",
        description="Prepare AWS for a certificate-lifecycle connector, with exactly the permissions it needs.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web app")
    _server_arguments(serve)
    serve.add_argument(
        "--demo", action="store_true", help="verify against a simulated organization (the demo extra)"
    )
    serve.set_defaults(func=_cmd_serve)

    policy = sub.add_parser("policy", help="print the permissions and policies for a plan")
    _plan_arguments(policy)
    policy.add_argument("--json", action="store_true", help="print the policy documents as JSON")
    policy.add_argument(
        "--format",
        choices=["text", "json", "cli", "cloudformation", "terraform", "markdown"],
        default=None,
        help="output format (default: text)",
    )
    policy.set_defaults(func=_cmd_policy)

    export = sub.add_parser("export", help="write every artifact of a plan to a folder")
    _plan_arguments(export)
    export.add_argument(
        "--output",
        required=True,
        metavar="DIR",
        help="folder to write (created if missing; files an earlier export listed and this plan "
        "does not produce are removed)",
    )
    export.set_defaults(func=_cmd_export)

    demo = sub.add_parser("demo", help="run the web app against a simulated organization (no AWS needed)")
    _server_arguments(demo)
    demo.set_defaults(func=_cmd_demo)

    verify = sub.add_parser(
        "verify",
        help="check live, with the default AWS credential chain, that the connector's permissions work",
        description="Runs the wizard's live checks with the default AWS credential chain (environment, "
        "profile, instance role), or --profile=NAME, and CONNECTOR_WIZARD_AWS_ENDPOINT_URL if set. Run it "
        "on the sensor's host for a keyless plan (--principal instance-role or roles-anywhere): the "
        "identity check expects the sensor role. Exit status: 0 when nothing "
        "failed, 1 when a check failed, 2 on bad input.",
    )
    _plan_arguments(verify)
    # The old spelling (verify once checked Secrets Manager only when asked): refused with one line.
    verify.add_argument(
        "--secrets-manager", dest="old_secrets_manager", action="store_true", help=argparse.SUPPRESS
    )
    verify.add_argument(
        "--concurrency",
        type=int,
        default=None,
        choices=range(1, 129),
        metavar="N",
        help="accounts checked at once (default: CONNECTOR_WIZARD_VERIFY_CONCURRENCY, 64)",
    )
    verify.add_argument(
        "--accounts",
        default=None,
        metavar="ID,ID",
        help="re-check only these member accounts (organization scope), e.g. the ones that failed",
    )
    verify.add_argument(
        "--profile",
        default=None,
        metavar="NAME",
        help="use this profile of the AWS config files instead of the default chain: on a keyless "
        "sensor's host, the profile the connector names (its credential_process signs with the sensor's "
        "certificate)",
    )
    verify.add_argument("--json", action="store_true", help="print the report, each failure with its fix")
    verify.add_argument("--failures-only", action="store_true", help="list only failed checks and accounts")
    verify.add_argument("--demo", action="store_true", help="verify against a fresh simulated organization")
    verify.set_defaults(func=_cmd_verify)

    handoff = sub.add_parser(
        "handoff",
        help="print what to enter in DigiCert's connector for a plan (and, for Roles Anywhere, on the sensor)",
        description="The checklist's hand-off: the connector's settings for the plan's principal, in "
        "DigiCert's authentication method names, and for --principal roles-anywhere the sensor's AWS "
        "config profile.",
    )
    _plan_arguments(handoff)
    handoff.set_defaults(func=_cmd_handoff)

    dbp = sub.add_parser("db", help="database operations")
    dbp.add_argument(
        "db_command",
        choices=["upgrade", "current", "purge", "backup"],
        help="upgrade: apply migrations; current: is it at head?; purge: delete expired links and "
        "wizards; backup: copy a SQLite database to PATH",
    )
    dbp.add_argument("path", nargs="?", default=None, help="backup: the file to write (SQLite only)")
    _database_argument(dbp)
    dbp.set_defaults(func=_cmd_db)
    for command in (parser, *sub.choices.values()):
        command.formatter_class = _HelpFormatter
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CliError as error:
        print(f"connector-wizard: {error}", file=sys.stderr)
        return 2
    except ValidationError as error:
        # Settings from the environment (CONNECTOR_WIZARD_*) that fail validation.
        first = error.errors(include_input=False)[0]
        where = ENV_PREFIX + "_".join(str(part) for part in first["loc"]).upper()
        message = str(first["msg"]).removeprefix("Value error, ")
        print(f"connector-wizard: {where}: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `connector-wizard policy | head`: the reader left; not an error of ours.
        # Point stdout at devnull so the interpreter's final flush stays quiet
        # (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
