"""What each extra pulls in, resolved from pyproject.toml and the installed packages' own metadata.

A GPU instance installs core + `service` next to upstream CosyVoice's pins: that must bring no CDK (aws-cdk-lib pulls
jsii and a Node runtime's worth of packages). .ci/run also does the real clean install (.ci/service-constraints.txt).
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from infra.assets import PACKAGES

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
CDK = {"aws-cdk-lib", "constructs"}


def _name(raw: str) -> str:
    return re.sub(r"[-_.]+", "-", raw).lower()


def _own(extras: set[str]) -> list[Requirement]:
    """voicefleet's requirements for `extras`, following its self-references (dev -> voicefleet[infra,...])."""
    out: list[Requirement] = [Requirement(r) for r in PROJECT["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for raw in PROJECT["optional-dependencies"][extra]:
            req = Requirement(raw)
            if _name(req.name) == "voicefleet":
                todo += sorted(req.extras)
            else:
                out.append(req)
    return out


def closure(extras: set[str]) -> set[str]:
    """Every distribution `pip install ".[extras]"` brings in, from the metadata of the installed distributions."""
    found: set[str] = set()
    todo = [(req, set(req.extras)) for req in _own(extras) if req.marker is None or req.marker.evaluate()]
    while todo:
        req, wanted = todo.pop()
        name = _name(req.name)
        if name in found and not wanted:
            continue
        found.add(name)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here (another platform's marker): nothing further to follow
        for raw in dist.requires or []:
            sub = Requirement(raw)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in {"", *wanted}):
                todo.append((sub, set(sub.extras)))
    return found


def test_the_service_extra_pulls_in_no_cdk() -> None:
    service = closure({"service"})
    assert {"fastapi", "uvicorn", "numpy", "pydantic", "boto3"} <= service
    assert not service & CDK, sorted(service & CDK)
    assert not closure({"service", "gpu"}) & CDK


def test_the_cdk_comes_with_the_infra_extra_and_dev() -> None:
    """The check above can fail: the same walk finds the CDK where it belongs."""
    assert closure({"infra"}) >= CDK
    assert closure({"dev"}) >= CDK
    assert not closure(set()) & CDK


@pytest.mark.parametrize("package", ["voicefleet_config", "infra", "cost", "service", "lambdas", "benchmarks"])
def test_every_top_level_package_is_packaged_and_shipped(package: str) -> None:
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert f"{package}*" in include
    assert (REPO / package / "__init__.py").is_file()
    if package != "benchmarks":  # the instance's source bundle: what `pip install '.[service]'` needs there
        assert package in PACKAGES


def test_upstream_pins_the_service_lives_with_are_inside_its_bounds() -> None:
    """numpy 1.26.4, pydantic 2.7.0, soundfile 0.12.1, rich 13.7.1 (upstream CosyVoice's pins) satisfy our bounds."""
    pins = {
        _name(req.name): req
        for line in (REPO / ".ci" / "service-constraints.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
        for req in [Requirement(line)]
    }
    ours = {_name(req.name): req for req in _own({"service"})}
    for name, pin in pins.items():
        (version,) = [spec.version for spec in pin.specifier]
        if name in ours:
            assert ours[name].specifier.contains(version), f"{name}=={version} is outside {ours[name]}"
    assert {"numpy", "pydantic", "soundfile", "rich"} <= set(pins) & set(ours)
