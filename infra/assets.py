"""Stages the code CDK ships as assets: the `lambdas` package (+ tzdata), and a source bundle of the whole project.

Copying into a fresh directory (instead of `Code.from_asset(repo_root, exclude=...)`) keeps CDK from walking
.venv/ and node_modules/ to fingerprint the repository, and makes the asset hash depend only on shipped files.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import shutil
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# The source bundle the image build installs: the project's packages, and runtime/ (the lock and the build steps).
PACKAGES = ("infra", "service", "lambdas", "cost", "voicefleet_config", "benchmarks", "instance", "runtime")
PROJECT_FILES = ("pyproject.toml", "README.md")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".pytest_cache", ".mypy_cache", "*.egg-info")
# Installer bookkeeping differs between pip and uv installs of the same tzdata; leaving it out keeps the asset hash
# a function of the shipped data and licence only.
_IGNORE_DIST_INFO = shutil.ignore_patterns("RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "__pycache__")


def _fresh_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    # CDK copies assets into the cloud assembly while the constructs are built; the staging copy is scratch.
    atexit.register(shutil.rmtree, path, True)
    return path


def stage_lambda_package(repo_root: Path = REPO_ROOT) -> Path:
    """A directory holding `lambdas/` (handlers import as `lambdas.scheduler.handler`) and the `tzdata` package."""
    source = repo_root / "lambdas"
    if not source.is_dir():
        raise FileNotFoundError(f"{source}: the lambdas package is missing; the scheduler/spot functions need it")
    out = _fresh_dir("voicefleet-lambdas-")
    shutil.copytree(source, out / "lambdas", ignore=_IGNORE)
    copy_tzdata(out)
    return out


def copy_tzdata(out: Path) -> None:
    """Copy the installed pure-Python `tzdata` package (and its dist-info: version, licence) into `out`.

    The Lambda Python 3.12 runtime is built on Amazon Linux 2023's minimal image, which need not carry
    /usr/share/zoneinfo; `zoneinfo` falls back to the `tzdata` package when the system database has no answer, so
    shipping it makes the scheduler's IANA timezone work whatever the runtime image holds. Pure data: no Docker.
    """
    try:
        dist = importlib.metadata.distribution("tzdata")
    except importlib.metadata.PackageNotFoundError as exc:
        raise FileNotFoundError("the 'tzdata' package is not installed; run `pip install -e '.[dev]'`") from exc
    site = Path(str(dist.locate_file("")))
    tops = {Path(str(f)).parts[0] for f in dist.files or ()}
    for top in sorted(tops):
        if top == "tzdata":
            shutil.copytree(site / top, out / top, ignore=_IGNORE)
        elif top.startswith("tzdata-") and top.endswith(".dist-info"):
            shutil.copytree(site / top, out / top, ignore=_IGNORE_DIST_INFO)
    if not (out / "tzdata" / "zoneinfo").is_dir():
        raise FileNotFoundError(f"{site / 'tzdata'}: the installed tzdata package holds no zoneinfo data")


def stage_service_source(repo_root: Path = REPO_ROOT) -> Path:
    """pyproject.toml + README.md + the packages + runtime/: what runtime/image_build.py installs into the image."""
    out = _fresh_dir("voicefleet-source-")
    for name in PROJECT_FILES:
        shutil.copy2(repo_root / name, out / name)
    for package in PACKAGES:
        if (repo_root / package).is_dir():
            shutil.copytree(repo_root / package, out / package, ignore=_IGNORE)
    return out
