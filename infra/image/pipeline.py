"""One Image Builder pipeline: build role, component, recipe, infrastructure, distribution to an SSM parameter.

Both the region's runtime image and an environment's weights image are one of these, with their own component.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_imagebuilder as imagebuilder
from constructs import Construct

from infra.image.components import to_yaml, version_of

# Every recipe's root volume (GiB): the DLAMI plus the runtime (~6.5 GB venv, CosyVoice, Python) and baked weights.
# A launch template's root volume must be at least this (infra/checks.py).
IMAGE_ROOT_GIB = 100
IMAGE_TESTS_MINUTES = 60


def cloudwatch_agent_component(stack: cdk.Stack) -> str:
    """AWS's managed component that installs the CloudWatch agent (its latest version at build time)."""
    return f"arn:{stack.partition}:imagebuilder:{stack.region}:aws:component/amazon-cloudwatch-agent-linux/x.x.x"


class ImagePipeline(Construct):
    """`document` (a component, as data) on `parent_image`; each image's id goes to `parameter_name`.

    `identity` is the same document with stable stand-ins for CDK tokens (bucket names, asset URLs hold the asset's
    content hash instead): the versions derive from it, so they change exactly when what gets built changes."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        description: str,
        document: dict[str, Any],
        identity: dict[str, Any],
        parent_image: str,
        parameter_name: str,
        instance_type: str,
        extra_components: tuple[str, ...] = (),
        tests: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        data = to_yaml(document)
        # Content-derived versions: Image Builder components and recipes are immutable per version.
        version = version_of(to_yaml(identity), parent_image, *extra_components)

        self.role = iam.Role(
            self,
            "BuildRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description=f"Image Builder build instances of {name}",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("EC2InstanceProfileForImageBuilder"),
                iam.ManagedPolicy.from_aws_managed_policy_name("AmazonSSMManagedInstanceCore"),
            ],
        )
        profile = iam.CfnInstanceProfile(self, "BuildProfile", roles=[self.role.role_name])
        component = imagebuilder.CfnComponent(
            self,
            "Component",
            name=name,
            platform="Linux",
            version=version,
            data=data,
            description=description,
            supported_os_versions=["Ubuntu 24"],
        )
        recipe = imagebuilder.CfnImageRecipe(
            self,
            "Recipe",
            name=name,
            version=version,
            parent_image=parent_image,
            components=[
                imagebuilder.CfnImageRecipe.ComponentConfigurationProperty(component_arn=arn)
                for arn in (*extra_components, component.attr_arn)
            ],
            block_device_mappings=[
                imagebuilder.CfnImageRecipe.InstanceBlockDeviceMappingProperty(
                    device_name="/dev/sda1",
                    ebs=imagebuilder.CfnImageRecipe.EbsInstanceBlockDeviceSpecificationProperty(
                        volume_size=IMAGE_ROOT_GIB, volume_type="gp3", encrypted=True, delete_on_termination=True
                    ),
                )
            ],
            description=description,
        )
        infrastructure = imagebuilder.CfnInfrastructureConfiguration(
            self,
            "Infrastructure",
            name=name,
            instance_profile_name=profile.ref,
            instance_types=[instance_type],
            # The account's default VPC (voicefleet preflight checks it exists); IMDSv2 only.
            instance_metadata_options=imagebuilder.CfnInfrastructureConfiguration.InstanceMetadataOptionsProperty(
                http_tokens="required", http_put_response_hop_limit=1
            ),
            terminate_instance_on_failure=True,
            description=f"Build instances of {name}",
        )
        distribution = imagebuilder.CfnDistributionConfiguration(
            self,
            "Distribution",
            name=name,
            distributions=[
                imagebuilder.CfnDistributionConfiguration.DistributionProperty(
                    region=stack.region,
                    ami_distribution_configuration={
                        "Name": f"{name}-{{{{ imagebuilder:buildDate }}}}",
                        "Description": description,
                        "AmiTags": {"voicefleet:image": name},
                    },
                    ssm_parameter_configurations=[
                        imagebuilder.CfnDistributionConfiguration.SsmParameterConfigurationProperty(
                            parameter_name=parameter_name, data_type="aws:ec2:image"
                        )
                    ],
                )
            ],
            description=f"{name}: AMI id to {parameter_name}",
        )
        self.pipeline = imagebuilder.CfnImagePipeline(
            self,
            "Pipeline",
            name=name,
            image_recipe_arn=recipe.attr_arn,
            infrastructure_configuration_arn=infrastructure.attr_arn,
            distribution_configuration_arn=distribution.attr_arn,
            image_tests_configuration=imagebuilder.CfnImagePipeline.ImageTestsConfigurationProperty(
                image_tests_enabled=tests, timeout_minutes=IMAGE_TESTS_MINUTES
            ),
            enhanced_image_metadata_enabled=True,
            status="ENABLED",
            description=description,
        )
        self.version = version
        self.parameter_name = parameter_name
