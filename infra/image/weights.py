"""An environment's weights image (`image.weights: baked`): the region's runtime image plus the environment's model
from its models bucket, checksums verified, published to /voicefleet/<env>/image/ami-id.

Built when `voicefleet-models push --env NAME` has uploaded a model (it starts this pipeline), or by hand.
"""

from __future__ import annotations

from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.image.components import RUNTIME_PARAMETER, weights_document, weights_parameter
from infra.image.pipeline import ImagePipeline
from voicefleet_config import EnvironmentConfig


class WeightsImage(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, models_bucket: s3.IBucket
    ) -> None:
        super().__init__(scope, construct_id)
        prefix = config.service.model_prefix
        self.image = ImagePipeline(
            self,
            "Pipeline",
            name=f"voicefleet-{config.name}-weights",
            description=f"voicefleet {config.name}: the runtime image with the model baked in",
            document=weights_document(bucket=models_bucket.bucket_name, prefix=prefix, region=config.region),
            identity=weights_document(bucket=f"<models bucket of {config.name}>", prefix=prefix, region=config.region),
            parent_image=f"ssm:{RUNTIME_PARAMETER}",
            parameter_name=weights_parameter(config.name),
            instance_type=config.image.build_instance_type,
            # The runtime image was tested on a GPU already; this one only adds files it verifies itself.
            tests=False,
        )
        models_bucket.grant_read(self.image.role, f"{prefix}*")
