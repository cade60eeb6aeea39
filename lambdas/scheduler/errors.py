"""Errors the scheduler raises on purpose. A raised error fails the asynchronous invocation: Lambda retries it, then
sends it to the function's on-failure destination (an SQS queue with an alarm). EventBridge Scheduler's own retry
policy and dead-letter queue cover only the delivery of the event to Lambda."""

from __future__ import annotations


class SchedulerError(Exception):
    """Base for the scheduler's named errors."""


class InvalidEventError(SchedulerError):
    """The event is not {"action": "start"}, {"action": "stop"} or {"action": "reconcile"}; nothing is changed."""


class GroupNotFoundError(SchedulerError):
    """A group named in ASG_NAMES does not exist (renamed, deleted, or another region); the others still get their
    decision before this is raised."""
