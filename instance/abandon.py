"""A boot that cannot serve says why, once, and ends its launch: the reason in the boot log (which the CloudWatch
agent ships when it runs), a LaunchAbandoned datapoint (the alarm), and ABANDON on the launch hook, so Auto Scaling
terminates the instance instead of waiting out the hook's timeout."""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from instance.aws import LAUNCH_ABANDONED, Clients, complete_hook, put_metric
from instance.config import BootConfig

log = logging.getLogger("voicefleet.instance")


def reason_of(exc: BaseException, *expected: type[BaseException]) -> str:
    """What a failed boot step says: an expected error's own message; anything else prefixed with its type (a bare
    KeyError('SecretString') would say only 'SecretString')."""
    return str(exc) if isinstance(exc, expected) else f"{type(exc).__name__}: {exc}"


def abandon(config: BootConfig, clients: Clients, *, instance_id: str | None, reason: str) -> None:
    log.error(f"launch abandoned: {reason}", extra={"event": "launch-abandoned", "reason": reason})
    put_metric(
        clients, namespace=config.metric_namespace, env_name=config.env_name, name=LAUNCH_ABANDONED, value=1,
        unit="Count",
    )  # fmt: skip
    if instance_id is None:
        log.error("no instance id: the launch hook times out instead (its default result is ABANDON)")
        return
    try:
        complete_hook(
            clients, hook=config.launch_hook, group=config.asg_name, instance_id=instance_id, result="ABANDON"
        )
    except (ClientError, BotoCoreError) as exc:
        log.error(f"could not abandon the launch hook: {exc}; it times out instead (default result ABANDON)")
