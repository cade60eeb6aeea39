"""The image build's install steps, run by the Image Builder component on the build instance (and by the boot
rehearsal in its sandbox):

    python runtime/image_build.py build --prefix /opt/voicefleet --uv /opt/voicefleet/bootstrap/bin/uv
    python runtime/image_build.py validate --prefix /opt/voicefleet --uv /opt/voicefleet/bootstrap/bin/uv

`build`: a CPython 3.11 venv (uv downloads it into <prefix>/python where the OS has none), exactly
runtime/instance.lock, upstream CosyVoice at the pinned commit (fetched from its public repositories and checked
against runtime/upstream.toml; $COSYVOICE_SRC names a checkout instead), this project without dependencies, then
<prefix>/image.json (what went in). `validate`: nothing moved from the lock, numpy is upstream's pin, the runtime
imports. Standard library only. Exit 2 with one line when a step fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runtime.install import (  # noqa: E402
    LOCK,
    RuntimeInstallError,
    check_runtime,
    check_unmoved,
    create_venv,
    install_project,
    install_upstream,
    sync_lock,
)
from runtime.upstream_source import UpstreamSourceError, pins  # noqa: E402

PYTHON = "3.11"  # the lock is resolved for CPython 3.11 (runtime/lock.py)
IMAGE_FACTS = "image.json"


def venv_of(prefix: Path) -> Path:
    return prefix / "venv"


def _step(name: str, started: float) -> float:
    now = time.monotonic()
    print(f"image build: {name} in {now - started:.1f} s", flush=True)
    return now


def build(prefix: Path, uv: str) -> dict[str, object]:
    venv = venv_of(prefix)
    if venv.exists():
        shutil.rmtree(venv)
    started = time.monotonic()
    create_venv(uv, venv, PYTHON, python_install_dir=prefix / "python")
    started = _step("Python 3.11 venv", started)
    sync_lock(uv, venv)
    started = _step(f"{LOCK.name} installed", started)
    source = install_upstream(venv, prefix / "src" / "CosyVoice", os.environ.get("COSYVOICE_SRC"))
    started = _step("upstream CosyVoice placed and checked", started)
    install_project(uv, venv, ROOT, editable=False)
    _step("voicefleet installed (no dependencies)", started)
    shutil.copy2(LOCK, prefix / LOCK.name)
    pinned = pins()
    facts: dict[str, object] = {
        "built": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "lock_sha256": hashlib.sha256(LOCK.read_bytes()).hexdigest(),
        "cosyvoice_commit": pinned["cosyvoice"]["commit"],
        "matcha_commit": pinned["matcha"]["commit"],
        "upstream_tree_sha256": pinned["cosyvoice"]["tree_sha256"],
        "upstream_source": str(source),
        "venv": str(venv),
    }
    (prefix / IMAGE_FACTS).write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    return facts


def validate(prefix: Path, uv: str) -> dict[str, str]:
    venv = venv_of(prefix)
    check_unmoved(uv, venv, prefix / LOCK.name)
    return check_runtime(venv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Install or check the instance runtime of the voicefleet image.")
    parser.add_argument("step", choices=("build", "validate"))
    parser.add_argument("--prefix", type=Path, default=Path("/opt/voicefleet"))
    parser.add_argument("--uv", required=True, help="the uv binary (the image build's bootstrap)")
    args = parser.parse_args(argv)
    try:
        result = build(args.prefix, args.uv) if args.step == "build" else validate(args.prefix, args.uv)
    except (RuntimeInstallError, UpstreamSourceError) as exc:
        print(f"image {args.step}: {exc}", file=sys.stderr)
        return 2
    print(f"image {args.step}: ok {json.dumps(result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
