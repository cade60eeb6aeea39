"""The golden image: one runtime pipeline per region (DLAMI + CloudWatch agent + the locked runtime), a weights
image for an environment that bakes them; AMI ids to SSM parameters the launch templates resolve at launch.

The component documents are checked against AWSTOE's documented structure here; tests/boot runs their build and
validate steps for real in its sandbox.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from aws_cdk.assertions import Template

from infra.image.components import (
    DLAMI_PARAMETER,
    RUNTIME_PARAMETER,
    runtime_document,
    version_of,
    weights_document,
    weights_parameter,
)
from tests.awstoe import problems
from tests.infra.conftest import only
from tests.synth import Synth


@pytest.fixture(scope="module")
def image(synth: Synth) -> Template:
    return synth.template("image-us-east-1")


def _components(template: Template) -> dict[str, dict[str, Any]]:
    return {
        c["Properties"]["Name"]: c["Properties"]
        for c in template.find_resources("AWS::ImageBuilder::Component").values()
    }


def _document(component: dict[str, Any]) -> dict[str, Any]:
    """The component's YAML with CDK tokens (Fn::Join parts) stood in for by a placeholder."""
    data = component["Data"]
    if isinstance(data, dict):
        data = "".join(p if isinstance(p, str) else "TOKEN" for p in data["Fn::Join"][1])
    document: dict[str, Any] = yaml.safe_load(data)
    return document


def test_one_runtime_image_per_region_shared_by_its_environments(synth: Synth) -> None:
    assert {name for name in synth.raw if name.startswith("image-")} == {"image-us-east-1", "image-eu-west-1"}
    description = synth.raw["image-us-east-1"]["Description"]
    assert "dev" in description
    assert "prod" in description


def test_runtime_recipe_builds_on_the_latest_dlami_with_the_cloudwatch_agent(image: Template) -> None:
    recipe = only(image, "AWS::ImageBuilder::ImageRecipe")["Properties"]
    assert recipe["ParentImage"] == f"ssm:{DLAMI_PARAMETER}"
    assert "base-oss-nvidia-driver-gpu-ubuntu-24.04" in DLAMI_PARAMETER
    arns = json.dumps(recipe["Components"])
    assert "aws:component/amazon-cloudwatch-agent-linux/x.x.x" in arns
    root = recipe["BlockDeviceMappings"][0]["Ebs"]
    assert root["Encrypted"] is True
    assert root["VolumeType"] == "gp3"


def test_runtime_image_is_published_to_the_parameter_the_launch_templates_resolve(image: Template) -> None:
    distribution = only(image, "AWS::ImageBuilder::DistributionConfiguration")["Properties"]["Distributions"][0]
    assert distribution["SsmParameterConfigurations"] == [
        {"ParameterName": RUNTIME_PARAMETER, "DataType": "aws:ec2:image"}
    ]
    pipeline = only(image, "AWS::ImageBuilder::ImagePipeline")["Properties"]
    assert pipeline["ImageTestsConfiguration"]["ImageTestsEnabled"] is True
    infrastructure = only(image, "AWS::ImageBuilder::InfrastructureConfiguration")["Properties"]
    assert infrastructure["InstanceMetadataOptions"]["HttpTokens"] == "required"
    assert infrastructure["InstanceTypes"] == ["g4dn.xlarge"]  # a GPU, for the test phase's CUDA selftest


def test_runtime_component_is_well_formed_and_installs_from_the_lock(image: Template) -> None:
    component = _components(image)["voicefleet-runtime"]
    document = _document(component)
    assert problems(document) == []
    assert [p["name"] for p in document["phases"]] == ["build", "validate", "test"]
    commands = json.dumps(document)
    assert "--require-hashes" in commands
    assert "runtime/bootstrap.lock" in commands
    assert "runtime/image_build.py build" in commands
    assert "runtime/image_build.py validate" in commands
    assert "selftest --device cuda:0" in commands
    download = document["phases"][0]["steps"][1]
    assert download["action"] == "S3Download"
    assert download["inputs"][0]["source"].startswith("s3://TOKEN/")


def test_build_instances_read_only_this_deployments_source_bundle(image: Template) -> None:
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"] for p in image.find_resources("AWS::IAM::Policy").values()
    ]
    s3 = [s for statements in policies for s in statements if "s3:GetObject*" in json.dumps(s["Action"])]
    assert s3
    objects = [r for s in s3 for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    assert all(".zip" in json.dumps(r) or "/" not in json.dumps(r) for r in objects), objects


def test_deploy_starts_a_build_when_the_image_changes(image: Template) -> None:
    starts = image.find_resources("Custom::AWS")
    assert len(starts) == 1
    create = json.dumps(next(iter(starts.values()))["Properties"]["Create"])
    assert "StartImagePipelineExecution" in create
    version = only(image, "AWS::ImageBuilder::ImageRecipe")["Properties"]["Version"]
    assert version in create  # the physical id is the version: a new version, a new build


def test_prod_bakes_its_weights_on_top_of_the_runtime_image(prod: Template, dev: Template) -> None:
    recipe = only(prod, "AWS::ImageBuilder::ImageRecipe")["Properties"]
    assert recipe["ParentImage"] == f"ssm:{RUNTIME_PARAMETER}"
    distribution = only(prod, "AWS::ImageBuilder::DistributionConfiguration")["Properties"]["Distributions"][0]
    assert distribution["SsmParameterConfigurations"][0]["ParameterName"] == weights_parameter("prod")
    document = _document(only(prod, "AWS::ImageBuilder::Component")["Properties"])
    assert problems(document) == []
    assert "voicefleet-models pull --bucket TOKEN --prefix cosyvoice3/" in json.dumps(document)
    assert "WeightsImagePipeline" in prod.to_json()["Outputs"]
    dev.resource_count_is("AWS::ImageBuilder::ImagePipeline", 0)  # dev pulls its weights: the runtime image only


def test_versions_follow_content_not_tokens() -> None:
    a = runtime_document("s3://<cdk-assets>/aaa.zip")
    b = runtime_document("s3://<cdk-assets>/bbb.zip")
    assert version_of(json.dumps(a)) != version_of(json.dumps(b))
    assert version_of(json.dumps(a)) == version_of(json.dumps(runtime_document("s3://<cdk-assets>/aaa.zip")))
    major, minor, patch = version_of("x").split(".")
    assert (major, minor) == ("1", "0")
    assert 0 <= int(patch) < 2**30


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d.pop("schemaVersion"), "schemaVersion"),
        (lambda d: d["phases"][0].update(name="compile"), "compile"),
        (lambda d: d["phases"][0]["steps"][0].update(action="RunBash"), "RunBash"),
        (lambda d: d["phases"][0]["steps"].append(dict(d["phases"][0]["steps"][0])), "step names repeat"),
        (lambda d: d["phases"][0]["steps"][1]["inputs"][0].update(source="bucket/key"), "does not match"),
        (lambda d: d["phases"][0]["steps"][0]["inputs"].update(commands=[]), "should be non-empty"),
    ],
)
def test_structure_check_catches_a_broken_document(edit: Any, expected: str) -> None:
    document = runtime_document("s3://bucket/key.zip")
    assert problems(document) == []
    edit(document)
    assert any(expected in p for p in problems(document)), problems(document)


def test_weights_document_pulls_and_verifies() -> None:
    document = weights_document(bucket="b", prefix="cosyvoice3/", region="us-east-1")
    assert problems(document) == []
    assert [p["name"] for p in document["phases"]] == ["build", "validate"]
