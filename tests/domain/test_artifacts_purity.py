"""app/domain stays pure: stdlib and pydantic only (docs/architecture.md), artifacts included.

No PyYAML, no HCL library, no subprocess: the artifacts are written by hand
and only the tests use real parsers and linters on them.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "app" / "domain"
ALLOWED_THIRD_PARTY = {"pydantic", "pydantic_core"}
FORBIDDEN_STDLIB = {"subprocess", "os", "socket", "urllib", "http", "shutil", "tempfile"}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_domain_imports_only_stdlib_pydantic_and_itself() -> None:
    files = sorted(DOMAIN.rglob("*.py"))
    assert any(p.parent.name == "artifacts" for p in files)
    for path in files:
        for module in _imports(path):
            top = module.split(".")[0]
            if module == "app.domain" or module.startswith("app.domain."):
                continue
            assert top != "app", (path.name, module)
            assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, (path.name, module)
            if path.parent.name == "artifacts" or path.name in (
                "least_privilege.py",
                "member_role.py",
                "permission_catalogue.py",
            ):
                assert top not in FORBIDDEN_STDLIB, (path.name, module)
