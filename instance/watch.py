"""`voicefleet-instance watch`: when Auto Scaling marks the instance for termination, drain the service (systemd
stops it with SIGTERM: stop admitting, finish admitted work, flush the spool), then complete the drain hook."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from instance.aws import Clients, complete_hook
from instance.config import BootConfig
from instance.host import CommandError, Host
from instance.imds import Imds, ImdsError
from instance.paths import SERVICE_UNIT

log = logging.getLogger("voicefleet.instance")


def watch(
    config: BootConfig,
    host: Host,
    imds: Imds,
    clients: Clients,
    *,
    interval_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    rounds: int | None = None,
) -> bool:
    """Returns True once the drain hook is completed; False after `rounds` polls without a termination."""
    polls = 0
    while rounds is None or polls < rounds:
        polls += 1
        try:
            state = imds.get("autoscaling/target-lifecycle-state")
        except ImdsError as exc:
            log.warning(f"lifecycle state unknown: {exc}")
            state = None
        if state == "Terminated":
            log.info("termination: draining the service", extra={"event": "drain"})
            try:
                host.run("systemctl", "stop", SERVICE_UNIT)
            except CommandError as exc:
                log.error(f"drain: {exc}")
            instance_id = imds.require("instance-id")
            complete_hook(
                clients, hook=config.drain_hook, group=config.asg_name, instance_id=instance_id, result="CONTINUE"
            )
            return True
        sleep(interval_s)
    return False
