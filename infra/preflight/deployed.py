"""Checks of what deploy day puts in place: the stack, the image, the weights and their checksums, the API keys,
the cost-allocation tag. Before the stack exists they wait (status "wait", naming the step that makes them pass)."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.image.components import RUNTIME_PARAMETER, image_parameter, image_stack_name
from infra.names import ENV_TAG_KEY
from infra.preflight.result import Check, answer, aws_error, error_code
from service.tenants.keyring import MIN_KEY_CHARS, KeyFormatError, Keyring
from voicefleet_config import EnvironmentConfig

MANIFEST = ".voicefleet-manifest.json"  # service/models_sync/manifest.py MANIFEST_NAME


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str] | None:
    """The stack's outputs, or None when it is not deployed."""
    call = "cloudformation DescribeStacks"
    found = answer(call, lambda: cloudformation.describe_stacks(StackName=stack_name))
    if isinstance(found, ClientError):
        if error_code(found) == "ValidationError":
            return None
        raise aws_error(call, found) from found
    return {o["OutputKey"]: o["OutputValue"] for o in found["Stacks"][0].get("Outputs", [])}


def image_check(config: EnvironmentConfig, ssm: Any, ec2: Any) -> Check:
    name = image_parameter(config.name, config.image.weights)
    baked = name != RUNTIME_PARAMETER
    parameter = answer("ssm GetParameter", lambda: ssm.get_parameter(Name=name))
    if isinstance(parameter, ClientError):
        if error_code(parameter) != "ParameterNotFound":
            raise aws_error("ssm GetParameter", parameter) from parameter
        fix = (
            f"push the weights (`voicefleet-models push --env {config.name} --from DIR`), which starts the weights "
            "image build once the runtime image exists (preflight shows both)"
            if baked
            else "`cdk deploy` starts the runtime image build (about 45 min); or start it by hand: aws imagebuilder "
            "start-image-pipeline-execution --image-pipeline-arn <RuntimeImagePipeline output of "
            f"VoiceFleet-image-{config.region}>"
        )
        return Check("image", "fail", f"{name} does not exist yet: no image was published", fix)
    ami = parameter["Parameter"]["Value"]
    described = answer("ec2 DescribeImages", lambda: ec2.describe_images(ImageIds=[ami]))
    images = [] if isinstance(described, ClientError) else described["Images"]
    if not images or images[0].get("State") != "available":
        state = images[0].get("State") if images else "missing"
        return Check("image", "fail", f"{name} names {ami}, which is {state}",
                     "point the parameter at the previous image (docs/infra.md, roll back) or rebuild it")  # fmt: skip
    return Check("image", "pass", f"{name} = {ami} ({images[0].get('Name', '')})")


def weights_check(config: EnvironmentConfig, s3: Any, bucket: str) -> Check:
    """Every file the manifest names is in the bucket with its size and SHA-256 (no download)."""
    prefix = config.service.model_prefix
    push = f"voicefleet-models push --env {config.name} --from <CosyVoice3 model dir>"
    got = answer("s3 GetObject", lambda: s3.get_object(Bucket=bucket, Key=prefix + MANIFEST)["Body"].read())
    if isinstance(got, ClientError):
        return Check("weights", "fail", f"no model manifest at s3://{bucket}/{prefix}{MANIFEST}", push)
    files = json.loads(got).get("files", [])
    for entry in files:
        head = answer("s3 HeadObject", partial(s3.head_object, Bucket=bucket, Key=prefix + entry["path"]))
        if isinstance(head, ClientError):
            return Check("weights", "fail", f"{entry['path']} is in the manifest but not in the bucket", push)
        if head.get("ContentLength") != entry["size"] or head.get("Metadata", {}).get("sha256") != entry["sha256"]:
            return Check("weights", "fail", f"{entry['path']}: size or SHA-256 differs from the manifest", push)
    total = sum(int(e["size"]) for e in files)
    return Check("weights", "pass", f"{len(files)} files, {total / 1e9:.2f} GB, sizes and SHA-256 match the manifest")


def secret_check(secrets: Any, arn: str) -> Check:
    secret = answer("secretsmanager GetSecretValue", lambda: secrets.get_secret_value(SecretId=arn))
    if isinstance(secret, ClientError):
        code = secret.response.get("Error", {}).get("Code")
        return Check("API keys", "fail", f"{arn}: {code}", "redeploy the stack")
    fix = f"aws secretsmanager put-secret-value --secret-id {arn} --secret-string <key1,key2 or a key document>"
    try:  # as the service reads it: the old comma list or the JSON key document of tenants
        keyring = Keyring.parse(str(secret["SecretString"]), api_source=arn)
    except KeyFormatError as exc:
        return Check("API keys", "fail", str(exc), fix)
    keys = [key.decode("utf-8") for key, _ in keyring.entries]
    if not keys or any(len(key) < MIN_KEY_CHARS for key in keys):
        return Check(
            "API keys", "fail", "the secret holds no key, or a key under 16 characters (the service refuses it)", fix
        )
    return Check("API keys", "pass", f"{len(keys)} key(s) in the ApiKeysSecret")


def cost_tag_check(ce: Any) -> Check:
    fix = (
        f"activate '{ENV_TAG_KEY}' in the Billing console (Cost allocation tags), or: aws ce "
        f"update-cost-allocation-tags-status --cost-allocation-tags-status TagKey={ENV_TAG_KEY},Status=Active "
        "(it is listed up to 24 h after the first tagged resource exists)"
    )
    try:
        tags = ce.list_cost_allocation_tags(TagKeys=[ENV_TAG_KEY])["CostAllocationTags"]
    except (ClientError, BotoCoreError) as exc:
        raise aws_error("ce ListCostAllocationTags", exc) from exc
    status = next((t.get("Status") for t in tags if t.get("TagKey") == ENV_TAG_KEY), None)
    if status == "Active":
        return Check("cost-allocation tag", "pass", f"'{ENV_TAG_KEY}' is active: the budget sees this environment")
    return Check(
        "cost-allocation tag", "fail", f"'{ENV_TAG_KEY}' is {status or 'not listed'}: the budget stays at 0", fix
    )


def deployed_checks(config: EnvironmentConfig, clients: Any) -> list[Check]:
    after = f"after `npx aws-cdk deploy -c env={config.name}` (it deploys {image_stack_name(config.region)} first)"
    image_stack = image_stack_name(config.region)
    if stack_outputs(clients.cloudformation, image_stack) is None:
        checks = [Check("image", "wait", f"{image_stack} is not deployed", after)]
    else:
        checks = [image_check(config, clients.ssm, clients.ec2)]
    outputs = stack_outputs(clients.cloudformation, config.stack_name)
    if outputs is None:
        checks += [
            Check(name, "wait", f"{config.stack_name} is not deployed", after) for name in ("weights", "API keys")
        ]
    else:
        checks.append(weights_check(config, clients.s3, outputs["ModelsBucket"]))
        checks.append(secret_check(clients.secrets, outputs["ApiKeysSecret"]))
    checks.append(cost_tag_check(clients.ce))
    return checks
