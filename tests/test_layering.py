"""The import direction of docs/architecture.md: domain imports nothing of web, database or AWS."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

FORBIDDEN = {
    "domain": {
        "fastapi",
        "starlette",
        "sqlmodel",
        "sqlalchemy",
        "boto3",
        "botocore",
        "alembic",
        "jinja2",
        "app.web",
        "app.store",
        "app.aws",
        "app.settings",
        "yaml",
    },
    "store": {"fastapi", "starlette", "boto3", "botocore", "app.web", "app.aws", "jinja2"},
    "aws": {"fastapi", "starlette", "sqlmodel", "sqlalchemy", "app.web", "app.store", "jinja2"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_layers(package: str) -> None:
    files = sorted((APP / package).rglob("*.py"))
    assert files
    for path in files:
        for name in imports_of(path):
            for forbidden in FORBIDDEN[package]:
                assert not (name == forbidden or name.startswith(forbidden + ".")), f"{path}: imports {name}"


def test_only_app_aws_imports_boto3() -> None:
    for path in APP.rglob("*.py"):
        if path.is_relative_to(APP / "aws"):
            continue
        bad = {n for n in imports_of(path) if n.split(".")[0] in {"boto3", "botocore"}}
        assert not bad, f"{path} imports {bad}"
