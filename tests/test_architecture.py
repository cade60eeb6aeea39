"""The import check between top-level packages (import-linter, configured in pyproject.toml), and proof it bites.

voicefleet_config is the leaf every part reads; nothing imports infra but app.py and tests; cost and service never
import each other; lambdas import nothing of ours. A new upward or circular import fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
TOP_LEVEL: tuple[str, ...] = tuple(CONFIG["root_packages"])


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports with the repository's contracts, on the packages found in `cwd` (it goes first on sys.path)."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(REPO / "pyproject.toml")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_top_level_package_is_checked() -> None:
    """A new top-level package must join the check (and take its place in a layer)."""
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - {"tests"}
    assert packages == set(TOP_LEVEL)


def test_top_level_packages_import_downwards_only() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _tree(root: Path, imports: dict[str, str]) -> None:
    """A stand-in tree of the top-level packages; `imports` maps a package to the statement its module makes."""
    for name in TOP_LEVEL:
        (root / name).mkdir()
        (root / name / "__init__.py").write_text("", encoding="utf-8")
        (root / name / "mod.py").write_text(imports.get(name, ""), encoding="utf-8")


@pytest.mark.parametrize(
    ("imports", "broken"),
    [
        ({"voicefleet_config": "import cost.mod\n"}, "voicefleet_config.mod -> cost.mod"),  # the leaf imports up
        ({"cost": "from infra import mod\n"}, "cost.mod -> infra"),  # the cost <-> infra cycle coming back
        ({"service": "def f():\n    import infra.mod\n"}, "service.mod -> infra.mod"),  # inside a function
        (
            {"service": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import infra.mod\n"},
            "service.mod -> infra.mod",
        ),
        ({"cost": "import service.mod\n"}, "cost.mod -> service.mod"),  # siblings
        ({"lambdas": "import voicefleet_config.mod\n"}, "lambdas.mod -> voicefleet_config.mod"),
        ({"infra": "import benchmarks.mod\n"}, "infra.mod -> benchmarks.mod"),
        ({"service": "import runtime.mod\n"}, "service.mod -> runtime.mod"),  # the lock's tooling is no library
    ],
)
def test_the_check_fails_on_an_upward_or_sideways_import(tmp_path: Path, imports: dict[str, str], broken: str) -> None:
    _tree(tmp_path, imports)
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 broken" in result.stdout
    assert broken in result.stdout


def test_the_check_passes_downward_imports(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "infra": "import cost.mod\nimport voicefleet_config.mod\nimport lambdas.mod\n",
            "benchmarks": "import service.mod\nimport cost.mod\n",
            "cost": "import voicefleet_config.mod\n",
            "service": "import voicefleet_config.mod\n",
        },
    )
    result = _lint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
