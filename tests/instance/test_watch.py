"""The drain watcher: once Auto Scaling takes the instance out of service (terminated, or back to the warm pool on
scale-in), drain the service and complete the drain hook; in any other state, keep watching."""

from __future__ import annotations

import pytest

from instance.imds import Imds
from instance.watch import watch
from tests.instance.conftest import GROUP, INSTANCE, World


@pytest.mark.parametrize(
    "target",
    [
        "Terminated",
        # Regression: with a warm pool that reuses instances on scale-in (infra/fleet/construct.py), the scaled-in
        # instance goes back to the pool and the drain hook waits on it with target state Warmed:<pool state>; the
        # watcher acted on "Terminated" only, so each such scale-in waited out the hook's timeout on a billed GPU.
        "Warmed:Stopped",
        "Warmed:Hibernated",
        "Warmed:Running",
    ],
)
def test_leaving_service_drains_then_completes_the_drain_hook(target: str, world: World, metadata: Imds) -> None:
    world.imds.meta["autoscaling/target-lifecycle-state"] = "InService"
    assert watch(world.config, world.host, metadata, world.clients, sleep=lambda _: None, rounds=3) is False
    assert world.runner.calls == []
    world.imds.meta["autoscaling/target-lifecycle-state"] = target
    assert watch(world.config, world.host, metadata, world.clients, sleep=lambda _: None, rounds=3) is True
    assert world.runner.calls == [("systemctl", "stop", "voicefleet.service")]
    assert world.hook_calls == [
        {"group": GROUP, "hook": "voicefleet-drain", "instance": INSTANCE, "result": "CONTINUE"}
    ]


@pytest.mark.parametrize("target", [None, "InService", "Standby", "Detached"])
def test_other_states_keep_the_service_and_the_hook(target: str | None, world: World, metadata: Imds) -> None:
    """Detached is the Spot handler's early replacement: the service drains on its own Spot notice, not here."""
    if target is not None:
        world.imds.meta["autoscaling/target-lifecycle-state"] = target
    assert watch(world.config, world.host, metadata, world.clients, sleep=lambda _: None, rounds=3) is False
    assert world.runner.calls == []
    assert world.hook_calls == []
