"""One capacity model: cost-estimate's JSON, the synthesized template and the service's settings agree.

cost-estimate publishes, for each environment's own fleet, the admission slots (service.max_concurrency) and the
Auto Scaling target it priced with; the template must scale on the service's own metric at that target and write
that TTS_MAX_CONCURRENCY into each instance's environment; the service must read it back as its max_concurrency and
publish the metric the policy tracks, under the dimension the CloudWatch agent gives it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cost.cli import main
from infra.fleet.cloudwatch_agent import IN_FLIGHT_METRIC, SERVICE_NAMESPACE, agent_config
from service.metrics import Metrics
from service.settings import Settings
from tests.synth import Synth

ENVIRONMENTS = ("dev", "prod")


def _estimate(capsys: pytest.CaptureFixture[str], env: str) -> dict[str, Any]:
    assert main(["--env", env, "--format", "json"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def _resources(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def _user_data(template: dict[str, Any]) -> str:
    lt = _resources(template, "AWS::EC2::LaunchTemplate")[0]
    parts = lt["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "<ref>" for p in parts)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_estimate_template_and_service_agree(
    env: str, synth: Synth, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    contract = _estimate(capsys, env)["service"]
    template = synth.raw[env]

    # The template: target tracking on the service's gauge, at cost-estimate's target.
    (policy,) = _resources(template, "AWS::AutoScaling::ScalingPolicy")
    tracking = policy["Properties"]["TargetTrackingConfiguration"]
    spec = tracking["CustomizedMetricSpecification"]
    assert spec["MetricName"] == contract["scaling_metric"] == IN_FLIGHT_METRIC
    assert spec["Namespace"] == SERVICE_NAMESPACE
    assert tracking["TargetValue"] == contract["scaling_target_in_flight"]
    (dimension,) = spec["Dimensions"]
    group = _resources(template, "AWS::AutoScaling::AutoScalingGroup")[0]["Properties"]["AutoScalingGroupName"]
    assert dimension == {"Name": "AutoScalingGroupName", "Value": group}

    # The instance's environment file carries cost-estimate's admission slots...
    script = _user_data(template)
    written = dict(re.findall(r"^(TTS_[A-Z0-9_]+)=(.*)$", script, flags=re.MULTILINE))
    assert written["TTS_MAX_CONCURRENCY"] == str(contract["max_concurrency"])

    # ... which the service reads back as its own limit.
    monkeypatch.chdir(tmp_path)
    for key, value in written.items():
        if "<ref>" not in value and "$" not in value:
            monkeypatch.setenv(key, value)
    (tmp_path / "model").mkdir()
    monkeypatch.setenv("TTS_MODEL_DIR", str(tmp_path / "model"))
    monkeypatch.setenv("TTS_API_KEYS", "k" * 32)
    monkeypatch.setenv("TTS_ADMIN_KEY", "a" * 32)
    monkeypatch.setenv("TTS_SPOOL_DIR", str(tmp_path / "spool"))
    assert Settings().max_concurrency == contract["max_concurrency"]

    # The service publishes the gauge; the agent scrapes it with the group as a label and publishes it per group.
    exposed = Metrics(process_collector=False).registry
    assert exposed.get_sample_value(IN_FLIGHT_METRIC) is not None
    prometheus = json.loads(re.search(r"(\{\s*\"global\".*?\n\})\n", script, flags=re.DOTALL)[1])  # type: ignore[index]
    labels = prometheus["scrape_configs"][0]["static_configs"][0]["labels"]
    assert labels["AutoScalingGroupName"] == group
    declarations = _find(agent_config(log_group="x"), "emf_processor")
    assert declarations["metric_namespace"] == SERVICE_NAMESPACE
    assert any(
        d["metric_selectors"] == [f"^{IN_FLIGHT_METRIC}$"] and d["dimensions"] == [["AutoScalingGroupName"]]
        for d in declarations["metric_declaration"]
    )


def _find(tree: Any, key: str) -> Any:
    """The first value under `key` anywhere in a nested dict."""
    if isinstance(tree, dict):
        if key in tree:
            return tree[key]
        for value in tree.values():
            found = _find(value, key)
            if found is not None:
                return found
    return None
