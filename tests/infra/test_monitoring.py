"""Dashboard and alarms to SNS (e-mail from config); the budget is in test_budget.py."""

from __future__ import annotations

import json

from aws_cdk.assertions import Template

from tests.infra.conftest import only


def _dashboard(template: Template) -> str:
    body = only(template, "AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"]
    return json.dumps(body)


def test_dashboard_panels(prod: Template) -> None:
    body = _dashboard(prod)
    for needle in (
        "RequestCount",
        "TargetResponseTime",
        "p50",
        "p95",
        "HTTPCode_Target_4XX_Count",
        "HTTPCode_Target_5XX_Count",
        "voicefleet_queue_depth",
        "nvidia_smi_utilization_gpu",
        "nvidia_smi_memory_used",
        "PurchaseOption",
        "{VoiceFleet,Environment,InstanceType,AvailabilityZone}",
        "ScheduleRun",
    ):
        assert needle in body, needle


def test_alarms_go_to_the_topic(prod: Template) -> None:
    alarms = prod.find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == 8
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"]
        assert "Ref" in alarm["Properties"]["AlarmActions"][0]
    text = json.dumps(alarms)
    for needle in (
        "HTTPCode_Target_5XX_Count",
        "UnHealthyHostCount",
        "nvidia_smi_memory_total",
        "Errors",
        "ApproximateNumberOfMessagesVisible",
    ):
        assert needle in text, needle
    gpu = next(a for a in alarms.values() if "nvidia_smi_memory_total" in json.dumps(a))
    assert gpu["Properties"]["Threshold"] == 90


def test_email_subscription_from_config(prod: Template, dev: Template) -> None:
    prod.has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"})
    dev.resource_count_is("AWS::SNS::Subscription", 0)


def test_budgets_may_publish_to_the_topic(prod: Template) -> None:
    policy = only(prod, "AWS::SNS::TopicPolicy")["Properties"]["PolicyDocument"]
    assert any(s.get("Principal") == {"Service": "budgets.amazonaws.com"} for s in policy["Statement"])


def test_scheduler_and_spot_failures_are_alarmed(prod: Template) -> None:
    """Issue 15: both functions' failure queues, ignored tags and an uncovered calendar day each page someone."""
    alarms = prod.find_resources("AWS::CloudWatch::Alarm")
    by_metric: dict[str, list[dict[str, object]]] = {}
    for alarm in alarms.values():
        props = alarm["Properties"]
        if "MetricName" in props:
            by_metric.setdefault(props["MetricName"], []).append(props)
    for name in ("ScheduleTagIgnored", "CalendarUncovered"):
        [props] = by_metric[name]
        assert props["Namespace"] == "VoiceFleet"
        assert props["Dimensions"] == [{"Name": "Environment", "Value": "prod"}]
        assert (props["Threshold"], props["Statistic"], props["Period"]) == (1, "Sum", 3600)
    queues = by_metric["ApproximateNumberOfMessagesVisible"]
    assert len(queues) == 2
    dims = sorted(json.dumps(q["Dimensions"]) for q in queues)
    assert any("ScheduleDeadLetters" in d for d in dims)
    assert any("SpotDeadLetters" in d for d in dims)
