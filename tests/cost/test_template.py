"""--template on a small hand-written CloudFormation template shaped like CDK output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cost.cli import main
from cost.errors import CostInputError
from cost.template import ENV_TAG_KEY, config_changes, parse
from tests.synth import Synth
from voicefleet_config import DEFAULT_CDK_JSON, load_environment


def template(*, env_tag: str | None = None, **asg_extra: Any) -> dict[str, Any]:
    """CDK-shaped template; `env_tag` tags the ASG with voicefleet:env as the CDK app does (untagged by default)."""
    if env_tag is not None:
        asg_extra["Tags"] = [{"Key": ENV_TAG_KEY, "PropagateAtLaunch": True, "Value": env_tag}]

    def schedule(expr: str, action: str) -> dict[str, Any]:
        return {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "ScheduleExpression": expr,
                "ScheduleExpressionTimezone": "Asia/Shanghai",
                "Target": {"Arn": {"Fn::GetAtt": ["SchedulerFn", "Arn"]}, "Input": json.dumps({"action": action})},
            },
        }

    return {
        "Resources": {
            "Fleet": {
                "Type": "AWS::AutoScaling::AutoScalingGroup",
                "Properties": {
                    "MinSize": "1",
                    "MaxSize": "4",
                    "DesiredCapacity": {"Ref": "Desired"},
                    "MixedInstancesPolicy": {
                        "LaunchTemplate": {
                            "LaunchTemplateSpecification": {"LaunchTemplateId": {"Ref": "Lt"}},
                            "Overrides": [{"InstanceType": "g6e.xlarge"}, {"InstanceType": "g5.xlarge"}],
                        },
                        "InstancesDistribution": {
                            "OnDemandBaseCapacity": 1,
                            "OnDemandPercentageAboveBaseCapacity": 0,
                            "SpotAllocationStrategy": "price-capacity-optimized",
                        },
                    },
                    **asg_extra,
                },
            },
            "Start": schedule("cron(45 8 ? * MON-SUN *)", "start"),
            "Stop": schedule("cron(0 18 ? * MON-SUN *)", "stop"),
            "Outputs": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "LifecycleConfiguration": {
                        "Rules": [
                            {
                                "Status": "Enabled",
                                "ExpirationInDays": 365,
                                "Transitions": [{"StorageClass": "GLACIER_IR", "TransitionInDays": 30}],
                            }
                        ]
                    }
                },
            },
            "Alb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {}},
            "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
            "Cdn": {
                "Type": "AWS::CloudFront::Distribution",
                "Properties": {"DistributionConfig": {"PriceClass": "PriceClass_200"}},
            },
        }
    }


def test_parse_reads_what_will_be_deployed() -> None:
    facts = parse(template())
    assert facts.instance_types == ["g6e.xlarge", "g5.xlarge"]
    assert (facts.min_size, facts.max_size, facts.desired) == (1, 4, None)
    assert (facts.on_demand_base, facts.on_demand_pct) == (1, 0)
    assert (facts.start, facts.stop, facts.timezone) == ("08:45", "18:00", "Asia/Shanghai")
    assert facts.weekdays == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert (facts.glacier_class, facts.glacier_after_days, facts.expire_after_days) == ("GLACIER_IR", 30, 365)
    assert (facts.albs, facts.nat_gateways, facts.alarms, facts.price_class) == (1, 1, 1, "PriceClass_200")
    assert any("DesiredCapacity" in u and "unresolved" in u for u in facts.unknown)
    assert facts.env_tag is None


def test_parse_reads_the_env_tag_in_list_and_map_form() -> None:
    assert parse(template(env_tag="prod")).env_tag == "prod"
    # Some resource types (SSM parameters) write Tags as a {key: value} map; other tags are ignored.
    mapped = template()
    mapped["Resources"]["Param"] = {"Type": "AWS::SSM::Parameter", "Properties": {"Tags": {ENV_TAG_KEY: "dev"}}}
    mapped["Resources"]["Vpc"] = {"Type": "AWS::EC2::VPC", "Properties": {"Tags": [{"Key": "Name", "Value": "x"}]}}
    assert parse(mapped).env_tag == "dev"


def _write(tmp_path: Path, name: str, body: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def _run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    name: str = "VoiceFleet-prod.template.json",
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    path = _write(tmp_path, name, body if body is not None else template())
    assert main(["--template", str(path), "--format", "json", "--month", "2026-05", *args]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def _error(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, body: dict[str, Any], *args: str) -> str:
    path = _write(tmp_path, name, body)
    assert main(["--template", str(path), "--format", "json", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_template_with_env_uses_the_env_workdays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Schedules fire daily; the Lambda skips non-workdays: prod's calendar gives 19 workdays in May 2026.
    # 08:45-18:00 is 9.25 h per workday.
    data = _run(tmp_path, capsys, "--env", "prod")
    assert data["hours_per_month"] == pytest.approx(19 * 9.25)
    assert {o["instance_type"] for o in data["options"]} == {"g6e.xlarge", "g5.xlarge"}
    assert {o["purchase"] for o in data["options"]} == {"on-demand", "spot", "mix"}
    assert any("DesiredCapacity" in n for n in data["notes"])
    nat = next(o for o in data["options"] if o["instance_type"] == "g6e.xlarge" and o["purchase"] == "on-demand")
    # One NAT gateway 24/7 (730 h x $0.045) is in the network line.
    assert nat["monthly"]["network"] > 730 * 0.045


def test_untagged_template_is_priced_only_under_the_env_in_its_file_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _run(tmp_path, capsys)
    # One report, not one per cdk.json environment: prod only.
    assert "environments" not in data
    assert data["environment"] == "prod"
    # No --env: the template's MON-SUN cron gives all 31 days of May, minus prod's four May days off (Labor Day
    # Saturday 05-02 counts once Saturday is a working weekday).
    assert data["hours_per_month"] == pytest.approx(27 * 9.25)
    # Without a tag, --env wins over the file name (and its calendar over the cron): dev has 21 weekdays, no holidays.
    as_dev = _run(tmp_path, capsys, "--env", "dev")
    assert as_dev["environment"] == "dev"
    assert as_dev["hours_per_month"] == pytest.approx(21 * 9.25)


def test_tag_decides_the_env_whatever_the_file_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _run(tmp_path, capsys, name="VoiceFleet-prod.template.json", body=template(env_tag="dev"))
    assert data["environment"] == "dev"
    # dev's own settings apply (its what-ifs are the env's), with the template's MON-SUN cron: all 31 days of May.
    assert data["hours_per_month"] == pytest.approx(31 * 9.25)
    assert (
        _run(tmp_path, capsys, "--env", "dev", name="stack.json", body=template(env_tag="dev"))["environment"] == "dev"
    )


def test_env_that_disagrees_with_the_tag_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _error(tmp_path, capsys, "stack.json", template(env_tag="prod"), "--env", "dev")
    assert "--env dev disagrees" in line
    assert "synthesized for environment 'prod' (tag voicefleet:env)" in line


def test_env_that_cannot_be_inferred_asks_for_env(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _error(tmp_path, capsys, "stack.json", template())
    assert "cannot tell which environment" in line
    assert line.endswith("pass --env (dev, prod)")


def test_single_env_cdk_json_needs_no_env(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cdk = json.loads(DEFAULT_CDK_JSON.read_text(encoding="utf-8"))
    cdk["context"]["environments"] = {"prod": cdk["context"]["environments"]["prod"]}
    custom = _write(tmp_path, "cdk.json", cdk)
    data = _run(tmp_path, capsys, "--cdk-json", str(custom), name="stack.json")
    assert data["environment"] == "prod"


@pytest.mark.parametrize(
    ("name", "body", "needles"),
    [
        ("stack.json", template(env_tag="staging"), ["'staging'", ENV_TAG_KEY, "--cdk-json"]),
        ("VoiceFleet-staging.template.json", template(), ["'staging'", "file name", "pass --env (dev, prod)"]),
    ],
)
def test_inferred_env_missing_from_cdk_json_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, body: dict[str, Any], needles: list[str]
) -> None:
    line = _error(tmp_path, capsys, name, body)
    assert all(n in line for n in needles), line


def test_template_tagged_with_two_envs_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = template(env_tag="prod")
    body["Resources"]["Vpc"] = {"Type": "AWS::EC2::VPC", "Properties": {"Tags": [{"Key": ENV_TAG_KEY, "Value": "dev"}]}}
    assert "several environments (voicefleet:env: dev, prod)" in _error(tmp_path, capsys, "stack.json", body)


def test_template_without_resources_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.json"
    path.write_text("{}", encoding="utf-8")
    assert main(["--template", str(path)]) == 2
    assert "no Resources" in capsys.readouterr().err


def _own_fleets(data: dict[str, Any]) -> dict[tuple[str, str], list[int | None]]:
    """The environment's own options: instances per open hour."""
    own = [o for o in data["options"] if o["source"] == "environment"]
    assert own
    return {(o["instance_type"], o["purchase"]): o["hourly_instances"] for o in own}


def test_template_opens_the_environments_warm_up_after_its_start_cron() -> None:
    # Regression: the start cron (opening minus warm-up, infra/schedule.py start_time) was taken as the opening with
    # no warm-up, so the day's requests were spread over 9.42 h instead of prod's 9 and the peak under-sized.
    facts = parse(template())  # start cron 08:45, stop 18:00
    changes = config_changes(facts, env_given=True, warmup_minutes=25)
    assert changes.schedule["start"] == "09:10"
    assert changes.schedule["warmup_minutes"] == 25
    assert changes.schedule["stop"] == "18:00"
    with pytest.raises(CostInputError, match=r"08:45 plus the environment's 555-minute warm-up opens at 18:00"):
        config_changes(facts, env_given=True, warmup_minutes=555)


@pytest.mark.slow
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_real_synthesized_template_prices_its_own_env_only(
    env: str, synth: Synth, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The CDK app's own template, with or without --env, or renamed: its environment's fleet and hours, once."""
    from infra.budget import ENV_TAG_KEY as INFRA_TAG_KEY

    assert ENV_TAG_KEY == INFRA_TAG_KEY
    config = load_environment(env)
    path = synth.outdir / f"VoiceFleet-{env}.template.json"
    renamed = tmp_path / "stack.json"  # no name to go by: the stack's voicefleet:env tag decides
    renamed.write_bytes(path.read_bytes())
    assert main(["--env", env, "--format", "json"]) == 0
    from_config = json.loads(capsys.readouterr().out)
    for args in ([str(path)], [str(path), "--env", env], [str(renamed)]):
        assert main(["--template", *args, "--format", "json"]) == 0
        priced = json.loads(capsys.readouterr().out)
        assert "environments" not in priced
        assert priced["environment"] == env
        assert {o["instance_type"] for o in priced["options"]} == set(config.fleet.instance_types)
        # Same calendar (the scheduler Lambda's, carried by the template) and same hours as the config itself.
        assert priced["workdays"] == from_config["workdays"]
        assert priced["hours_per_month"] == pytest.approx(from_config["hours_per_month"], abs=0.01)
        # The same load per open hour, so the same fleet each hour: the start cron fires the warm-up before opening
        # (regression: the day's requests were spread from the cron on, under-sizing prod's g6.xlarge Spot peak).
        assert priced["hourly_load_rps"] == from_config["hourly_load_rps"]
        assert _own_fleets(priced) == _own_fleets(from_config)
        assert not [n for n in priced["notes"] if "unresolved" in n], priced["notes"]

    other = "dev" if env == "prod" else "prod"
    assert main(["--template", str(path), "--env", other]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"--env {other} disagrees" in err
    assert f"synthesized for environment '{env}'" in err
