"""`voicefleet-instance prepare`: settings, secrets and weights (when not baked), then the service starts.

Run once by the user data at first boot. A step that fails ends the launch with its reason (instance.abandon);
the CloudWatch agent alone is allowed to fail without that (logged loudly; the fleet's "metrics missing" alarms
then fire), because an instance that serves without metrics is better than a fleet that churns over monitoring.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from instance.abandon import abandon, reason_of
from instance.aws import Clients
from instance.config import BootConfig
from instance.envfile import EnvFileError, render
from instance.host import CommandError, Host
from instance.imds import Imds, ImdsError
from instance.paths import (
    AGENT_CONFIG,
    AGENT_CTL,
    GATE_UNIT,
    INSTANCE_ENV,
    NVME,
    PURCHASE_OPTION_PLACEHOLDER,
    SERVICE_ENV,
    SERVICE_UNIT,
    SERVICE_USER,
    WATCH_UNIT,
)

log = logging.getLogger("voicefleet.instance")
# boto3's standard endpoint overrides: never set on an instance; the boot rehearsal sets them (moto on loopback and
# a fake metadata service), and they must reach the service and the root units as the instance's settings would.
SDK_OVERRIDES = ("AWS_ENDPOINT_URL", "AWS_EC2_METADATA_SERVICE_ENDPOINT")


class BootStepError(RuntimeError):
    """A boot step failed; the message names the step and the cause."""


@dataclass(frozen=True)
class Prepared:
    instance_id: str
    target_state: str
    model_dir: Path


def _overrides() -> dict[str, str]:
    return {k: v for k, v in sorted(os.environ.items()) if k in SDK_OVERRIDES or k.startswith("AWS_ENDPOINT_URL_")}


def env_file(values: dict[str, str]) -> str:
    """systemd EnvironmentFile lines (instance.envfile: quoted where a value needs it); a line break is refused."""
    try:
        return render(values)
    except EnvFileError as exc:
        raise BootStepError(f"settings: {exc}") from exc


def start_agent(host: Host, purchase_option: str) -> None:
    config = host.path(AGENT_CONFIG)
    config.write_text(config.read_text("utf-8").replace(PURCHASE_OPTION_PLACEHOLDER, purchase_option), "utf-8")
    host.run(str(AGENT_CTL), "-a", "fetch-config", "-m", "ec2", "-s", "-c", f"file:{AGENT_CONFIG}")


def read_keys(config: BootConfig, clients: Clients) -> tuple[str, str]:
    """(API keys, admin key) from their secrets, checked by the service's own key parser (a secret it would refuse
    ends the launch here, naming the secret); a JSON key document of tenants comes back on one line (operators paste
    it formatted; an environment file carries one line)."""
    from service.tenants.keyring import KeyFormatError, Keyring

    def value(arn: str) -> str:
        secret = str(clients.secrets.get_secret_value(SecretId=arn)["SecretString"]).strip()
        if not secret:
            raise BootStepError(f"secrets: {arn} is empty")
        return secret

    api_keys, admin_key = value(config.api_keys_secret), value(config.admin_key_secret)
    try:
        Keyring.parse(
            api_keys, admin_key, api_source=f"secret {config.api_keys_secret}",
            admin_source=f"secret {config.admin_key_secret}",
        )  # fmt: skip
    except KeyFormatError as exc:
        raise BootStepError(f"secrets: {exc}") from exc
    if api_keys.startswith("{"):
        api_keys = json.dumps(json.loads(api_keys), separators=(",", ":"))
    return api_keys, admin_key


def place_weights(config: BootConfig, host: Host, clients: Clients) -> Path:
    """The model directory the service reads: pulled (checksums verified) or, baked, checked present."""
    model_dir = config.model_dir(nvme_mounted=host.is_mountpoint(NVME))
    local = host.path(str(model_dir))
    if config.weights == "baked":
        if not (local / ".voicefleet-manifest.json").is_file():
            raise BootStepError(f"weights: the image has no baked model at {model_dir} (rebuild the weights image)")
        return model_dir
    from service.models_sync.manifest import SyncError
    from service.models_sync.transfer import pull

    local.mkdir(parents=True, exist_ok=True)
    try:
        report = pull(clients.s3, config.models_bucket, config.model_prefix, local)
    except SyncError as exc:
        raise BootStepError(f"weights: {exc}") from exc
    log.info(
        f"weights in {model_dir}: {len(report.transferred)} files, {report.bytes} bytes", extra={"event": "weights"}
    )
    return model_dir


def write_settings(config: BootConfig, host: Host, model_dir: Path, keys: tuple[str, str], imds: Imds) -> None:
    overrides = _overrides()
    service = {
        **config.service_env,
        "TTS_MODEL_DIR": str(model_dir),
        "TTS_API_KEYS": keys[0],
        "TTS_ADMIN_KEY": keys[1],
        "TTS_IMDS_ENDPOINT": imds.base,  # the Spot watch reads the same metadata service as the boot
        **overrides,
    }
    host.write_private(SERVICE_ENV, env_file(service), group=SERVICE_USER)
    host.write(INSTANCE_ENV, env_file({"AWS_DEFAULT_REGION": config.region, **overrides}))


def start_units(host: Host, *, warmed: bool) -> None:
    host.run("systemctl", "daemon-reload")
    host.run("systemctl", "enable", SERVICE_UNIT, WATCH_UNIT, GATE_UNIT)
    if warmed:
        log.info(
            "launched into the warm pool: the service starts when the instance is started", extra={"event": "warm"}
        )
        return
    host.run("systemctl", "start", SERVICE_UNIT, WATCH_UNIT)


def prepare(config: BootConfig, host: Host, imds: Imds, clients: Clients) -> Prepared:
    instance_id = imds.require("instance-id")
    try:
        purchase = imds.get("instance-life-cycle") or "on-demand"
        target_state = imds.get("autoscaling/target-lifecycle-state") or "InService"
        try:
            start_agent(host, purchase)
        except (CommandError, OSError) as exc:
            log.error(f"CloudWatch agent not started: {exc}", extra={"event": "cloudwatch-agent"})
        keys = read_keys(config, clients)
        model_dir = place_weights(config, host, clients)
        write_settings(config, host, model_dir, keys, imds)
        start_units(host, warmed=target_state.startswith("Warmed:"))
    except Exception as exc:  # any failing step (a secret without a string, a bug too) ends the launch
        reason = reason_of(exc, BootStepError, CommandError, ImdsError, ClientError, BotoCoreError, OSError)
        abandon(config, clients, instance_id=instance_id, reason=f"prepare: {reason}")
        raise BootStepError(reason) from exc
    return Prepared(instance_id, target_state, model_dir)
