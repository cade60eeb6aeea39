"""Errors the scheduler raises on purpose, so EventBridge Scheduler retries and then dead-letters the invocation."""

from __future__ import annotations


class SchedulerError(Exception):
    """Base for the scheduler's named errors; nothing has been changed when one is raised."""


class InvalidEventError(SchedulerError):
    """The event is not {"action": "start"}, {"action": "stop"} or {"action": "reconcile"}."""


class GroupNotFoundError(SchedulerError):
    """A group named in ASG_NAMES does not exist (renamed, deleted, or another region)."""


class MalformedTagError(SchedulerError):
    """The saved-size or override tag on a group holds a value the scheduler cannot read."""
