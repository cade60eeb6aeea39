"""`voicefleet-instance watch`: when Auto Scaling takes the instance out of service, drain the service (systemd
stops it with SIGTERM: stop admitting, finish admitted work, flush the spool), then complete the drain hook.

Out of service means the target lifecycle state "Terminated", or any "Warmed:" state: with a warm pool that reuses
instances on scale-in, a scaled-in instance goes back to the pool (Warmed:Stopped with our pool state; Running or
Hibernated with the others) and the terminating hook waits for it all the same (EC2 Auto Scaling User Guide, "Use
lifecycle hooks with a warm pool"). The watcher runs only on an instance in service: instance/prepare.py
start_units starts nothing for a launch into the warm pool, and the enabled unit starts at the next boot, when the
pool's instance is put in service. So a Warmed: state it sees is a scale-in, not the launch into the pool.
"""

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
_TERMINATED = "Terminated"
_WARMED = "Warmed:"  # back to the warm pool on scale-in (reuse_on_scale_in)


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
        if state is not None and (state == _TERMINATED or state.startswith(_WARMED)):
            log.info(f"target state {state}: draining the service", extra={"event": "drain"})
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
