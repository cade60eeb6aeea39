"""The CloudWatch agent's configuration on each instance: NVIDIA GPU metrics, host memory, logs, queue depth."""

from __future__ import annotations

import json
from typing import Any

from instance.paths import BOOT_LOG, PROMETHEUS_CONFIG, PURCHASE_OPTION_PLACEHOLDER, SERVICE_LOG

# The service's gauges: requests waiting for the GPU (re-published as VoiceFleet/QueueDepth), and requests and streams
# inside the engine (the Auto Scaling metric, infra/fleet/scaling.py, published per group so its Average is the
# per-instance figure).
from voicefleet_config.service import IN_FLIGHT_METRIC, QUEUE_DEPTH_METRIC

__all__ = [
    "GPU_NAMESPACE",
    "IN_FLIGHT_METRIC",
    "PURCHASE_OPTION_PLACEHOLDER",
    "QUEUE_DEPTH_METRIC",
    "SERVICE_NAMESPACE",
    "agent_config",
]

GPU_NAMESPACE = "CWAgent"
SERVICE_NAMESPACE = "VoiceFleet"


def agent_config(*, log_group: str) -> dict[str, Any]:
    """The agent JSON (a dict). `${aws:...}` values are expanded by the agent itself on the instance."""
    per_instance = {"PurchaseOption": PURCHASE_OPTION_PLACEHOLDER}
    return {
        "agent": {"metrics_collection_interval": 60, "run_as_user": "root"},
        "metrics": {
            "namespace": GPU_NAMESPACE,
            "append_dimensions": {
                "AutoScalingGroupName": "${aws:AutoScalingGroupName}",
                "InstanceId": "${aws:InstanceId}",
                "InstanceType": "${aws:InstanceType}",
            },
            # Fleet-wide series: one per group, and one per group and purchase option (for instance counts).
            "aggregation_dimensions": [["AutoScalingGroupName"], ["AutoScalingGroupName", "PurchaseOption"]],
            "metrics_collected": {
                "nvidia_gpu": {
                    "measurement": ["utilization_gpu", "memory_used", "memory_total", "temperature_gpu"],
                    "append_dimensions": per_instance,
                },
                "mem": {"measurement": ["mem_used_percent"], "append_dimensions": per_instance},
                "disk": {"measurement": ["used_percent"], "resources": ["/"]},
            },
        },
        "logs": {
            "logs_collected": {
                "files": {
                    "collect_list": [
                        {
                            "file_path": str(SERVICE_LOG),
                            "log_group_name": log_group,
                            "log_stream_name": "{instance_id}/service",
                        },
                        {
                            "file_path": str(BOOT_LOG),
                            "log_group_name": log_group,
                            "log_stream_name": "{instance_id}/boot",
                        },
                    ]
                },
            },
            # The agent's schema allows `prometheus` only here (logs.metrics_collected), never under logs_collected:
            # there its translator stops with "Invalid Json input schema" and the control script exits non-zero.
            "metrics_collected": {
                "prometheus": {
                    "prometheus_config_path": str(PROMETHEUS_CONFIG),
                    "log_group_name": log_group,
                    "emf_processor": {
                        "metric_namespace": SERVICE_NAMESPACE,
                        "metric_declaration": [
                            {
                                "source_labels": ["job"],
                                "label_matcher": "^voicefleet$",
                                "dimensions": [["Environment"]],
                                "metric_selectors": [f"^{QUEUE_DEPTH_METRIC}$"],
                            },
                            {
                                "source_labels": ["job"],
                                "label_matcher": "^voicefleet$",
                                "dimensions": [["AutoScalingGroupName"]],
                                "metric_selectors": [f"^{IN_FLIGHT_METRIC}$"],
                            },
                        ],
                    },
                },
            },
        },
    }


def prometheus_config(*, service_port: int, env_name: str, asg_name: str | None = None) -> str:
    """Scrape config for the service's /metrics (YAML is a superset of JSON, so JSON is written)."""
    # The group name is fixed at synth time (infra/fleet/construct.py asg_name), so it can be a static label: the
    # dimension the scaling metric is published under.
    labels = {"Environment": env_name} | ({"AutoScalingGroupName": asg_name} if asg_name else {})
    return json.dumps(
        {
            "global": {"scrape_interval": "30s", "scrape_timeout": "10s"},
            "scrape_configs": [
                {
                    "job_name": "voicefleet",
                    "metrics_path": "/metrics",
                    "static_configs": [{"targets": [f"127.0.0.1:{service_port}"], "labels": labels}],
                }
            ],
        },
        indent=2,
    )
