"""The CloudWatch agent's configuration validates against the agent's own schema (vendored, read at test time)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from infra.fleet.cloudwatch_agent import PURCHASE_OPTION_PLACEHOLDER, QUEUE_DEPTH_METRIC, agent_config
from tests.vendor_files import cloudwatch_agent_errors
from voicefleet_config import load_environment


def _as_on_the_instance(config: dict[str, Any]) -> dict[str, Any]:
    """The boot fills in the purchase option from IMDS before the agent reads the file."""
    rendered: dict[str, Any] = json.loads(json.dumps(config).replace(PURCHASE_OPTION_PLACEHOLDER, "spot"))
    return rendered


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_agent_config_validates_against_the_agents_schema(env: str) -> None:
    config = agent_config(log_group=f"/voicefleet/{load_environment(env).name}/instances")
    assert cloudwatch_agent_errors(_as_on_the_instance(config)) == []


def test_queue_depth_is_scraped_through_logs_metrics_collected() -> None:
    config = agent_config(log_group="/voicefleet/prod/instances")
    prometheus = config["logs"]["metrics_collected"]["prometheus"]
    assert prometheus["emf_processor"]["metric_declaration"][0]["metric_selectors"] == [f"^{QUEUE_DEPTH_METRIC}$"]
    assert "prometheus" not in config["logs"]["logs_collected"]


def test_fault1_prometheus_under_logs_collected_is_rejected() -> None:
    """Regression (issue 13, fault 1): the old layout put `prometheus` under logs.logs_collected, which the agent's
    translator refuses ("Invalid Json input schema"); the schema check must see that."""
    config = _as_on_the_instance(agent_config(log_group="/voicefleet/prod/instances"))
    old = copy.deepcopy(config)
    old["logs"]["logs_collected"]["prometheus"] = old["logs"].pop("metrics_collected")["prometheus"]
    errors = cloudwatch_agent_errors(old)
    assert errors, "the old layout must not validate"
    assert any(e.startswith("logs/logs_collected") and "prometheus" in e for e in errors), errors


def test_a_typo_in_a_metric_section_is_rejected() -> None:
    config = _as_on_the_instance(agent_config(log_group="/voicefleet/prod/instances"))
    config["logs"]["metrics_collected"]["prometheus"]["emf_processor"]["metric_namespaces"] = "x"
    assert cloudwatch_agent_errors(config)
