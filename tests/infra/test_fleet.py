"""Fleet: the image from its SSM parameter at launch, IMDSv2, encrypted gp3, no key pair; Spot mix from config; MinSize
0; launch hook (boot budget) and drain hook; ELB health; scaling."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.image.components import RUNTIME_PARAMETER, weights_parameter
from tests.infra.conftest import only
from tests.synth import Synth
from voicefleet_config import load_environment, parse_environment


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


def test_image_is_resolved_from_its_parameter_at_launch(prod: Template, dev: Template) -> None:
    # EC2 resolves `resolve:ssm:` at each launch, so a deploy needs no image yet and a new image reaches new launches.
    assert _lt(prod)["ImageId"] == f"resolve:ssm:{weights_parameter('prod')}"  # prod bakes its weights
    assert _lt(dev)["ImageId"] == f"resolve:ssm:{RUNTIME_PARAMETER}"  # dev pulls them at boot
    for template in (prod, dev):
        params = template.to_json().get("Parameters", {})
        assert not any("AWS::EC2::Image::Id" in str(p.get("Type")) for p in params.values()), params


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
    # MinSize 0 even though prod's config minimum is 1: the scheduler owns sizing, so `cdk deploy` launches no GPU
    # before the image and the weights exist; desired is left out so a deploy never resets a running fleet.
    assert (asg["MinSize"], asg["MaxSize"]) == ("0", "4")
    assert load_environment("prod").fleet.min_capacity == 1
    assert "DesiredCapacity" not in asg
    assert asg["CapacityRebalance"] is True
    assert asg["HealthCheckType"] == "ELB"
    # The launch hook keeps an instance out of service until it serves: the grace is only the ALB's verdict
    # (15 s interval x 2 healthy checks), no longer a boot-sized 25 minutes.
    assert asg["HealthCheckGracePeriod"] == 30
    assert asg["AutoScalingGroupName"] == "voicefleet-prod-gpu"
    assert len(asg["TargetGroupARNs"]) == 1
    dev_asg = _asg(dev)
    assert (dev_asg["MinSize"], dev_asg["MaxSize"]) == ("0", "1")


def test_launch_hook_waits_for_a_serving_instance_for_the_boot_budget(prod: Template, dev: Template) -> None:
    for env, template in (("prod", prod), ("dev", dev)):
        hooks = {h["Properties"]["LifecycleTransition"]: h["Properties"] for h in _hooks(template)}
        launch = hooks["autoscaling:EC2_INSTANCE_LAUNCHING"]
        assert launch["LifecycleHookName"] == "voicefleet-launch"
        assert launch["DefaultResult"] == "ABANDON"  # a boot that hangs is not served from
        assert launch["HeartbeatTimeout"] == load_environment(env).fleet.boot_minutes * 60


def _hooks(template: Template) -> list[dict[str, Any]]:
    return [dict(hook) for hook in template.find_resources("AWS::AutoScaling::LifecycleHook").values()]


def test_terminating_hook_gives_time_to_drain(prod: Template) -> None:
    hook = next(
        h["Properties"]
        for h in _hooks(prod)
        if h["Properties"]["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING"
    )
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
    assert "/cosyvoice3/*" not in text  # prod bakes its weights into its image: no models bucket at boot
    assert "/audio/*" in text
    assert "/voices/*" in text
    assert "code/cosyvoice.tar.gz" not in text  # no hand-made CosyVoice tarball any more
    writes = [s for s in policy if "s3:PutObject" in s["Action"]]
    assert all("/audio/*" in str(s["Resource"]) or "/voices/*" in str(s["Resource"]) for s in writes)
    metrics = next(s for s in policy if s["Action"] == "cloudwatch:PutMetricData")
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": ["CWAgent", "VoiceFleet"]}}
    hook = next(s for s in policy if s["Action"] == "autoscaling:CompleteLifecycleAction")
    assert "autoScalingGroupName/voicefleet-prod-gpu" in str(hook["Resource"])
    assert not any(s["Action"] in ("s3:*", "*") for s in policy)
    # The software is in the image: instances read nothing from the CDK assets bucket.
    assert not [r for s in policy for r in _resources(s) if "cdk-hnb659fds-assets" in str(r)]


def test_instances_that_pull_weights_read_only_the_model_prefix(dev: Template) -> None:
    roles = dev.find_resources("AWS::IAM::Role")
    role_id = next(
        k for k, r in roles.items() if "ec2.amazonaws.com" in str(r["Properties"]["AssumeRolePolicyDocument"])
    )
    policy = next(
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in dev.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    )
    assert "/cosyvoice3/*" in str(policy)


def _resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def test_user_data_configures_and_supervises_the_service(prod: Template) -> None:
    # What the script does is proven by running it (tests/boot); here: the template carries the rendered script.
    script = _user_data(prod)
    for needle in (
        "/etc/voicefleet/boot.json",
        "voicefleet-instance prepare",
        "systemctl start voicefleet-gate.service",
        "Restart=always",
        "RestartPreventExitStatus=2",
        "StateDirectory=voicefleet",
        "NUMBA_CACHE_DIR=/var/cache/voicefleet/numba",
        "ExecStart=/opt/voicefleet/venv/bin/tts-serve --host 0.0.0.0 --port 8000",
        "nvidia_gpu",
        '"TTS_MAX_TEXT_CHARS":"200"',
        '"TTS_ENVIRONMENT":"prod"',
        '"weights":"baked"',
    ):
        assert needle in script, needle
    for gone in ("pip install", "uv pip", "aws s3 cp", "cosyvoice.tar.gz", "dpkg -i"):
        assert gone not in script, f"the boot installs nothing any more: {gone}"
    assert "@@" not in script


def test_warm_pool_variant(edge: Template, prod: Template) -> None:
    pool = only(edge, "AWS::AutoScaling::WarmPool")["Properties"]
    assert pool["PoolState"] == "Stopped"
    assert pool["MinSize"] == 1
    asg = _asg(edge)
    assert "MixedInstancesPolicy" not in asg
    assert "LaunchTemplate" in asg
    assert _lt(edge)["InstanceType"] == "g5.xlarge"
    assert '"use_instance_store":false' in _user_data(edge)
    assert '"use_instance_store":true' in _user_data(prod)
    hooks = [h["Properties"]["LifecycleTransition"] for h in _hooks(edge)]
    assert sorted(hooks) == ["autoscaling:EC2_INSTANCE_LAUNCHING", "autoscaling:EC2_INSTANCE_TERMINATING"]
    prod.resource_count_is("AWS::AutoScaling::WarmPool", 0)


def test_user_data_fits_the_16k_limit(prod: Template) -> None:
    # EC2 limits user data to 16 KB before base64; tokens (names/ARNs) add well under 1 KB.
    assert len(_user_data(prod).encode()) < 15_000


def test_every_environment_deploys_at_min_size_zero(synth: Synth) -> None:
    """Every environment stack synthesized (cdk.json's and the test-only ones): no GPU starts during `cdk deploy`."""
    stacks = {env: raw for env, raw in synth.raw.items() if not env.startswith("image-")}
    assert {"dev", "prod"} <= set(stacks)
    for env, raw in stacks.items():
        groups = [r for r in raw["Resources"].values() if r["Type"] == "AWS::AutoScaling::AutoScalingGroup"]
        [asg] = [group["Properties"] for group in groups]
        assert asg["MinSize"] == "0", env
        assert "DesiredCapacity" not in asg, env


def test_one_boot_figure_feeds_the_hook_the_warm_up_and_the_cost_model() -> None:
    """fleet.boot_minutes is the launch hook's timeout, the schedule's warm-up (start = opening - boot) and the
    cost model's billed warm-up; changing it moves all three."""
    from cost.schedule import running_hours_per_workday
    from infra.fleet.construct import boot_budget
    from infra.schedule import scheduler_environment

    for minutes in (7, 40):
        config = parse_environment("x", {"fleet": {"boot_minutes": minutes}})
        assert boot_budget(config).to_minutes() == minutes
        opening = config.schedule.start_time
        start = (opening.hour * 60 + opening.minute - minutes) % (24 * 60)
        window = scheduler_environment(config, "voicefleet-x-gpu")["OPEN_WINDOW"]
        assert window.startswith(f"{start // 60:02d}:{start % 60:02d}-")
        assert running_hours_per_workday(config.schedule) == pytest.approx(config.schedule.open_hours + minutes / 60)
