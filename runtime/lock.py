"""The instance runtime lock: upstream CosyVoice's pins + the service's runtime dependencies, resolved once.

    python runtime/lock.py            # rewrite runtime/requirements.in and runtime/instance.lock (needs PyPI)
    python runtime/lock.py --check    # exit 1 when requirements.in no longer follows upstream + pyproject (offline)

Inputs: upstream's `requirements.txt` at the pinned commit (runtime/upstream.toml; read from $COSYVOICE_SRC or the
vendored tarball), and pyproject.toml's core dependencies plus the `service` extra (never infra packages). Upstream's
pins are kept exactly, except the packages in EXCLUDED (not installed on an instance) and OVERRIDDEN (the service's
own bound wins); both lists carry their reason and the check fails when they no longer match what the inputs say.
The image build and the upstream test environment (`make upstream-env`) both install `instance.lock`, so the tests
run what instances run. Resolved for CPython 3.11 on x86_64 manylinux (the DLAMI), against PyPI only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from runtime.install import BUILD_CONSTRAINTS, INDEX, LOCK, locked_versions

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REQUIREMENTS_IN = HERE / "requirements.in"
BOOTSTRAP_IN = HERE / "bootstrap.in"
BOOTSTRAP_LOCK = HERE / "bootstrap.lock"
__all__ = ["BUILD_CONSTRAINTS", "INDEX", "LOCK", "locked_versions"]

# Upstream requirements an instance does not install, and why.
EXCLUDED: dict[str, str] = {
    "deepspeed": "training only (cosyvoice/utils/train_utils.py, bin/train.py); an sdist compiled against CUDA",
    "gradio": "upstream's web UI (webui.py, matcha/app.py); never imported on the inference path",
    "fastapi-cli": "the CLI of upstream's demo server; the service runs its own uvicorn",
    "tensorrt-cu12": "a PyPI placeholder that downloads from pypi.nvidia.com at install time (not a registry this "
    "lock can be resolved against); the image installs it from NVIDIA's index only where load_trt is enabled",
    "tensorrt-cu12-bindings": "as tensorrt-cu12",
    "tensorrt-cu12-libs": "as tensorrt-cu12",
}
# Upstream pins the service's own bounds replace, and why (upstream pins them for its own demo servers).
OVERRIDDEN: dict[str, str] = {
    "fastapi": "upstream pins 0.115.6 for its demo servers (runtime/python); its inference path never imports it, and "
    "the service needs Starlette >= 1.3.1 (url-encoded form limits, CVE-2026-54283), which FastAPI allows from 0.133",
    "uvicorn": "upstream pins 0.30.0 for its demo servers; the service runs its own uvicorn and needs 0.32.1 (a client "
    "hanging up mid-stream reaches the app)",
}
# Added for upstream's sake, beyond its requirements.txt.
EXTRA: dict[str, str] = {
    "setuptools<81": "pyworld and lightning import pkg_resources at run time; setuptools 81 removed it "
    "(openai-whisper needs it at build time too: build-constraints.txt)",
}
# Not on an instance: the CDK app, and `holidays`, which only the environment config's calendar (synth, cost model)
# imports, lazily; the service never validates a calendar.
INFRA_ONLY = frozenset({"aws-cdk-lib", "constructs", "cdk-nag", "holidays"})


def upstream_requirements(source: Path) -> list[Requirement]:
    """Upstream's requirements.txt as requirements (index options and comments dropped)."""
    lines = (source / "requirements.txt").read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-")):
            out.append(Requirement(line))
    return out


def service_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[Requirement]:
    """What the service needs at run time: core dependencies + the `service` extra, without infra packages."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["service"]]]
    return [r for r in reqs if canonicalize_name(r.name) not in INFRA_ONLY and r.name != "voicefleet"]


def render(upstream: list[Requirement], service: list[Requirement]) -> str:
    """The resolver's input, or SystemExit naming what drifted from EXCLUDED/OVERRIDDEN."""
    ours = {canonicalize_name(r.name): r for r in service}
    conflicts = set()
    for req in upstream:
        name = canonicalize_name(req.name)
        pins = [s.version for s in req.specifier if s.operator == "=="]
        if name in ours and pins and not ours[name].specifier.contains(pins[0], prereleases=True):
            conflicts.add(name)
    if conflicts != set(OVERRIDDEN):
        raise SystemExit(
            f"upstream pins that conflict with pyproject: {sorted(conflicts)}; OVERRIDDEN lists {sorted(OVERRIDDEN)} "
            "— update runtime/lock.py (with the reason) and the table in runtime/README.md"
        )
    names = {canonicalize_name(r.name) for r in upstream}
    missing = set(EXCLUDED) - names
    if missing:
        raise SystemExit(f"EXCLUDED names packages upstream no longer requires: {sorted(missing)}")
    lines = [
        "# Generated by runtime/lock.py from upstream CosyVoice's requirements.txt (runtime/upstream.toml) and",
        "# pyproject.toml (core + [service]). Edit those, not this file.",
        "# -- upstream pins --",
    ]
    lines += [str(r) for r in upstream if canonicalize_name(r.name) not in EXCLUDED | OVERRIDDEN.keys()]
    lines.append("# -- the service --")
    lines += sorted(str(r) for r in service)
    lines.append("# -- for upstream, beyond its requirements.txt --")
    lines += list(EXTRA)
    return "\n".join(lines) + "\n"


def _compile(source: Path, output: Path, python: str, header: str, *extra: str) -> None:
    uv = Path(sys.executable).parent / "uv"
    command = [
        str(uv if uv.exists() else "uv"), "pip", "compile", str(source), "--output-file", str(output),
        "--python-version", python, "--python-platform", "x86_64-manylinux_2_28", "--generate-hashes",
        "--index-url", INDEX, "--no-header", "--quiet", *extra,
    ]  # fmt: skip
    subprocess.run(command, check=True, cwd=ROOT)
    output.write_text(header + output.read_text(encoding="utf-8").replace(str(ROOT) + "/", ""), encoding="utf-8")


def compile_lock() -> None:
    header = "# The instance runtime, resolved by runtime/lock.py from runtime/requirements.in. Do not edit.\n"
    _compile(REQUIREMENTS_IN, LOCK, "3.11", header, "--build-constraints", str(BUILD_CONSTRAINTS))
    # The image build's bootstrap (uv itself), installed with pip --require-hashes by the DLAMI's Python 3.12.
    header = "# The image build's bootstrap, resolved by runtime/lock.py from runtime/bootstrap.in. Do not edit.\n"
    _compile(BOOTSTRAP_IN, BOOTSTRAP_LOCK, "3.12", header)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check requirements.in against its inputs")
    args = parser.parse_args(argv)
    from runtime.upstream_source import UpstreamSourceError, upstream_source

    try:
        with upstream_source(os.environ.get("COSYVOICE_SRC")) as source:
            text = render(upstream_requirements(source), service_requirements())
    except UpstreamSourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if not REQUIREMENTS_IN.exists() or REQUIREMENTS_IN.read_text(encoding="utf-8") != text:
            print("runtime/requirements.in is stale: run `python runtime/lock.py`", file=sys.stderr)
            return 1
        return 0
    REQUIREMENTS_IN.write_text(text, encoding="utf-8")
    compile_lock()
    print(f"wrote {LOCK.relative_to(ROOT)}: {len(locked_versions())} packages")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
