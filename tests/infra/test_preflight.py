"""`voicefleet preflight --env NAME`: moto on loopback for CloudFormation, SSM, EC2, S3 and Secrets Manager; botocore's
Stubber for Service Quotas and Cost Explorer (which moto does not serve: its quotas are VPC-only, and it has no
cost-allocation tags)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from infra.image.components import RUNTIME_PARAMETER, weights_parameter
from infra.preflight import cli
from infra.preflight.account import ON_DEMAND_QUOTA, SPOT_QUOTA, vcpu_needs
from infra.preflight.cli import Clients, run_checks
from infra.preflight.deployed import secret_check
from infra.preflight.result import PreflightAwsError
from service.models_sync.transfer import push
from voicefleet_config import load_environment


def _stack(name: str, outputs: dict[str, str]) -> str:
    return json.dumps(
        {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
    )


@pytest.fixture
def stubs() -> Iterator[tuple[Stubber, Stubber, Any, Any]]:
    quotas = boto3.client("service-quotas", region_name="us-east-1")
    ce = boto3.client("ce", region_name="us-east-1")
    with Stubber(quotas) as quota_stub, Stubber(ce) as ce_stub:
        yield quota_stub, ce_stub, quotas, ce


def _quotas(stub: Stubber, spot: float, on_demand: float = 64) -> None:
    quotas = [
        {"QuotaName": SPOT_QUOTA, "QuotaCode": "L-SPOT", "Value": spot, "ServiceCode": "ec2"},
        {"QuotaName": ON_DEMAND_QUOTA, "QuotaCode": "L-OD", "Value": on_demand, "ServiceCode": "ec2"},
    ]
    stub.add_response("list_service_quotas", {"Quotas": quotas}, {"ServiceCode": "ec2"})


def _cost_tag(stub: Stubber, status: str | None) -> None:
    tags = [] if status is None else [{"TagKey": "voicefleet:env", "Type": "UserDefined", "Status": status}]
    stub.add_response("list_cost_allocation_tags", {"CostAllocationTags": tags}, {"TagKeys": ["voicefleet:env"]})


@pytest.fixture
def clients(aws_client: Callable[..., Any], stubs: tuple[Stubber, Stubber, Any, Any]) -> Clients:
    return Clients(
        aws_client("cloudformation"), aws_client("ssm"), aws_client("ec2"), aws_client("s3"),
        aws_client("secretsmanager"), stubs[2], stubs[3],
    )  # fmt: skip


def _deploy(aws: Callable[..., Any], tmp_path: Path, env: str = "dev") -> None:
    """What `cdk deploy`, the image pipeline and `voicefleet-models push` leave in the account."""
    aws("cloudformation").create_stack(StackName="VoiceFleet-image-us-east-1", TemplateBody=_stack("image", {}))
    aws("s3").create_bucket(Bucket="models")
    secret = aws("secretsmanager").create_secret(Name="keys", SecretString="k" * 40)["ARN"]
    outputs = {"ModelsBucket": "models", "ApiKeysSecret": secret}
    aws("cloudformation").create_stack(StackName=f"VoiceFleet-{env}", TemplateBody=_stack(env, outputs))
    ami = aws("ec2").describe_images()["Images"][0]["ImageId"]
    name = RUNTIME_PARAMETER if env == "dev" else weights_parameter(env)
    aws("ssm").put_parameter(Name=name, Value=ami, Type="String", DataType="aws:ec2:image")
    model = tmp_path / "model"
    model.mkdir()
    (model / "llm.pt").write_bytes(b"\0" * 1000)
    push(aws("s3"), "models", "cosyvoice3/", model)


def _by_name(checks: list[Any]) -> dict[str, Any]:
    return {c.name: c for c in checks}


def test_a_new_account_before_deploy(clients: Clients, stubs: tuple[Stubber, Stubber, Any, Any]) -> None:
    _quotas(stubs[0], spot=0)
    _cost_tag(stubs[1], None)
    checks = _by_name(run_checks("dev", clients))
    spot = checks["Spot G/VT vCPU quota"]
    assert spot.status == "fail"
    assert "is 0 vCPU" in spot.detail
    assert "needs 4" in spot.detail  # 1 instance of a 4-vCPU type (dev)
    assert "request-service-quota-increase" in spot.fix
    assert checks["on-demand G/VT vCPU quota"].status == "pass"  # dev runs no on-demand instances
    assert checks["default VPC"].status == "pass"
    assert [checks[n].status for n in ("image", "weights", "API keys")] == ["wait", "wait", "wait"]
    assert "cdk deploy" in checks["image"].fix
    assert checks["cost-allocation tag"].status == "fail"
    assert "update-cost-allocation-tags-status" in checks["cost-allocation tag"].fix


def test_everything_in_place_passes(
    clients: Clients, stubs: tuple[Stubber, Stubber, Any, Any], aws_client: Callable[..., Any], tmp_path: Path
) -> None:
    _deploy(aws_client, tmp_path)
    _quotas(stubs[0], spot=32)
    _cost_tag(stubs[1], "Active")
    checks = run_checks("dev", clients)
    assert [c.status for c in checks] == ["pass"] * len(checks), checks
    assert "1 files" in _by_name(checks)["weights"].detail


def test_a_weight_that_differs_from_its_manifest_fails(
    clients: Clients, stubs: tuple[Stubber, Stubber, Any, Any], aws_client: Callable[..., Any], tmp_path: Path
) -> None:
    _deploy(aws_client, tmp_path)
    aws_client("s3").put_object(Bucket="models", Key="cosyvoice3/llm.pt", Body=b"\1" * 1000, Metadata={"sha256": "0"})
    _quotas(stubs[0], spot=32)
    _cost_tag(stubs[1], "Active")
    weights = _by_name(run_checks("dev", clients))["weights"]
    assert weights.status == "fail"
    assert "llm.pt: size or SHA-256 differs" in weights.detail
    assert "voicefleet-models push --env dev" in weights.fix


def test_a_baked_environment_without_its_image_says_how_to_build_it(
    clients: Clients, stubs: tuple[Stubber, Stubber, Any, Any], aws_client: Callable[..., Any], tmp_path: Path
) -> None:
    _deploy(aws_client, tmp_path, env="prod")
    aws_client("ssm").delete_parameter(Name=weights_parameter("prod"))
    _quotas(stubs[0], spot=64)
    _cost_tag(stubs[1], "Active")
    image = _by_name(run_checks("prod", clients))["image"]
    assert image.status == "fail"
    assert weights_parameter("prod") in image.detail
    assert "voicefleet-models push --env prod" in image.fix


def test_prod_needs_the_largest_type_times_its_maximum() -> None:
    # 4 instances of g5.2xlarge (8 vCPU), all Spot (on-demand base 0, 0 % above it).
    assert vcpu_needs(load_environment("prod")) == (32, 0)


@pytest.mark.parametrize(
    ("code", "message"),
    [("ThrottlingException", "AWS is throttling"), ("AccessDeniedException", "lack this permission")],
)
def test_aws_refusing_to_answer_is_one_line_and_exit_2(
    clients: Clients,
    stubs: tuple[Stubber, Stubber, Any, Any],
    monkeypatch: pytest.MonkeyPatch,
    code: str,
    message: str,
) -> None:
    stubs[0].add_client_error("list_service_quotas", service_error_code=code, service_message="no")
    with pytest.raises(PreflightAwsError, match=message):
        run_checks("dev", clients)
    stubs[0].add_client_error("list_service_quotas", service_error_code=code, service_message="no")
    monkeypatch.setattr(Clients, "for_region", classmethod(lambda cls, region: clients))
    result = CliRunner().invoke(cli.app, ["preflight", "--env", "dev"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert code in lines[0], result.output
    assert message in lines[0], result.output


def test_cli_prints_each_check_and_exits_1_on_a_failure(
    clients: Clients, stubs: tuple[Stubber, Stubber, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _quotas(stubs[0], spot=0)
    _cost_tag(stubs[1], "Inactive")
    monkeypatch.setattr(Clients, "for_region", classmethod(lambda cls, region: clients))
    result = CliRunner().invoke(cli.app, ["preflight", "--env", "dev"])
    assert result.exit_code == 1
    for needle in ("Spot G/VT vCPU quota", "FAIL", "wait", "default VPC", "cost-allocation tag"):
        assert needle in result.output, needle


def test_unknown_environment_is_exit_2() -> None:
    result = CliRunner().invoke(cli.app, ["preflight", "--env", "prdo"])
    assert result.exit_code == 2
    assert "did you mean 'prod'" in result.output


@pytest.mark.parametrize(
    ("secret", "status", "says"),
    [
        ("k" * 40 + ", " + "m" * 20, "pass", "2 key(s)"),
        (json.dumps({"acme": ["k" * 20, "r" * 20], "ops": {"keys": ["o" * 20], "admin": True}}), "pass", "3 key(s)"),
        (json.dumps({"acme": "short-key"}), "fail", "a key under 16 characters"),
        ('{"acme": "k' + "k" * 30, "fail", "not valid JSON"),
        ("", "fail", "holds no key"),
    ],
)
def test_the_api_keys_secret_is_read_as_the_service_reads_it(
    aws_client: Callable[..., Any], secret: str, status: str, says: str
) -> None:
    """The old comma list or the JSON key document of tenants (service.tenants.keyring): a document's keys are
    counted and held to the same 16-character rule; a comma split would pass a document holding a short key."""
    client = aws_client("secretsmanager")
    arn = client.create_secret(Name="keys", SecretString=secret or " ")["ARN"]
    check = secret_check(client, arn)
    assert check.status == status, check
    assert says in check.detail
