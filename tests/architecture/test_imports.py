"""The package's import graph stays a tree at the front door: `cli.py` imports the commands, so no
command (export, verify, events, the controller) may import `cli.py` back. Such a cycle only works
while every import of it is deferred into a function body, and breaks the day one is not."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "reconciler"
FRONT_DOORS = {"cli.py", "demo.py"}  # demo.py runs the cli; nothing imports demo.py


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the reconciler modules a file imports, at top level or inside functions."""
    package = ".".join(("reconciler",) + path.relative_to(PACKAGE.parent).with_suffix("").parts[1:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base)
                module = f"{prefix}.{node.module}" if node.module else prefix
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.startswith("reconciler")}


def test_no_module_imports_the_command_group() -> None:
    offenders = sorted(str(path.relative_to(PACKAGE.parent)) for path in PACKAGE.rglob("*.py")
                       if path.name not in FRONT_DOORS or path.parent != PACKAGE
                       if "reconciler.cli" in imported_modules(path))
    assert offenders == [], f"these import reconciler.cli (import reconciler.cli_context instead): {offenders}"


@pytest.mark.parametrize("module", ["reconciler.export", "reconciler.verify.command",
                                    "reconciler.observed.events_command", "reconciler.controller.command",
                                    "reconciler.rollback"])
def test_each_command_module_imports_on_its_own(module: str) -> None:
    """Imported first, in a fresh interpreter, before anything else has loaded the cli."""
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, timeout=60)
