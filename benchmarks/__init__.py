"""Benchmarks that feed the cost model: load, overhead, soak, calibrate (console script `tts-bench`)."""
