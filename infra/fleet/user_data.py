"""Renders the instance boot script (user_data.sh) from the typed config and the stack's resource names."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from infra.fleet.cloudwatch_agent import PURCHASE_OPTION_PLACEHOLDER, agent_config, prometheus_config
from infra.storage import COSYVOICE_CODE_KEY, OUTPUTS_PREFIX, VOICES_PREFIX
from voicefleet_config import EnvironmentConfig

TEMPLATE = Path(__file__).with_name("user_data.sh")
_PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")
# uv creates the instance's Python 3.11 environment; pinned so boots are reproducible (PyPI, 2026-11).
UV_VERSION = "0.13.8"


@dataclass(frozen=True, kw_only=True)
class BootNames:
    """Names that exist only once the stack's resources do (CDK tokens are fine here)."""

    asg_name: str
    models_bucket: str
    outputs_bucket: str
    cdn_domain: str
    source_asset_url: str
    api_keys_secret: str
    admin_key_secret: str
    log_group: str
    drain_hook: str
    launch_hook: str = ""


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


def render(config: EnvironmentConfig, names: BootNames, *, stop_timeout_s: int) -> str:
    """The complete boot script; raises KeyError if the template names a value this function does not provide."""
    env_lines = "\n".join(f"{key}={value}" for key, value in service_env(config, names).items())
    values = {
        "ENV_NAME": config.name,
        "REGION": config.region,
        "ASG_NAME": names.asg_name,
        "MODELS_BUCKET": names.models_bucket,
        "MODEL_PREFIX": config.service.model_prefix,
        # Stopped warm-pool instances lose instance-store data, so they keep the model on EBS.
        "USE_INSTANCE_STORE": "false" if config.fleet.warm_pool else "true",
        "LAUNCH_HOOK": names.launch_hook,
        "PROMETHEUS_CONFIG": prometheus_config(
            service_port=config.fleet.service_port, env_name=config.name, asg_name=names.asg_name
        ),
        "CWAGENT_CONFIG": json.dumps(agent_config(log_group=names.log_group), indent=2),
        "PURCHASE_PLACEHOLDER": PURCHASE_OPTION_PLACEHOLDER,
        "UV_VERSION": UV_VERSION,
        "COSYVOICE_CODE_KEY": COSYVOICE_CODE_KEY,
        "SOURCE_ASSET_URL": names.source_asset_url,
        "API_KEYS_SECRET": names.api_keys_secret,
        "ADMIN_KEY_SECRET": names.admin_key_secret,
        "SERVICE_ENV": env_lines,
        "PORT": str(config.fleet.service_port),
        "STOP_TIMEOUT_S": str(stop_timeout_s),
        "DRAIN_HOOK": names.drain_hook,
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], TEMPLATE.read_text(encoding="utf-8"))
