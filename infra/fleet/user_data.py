"""Renders the instance boot script (user_data.sh) from the typed config and the stack's resource names."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from infra.fleet.cloudwatch_agent import agent_config, prometheus_config
from infra.names import METRIC_NAMESPACE, OUTPUTS_PREFIX, VOICES_PREFIX
from instance import paths
from instance.config import BootConfig
from voicefleet_config import EnvironmentConfig

TEMPLATE = Path(__file__).with_name("user_data.sh")
_PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")
LAUNCH_HOOK = "voicefleet-launch"
DRAIN_HOOK = "voicefleet-drain"


@dataclass(frozen=True, kw_only=True)
class BootNames:
    """Names that exist only once the stack's resources do (CDK tokens are fine here)."""

    asg_name: str
    models_bucket: str
    outputs_bucket: str
    cdn_domain: str
    api_keys_secret: str
    admin_key_secret: str
    log_group: str
    drain_hook: str = DRAIN_HOOK
    launch_hook: str = LAUNCH_HOOK


def service_env(config: EnvironmentConfig, names: BootNames) -> dict[str, str]:
    """The service's settings: ServiceConfig.to_env() plus where its buckets and CDN are (the cross-part contract)."""
    return {
        **config.service.to_env(),
        "TTS_ENVIRONMENT": config.name,
        "TTS_OUTPUTS_BUCKET": names.outputs_bucket,
        "TTS_OUTPUTS_PREFIX": OUTPUTS_PREFIX,
        "TTS_CDN_DOMAIN": names.cdn_domain,
        "TTS_VOICES_BUCKET": names.outputs_bucket,
        "TTS_VOICES_PREFIX": VOICES_PREFIX,
        # The service re-reads its keys from the secrets every TTS_KEYS_REFRESH_S (rotation without an instance
        # refresh); the copy the boot writes into TTS_API_KEYS / TTS_ADMIN_KEY serves until the first read.
        "TTS_API_KEYS_SECRET": names.api_keys_secret,
        "TTS_ADMIN_KEY_SECRET": names.admin_key_secret,
        "AWS_DEFAULT_REGION": config.region,
    }


def boot_config(config: EnvironmentConfig, names: BootNames) -> BootConfig:
    """/etc/voicefleet/boot.json: everything environment-specific the boot needs."""
    return BootConfig(
        env_name=config.name,
        region=config.region,
        asg_name=names.asg_name,
        launch_hook=names.launch_hook,
        drain_hook=names.drain_hook,
        port=config.fleet.service_port,
        boot_seconds=config.fleet.boot_minutes * 60,
        request_timeout_s=config.service.request_timeout_s,
        weights=config.image.weights,
        models_bucket=names.models_bucket,
        model_prefix=config.service.model_prefix,
        # Stopped warm-pool instances lose instance-store data, so they keep the model on EBS.
        use_instance_store=not config.fleet.warm_pool,
        api_keys_secret=names.api_keys_secret,
        admin_key_secret=names.admin_key_secret,
        metric_namespace=METRIC_NAMESPACE,
        service_env=service_env(config, names),
    )


def render(config: EnvironmentConfig, names: BootNames, *, stop_timeout_s: int) -> str:
    """The complete boot script; raises KeyError if the template names a value this function does not provide."""
    values = {
        "ENV_NAME": config.name,
        "REGION": config.region,
        "BIN": str(paths.BIN),
        "ETC": str(paths.ETC),
        "BOOT_CONFIG": str(paths.BOOT_CONFIG),
        "BOOT_JSON": boot_config(config, names).model_dump_json(),
        "BOOT_LOG": str(paths.BOOT_LOG),
        "SERVICE_LOG": str(paths.SERVICE_LOG),
        "AGENT_ETC": str(paths.AGENT_CONFIG.parent),
        "AGENT_CONFIG": str(paths.AGENT_CONFIG),
        "PROMETHEUS_CONFIG": str(paths.PROMETHEUS_CONFIG),
        "PROMETHEUS_YAML": prometheus_config(
            service_port=config.fleet.service_port, env_name=config.name, asg_name=names.asg_name
        ),
        # Compact: EC2 limits user data to 16 KB.
        "CWAGENT_JSON": json.dumps(agent_config(log_group=names.log_group), separators=(",", ":")),
        "SYSTEMD": str(paths.SYSTEMD),
        "SERVICE_UNIT": paths.SERVICE_UNIT,
        "GATE_UNIT": paths.GATE_UNIT,
        "WATCH_UNIT": paths.WATCH_UNIT,
        "SERVICE_USER": paths.SERVICE_USER,
        "SERVICE_ENV": str(paths.SERVICE_ENV),
        "INSTANCE_ENV": str(paths.INSTANCE_ENV),
        "STATE": str(paths.STATE),
        "CACHE": str(paths.CACHE),
        "PORT": str(config.fleet.service_port),
        "STOP_TIMEOUT_S": str(stop_timeout_s),
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], TEMPLATE.read_text(encoding="utf-8"))
