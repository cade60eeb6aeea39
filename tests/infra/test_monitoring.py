"""Dashboard and alarms to SNS (e-mail from config); the budget is in test_budget.py."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

from infra.boot_alarms import SLACK_MINUTES
from tests.infra.conftest import only
from voicefleet_config import load_environment


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
    assert len(alarms) == 12
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


def _alarm(template: Template, name: str) -> dict[str, Any]:
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    found: list[dict[str, Any]] = [a["Properties"] for key, a in alarms.items() if name in key]
    assert len(found) == 1, name
    return found[0]


def test_unhealthy_hosts_is_seen_within_a_replacement_cycle(prod: Template) -> None:
    """Regression (issue 13): 6 x 5 min on the Minimum outlasted a replacement cycle and probably never fired."""
    alarm = _alarm(prod, "UnhealthyHosts")
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["Statistic"]) == (60, 1, "Maximum")


def test_abandoned_launches_page(prod: Template) -> None:
    alarm = _alarm(prod, "LaunchAbandoned")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("VoiceFleet", "LaunchAbandoned")
    assert alarm["Dimensions"] == [{"Name": "Environment", "Value": "prod"}]
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_while_meant_to_run_silence_and_no_healthy_host_are_breaching(prod: Template) -> None:
    """Business hours are "desired capacity >= 1" (the scheduler's calendar); each alarm waits out one boot."""
    boot = load_environment("prod").fleet.boot_minutes
    for name, metric in (
        ("NoHealthyHost", "HealthyHostCount"),
        ("GpuMetricsMissing", "nvidia_smi_utilization_gpu"),
        ("QueueMetricsMissing", "voicefleet_queue_depth"),
    ):
        alarm = _alarm(prod, name)
        assert alarm["EvaluationPeriods"] == boot + SLACK_MINUTES, name
        text = json.dumps(alarm["Metrics"])
        assert "GroupDesiredCapacity" in text, name
        assert metric in text, name
        expression = next(m["Expression"] for m in alarm["Metrics"] if "Expression" in m)
        assert "FILL(desired, 0) >= 1" in expression, name


def test_dashboard_shows_boot_times(prod: Template) -> None:
    assert "BootSeconds" in _dashboard(prod)


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
