"""The import contracts in pyproject.toml (`lint-imports`) hold, and do fail on a forbidden import.

The check runs on a copy of the package, so a test can break the copy without touching the tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "offhook",
        tmp_path / "offhook",
        ignore=shutil.ignore_patterns("__pycache__", "static", "templates", "migrations"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    # The copy comes first on the path, ahead of the installed (editable) offhook; a wide
    # terminal keeps each contract's name on one line.
    env = {**os.environ, "PYTHONPATH": str(tree), "COLUMNS": "250", "NO_COLOR": "1"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint_imports(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract", "why"),
    [
        (
            "numbers/format.py",
            "import fastapi",
            "Only the interfaces (web, cli) and the concrete drivers use web or CLI frameworks "
            "BROKEN",
            "offhook.numbers is not allowed to import fastapi",
        ),
        (
            "crm/activities.py",
            "import offhook.web.security",
            "Areas import only the areas below them BROKEN",
            "offhook.crm is not allowed to import offhook.web",
        ),
        (
            "lines/admin.py",
            "import offhook.drivers.sip",
            "The core names no concrete driver (nor the webhook drivers' shared kit) BROKEN",
            "offhook.lines is not allowed to import offhook.drivers.sip",
        ),
        (
            "store/types.py",
            "import offhook.numbers",
            "The store imports nothing else of offhook BROKEN",
            "offhook.store is not allowed to import offhook.numbers",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str, why: str
) -> None:
    tree = _copy(tmp_path)
    path = tree / "offhook" / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert contract in result.stdout, result.stdout
    assert why in result.stdout, result.stdout
