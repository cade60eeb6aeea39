"""The instance runtime lock follows its inputs (upstream's pins, pyproject's service dependencies), offline."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from runtime import lock
from runtime.upstream_source import UpstreamSourceError, install_source, upstream_source, verify_tarball


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        with upstream_source(None) as source:
            target = tmp_path_factory.mktemp("upstream") / "requirements.txt"
            target.write_text((source / "requirements.txt").read_text())
            return target.parent
    except UpstreamSourceError as exc:
        pytest.fail(f"upstream source unavailable: {exc}")


def test_requirements_in_is_current(upstream: Path) -> None:
    rendered = lock.render(lock.upstream_requirements(upstream), lock.service_requirements())
    assert lock.REQUIREMENTS_IN.read_text() == rendered, "run `make lock`"


def test_lock_holds_every_upstream_pin_it_does_not_exclude(upstream: Path) -> None:
    locked = lock.locked_versions()
    for req in lock.upstream_requirements(upstream):
        name = canonicalize_name(req.name)
        if name in lock.EXCLUDED or name in lock.OVERRIDDEN:
            continue
        if req.marker is not None and not req.marker.evaluate({"sys_platform": "linux"}):
            continue
        assert req.specifier.contains(locked[name], prereleases=True), f"{name}: locked {locked[name]}, upstream {req}"
    for excluded in lock.EXCLUDED:
        assert excluded not in locked, f"{excluded} is excluded but locked"


def test_lock_satisfies_the_services_own_bounds() -> None:
    locked = lock.locked_versions()
    for req in lock.service_requirements():
        name = canonicalize_name(req.name)
        assert name in locked, f"{name} missing from the lock"
        assert req.specifier.contains(locked[name], prereleases=True), f"{name}: locked {locked[name]} vs {req}"


def test_lock_holds_no_infra_package_and_every_entry_has_hashes() -> None:
    text = lock.LOCK.read_text()
    locked = lock.locked_versions()
    assert not set(locked) & {canonicalize_name(n) for n in lock.INFRA_ONLY}
    entries = [block for block in text.split("\n") if "==" in block and not block.startswith((" ", "#"))]
    assert len(entries) == len(locked)
    assert text.count("--hash=sha256:") >= len(locked)
    for extra in lock.EXTRA:
        req = Requirement(extra)
        assert req.specifier.contains(locked[canonicalize_name(req.name)])


def test_an_override_nobody_documented_is_refused(upstream: Path) -> None:
    service = [*lock.service_requirements(), Requirement("numpy>=2.0")]
    with pytest.raises(SystemExit, match="numpy"):
        lock.render(lock.upstream_requirements(upstream), service)


def test_tampered_tarball_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "CosyVoice-ace7c47.tar.gz"
    with tarfile.open(fake, "w:gz"):
        pass
    with pytest.raises(UpstreamSourceError, match="SHA-256"):
        verify_tarball(fake)


def test_checkout_must_be_complete(tmp_path: Path) -> None:
    (tmp_path / "cosyvoice" / "cli").mkdir(parents=True)
    (tmp_path / "cosyvoice" / "cli" / "cosyvoice.py").write_text("")
    with pytest.raises(UpstreamSourceError, match="Matcha-TTS"):
        install_source(tmp_path / "copy", str(tmp_path))
