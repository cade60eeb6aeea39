"""Schedules (daily start/stop, 15-minute reconcile, IANA timezone, retries + DLQ) and the Spot rule, wired to the
lambdas/ handlers."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template

from tests.infra.conftest import only


def _function(template: Template, handler: str) -> dict[str, Any]:
    found = template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": handler}})
    assert len(found) == 1, handler
    props: dict[str, Any] = next(iter(found.values()))["Properties"]
    return props


def _schedules(template: Template) -> dict[str, dict[str, Any]]:
    found = template.find_resources("AWS::Scheduler::Schedule")
    return {str(s["Properties"]["Target"]["Input"]): s["Properties"] for s in found.values()}


def test_daily_schedules_in_environment_timezone(prod: Template, dev: Template) -> None:
    schedules = _schedules(prod)
    assert sorted(schedules) == ['{"action":"reconcile"}', '{"action":"start"}', '{"action":"stop"}']
    start = schedules['{"action":"start"}']
    stop = schedules['{"action":"stop"}']
    reconcile = schedules['{"action":"reconcile"}']
    # 09:00 opening minus 15 min warm-up; the Lambda decides workdays, so the cron fires every day.
    assert start["ScheduleExpression"] == "cron(45 8 * * ? *)"
    assert stop["ScheduleExpression"] == "cron(0 18 * * ? *)"
    # Every 15 minutes, so an on-until override ends (and a mid-day override applies) within 15 minutes.
    assert reconcile["ScheduleExpression"] == "cron(0/15 * * * ? *)"
    for schedule in (start, stop, reconcile):
        assert schedule["ScheduleExpressionTimezone"] == "Asia/Shanghai"
    assert {s["ScheduleExpressionTimezone"] for s in _schedules(dev).values()} == {"America/New_York"}
    targets = [schedule["Target"] for schedule in (start, stop, reconcile)]
    for schedule, target in zip((start, stop, reconcile), targets, strict=True):
        assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}
        assert schedule["State"] == "ENABLED"
    # Same function, same dead-letter queue, same invoke role for all three.
    for key in ("Arn", "DeadLetterConfig", "RoleArn"):
        assert all(target[key] == targets[0][key] for target in targets), key
    assert "DeadLetterConfig" in targets[0]


def test_schedule_disabled_in_config_means_no_schedules(edge: Template) -> None:
    edge.resource_count_is("AWS::Scheduler::Schedule", 0)


def test_scheduler_function_contract_environment(prod: Template) -> None:
    fn = _function(prod, "lambdas.scheduler.handler.handler")
    assert fn["Runtime"] == "python3.12"
    env = fn["Environment"]["Variables"]
    assert env["ASG_NAMES"] == "voicefleet-prod-gpu"
    assert env["TIMEZONE"] == "Asia/Shanghai"
    assert env["WEEKDAYS"] == "mon,tue,wed,thu,fri"
    assert env["HOLIDAYS"].startswith("2026-01-01,2026-01-02,")
    assert "2026-02-14" in env["EXTRA_WORKDAYS"].split(",")
    assert env["OPEN_WINDOW"] == "08:45-18:00"  # opening 09:00 minus 15 min warm-up, closing 18:00
    assert env["SIZE_TAG_KEY"] == "voicefleet:running-size"
    assert env["DEFAULT_SIZE"] == "1-1-4"
    assert env["OVERRIDE_TAG_KEY"] == "voicefleet:override"
    assert env["METRIC_NAMESPACE"] == "VoiceFleet"
    assert env["ENV_NAME"] == "prod"


def test_scheduler_role_scoped_to_the_group(prod: Template) -> None:
    fn = _function(prod, "lambdas.scheduler.handler.handler")
    role_id = fn["Role"]["Fn::GetAtt"][0]
    statements = [
        s
        for p in prod.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    writes = next(s for s in statements if "autoscaling:UpdateAutoScalingGroup" in s["Action"])
    assert "autoScalingGroupName/voicefleet-prod-gpu" in str(writes["Resource"])


def test_spot_rule_and_function(prod: Template) -> None:
    rule = only(prod, "AWS::Events::Rule")["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.ec2"]
    assert sorted(pattern["detail-type"]) == [
        "EC2 Instance Rebalance Recommendation",
        "EC2 Spot Instance Interruption Warning",
    ]
    assert pattern["account"] == [{"Ref": "AWS::AccountId"}]
    assert "DeadLetterConfig" in rule["Targets"][0]
    fn = _function(prod, "lambdas.spot.handler.handler")
    env = fn["Environment"]["Variables"]
    assert env["ASG_NAMES"] == "voicefleet-prod-gpu"
    assert env["ENV_NAME"] == "prod"
    assert env["METRIC_NAMESPACE"] == "VoiceFleet"
    assert "Ref" in env["SNS_TOPIC_ARN"]
    role_id = fn["Role"]["Fn::GetAtt"][0]
    actions = {
        a
        for p in prod.find_resources("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DetachInstances",
        "ec2:DescribeInstances",
        "cloudwatch:PutMetricData",
        "sns:Publish",
    } <= actions
