"""Moved to benchmarks.drills.serve_process (the fault drills use it too); re-exported here for the service tests."""

from benchmarks.drills.serve_process import TTS_SERVE, TtsServe, event, free_port

__all__ = ["TTS_SERVE", "TtsServe", "event", "free_port"]
