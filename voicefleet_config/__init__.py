"""The typed per-environment configuration every part reads: cdk.json's environments, validated.

A leaf: it imports no other voicefleet package (tests/test_architecture.py), only pydantic and the standard library,
so infra, cost, service and benchmarks can all depend on it and the service installs without the CDK.
"""

from voicefleet_config.calendar import CalendarConfig
from voicefleet_config.cdn import CdnConfig, HostedZoneConfig, WafConfig
from voicefleet_config.instance_types import INSTANCE_TYPES
from voicefleet_config.loader import (
    DEFAULT_CDK_JSON,
    ConfigError,
    format_error,
    load_environment,
    load_environments,
    parse_environment,
    read_context,
    select,
)
from voicefleet_config.model import (
    AWS_REGION,
    WEEKDAYS,
    AlertingConfig,
    EnvironmentConfig,
    FleetConfig,
    NetworkConfig,
    ScheduleConfig,
    StorageConfig,
    did_you_mean,
    parse_hhmm,
)
from voicefleet_config.service import ServiceConfig, ServiceKeys, ServiceLimits, limits_of
from voicefleet_config.workload import WorkloadConfig

__all__ = [
    "AWS_REGION",
    "DEFAULT_CDK_JSON",
    "INSTANCE_TYPES",
    "WEEKDAYS",
    "AlertingConfig",
    "CalendarConfig",
    "CdnConfig",
    "ConfigError",
    "EnvironmentConfig",
    "FleetConfig",
    "HostedZoneConfig",
    "NetworkConfig",
    "ScheduleConfig",
    "ServiceConfig",
    "ServiceKeys",
    "ServiceLimits",
    "StorageConfig",
    "WafConfig",
    "WorkloadConfig",
    "did_you_mean",
    "format_error",
    "limits_of",
    "load_environment",
    "load_environments",
    "parse_environment",
    "parse_hhmm",
    "read_context",
    "select",
]
