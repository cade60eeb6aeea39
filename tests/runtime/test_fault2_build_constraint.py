"""Regression (issue 13, fault 2): upstream's openai-whisper 20231117 is an sdist whose setup.py imports
pkg_resources, which setuptools >= 82 removed; the instance runtime builds it with runtime/build-constraints.txt
(setuptools < 81). Rehearsed for real: the locked sdist (hash-checked) built in an isolated build environment by the
same `sync_lock` the image build and `make upstream-env` run, with uv's cache off so nothing is reused. Needs PyPI,
like every install here; a few seconds.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from runtime.install import BUILD_CONSTRAINTS, INDEX, LOCK, RuntimeInstallError, create_venv, find_uv, sync_lock


def _whisper_lock(tmp_path: Path) -> Path:
    """The lock's own openai-whisper entry (name, version and hash), alone."""
    entry = re.search(r"^openai-whisper==\S+ \\\n(?:\s+--hash=\S+(?: \\)?\n)+", LOCK.read_text(), re.MULTILINE)
    assert entry, "openai-whisper is no longer in runtime/instance.lock: is this constraint still needed?"
    lock = tmp_path / "whisper.lock"
    lock.write_text(entry.group(0))
    return lock


@pytest.fixture
def venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("UV_NO_CACHE", "1")  # build it now, never a wheel built earlier
    target = tmp_path / "venv"
    create_venv(find_uv(), target, "python3.11")
    return target


@pytest.mark.slow
def test_fault2_openai_whisper_builds_only_with_the_setuptools_build_constraint(tmp_path: Path, venv: Path) -> None:
    lock = _whisper_lock(tmp_path)
    assert "setuptools<81" in BUILD_CONSTRAINTS.read_text().split()
    uv = find_uv()
    # Without the constraint, today's setuptools fails as the issue reported (the fault is still real upstream).
    bare = subprocess.run(
        [uv, "pip", "sync", "--quiet", "--python", str(venv / "bin" / "python"), "--require-hashes",
         "--index-url", INDEX, str(lock)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bare.returncode != 0
    assert "No module named 'pkg_resources'" in bare.stderr
    # With it, through the runtime's own install step, it builds and installs.
    try:
        sync_lock(uv, venv, lock)
    except RuntimeInstallError as exc:
        pytest.fail(f"the build constraint no longer builds openai-whisper: {exc}")
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('openai-whisper'))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert found.stdout.strip() == "20231117"
