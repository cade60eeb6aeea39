"""The synthesis service's limits and deployed settings, declared once for every part that reads them.

- cdk.json's `service` section is validated by `ServiceConfig` (the limits plus the engine choice);
- infra writes `ServiceConfig.to_env()` into each instance's environment file, generated from the fields (no
  hand-kept list of variables);
- the service's `Settings` (service/settings.py) inherits `ServiceLimits`, so it reads the same TTS_* variables
  with the same bounds and defaults, and admission's settings are `ServiceLimits` plus how admission answers.
tests/test_contracts.py checks that every variable infra writes is one the service reads, with the same value.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "TTS_"
# Prometheus gauges the service exposes on /metrics (service/metrics.py) that the fleet reads: the CloudWatch agent
# re-publishes them (infra/fleet/cloudwatch_agent.py) and the scaling policy tracks the second
# (cost/capacity/scaling.py).
QUEUE_DEPTH_METRIC = "voicefleet_queue_depth"
"""Requests waiting for the engine."""
IN_FLIGHT_METRIC = "voicefleet_in_flight_requests"
"""Requests and streams inside the engine."""


class ServiceLimits(BaseModel):
    """How much one service process takes on: text length, batching, queue, concurrency, deadline, recycling."""

    # protected_namespaces=(): `model_prefix` is a field name; pydantic < 2.10 warns about any "model_" field.
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    # <= 200 characters per request, as the deployment guidance recommends against OOM from long input. The bound,
    # 5,000, fits the default JSON body cap (64 KiB) even \u-escaped; upstream drops segments of long text (#1654).
    max_text_chars: Annotated[int, Field(ge=1, le=5000)] = 200
    max_batch: Annotated[int, Field(ge=1, le=64)] = 8
    # How long the first request of a batch waits for companions.
    max_wait_ms: Annotated[int, Field(ge=0, le=1000)] = 20
    # Requests waiting for the engine; one more gets 429.
    max_queue: Annotated[int, Field(ge=1, le=10000)] = 64
    # Requests inside the engine at once (batching engines: batches of up to max_batch share this budget).
    max_concurrency: Annotated[int, Field(ge=1, le=256)] = 8
    # Deadline from admission to result (a stream: to its first audio); past it the client gets 504.
    request_timeout_s: Annotated[float, Field(gt=0, le=600)] = 60.0
    # Recycle the process after this many requests (0 = never): a guard against slow memory growth (upstream #1453).
    recycle_after_requests: Annotated[int, Field(ge=0)] = 0
    # Deadline from admission to a stream's last audio; past it the stream is cut (the client sees a broken body).
    stream_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 300.0


class ServiceKeys(BaseModel):
    """How the service keeps its API keys current (the keys themselves are secrets, never config)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # How often the key file or Secrets Manager secret is re-read: a rotated key works (and a revoked one stops)
    # within this many seconds, with no restart. A failed re-read keeps the last good keys.
    keys_refresh_s: Annotated[float, Field(gt=0, le=3600)] = 60.0


def limits_of(model: ServiceLimits) -> dict[str, object]:
    """The limit fields of any model that carries them (ServiceConfig, Settings, AdmissionSettings), by name."""
    return {name: getattr(model, name) for name in ServiceLimits.model_fields}


def _env_value(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class ServiceConfig(ServiceLimits, ServiceKeys):
    """cdk.json `service`: the limits, plus what the fleet runs; each instance gets them as TTS_* variables."""

    engine: Literal["espeak", "cosyvoice3"] = "cosyvoice3"
    fp16: bool = True
    gpu_id: Annotated[int, Field(ge=0)] = 0
    # Where the weights sit in the models bucket: read by the boot script, not by the service process.
    model_prefix: str = "cosyvoice3/"

    def to_env(self) -> dict[str, str]:
        """TTS_<FIELD> for every field the service process reads: the engine choice first, then each limit, then
        the key settings."""
        shared = {*ServiceLimits.model_fields, *ServiceKeys.model_fields, *_NOT_SERVICE_SETTINGS}
        own = [name for name in type(self).model_fields if name not in shared]
        names = own + list(ServiceLimits.model_fields) + list(ServiceKeys.model_fields)
        return {f"{ENV_PREFIX}{name.upper()}": _env_value(getattr(self, name)) for name in names}


# ServiceConfig fields for infra itself (the boot script), never written as service variables.
_NOT_SERVICE_SETTINGS = frozenset({"model_prefix"})
