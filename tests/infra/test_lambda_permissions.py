"""Each Lambda role grants exactly the AWS calls its handler's source makes, scoped to this environment's group.

The calls are derived from the code (tests/infra/boto3_calls.py), so a new boto3 call without a matching grant, or
a grant no call needs any more, fails here rather than in production with AccessDenied.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from infra.assets import REPO_ROOT
from tests.infra.boto3_calls import (
    ApiCall,
    UnattributableCallError,
    boto3_calls,
    granted_actions,
    granting,
    role_statements,
)
from tests.infra.conftest import Synth

# Lambda handler string -> the module it lives in.
HANDLERS = {
    "lambdas.scheduler.handler.handler": "lambdas.scheduler.handler",
    "lambdas.spot.handler.handler": "lambdas.spot.handler",
}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
# Lambda itself sends a failed asynchronous invocation to the on-failure destination with the function's role
# (CDK's SqsDestination grants these): not calls of the handler, and only on that one queue.
DESTINATION_ACTIONS = {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
# Actions with no resource-level permissions in the Service Authorization Reference: "*" is the only choice.
UNSCOPABLE = {
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeScheduledActions",
    "autoscaling:DescribeAutoScalingInstances",
    "ec2:DescribeInstances",
}
# Tag writes are limited to the key the handler writes or removes (the environment variable naming it).
TAG_KEY_VARIABLE = {"autoscaling:CreateOrUpdateTags": "SIZE_TAG_KEY", "autoscaling:DeleteTags": "OVERRIDE_TAG_KEY"}


def _function(template: dict[str, Any], handler: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == handler
    ]
    assert len(found) == 1, handler
    return found[0]


def _group_arn_only(resource: Any, group: str) -> bool:
    text = json.dumps(resource)
    return not isinstance(resource, list) and f':autoScalingGroup:*:autoScalingGroupName/{group}"' in text


def _on_failure_queue(template: dict[str, Any], handler: str) -> dict[str, Any]:
    """The queue ARN (GetAtt) the function's EventInvokeConfig sends failed invocations to."""
    function_id = next(
        logical
        for logical, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == handler
    )
    [config] = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig" and r["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    destination: dict[str, Any] = config["DestinationConfig"]["OnFailure"]["Destination"]
    return destination


def _dedupe_table_only(resource: Any, table: Any) -> bool:
    """The dedupe table's own ARN (GetAtt of the table the DEDUPE_TABLE variable names), nothing wider."""
    if not (isinstance(resource, dict) and isinstance(table, dict) and "Ref" in table):
        return False
    return resource == {"Fn::GetAtt": [table["Ref"], "Arn"]}


def _check_call(call: ApiCall, statements: list[dict[str, Any]], env_vars: dict[str, Any]) -> list[str]:
    """Problems with how `call` is granted (empty: allowed, and scoped as tightly as the API permits)."""
    grants = granting(statements, call.iam_action)
    if not grants:
        return [f"{call.iam_action} ({call.where}) is not allowed by the role"]
    problems = []
    for grant in grants:
        resource, condition = grant["Resource"], grant.get("Condition", {})
        if call.iam_action in UNSCOPABLE:
            continue
        if call.service == "autoscaling" and not _group_arn_only(resource, env_vars["ASG_NAMES"]):
            problems.append(f"{call.iam_action} is not scoped to group {env_vars['ASG_NAMES']}: {resource}")
        if call.iam_action in TAG_KEY_VARIABLE:
            keys = condition.get("ForAllValues:StringEquals", {}).get("aws:TagKeys")
            if keys != [env_vars[TAG_KEY_VARIABLE[call.iam_action]]]:
                problems.append(f"{call.iam_action} may touch tag keys {keys}")
        if call.iam_action == "cloudwatch:PutMetricData":
            namespace = condition.get("StringEquals", {}).get("cloudwatch:namespace")
            if namespace != env_vars["METRIC_NAMESPACE"]:
                problems.append(f"PutMetricData is not limited to namespace {env_vars['METRIC_NAMESPACE']}")
        if call.service == "dynamodb" and not _dedupe_table_only(resource, env_vars.get("DEDUPE_TABLE")):
            problems.append(f"{call.iam_action} is not limited to the dedupe table: {resource}")
        if call.iam_action == "sns:Publish" and resource != env_vars["SNS_TOPIC_ARN"]:
            problems.append(f"sns:Publish is not limited to the alarm topic: {resource}")
    return problems


@pytest.mark.parametrize("env", ["dev", "prod", "edge", "front"])
@pytest.mark.parametrize("handler", sorted(HANDLERS))
def test_role_grants_exactly_the_handlers_calls(synth: Synth, env: str, handler: str) -> None:
    template = synth.raw[env]
    statements = role_statements(template, handler)
    env_vars = _function(template, handler)["Environment"]["Variables"]
    calls = boto3_calls(REPO_ROOT, HANDLERS[handler])
    assert calls, "no boto3 call found: the derivation is broken"
    problems = [p for call in calls for p in _check_call(call, statements, env_vars)]
    assert problems == []
    granted = granted_actions(statements) - LOG_ACTIONS - DESTINATION_ACTIONS
    assert granted == {c.iam_action for c in calls}, "grants no call needs"
    on_failure = _on_failure_queue(template, handler)
    for action in DESTINATION_ACTIONS:
        assert [grant["Resource"] for grant in granting(statements, action)] == [on_failure], action
    logs = granting(statements, "logs:PutLogEvents")
    assert len(logs) == 1
    assert "HandlerLogs" in json.dumps(logs[0]["Resource"])  # its own log group only


def test_regression_scheduler_may_remove_an_expired_override_tag(synth: Synth) -> None:
    """The scheduler deletes an expired `on-until` override with DeleteTags; the role once lacked it."""
    calls = {c.iam_action: c for c in boto3_calls(REPO_ROOT, "lambdas.scheduler.handler")}
    assert calls["autoscaling:DeleteTags"].where.startswith("lambdas/scheduler/groups.py")
    statements = role_statements(synth.raw["prod"], "lambdas.scheduler.handler.handler")
    (grant,) = granting(statements, "autoscaling:DeleteTags")
    assert grant["Condition"] == {"ForAllValues:StringEquals": {"aws:TagKeys": ["voicefleet:override"]}}
    assert _group_arn_only(grant["Resource"], "voicefleet-prod-gpu")
    # SetDesiredCapacity and DescribeTags were granted but never called.
    assert not granting(statements, "autoscaling:SetDesiredCapacity")
    assert not granting(statements, "autoscaling:DescribeTags")


def _copy_lambdas(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / "lambdas", tmp_path / "lambdas", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_a_new_call_without_permission_is_caught(synth: Synth, tmp_path: Path) -> None:
    root = _copy_lambdas(tmp_path)
    groups = root / "lambdas" / "scheduler" / "groups.py"
    groups.write_text(
        groups.read_text(encoding="utf-8") + "\n\ndef _terminate(autoscaling, instance_id):\n"
        "    autoscaling.get_paginator('describe_scaling_activities')\n"
        "    autoscaling.terminate_instance_in_auto_scaling_group(InstanceId=instance_id)\n",
        encoding="utf-8",
    )
    statements = role_statements(synth.raw["prod"], "lambdas.scheduler.handler.handler")
    env_vars = _function(synth.raw["prod"], "lambdas.scheduler.handler.handler")["Environment"]["Variables"]
    missing = {
        c.iam_action
        for c in boto3_calls(root, "lambdas.scheduler.handler")
        if any("not allowed" in p for p in _check_call(c, statements, env_vars))
    }
    assert missing == {"autoscaling:TerminateInstanceInAutoScalingGroup", "autoscaling:DescribeScalingActivities"}


def test_an_ambiguous_call_fails_loudly(tmp_path: Path) -> None:
    """`describe_tags` exists on both the autoscaling and the ec2 client the spot handler creates."""
    root = _copy_lambdas(tmp_path)
    handler = root / "lambdas" / "spot" / "handler.py"
    handler.write_text(
        handler.read_text(encoding="utf-8") + "\n\ndef _tags(client):\n    return client.describe_tags()\n",
        encoding="utf-8",
    )
    with pytest.raises(UnattributableCallError, match="describe_tags"):
        boto3_calls(root, "lambdas.spot.handler")
