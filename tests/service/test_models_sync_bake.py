"""`voicefleet-models push --env NAME` then starts a baked environment's weights image (service/models_sync/bake.py):
each outcome is one line for the operator, never a crash. SSM and Image Builder through botocore's Stubber (moto's
Image Builder has no pipelines)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from service.models_sync.bake import WEIGHTS_PIPELINE_OUTPUT, start_weights_build
from voicefleet_config.image import RUNTIME_PARAMETER

PIPELINE = "arn:aws:imagebuilder:us-east-1:123456789012:image-pipeline/voicefleet-prod-weights"
OUTPUTS = {WEIGHTS_PIPELINE_OUTPUT: PIPELINE}


@pytest.fixture
def clients() -> Iterator[tuple[Any, Any, Stubber, Stubber]]:
    ssm = boto3.client("ssm", region_name="us-east-1")
    builder = boto3.client("imagebuilder", region_name="us-east-1")
    with Stubber(ssm) as ssm_stub, Stubber(builder) as builder_stub:
        yield ssm, builder, ssm_stub, builder_stub
        ssm_stub.assert_no_pending_responses()
        builder_stub.assert_no_pending_responses()


def _runtime_published(ssm_stub: Stubber) -> None:
    ssm_stub.add_response(
        "get_parameter",
        {"Parameter": {"Name": RUNTIME_PARAMETER, "Value": "ami-0123456789abcdef0"}},
        {"Name": RUNTIME_PARAMETER},
    )


def test_a_pulled_environment_has_no_image_to_build(clients: tuple[Any, Any, Stubber, Stubber]) -> None:
    ssm, builder, _, _ = clients
    assert "pulled at boot" in start_weights_build({}, ssm=ssm, imagebuilder=builder)


def test_starts_the_weights_pipeline_once_the_runtime_image_exists(clients: tuple[Any, Any, Stubber, Stubber]) -> None:
    ssm, builder, ssm_stub, builder_stub = clients
    _runtime_published(ssm_stub)
    version = f"{PIPELINE.replace('image-pipeline', 'image')}/1.0.0/1"
    builder_stub.add_response(
        "start_image_pipeline_execution",
        {"requestId": "r", "clientToken": "t", "imageBuildVersionArn": version},
        {"imagePipelineArn": PIPELINE},
    )
    line = start_weights_build(OUTPUTS, ssm=ssm, imagebuilder=builder)
    assert line.startswith("weights image build started")
    assert version in line


def test_no_runtime_image_yet_says_to_push_again(clients: tuple[Any, Any, Stubber, Stubber]) -> None:
    ssm, builder, ssm_stub, _ = clients
    ssm_stub.add_client_error("get_parameter", service_error_code="ParameterNotFound", http_status_code=400)
    line = start_weights_build(OUTPUTS, ssm=ssm, imagebuilder=builder)
    assert "not published yet" in line
    assert RUNTIME_PARAMETER in line


def test_aws_refusals_are_one_line(clients: tuple[Any, Any, Stubber, Stubber]) -> None:
    ssm, builder, ssm_stub, builder_stub = clients
    _runtime_published(ssm_stub)
    builder_stub.add_client_error(
        "start_image_pipeline_execution", service_error_code="AccessDeniedException", http_status_code=403
    )
    line = start_weights_build(OUTPUTS, ssm=ssm, imagebuilder=builder)
    assert line.startswith("weights image not started: imagebuilder StartImagePipelineExecution")
    assert "AccessDenied" in line
    assert "\n" not in line
