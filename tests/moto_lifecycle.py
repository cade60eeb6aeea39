"""moto answers Auto Scaling's CompleteLifecycleAction with "not implemented" (moto 5.x), which the boot's gate and
drain watcher call. This adds that one action to moto's own Auto Scaling responses, in the process that runs the
moto server: the hook must exist on the group (else AWS's ValidationError), and every call is recorded."""

from __future__ import annotations

from typing import Any

from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult, EmptyResult

CALLS: list[dict[str, str]] = []


def _complete_lifecycle_action(self: Any) -> ActionResult:
    group = self._get_param("AutoScalingGroupName")
    hook = self._get_param("LifecycleHookName")
    call = {
        "group": group,
        "hook": hook,
        "instance": self._get_param("InstanceId"),
        "result": self._get_param("LifecycleActionResult"),
    }
    if f"{group}_{hook}" not in self.autoscaling_backend.lifecycle_hooks:
        from moto.autoscaling.exceptions import ValidationError

        raise ValidationError(f"No active Lifecycle Action found with instance ID {call['instance']}")
    CALLS.append(call)
    return EmptyResult()


def install() -> list[dict[str, str]]:
    """Idempotent; returns the shared list of recorded calls (cleared)."""
    AutoScalingResponse.complete_lifecycle_action = _complete_lifecycle_action  # type: ignore[attr-defined]
    CALLS.clear()
    return CALLS
