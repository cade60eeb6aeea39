"""Installing the instance runtime into a venv: the steps the image build and `make upstream-env` share.

1. the venv gets exactly runtime/instance.lock (hash-checked, sdists built with runtime/build-constraints.txt);
2. upstream CosyVoice at the pinned commit goes next to it, content-checked, and onto the path through a .pth file;
3. this project goes in without dependencies (`--no-deps`): its own requirements are in the lock already, and a
   resolver run here could move a locked package (numpy 1.26.4 -> 2.x broke onnxruntime 1.18 and upstream's
   frontend: issue 13, fault 3);
4. `moved_packages` and `check_runtime` prove nothing moved and the runtime imports.

Standard library only (plus `uv`): the image build runs this before any venv exists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LOCK = HERE / "instance.lock"
BUILD_CONSTRAINTS = HERE / "build-constraints.txt"
INDEX = "https://pypi.org/simple"
PTH_NAME = "cosyvoice_upstream.pth"
# Upstream's pin that onnxruntime 1.18 and upstream's frontend need (numpy >= 2: "_ARRAY_API not found").
NUMPY_PIN = "1.26.4"
# Imported by the service's CosyVoice3 engine at startup; each must import from the runtime as installed.
RUNTIME_IMPORTS = ("numpy", "onnxruntime", "torch", "torchaudio", "librosa", "whisper", "cosyvoice.cli.cosyvoice")


class RuntimeInstallError(Exception):
    """An install step failed, or the installed runtime is not the locked one."""


def canonical(name: str) -> str:
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock: Path = LOCK) -> dict[str, str]:
    """{canonical name: version} of every package in the lock."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", lock.read_text(encoding="utf-8"), re.MULTILINE)
    return {canonical(name): version for name, version in pins}


def find_uv() -> str:
    """uv next to the running interpreter (a venv with uv installed), else on PATH."""
    beside = Path(sys.executable).parent / "uv"
    if beside.exists():
        return str(beside)
    found = shutil.which("uv")
    if found is None:
        raise RuntimeInstallError("uv not found next to this Python or on PATH (pip install uv)")
    return found


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(list(args), capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-15:]
        raise RuntimeInstallError(f"`{' '.join(args[:4])} …` failed (exit {done.returncode}):\n" + "\n".join(tail))
    return done.stdout


def python_of(venv: Path) -> str:
    return str(venv / "bin" / "python")


def create_venv(uv: str, venv: Path, python: str, *, python_install_dir: Path | None = None) -> None:
    """A fresh venv on `python` (a version uv may download into `python_install_dir`, or an interpreter path)."""
    env = dict(os.environ)
    if python_install_dir is not None:
        env["UV_PYTHON_INSTALL_DIR"] = str(python_install_dir)
    _run(uv, "venv", "--quiet", "--python", python, str(venv), env=env)


def sync_lock(uv: str, venv: Path, lock: Path = LOCK) -> None:
    """Exactly the lock, every file hash-checked; sdists build with the build constraints (setuptools < 81)."""
    _run(
        uv, "pip", "sync", "--quiet", "--python", python_of(venv), "--require-hashes", "--index-url", INDEX,
        "--build-constraints", str(BUILD_CONSTRAINTS), str(lock),
    )  # fmt: skip


def site_packages(venv: Path) -> Path:
    out = _run(python_of(venv), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    return Path(out.strip())


def install_upstream(venv: Path, dest: Path, checkout: str | None = None) -> Path:
    """Upstream's source (checked against runtime/upstream.toml) at `dest`, importable from the venv."""
    from runtime.upstream_source import install_source

    source = install_source(dest, checkout)
    (site_packages(venv) / PTH_NAME).write_text(f"{source}\n{source / 'third_party' / 'Matcha-TTS'}\n", "utf-8")
    return source


def install_project(uv: str, venv: Path, project: Path, *, editable: bool) -> None:
    """This project's packages and console scripts, never its dependencies (the lock has them)."""
    target = ["-e", str(project)] if editable else [str(project)]
    _run(uv, "pip", "install", "--quiet", "--python", python_of(venv), "--no-deps", "--index-url", INDEX, *target)


def installed_versions(uv: str, venv: Path) -> dict[str, str]:
    out = _run(uv, "pip", "freeze", "--python", python_of(venv))
    pairs = (line.split("==", 1) for line in out.splitlines() if "==" in line)
    return {canonical(name): version for name, version in pairs}


def moved_packages(uv: str, venv: Path, lock: Path = LOCK) -> dict[str, tuple[str, str | None]]:
    """{name: (locked, installed)} for every locked package whose installed version differs (or is missing)."""
    installed = installed_versions(uv, venv)
    return {
        name: (version, installed.get(name))
        for name, version in locked_versions(lock).items()
        if installed.get(name) != version
    }


def check_unmoved(uv: str, venv: Path, lock: Path = LOCK) -> None:
    moved = moved_packages(uv, venv, lock)
    if moved:
        listed = ", ".join(f"{n} {locked} -> {now}" for n, (locked, now) in sorted(moved.items()))
        raise RuntimeInstallError(f"installed packages differ from {lock.name}: {listed}")


def check_runtime(venv: Path, imports: tuple[str, ...] = RUNTIME_IMPORTS) -> dict[str, str]:
    """Import every runtime module in the venv (a fresh process); numpy must be upstream's pin. Returns versions."""
    probe = (
        "import importlib, json, sys\n"
        "found = {}\n"
        f"for name in {list(imports)!r}:\n"
        "    module = importlib.import_module(name)\n"
        "    found[name] = str(getattr(module, '__version__', ''))\n"
        "print(json.dumps(found))\n"
    )
    versions: dict[str, str] = json.loads(_run(python_of(venv), "-c", probe).strip().splitlines()[-1])
    if versions.get("numpy") != NUMPY_PIN:
        raise RuntimeInstallError(f"numpy is {versions.get('numpy')}, not upstream's {NUMPY_PIN} (onnxruntime 1.18)")
    return versions
