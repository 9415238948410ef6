"""The layers only point down: import-linter's contracts (pyproject.toml, `make lint`) hold on
the tree, and they do fail on an upward import, shown on a copy of the packages with one added.
`config` and `errors`, single modules below every package, are checked here directly."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
PACKAGES = CONTRACTS["root_packages"]


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def copy_of_packages(target: Path) -> Path:
    """The packages' Python files and pyproject.toml, nothing else (no data, no venv)."""
    for package in PACKAGES:
        shutil.copytree(REPO / package, target / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(REPO / "pyproject.toml", target / "pyproject.toml")
    return target


@pytest.mark.heavy
def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.heavy
def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    root = copy_of_packages(tmp_path)
    text_init = root / "text" / "__init__.py"
    text_init.write_text(text_init.read_text() + "\nfrom chains import retrieval  # upward\n")
    result = lint_imports(root)
    assert result.returncode == 1
    assert "text is not allowed to import chains" in result.stdout


def imported_roots(module: Path) -> set[str]:
    """The top-level names a module imports."""
    roots = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


def test_config_and_errors_sit_below_every_package() -> None:
    ours = set(PACKAGES) | {"app", "serve", "ingest", "ask", "kb", "evaluate", "config"}
    assert imported_roots(REPO / "errors.py") & (ours | {"errors"}) == set()
    assert imported_roots(REPO / "config.py") & ours == set()
