"""Moved to benchmarks.drills.imds (the fault drills use it too); re-exported here for the service tests."""

from benchmarks.drills.imds import FakeImds

__all__ = ["FakeImds"]
