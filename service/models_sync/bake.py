"""After `voicefleet-models push --env NAME` uploaded a model: start the environment's weights image build when it
bakes its weights (image.weights: baked), so the deploy-day steps stay preflight, deploy, push weights."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from voicefleet_config.image import RUNTIME_PARAMETER

WEIGHTS_PIPELINE_OUTPUT = "WeightsImagePipeline"  # CfnOutput of infra/stack.py


def start_weights_build(outputs: dict[str, str], *, ssm: Any, imagebuilder: Any) -> str:
    """One line for the operator: started, not needed, or why not (a missing runtime image is not an error)."""
    pipeline = outputs.get(WEIGHTS_PIPELINE_OUTPUT)
    if not pipeline:
        return "weights are pulled at boot (image.weights: pulled): no image to build"
    try:
        ssm.get_parameter(Name=RUNTIME_PARAMETER)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ParameterNotFound":
            return f"weights image not started: ssm GetParameter: {exc}"
        return (
            f"weights image not started: the runtime image ({RUNTIME_PARAMETER}) is not published yet; run this "
            "push again once `voicefleet preflight` shows it (unchanged files are skipped)"
        )
    except BotoCoreError as exc:
        return f"weights image not started: {exc}"
    try:
        started = imagebuilder.start_image_pipeline_execution(imagePipelineArn=pipeline)
    except (ClientError, BotoCoreError) as exc:
        return f"weights image not started: imagebuilder StartImagePipelineExecution: {exc}"
    return f"weights image build started ({started.get('imageBuildVersionArn', pipeline)}); preflight shows it"
