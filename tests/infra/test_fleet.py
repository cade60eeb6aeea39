"""Fleet: DLAMI from SSM, IMDSv2, encrypted gp3, no key pair; Spot mix from config; ELB health; drain hook; scaling."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from infra.fleet.construct import AMI_PARAMETER, BOOT_GRACE
from tests.infra.conftest import only


def _lt(template: Template) -> dict[str, Any]:
    data: dict[str, Any] = only(template, "AWS::EC2::LaunchTemplate")["Properties"]["LaunchTemplateData"]
    return data


def _asg(template: Template) -> dict[str, Any]:
    props: dict[str, Any] = only(template, "AWS::AutoScaling::AutoScalingGroup")["Properties"]
    return props


def _user_data(template: Template) -> str:
    parts = _lt(template)["UserData"]["Fn::Base64"]["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "<ref>" for p in parts)


def test_launch_template_security(prod: Template) -> None:
    lt = _lt(prod)
    assert lt["MetadataOptions"]["HttpTokens"] == "required"
    assert "KeyName" not in lt
    root = lt["BlockDeviceMappings"][0]
    assert root["DeviceName"] == "/dev/sda1"
    assert root["Ebs"] == {"DeleteOnTermination": True, "Encrypted": True, "VolumeSize": 150, "VolumeType": "gp3"}
    assert "IamInstanceProfile" in lt


def test_ami_from_dlami_public_ssm_parameter(prod: Template) -> None:
    params = prod.to_json()["Parameters"]
    assert any(p.get("Default") == AMI_PARAMETER for p in params.values())
    assert "ubuntu-24.04" in AMI_PARAMETER
    assert "base-oss-nvidia-driver-gpu" in AMI_PARAMETER


def test_mixed_instances_policy_from_config(prod: Template, dev: Template) -> None:
    policy = _asg(prod)["MixedInstancesPolicy"]
    overrides = [o["InstanceType"] for o in policy["LaunchTemplate"]["Overrides"]]
    assert overrides == ["g5.xlarge", "g6.xlarge", "g5.2xlarge"]
    assert policy["InstancesDistribution"] == {
        "OnDemandAllocationStrategy": "prioritized",
        "OnDemandBaseCapacity": 0,
        "OnDemandPercentageAboveBaseCapacity": 0,
        "SpotAllocationStrategy": "price-capacity-optimized",
    }
    dev_types = [o["InstanceType"] for o in _asg(dev)["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"]]
    assert dev_types == ["g4dn.xlarge", "g6.xlarge", "g5.xlarge"]


def test_capacity_health_and_rebalance(prod: Template, dev: Template) -> None:
    asg = _asg(prod)
    assert (asg["MinSize"], asg["MaxSize"]) == ("1", "4")
    # Desired is left to the scheduler (DEFAULT_SIZE) so a deploy never resets a running fleet.
    assert "DesiredCapacity" not in asg
    assert asg["CapacityRebalance"] is True
    assert asg["HealthCheckType"] == "ELB"
    assert asg["HealthCheckGracePeriod"] == BOOT_GRACE.to_seconds()
    assert asg["AutoScalingGroupName"] == "voicefleet-prod-gpu"
    assert len(asg["TargetGroupARNs"]) == 1
    dev_asg = _asg(dev)
    assert (dev_asg["MinSize"], dev_asg["MaxSize"]) == ("0", "1")


def test_terminating_hook_gives_time_to_drain(prod: Template) -> None:
    hook = only(prod, "AWS::AutoScaling::LifecycleHook")["Properties"]
    assert hook["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING"
    assert hook["DefaultResult"] == "CONTINUE"
    assert hook["HeartbeatTimeout"] >= 90 + 60  # deregistration delay + spool flush
    assert hook["LifecycleHookName"] == "voicefleet-drain"


def test_target_tracking_on_the_services_streams_in_flight(prod: Template) -> None:
    """Regression (issue 14): the group scaled on 33 ALB requests/min/instance, a number nobody measured."""
    policy = only(prod, "AWS::AutoScaling::ScalingPolicy")["Properties"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    config = policy["TargetTrackingConfiguration"]
    assert "PredefinedMetricSpecification" not in config
    spec = config["CustomizedMetricSpecification"]
    assert (spec["Namespace"], spec["MetricName"], spec["Statistic"]) == (
        "VoiceFleet",
        "voicefleet_in_flight_requests",
        "Average",
    )
    assert spec["Dimensions"] == [{"Name": "AutoScalingGroupName", "Value": "voicefleet-prod-gpu"}]
    assert 0 < config["TargetValue"] <= 64
    assert policy["EstimatedInstanceWarmup"] == 25 * 60  # fleet.boot_minutes


def test_instance_role_least_privilege(prod: Template) -> None:
    roles = prod.find_resources("AWS::IAM::Role")
    instance_role = next(
        (k, r) for k, r in roles.items() if "ec2.amazonaws.com" in str(r["Properties"]["AssumeRolePolicyDocument"])
    )
    assert "AmazonSSMManagedInstanceCore" in str(instance_role[1]["Properties"]["ManagedPolicyArns"])
    policy = next(
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in prod.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": instance_role[0]}]
    )
    text = str(policy)
    assert "/cosyvoice3/*" in text
    assert "/audio/*" in text
    assert "/voices/*" in text
    assert "code/cosyvoice.tar.gz" in text
    writes = [s for s in policy if "s3:PutObject" in s["Action"]]
    assert all("/audio/*" in str(s["Resource"]) or "/voices/*" in str(s["Resource"]) for s in writes)
    metrics = next(s for s in policy if s["Action"] == "cloudwatch:PutMetricData")
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": ["CWAgent", "VoiceFleet"]}}
    hook = next(s for s in policy if s["Action"] == "autoscaling:CompleteLifecycleAction")
    assert "autoScalingGroupName/voicefleet-prod-gpu" in str(hook["Resource"])
    assert not any(s["Action"] in ("s3:*", "*") for s in policy)
    # The CDK assets bucket holds every asset of the account: only this deployment's source bundle is readable.
    asset_objects = [r for s in policy for r in _resources(s) if "cdk-hnb659fds-assets" in str(r) and "/" in str(r)]
    assert asset_objects, "the instance cannot read its source bundle"
    assert all(str(r).rstrip("']}").endswith(".zip") for r in asset_objects), asset_objects


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def test_user_data_installs_and_supervises_the_service(prod: Template) -> None:
    script = _user_data(prod)
    for needle in (
        "/opt/voicefleet/src[service,gpu]",
        "voicefleet-models pull",
        "/etc/voicefleet/service.env",
        "Restart=always",
        "tts-serve --host 0.0.0.0 --port 8000",
        "amazon-cloudwatch-agent-ctl -a fetch-config",
        "nvidia_gpu",
        "/opt/dlami/nvme",
        "TTS_MAX_TEXT_CHARS=200",
        "TTS_OUTPUTS_PREFIX=audio/",
        "TTS_ENVIRONMENT=prod",
        "complete-lifecycle-action",
    ):
        assert needle in script, needle
    assert "@@" not in script


def test_warm_pool_variant(edge: Template, prod: Template) -> None:
    pool = only(edge, "AWS::AutoScaling::WarmPool")["Properties"]
    assert pool["PoolState"] == "Stopped"
    assert pool["MinSize"] == 1
    asg = _asg(edge)
    assert "MixedInstancesPolicy" not in asg
    assert "LaunchTemplate" in asg
    assert _lt(edge)["InstanceType"] == "g5.xlarge"
    assert 'USE_INSTANCE_STORE="false"' in _user_data(edge)
    assert 'USE_INSTANCE_STORE="true"' in _user_data(prod)
    hooks = [
        h["Properties"]["LifecycleTransition"] for h in edge.find_resources("AWS::AutoScaling::LifecycleHook").values()
    ]
    assert sorted(hooks) == ["autoscaling:EC2_INSTANCE_LAUNCHING", "autoscaling:EC2_INSTANCE_TERMINATING"]
    prod.resource_count_is("AWS::AutoScaling::WarmPool", 0)


def test_user_data_fits_the_16k_limit(prod: Template) -> None:
    # EC2 limits user data to 16 KB before base64; tokens (names/ARNs) add well under 1 KB.
    assert len(_user_data(prod).encode()) < 15_000
