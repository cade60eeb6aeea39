"""cdk.json `image`: how an environment's instances get their software and weights (infra/image).

Its own module in the leaf config package: pydantic and the standard library only.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

Weights = Literal["pulled", "baked"]
# The SSM parameters the image pipelines publish their AMI ids to (infra/image) and the launch templates resolve.
RUNTIME_PARAMETER = "/voicefleet/image/runtime/ami-id"


def weights_parameter(env_name: str) -> str:
    return f"/voicefleet/{env_name}/image/ami-id"


def image_parameter(env_name: str, weights: str) -> str:
    """The SSM parameter holding the AMI an environment launches (its own when it bakes its weights)."""
    return weights_parameter(env_name) if weights == "baked" else RUNTIME_PARAMETER


class ImageConfig(BaseModel):
    """The runtime image is shared by the environments of a region; weights are per environment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # "baked": the environment's own image holds the weights (built from the runtime image by a second pipeline,
    # started by `voicefleet-models push --env NAME`); the shortest boot. "pulled": every boot copies them from the
    # models bucket to the instance store, checksums verified; one image for every environment, a longer boot.
    weights: Weights = "pulled"
    # The build instance: a GPU type the DLAMI supports, so the image's test phase runs the service on CUDA.
    # g4dn.xlarge is the cheapest of them (cost/catalog/data/instances.json).
    build_instance_type: str = "g4dn.xlarge"

    @field_validator("build_instance_type")
    @classmethod
    def _type(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9-]*\.[a-z0-9]+", value):
            raise ValueError(f"'{value}' is not an EC2 instance type (e.g. 'g4dn.xlarge')")
        return value
