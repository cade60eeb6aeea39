"""`make upstream-env`: the upstream test environment in .venv-upstream/, installed from the instance runtime lock.

    python runtime/upstream_env.py [--venv .venv-upstream]

1. a Python 3.11 venv with exactly runtime/instance.lock (hash-checked; what the instance image installs);
2. upstream CosyVoice at the pinned commit (from $COSYVOICE_SRC or the vendored tarball, checksum-verified) under
   <venv>/src/CosyVoice, put on the path by a .pth file, as the image does;
3. this project without dependencies (its console scripts: tts-serve, voicefleet-models, tts-bench);
4. the test tools (pytest, the OpenAI SDK, ...) constrained by the lock, and a check that no locked package moved.
Needs `uv` (installed in .venv by `make install`) and PyPI. Exit 2 with one line when upstream's source is missing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runtime.lock import BUILD_CONSTRAINTS, INDEX, LOCK, locked_versions  # noqa: E402
from runtime.upstream_source import UpstreamSourceError, install_source  # noqa: E402

# Test tools only (never on an instance). Bounded below like pyproject's dev extra; the lock constrains their deps.
TEST_TOOLS = ("pytest>=8.3", "pytest-timeout>=2.3", "openai>=1.60")


def _uv() -> str:
    uv = Path(sys.executable).parent / "uv"
    return str(uv) if uv.exists() else "uv"


def _run(*args: str, env_venv: Path | None = None) -> None:
    env = None if env_venv is None else {**os.environ, "VIRTUAL_ENV": str(env_venv)}
    subprocess.run(list(args), check=True, cwd=ROOT, env=env)


def _site_packages(venv: Path) -> Path:
    python = venv / "bin" / "python"
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return Path(out.stdout.strip())


def _installed(venv: Path) -> dict[str, str]:
    from packaging.utils import canonicalize_name

    out = subprocess.run([_uv(), "pip", "freeze", "--python", str(venv / "bin" / "python")], check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    pairs = (line.split("==", 1) for line in out.splitlines() if "==" in line)
    return {canonicalize_name(name): version for name, version in pairs}


def build(venv: Path, checkout: str | None) -> None:
    uv = _uv()
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    if not (venv / "bin" / "python").exists():
        _run(uv, "venv", "--quiet", "--python", sysconfig.get_config_var("BINDIR") + f"/python{python}", str(venv))
    sync = ("pip", "sync", "--quiet", "--require-hashes", "--index-url", INDEX)
    _run(uv, *sync, "--build-constraints", str(BUILD_CONSTRAINTS), str(LOCK), env_venv=venv)
    source = install_source(venv / "src" / "CosyVoice", checkout)
    (_site_packages(venv) / "cosyvoice_upstream.pth").write_text(
        f"{source}\n{source / 'third_party' / 'Matcha-TTS'}\n", encoding="utf-8"
    )
    tools = ("pip", "install", "--quiet", "--index-url", INDEX, "--constraints", str(LOCK))
    _run(uv, *tools, *TEST_TOOLS, env_venv=venv)
    _run(uv, "pip", "install", "--quiet", "--no-deps", "--index-url", INDEX, "-e", str(ROOT), env_venv=venv)
    installed, locked = _installed(venv), locked_versions()
    moved = {name: (version, installed.get(name)) for name, version in locked.items() if installed.get(name) != version}
    if moved:
        raise SystemExit(f"locked packages moved while adding test tools: {moved}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the upstream test environment from the instance lock.")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv-upstream")
    args = parser.parse_args(argv)
    try:
        build(args.venv.resolve(), os.environ.get("COSYVOICE_SRC"))
    except UpstreamSourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"upstream environment ready: {args.venv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
