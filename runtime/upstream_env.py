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

from runtime.install import (  # noqa: E402
    INDEX,
    LOCK,
    RuntimeInstallError,
    check_unmoved,
    create_venv,
    find_uv,
    install_project,
    install_upstream,
    sync_lock,
)
from runtime.upstream_source import UpstreamSourceError  # noqa: E402

# Test tools only (never on an instance). Bounded below like pyproject's dev extra; the lock constrains their deps.
# moto (AWS on loopback), jsonschema (the CloudWatch agent's own schema) and httpx drive the boot rehearsal, which
# also reads cdk.json (its calendars need `holidays`, which the instance itself never reads: not in the lock).
TEST_TOOLS = (
    "pytest>=8.3", "pytest-timeout>=2.3", "openai>=1.60", "moto[server]>=5.1", "jsonschema>=4.23", "holidays>=0.108",
)  # fmt: skip


def build(venv: Path, checkout: str | None) -> None:
    uv = find_uv()
    if not (venv / "bin" / "python").exists():
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        create_venv(uv, venv, sysconfig.get_config_var("BINDIR") + f"/python{python}")
    sync_lock(uv, venv)
    install_upstream(venv, venv / "src" / "CosyVoice", checkout)
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    tools = ("pip", "install", "--quiet", "--index-url", INDEX, "--constraints", str(LOCK))
    subprocess.run([uv, *tools, *TEST_TOOLS], check=True, cwd=ROOT, env=env)
    install_project(uv, venv, ROOT, editable=True)
    check_unmoved(uv, venv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the upstream test environment from the instance lock.")
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv-upstream")
    args = parser.parse_args(argv)
    try:
        build(args.venv.resolve(), os.environ.get("COSYVOICE_SRC"))
    except (UpstreamSourceError, RuntimeInstallError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"upstream environment ready: {args.venv}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
