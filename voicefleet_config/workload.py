"""The workload an environment is sized and priced for, and the SLO its users feel (docs/cost.md "The SLO")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class WorkloadConfig(BaseModel):
    """The expected workload the cost model prices."""

    # Frozen, no unknown keys, no NaN or infinity (as every config model: voicefleet_config/model.py _Frozen).
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    requests_per_business_day: Annotated[float, Field(ge=0)] = 3000
    avg_chars: Annotated[float, Field(gt=0)] = 100
    peak_factor: Annotated[float, Field(ge=1)] = 3.0
    # The SLO users feel (docs/cost.md "The SLO"): p95 time to first audio, queueing included, and every stream
    # produced faster than real time (per-stream RTF below stream_rtf_max), so playback never stalls.
    ttfa_p95_s: Annotated[float, Field(gt=0, le=600)] = 2.0
    stream_rtf_max: Annotated[float, Field(gt=0, le=1)] = 1.0
    # Optional whole-clip p95 (queueing included) for clients that wait for the whole file; None: not a target.
    latency_p95_s: Annotated[float, Field(gt=0, le=3600)] | None = None
    # Load per open hour (one weight per hour from opening; scaled to the day's requests); None: the business-hours
    # shape with peak_factor (cost/capacity/plan.py).
    hourly_shape: tuple[Annotated[float, Field(ge=0, le=1e6)], ...] | None = None
    output_format: Literal["wav", "mp3", "opus", "flac", "pcm"] = "wav"
    language: Literal["zh", "en", "ja", "yue"] = "zh"
    downloads_per_output: Annotated[float, Field(ge=0, le=1e6)] = 1.0
    # Downloads of an output after it moved to the Glacier class (Glacier IR charges per GB and GET retrieved).
    archive_downloads_per_output: Annotated[float, Field(ge=0, le=1e6)] = 0.0
    # Measured 95th-percentile request length in characters; None: the cost model assumes a multiple of avg_chars.
    p95_chars: Annotated[float, Field(gt=0)] | None = None
