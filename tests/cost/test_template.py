"""--template on a small hand-written CloudFormation template shaped like CDK output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cost.cli import main
from cost.template import parse
from infra.config import load_environment
from tests.synth import Synth


def template(**asg_extra: Any) -> dict[str, Any]:
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


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    path = tmp_path / "VoiceFleet-prod.template.json"
    path.write_text(json.dumps(template()), encoding="utf-8")
    assert main(["--template", str(path), "--format", "json", "--month", "2026-05", *args]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


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


def test_template_without_env_takes_cron_weekdays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _run(tmp_path, capsys, "--env", "dev")
    with_env = data["hours_per_month"]
    path = tmp_path / "VoiceFleet-prod.template.json"
    assert main(["--template", str(path), "--format", "json", "--month", "2026-05"]) == 0
    out = json.loads(capsys.readouterr().out)
    # No --env: every environment is priced with the template's MON-SUN cron -> all 31 days of May for dev;
    # prod's three May holidays still apply (31 - 3 = 28).
    reports = out["environments"]
    assert reports["dev"]["hours_per_month"] == pytest.approx(31 * 9.25)
    assert reports["prod"]["hours_per_month"] == pytest.approx(28 * 9.25)
    assert with_env == pytest.approx(21 * 9.25)  # dev: 21 weekdays, no holidays


def test_template_without_resources_is_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.json"
    path.write_text("{}", encoding="utf-8")
    assert main(["--template", str(path)]) == 2
    assert "no Resources" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_real_synthesized_template_prices_what_the_config_deploys(
    env: str, synth: Synth, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CDK app's own template, priced with and without --env, gives the environment's own fleet and hours."""
    config = load_environment(env)
    path = synth.outdir / f"VoiceFleet-{env}.template.json"
    assert main(["--env", env, "--format", "json"]) == 0
    from_config = json.loads(capsys.readouterr().out)
    for extra in ([], ["--env", env]):
        assert main(["--template", str(path), "--format", "json", *extra]) == 0
        priced = json.loads(capsys.readouterr().out)
        result = priced["environments"][env] if "environments" in priced else priced
        assert {o["instance_type"] for o in result["options"]} == set(config.fleet.instance_types)
        # Same calendar (the scheduler Lambda's, carried by the template) and same hours as the config itself.
        assert result["workdays"] == from_config["workdays"]
        assert result["hours_per_month"] == pytest.approx(from_config["hours_per_month"], abs=0.01)
        assert not [n for n in result["notes"] if "unresolved" in n], result["notes"]
