"""Moved to benchmarks.drills.load (the fault drills use it too); re-exported here for the service tests."""

from benchmarks.drills.load import SPEECH, LoadResult, closed_loop, one, speech

__all__ = ["SPEECH", "LoadResult", "closed_loop", "one", "speech"]
