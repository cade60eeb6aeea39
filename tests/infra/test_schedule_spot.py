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
    # 09:00 opening minus the warm-up (the 25-minute boot time); the Lambda decides workdays: the cron fires daily.
    assert start["ScheduleExpression"] == "cron(35 8 * * ? *)"
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
    assert env["HOLIDAYS"].startswith("2026-01-01,2026-01-02,")  # from the holidays library (China, 2026)
    assert "2026-02-14" in env["EXTRA_WORKDAYS"].split(",")
    assert env["CALENDAR_YEARS"] == "2026"
    assert env["OPEN_WINDOW"] == "08:35-18:00"  # opening 09:00 minus the 25-minute boot, closing 18:00
    assert env["BOOT_MINUTES"] == "25"
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


def _invoke_config(template: Template, handler: str) -> dict[str, Any]:
    function_id = next(
        logical
        for logical, r in template.find_resources("AWS::Lambda::Function").items()
        if r["Properties"]["Handler"] == handler
    )
    [config] = [
        r["Properties"]
        for r in template.find_resources("AWS::Lambda::EventInvokeConfig").values()
        if r["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    found: dict[str, Any] = config
    return found


def test_function_errors_reach_a_queue(prod: Template) -> None:
    """Issue 15 case 4: Scheduler's and the rule's DLQs cover delivery only; a handler error needs the function's own
    on-failure destination. Spot: no retry (Lambda's would come after the two-minute warning)."""
    scheduler = _invoke_config(prod, "lambdas.scheduler.handler.handler")
    assert (scheduler["MaximumRetryAttempts"], scheduler["MaximumEventAgeInSeconds"]) == (2, 3600)
    spot = _invoke_config(prod, "lambdas.spot.handler.handler")
    assert (spot["MaximumRetryAttempts"], spot["MaximumEventAgeInSeconds"]) == (0, 60)
    schedule_dlq = next(iter(_schedules(prod).values()))["Target"]["DeadLetterConfig"]["Arn"]
    assert scheduler["DestinationConfig"]["OnFailure"]["Destination"] == schedule_dlq
    rule_dlq = only(prod, "AWS::Events::Rule")["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"]
    assert spot["DestinationConfig"]["OnFailure"]["Destination"] == rule_dlq
    assert schedule_dlq != rule_dlq


def test_closing_backstop_is_the_scheduled_action_the_tests_fire(prod: Template, dev: Template, edge: Template) -> None:
    """The Auto Scaling scheduled action at closing, in the environment's timezone: exactly closing_backstop()."""
    from infra.schedule import closing_backstop
    from voicefleet_config import load_environment

    for template, name in ((prod, "prod"), (dev, "dev")):
        action = only(template, "AWS::AutoScaling::ScheduledAction")["Properties"]
        group = action.pop("AutoScalingGroupName")
        assert action == closing_backstop(load_environment(name))
        assert "Ref" in group
    assert closing_backstop(load_environment("prod"))["Recurrence"] == "0 18 * * *"
    edge.resource_count_is("AWS::AutoScaling::ScheduledAction", 0)  # schedule disabled: no backstop either


def test_spot_dedupe_table(prod: Template) -> None:
    table = only(prod, "AWS::DynamoDB::Table")["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    env = _function(prod, "lambdas.spot.handler.handler")["Environment"]["Variables"]
    assert "Ref" in env["DEDUPE_TABLE"]
