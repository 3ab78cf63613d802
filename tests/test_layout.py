"""The layout's import rules (README "Layout", docs/architecture.md): `shared/` imports no service,
a service imports `shared/` and never another service, and the console imports nothing of the
services (it talks to them over HTTP)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(package: str) -> list[tuple[str, str]]:
    """(file, imported module) for every absolute import in `package`'s files."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            found += [(str(path.relative_to(ROOT)), module) for module in modules]
    return found


def _top(module: str, depth: int = 1) -> str:
    return ".".join(module.split(".")[:depth])


def test_shared_imports_no_service_nor_entry_point():
    assert [(f, m) for f, m in _imports("shared") if _top(m) in ("services", "console", "ektp")] == []


def test_a_service_imports_no_other_service():
    wrong = [(f, m) for f, m in _imports("services")
             if _top(m) == "services" and _top(m, 2) != ".".join(Path(f).parts[:2])]
    assert wrong == []


def test_the_console_imports_nothing_of_the_services():
    assert [(f, m) for f, m in _imports("console") if _top(m) == "services"] == []
