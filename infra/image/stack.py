"""The region's runtime image: one Image Builder pipeline shared by every environment of the region.

DLAMI (latest, via its public SSM parameter) + the CloudWatch agent (AWS's managed component) + the voicefleet
runtime component (runtime/image_build.py from this deployment's source bundle) -> an AMI whose id goes to
/voicefleet/image/runtime/ami-id, which the launch templates resolve at each launch. A deploy that changes what the
image holds starts a build; rolling it onto running instances is an instance refresh (docs/infra.md).
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.assets import stage_service_source
from infra.checkov_acks import acknowledge_checkov_cdk_providers
from infra.image.acknowledgements import acknowledge_image
from infra.image.components import DLAMI_PARAMETER, RUNTIME_PARAMETER, image_stack_name, runtime_document
from infra.image.pipeline import ImagePipeline, cloudwatch_agent_component

RUNTIME_IMAGE = "voicefleet-runtime"
__all__ = ["RUNTIME_IMAGE", "ImageStack", "image_stack_name"]


class ImageStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        account: str | None,
        region: str,
        build_instance_type: str,
        environments: tuple[str, ...],
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=account, region=region),
            description=f"voicefleet runtime image for {region} ({', '.join(environments)})",
            **kwargs,
        )
        cdk.Tags.of(self).add("voicefleet:component", "image")
        source = s3_assets.Asset(self, "Source", path=str(stage_service_source()))
        self.runtime = ImagePipeline(
            self,
            "Runtime",
            name=RUNTIME_IMAGE,
            description="voicefleet instance runtime on the Deep Learning Base GPU AMI (Ubuntu 24.04)",
            document=runtime_document(f"s3://{source.s3_bucket_name}/{source.s3_object_key}"),
            identity=runtime_document(f"s3://<cdk-assets>/{source.asset_hash}.zip"),
            parent_image=f"ssm:{DLAMI_PARAMETER}",
            parameter_name=RUNTIME_PARAMETER,
            instance_type=build_instance_type,
            extra_components=(cloudwatch_agent_component(self),),
        )
        # Only this deployment's source bundle, not every object in the CDK assets bucket.
        source.bucket.grant_read(self.runtime.role, source.s3_object_key)
        self.first_build = self._build_on_change(self.runtime)
        cdk.CfnOutput(self, "RuntimeImagePipeline", value=self.runtime.pipeline.attr_arn)
        cdk.CfnOutput(self, "RuntimeImageParameter", value=RUNTIME_PARAMETER)
        acknowledge_image(self)
        acknowledge_checkov_cdk_providers(self)

    def _build_on_change(self, image: ImagePipeline) -> cr.AwsCustomResource:
        """Start a build when the stack is created and whenever what the image holds changes (a new version):
        `cdk deploy` leaves a runtime image being built, without a manual step."""
        call = cr.AwsSdkCall(
            service="imagebuilder",
            action="StartImagePipelineExecution",
            parameters={"imagePipelineArn": image.pipeline.attr_arn, "clientToken": f"voicefleet-{image.version}"},
            physical_resource_id=cr.PhysicalResourceId.of(image.version),
        )
        return cr.AwsCustomResource(
            self,
            "BuildOnChange",
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[image.pipeline.attr_arn]),
            install_latest_aws_sdk=False,
        )
