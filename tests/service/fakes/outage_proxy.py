"""Moved to benchmarks.drills.outage_proxy (the fault drills use it too); re-exported here for the service tests."""

from benchmarks.drills.outage_proxy import OutageProxy

__all__ = ["OutageProxy"]
