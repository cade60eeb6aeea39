"""cdk-nag acknowledgements of the image pipelines (the region's image stack and an environment's weights image),
written the same way as infra/acknowledgements.py: on the construct they concern, finding by finding."""

from __future__ import annotations

import aws_cdk as cdk

from infra.acknowledgements import CUSTOM_RESOURCE_PROVIDER, CUSTOM_RESOURCE_RUNTIME, Ack, attach

_BUILD_ROLE_IAM4 = (
    "EC2InstanceProfileForImageBuilder is the policy Image Builder requires on its build instances (component "
    "downloads, logs to /aws/imagebuilder/*); AmazonSSMManagedInstanceCore lets Image Builder drive them through "
    "Systems Manager, as it must."
)
_BUILD_ROLE_POLICIES = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/EC2InstanceProfileForImageBuilder",
    "Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore",
)
IMAGE_ACKNOWLEDGEMENTS: tuple[Ack, ...] = (
    Ack(
        "AwsSolutions-IAM4",
        "Runtime/BuildRole",
        _BUILD_ROLE_IAM4,
        findings=_BUILD_ROLE_POLICIES,
    ),
    Ack(
        "AwsSolutions-IAM5",
        "Runtime/BuildRole",
        "Build instances read this deployment's source bundle only: CDK's bucket grant adds s3:GetObject*/"
        "GetBucket*/List* on that one object key and its bucket.",
        findings=("Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*"),
    ),
    Ack(
        "AwsSolutions-IAM4",
        CUSTOM_RESOURCE_PROVIDER,
        "CDK's AwsCustomResource provider (starts the image build on deploy) uses AWSLambdaBasicExecutionRole for "
        "its logs only.",
        findings=("Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",),
    ),
    CUSTOM_RESOURCE_RUNTIME,
)


WEIGHTS_ACKNOWLEDGEMENTS: tuple[Ack, ...] = (
    Ack(
        "AwsSolutions-IAM4",
        "WeightsImage/Pipeline/BuildRole",
        _BUILD_ROLE_IAM4,
        findings=_BUILD_ROLE_POLICIES,
    ),
    Ack(
        "AwsSolutions-IAM5",
        "WeightsImage/Pipeline/BuildRole",
        "The weights build reads the models bucket's model prefix only (CDK's bucket grant: s3:GetObject*/"
        "GetBucket*/List* on that prefix and the bucket).",
        findings=(
            "Action::s3:GetObject*",
            "Action::s3:GetBucket*",
            "Action::s3:List*",
            "Resource::<{ref:Storage/Models}.Arn>/{model_prefix}*",
        ),
    ),
)


def acknowledge_image(stack: cdk.Stack) -> None:
    attach(stack, IMAGE_ACKNOWLEDGEMENTS, {"{region}": stack.region})


def acknowledge_weights(stack: cdk.Stack, *, model_prefix: str) -> None:
    attach(stack, WEIGHTS_ACKNOWLEDGEMENTS, {"{model_prefix}": model_prefix})
