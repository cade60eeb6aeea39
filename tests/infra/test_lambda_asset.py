"""The Lambda asset in the cloud assembly: `lambdas/` + `tzdata` only, and the timezone works from it alone.

The Python 3.12 Lambda runtime may have no /usr/share/zoneinfo. The subprocess below imitates it: no
site-packages (`-S`), only boto3 and its dependencies (which the runtime does ship) and the asset on PYTHONPATH,
and an empty TZPATH (`PYTHONTZPATH=""`), so the shipped tzdata is the only place a timezone can come from.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra.conftest import Synth

HANDLERS = ("lambdas.scheduler.handler.handler", "lambdas.spot.handler.handler")
# Heavier than this means something besides code and tz data slipped in (tzdata 2026.6 is ~2.8 MB on disk).
MAX_ASSET_BYTES = 6 * 1024 * 1024

PROBE = """
import datetime as dt, json, zoneinfo
import lambdas.scheduler.handler as handler
import lambdas.spot.handler as spot
from lambdas.common.env import EnvironmentVariableError
from lambdas.scheduler.environment import SchedulerEnvironment

out = {"handler": handler.__file__, "spot": spot.__file__, "tzpath": list(zoneinfo.TZPATH)}
try:
    zone = zoneinfo.ZoneInfo("Asia/Shanghai")
    out["offset_s"] = zone.utcoffset(dt.datetime(2026, 1, 15, 12)).total_seconds()
    import tzdata
    out["tzdata"] = tzdata.__file__
except zoneinfo.ZoneInfoNotFoundError as exc:
    out["zone_error"] = str(exc)
env = {"ASG_NAMES": "g", "TIMEZONE": "Asia/Shanghai", "WEEKDAYS": "mon", "HOLIDAYS": "", "EXTRA_WORKDAYS": "",
       "CALENDAR_YEARS": "*", "OPEN_WINDOW": "08:45-18:00", "BOOT_MINUTES": "25", "SIZE_TAG_KEY": "s",
       "DEFAULT_SIZE": "0-1-1", "OVERRIDE_TAG_KEY": "o", "METRIC_NAMESPACE": "N", "ENV_NAME": "e"}
try:
    out["env_timezone"] = SchedulerEnvironment.from_env(env).timezone.key
except EnvironmentVariableError as exc:
    out["env_error"] = str(exc)
print(json.dumps(out))
"""


def _asset_dirs(synth: Synth, env: str) -> set[Path]:
    dirs = set()
    for resource in synth.raw[env]["Resources"].values():
        if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"]["Handler"] in HANDLERS:
            key = resource["Properties"]["Code"]["S3Key"]
            dirs.add(synth.outdir / f"asset.{key.removesuffix('.zip')}")
    return dirs


@pytest.fixture(scope="module")
def asset(synth: Synth) -> Path:
    """The one directory both handlers ship (the same in every environment)."""
    dirs = set().union(*(_asset_dirs(synth, env) for env in synth.raw))
    assert len(dirs) == 1, dirs
    (path,) = dirs
    assert path.is_dir(), path
    return path


def test_asset_holds_lambdas_and_tzdata_only(asset: Path) -> None:
    version = importlib.metadata.version("tzdata")
    assert {p.name for p in asset.iterdir()} == {"lambdas", "tzdata", f"tzdata-{version}.dist-info"}
    assert (asset / "lambdas" / "scheduler" / "handler.py").is_file()
    assert (asset / "lambdas" / "spot" / "handler.py").is_file()
    assert (asset / "tzdata" / "zoneinfo" / "Asia" / "Shanghai").is_file()
    assert list((asset / f"tzdata-{version}.dist-info").glob("licenses/*")), "tzdata's licence ships with it"
    files = [p for p in asset.rglob("*") if p.is_file()]
    junk = [p for p in asset.rglob("*") if p.name in ("__pycache__", "tests", "RECORD") or p.suffix == ".pyc"]
    assert junk == []
    assert sum(p.stat().st_size for p in files) < MAX_ASSET_BYTES


def _requirements(dist: importlib.metadata.Distribution) -> list[str]:
    names = []
    for requirement in dist.requires or []:
        if "extra ==" in requirement:
            continue
        match = re.match(r"[A-Za-z0-9_.-]+", requirement)
        assert match, requirement
        names.append(match.group(0))
    return names


def _lambda_runtime_libraries(tmp_path: Path) -> Path:
    """boto3 and its dependency closure, linked into one folder: what the Lambda runtime provides besides stdlib."""
    out = tmp_path / "runtime"
    out.mkdir()
    todo, seen = ["boto3"], set()
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        dist = importlib.metadata.distribution(name)
        todo.extend(_requirements(dist))
        for top in {Path(str(f)).parts[0] for f in dist.files or ()}:
            if top.endswith(".dist-info") or top in ("..", "__pycache__") or (out / top).exists():
                continue
            (out / top).symlink_to(Path(str(dist.locate_file(top))))
    assert not (out / "tzdata").exists(), "boto3's closure pulled in tzdata; the probe would not prove anything"
    return out


def _probe(code_dir: Path, libraries: Path, cwd: Path) -> dict[str, Any]:
    env = {
        "PYTHONPATH": os.pathsep.join([str(code_dir), str(libraries)]),
        "PYTHONTZPATH": "",  # no system tz database, as on a minimal image
        "PYTHONDONTWRITEBYTECODE": "1",  # leave the asset as CDK wrote it
        "PATH": os.environ.get("PATH", ""),
    }
    done = subprocess.run(
        # `-c` puts the working directory first on sys.path: run away from the checkout's own `lambdas/`.
        [sys.executable, "-S", "-c", PROBE],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_handler_resolves_timezone_from_the_shipped_tzdata_alone(asset: Path, tmp_path: Path) -> None:
    result = _probe(asset, _lambda_runtime_libraries(tmp_path), tmp_path)
    assert result["tzpath"] == []
    assert Path(result["handler"]).is_relative_to(asset)
    assert Path(result["spot"]).is_relative_to(asset)
    assert Path(result["tzdata"]).is_relative_to(asset)
    assert result["offset_s"] == 8 * 3600
    assert result["env_timezone"] == "Asia/Shanghai"


def test_without_tzdata_the_same_probe_fails(asset: Path, tmp_path: Path) -> None:
    """Control: the probe's environment really has no other tz source, so the test above can fail."""
    bare = tmp_path / "bare"
    shutil.copytree(asset / "lambdas", bare / "lambdas")
    result = _probe(bare, _lambda_runtime_libraries(tmp_path), tmp_path)
    assert "Asia/Shanghai" in result["zone_error"]
    assert "tzdata" in result["env_error"]
