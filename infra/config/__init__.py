"""The typed per-environment configuration (no aws_cdk import: the cost CLI and service read it fast)."""

from infra.config.calendar import CalendarConfig
from infra.config.cdn import CdnConfig, HostedZoneConfig, WafConfig
from infra.config.loader import (
    DEFAULT_CDK_JSON,
    ConfigError,
    load_environment,
    load_environments,
    parse_environment,
    select,
)
from infra.config.model import (
    WEEKDAYS,
    AlertingConfig,
    EnvironmentConfig,
    FleetConfig,
    NetworkConfig,
    ScheduleConfig,
    ServiceConfig,
    StorageConfig,
    WorkloadConfig,
)

__all__ = [
    "DEFAULT_CDK_JSON",
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
    "StorageConfig",
    "WafConfig",
    "WorkloadConfig",
    "load_environment",
    "load_environments",
    "parse_environment",
    "select",
]
