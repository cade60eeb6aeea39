"""The GPU fleet: launch template, boot script, Auto Scaling group (Spot mix), drain hook, scaling."""

from infra.fleet.construct import Fleet

__all__ = ["Fleet"]
