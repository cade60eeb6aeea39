"""The Image Builder component documents (AWSTOE YAML) of the runtime image and of a weights image.

Built as plain data here (no aws_cdk) so that the CDK stacks embed them and the boot rehearsal runs their build and
validate steps in its sandbox. Phases: `build` and `validate` run on the build instance, `test` on an instance
launched from the new image (docs: toe-use-documents, "Component document workflow").
"""

from __future__ import annotations

import hashlib
from typing import Any

import yaml

from instance.paths import BAKED_MODELS, BIN, PREFIX, SERVICE_USER, STATE

# The AMI parameters' names are read by the service's push command too, so they live in the config package.
from voicefleet_config.image import RUNTIME_PARAMETER as RUNTIME_PARAMETER
from voicefleet_config.image import image_parameter as image_parameter
from voicefleet_config.image import weights_parameter as weights_parameter

SCHEMA_VERSION = "1.0"
# The parent image: AWS Deep Learning Base OSS Nvidia Driver GPU AMI, Ubuntu 24.04 (x86_64): NVIDIA driver + CUDA,
# NVMe instance store mounted at /opt/dlami/nvme. Parameter name form from the DLAMI guide ("Finding the ID of a
# DLAMI"); Image Builder resolves an `ssm:` parent at build time, so each build starts from the latest patched DLAMI.
DLAMI_PARAMETER = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id"
BUILD_DIR = PREFIX / "build"
BOOTSTRAP = PREFIX / "bootstrap"
STRICT = "set -euo pipefail"  # every ExecuteBash step stops at its first failing command


def image_stack_name(region: str) -> str:
    """The region's runtime-image stack (infra/image/stack.py)."""
    return f"VoiceFleet-image-{region}"


def _bash(name: str, *commands: str) -> dict[str, Any]:
    return {"name": name, "action": "ExecuteBash", "inputs": {"commands": [STRICT, *commands]}}


def runtime_document(source_url: str) -> dict[str, Any]:
    """The runtime image: bootstrap uv (hash-pinned), then runtime/image_build.py build / validate from the source
    bundle at `source_url` (s3://...zip, the CDK asset); the test phase serves one request on the GPU."""
    uv = BOOTSTRAP / "bin" / "uv"
    script = BUILD_DIR / "src" / "runtime" / "image_build.py"
    return {
        "name": "voicefleet-runtime",
        "description": "voicefleet instance runtime: locked Python env, upstream CosyVoice, voicefleet",
        "schemaVersion": SCHEMA_VERSION,
        "phases": [
            {
                "name": "build",
                "steps": [
                    _bash(
                        "Prepare",
                        # Ubuntu's python3 may lack ensurepip (python3-venv) for the bootstrap venv.
                        "python3 -c 'import ensurepip' 2>/dev/null || { apt-get update -q && "
                        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; }",
                        f"rm -rf {BUILD_DIR} {BOOTSTRAP} && mkdir -p {BUILD_DIR}",
                    ),
                    {
                        "name": "DownloadSource",
                        "action": "S3Download",
                        "inputs": [{"source": source_url, "destination": str(BUILD_DIR / "source.zip")}],
                    },
                    _bash(
                        "InstallRuntime",
                        f"cd {BUILD_DIR} && python3 -m zipfile -e source.zip src",
                        f"python3 -m venv {BOOTSTRAP}",
                        f"{BOOTSTRAP}/bin/pip install --quiet --require-hashes --no-deps -r "
                        f"{BUILD_DIR}/src/runtime/bootstrap.lock",
                        f"{BOOTSTRAP}/bin/python {script} build --prefix {PREFIX} --uv {uv}",
                        f"id {SERVICE_USER} >/dev/null 2>&1 || useradd --system --home-dir {STATE} --no-create-home "
                        f"--shell /usr/sbin/nologin {SERVICE_USER}",
                    ),
                ],
            },
            {
                "name": "validate",
                "steps": [
                    _bash(
                        "CheckRuntime",
                        f"{BOOTSTRAP}/bin/python {script} validate --prefix {PREFIX} --uv {uv}",
                        f"test -x {BIN}/tts-serve && test -x {BIN}/voicefleet-instance"
                        f" && test -x {BIN}/voicefleet-models",
                        f"rm -rf {BUILD_DIR} {BOOTSTRAP}",
                    ),
                ],
            },
            {
                "name": "test",
                "steps": [
                    # On an instance of the new image: the service on CUDA, one synthesis on a tiny random model.
                    _bash("ServeOnGpu", f"{BIN}/voicefleet-instance selftest --device cuda:0"),
                ],
            },
        ],
    }


def weights_document(*, bucket: str, prefix: str, region: str) -> dict[str, Any]:
    """An environment's weights image: the models bucket's model (checksums verified) baked under BAKED_MODELS."""
    target = BAKED_MODELS / (prefix.strip("/") or "model")
    pull = f"{BIN}/voicefleet-models pull --bucket {bucket} --prefix {prefix} --to {target} --region {region}"
    return {
        "name": "voicefleet-weights",
        "description": "voicefleet model weights from the environment's models bucket",
        "schemaVersion": SCHEMA_VERSION,
        "phases": [
            {"name": "build", "steps": [_bash("PullWeights", pull)]},
            # A second pull re-hashes every file and transfers nothing when the baked copy is intact.
            {
                "name": "validate",
                "steps": [_bash("VerifyWeights", pull, f"test -f {target}/.voicefleet-manifest.json")],
            },
        ],
    }


def to_yaml(document: dict[str, Any]) -> str:
    """The component's `data`: YAML, never line-wrapped (a wrapped CDK token would break)."""
    return str(yaml.safe_dump(document, sort_keys=False, width=1_000_000, allow_unicode=True))


def version_of(*parts: str) -> str:
    """Image Builder versions are immutable: a changed document or recipe needs a new one, derived from content."""
    digest = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
    return f"1.0.{int(digest[:7], 16)}"
