"""The boot's settings (/etc/voicefleet/boot.json), written by the user data from the environment's config.

Everything environment-specific reaches the instance through this one file; the image is the same for every
environment of a region.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from instance.paths import BAKED_MODELS, NVME, STATE

Weights = Literal["pulled", "baked"]


class BootConfigError(ValueError):
    """boot.json is missing or invalid."""


class BootConfig(BaseModel):
    # protected_namespaces=(): `model_prefix` is a field; the instance lock's pydantic (2.7) warns about "model_" ones.
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    env_name: str
    region: str
    asg_name: str
    launch_hook: str
    drain_hook: str
    port: Annotated[int, Field(ge=1, le=65535)]
    # Launch -> ready budget (fleet.boot_minutes): the gate gives up, with its reason, before the hook times out.
    boot_seconds: Annotated[int, Field(ge=60)]
    request_timeout_s: Annotated[float, Field(gt=0)]
    weights: Weights
    models_bucket: str
    model_prefix: str
    use_instance_store: bool
    api_keys_secret: str
    admin_key_secret: str
    metric_namespace: str
    service_env: dict[str, str]

    def model_dir(self, nvme_mounted: bool) -> Path:
        """Baked: inside the image. Pulled: the NVMe instance store when there is one (and the fleet keeps no
        stopped instances, which lose it), else the EBS root."""
        subdir = self.model_prefix.strip("/") or "model"
        if self.weights == "baked":
            return Path(BAKED_MODELS / subdir)
        if self.use_instance_store and nvme_mounted:
            return Path(NVME / "voicefleet" / "models" / subdir)
        return Path(STATE / "models" / subdir)


def load(path: Path) -> BootConfig:
    try:
        return BootConfig.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise BootConfigError(f"{path}: missing (the user data writes it)") from exc
    except (json.JSONDecodeError, ValidationError) as exc:
        raise BootConfigError(f"{path}: invalid: {str(exc).splitlines()[0]}") from exc
