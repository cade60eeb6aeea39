"""Stages the code CDK ships as assets: the `lambdas` package, and a source bundle of the whole project.

Copying into a fresh directory (instead of `Code.from_asset(repo_root, exclude=...)`) keeps CDK from walking
.venv/ and node_modules/ to fingerprint the repository, and makes the asset hash depend only on shipped files.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("infra", "service", "lambdas", "cost", "voicefleet_config")
PROJECT_FILES = ("pyproject.toml", "README.md")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".pytest_cache", ".mypy_cache", "*.egg-info")


def _fresh_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    # CDK copies assets into the cloud assembly while the constructs are built; the staging copy is scratch.
    atexit.register(shutil.rmtree, path, True)
    return path


def stage_lambda_package(repo_root: Path = REPO_ROOT) -> Path:
    """A directory holding only `lambdas/` (so handlers import as `lambdas.scheduler.handler`)."""
    source = repo_root / "lambdas"
    if not source.is_dir():
        raise FileNotFoundError(f"{source}: the lambdas package is missing; the scheduler/spot functions need it")
    out = _fresh_dir("voicefleet-lambdas-")
    shutil.copytree(source, out / "lambdas", ignore=_IGNORE)
    return out


def stage_service_source(repo_root: Path = REPO_ROOT) -> Path:
    """pyproject.toml + README.md + the packages: enough for `pip install '.[service,gpu]'` on an instance."""
    out = _fresh_dir("voicefleet-source-")
    for name in PROJECT_FILES:
        shutil.copy2(repo_root / name, out / name)
    for package in PACKAGES:
        if (repo_root / package).is_dir():
            shutil.copytree(repo_root / package, out / package, ignore=_IGNORE)
    return out
