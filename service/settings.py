"""Settings of the synthesis service, read from TTS_* environment variables (names match ServiceConfig.to_env()).

Validators refuse unsafe combinations at startup with one readable message, so a misconfigured instance fails fast
instead of serving badly (the fastapi full-stack template's habit of refusing default secrets in production).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# "loadmodel" (CosyVoice3's shapes with random weights, for GPU load tests) needs TTS_ALLOW_LOADMODEL=true.
EngineName = Literal["espeak", "cosyvoice3", "loadmodel"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

# Environments where running without API keys is acceptable (a laptop, CI, a disposable dev stack).
OPEN_ENVIRONMENTS = frozenset({"local", "dev", "test", "ci"})
# Keys that appear in examples and must never protect a real deployment.
_WEAK_KEYS = frozenset({"changeme", "change-me", "secret", "password", "test", "admin", "key", "apikey"})


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything the service reads at startup (docs/service.md lists every variable)."""

    model_config = SettingsConfigDict(env_prefix="TTS_", extra="ignore", frozen=True, populate_by_name=True)

    engine: EngineName = "espeak"
    model_dir: Path | None = None
    fp16: bool = False
    gpu_id: int = Field(default=0, ge=0)
    # None = "cuda:<gpu_id>"; "cpu" is only sensible for tests or a debugging session.
    device: str | None = None
    # <= 200 characters per request, as the deployment guidance recommends against OOM from long input.
    # MAX_TEXT_LEN (no prefix) is the name that guidance uses; accepted for compatibility.
    max_text_chars: int = Field(
        default=200,
        ge=1,
        le=100_000,
        validation_alias=AliasChoices("TTS_MAX_TEXT_CHARS", "MAX_TEXT_LEN", "max_text_chars"),
    )
    max_batch: int = Field(default=8, ge=1, le=64)
    max_wait_ms: int = Field(default=20, ge=0, le=1000)
    max_queue: int = Field(default=64, ge=1, le=10_000)
    max_concurrency: int = Field(default=8, ge=1, le=256)
    request_timeout_s: float = Field(default=60.0, gt=0, le=600)
    # A stream's whole-length deadline (its first audio is due within request_timeout_s, queueing included).
    stream_timeout_s: float = Field(default=300.0, gt=0, le=3600)
    recycle_after_requests: int = Field(default=0, ge=0)
    voices_dir: Path = Path("voices")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Prompt clips are 3-30 s; 10 MiB holds 30 s of 48 kHz stereo 24-bit WAV (8.6 MB) with room to spare.
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024)
    # JSON bodies carry text, not audio: 64 KiB holds 10,000 characters even \u-escaped (6 bytes each), far over
    # the 200-character default; refused with 413 before (or while) reading, so a huge body never fills memory.
    max_json_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    admin_key: str | None = None
    environment: str = "local"
    # Loudness target of the returned audio (EBU R128 / ITU-R BS.1770 integrated loudness, LUFS); None = leave as is.
    loudness_lufs: float | None = Field(default=-20.0, ge=-40.0, le=-10.0)
    log_level: LogLevel = "INFO"

    # -- engine choice for load tests ---------------------------------------------------------------------------
    allow_loadmodel: bool = False
    """TTS_ALLOW_LOADMODEL: the loadmodel engine's output is noise, never speech; refused unless this is true."""
    loadmodel_preset: Literal["tiny", "full"] = "full"

    # -- admission and memory hygiene (service/admission, service/memory.py) ------------------------------------
    oom_retry_alone: bool = True
    max_rss_bytes: int = Field(default=0, ge=0)
    """Recycle the process once its RSS after a batch passes this (0 = no limit)."""
    max_gpu_reserved_bytes: int = Field(default=0, ge=0)
    max_gpu_reserved_fraction: float = Field(default=0.0, ge=0.0, le=1.0)
    drain_timeout_s: float | None = Field(default=None, gt=0, le=600)
    """How long admitted requests may take to finish on drain; None = request_timeout_s."""
    # Drain plus flush must fit in EC2's 2-minute Spot warning (docs: spot-instance-termination-notices).
    flush_timeout_s: float = Field(default=30.0, ge=0, le=600)

    # -- durable audio (service/storage) -------------------------------------------------------------------------
    outputs_bucket: str | None = None
    outputs_prefix: str = "audio/"
    cdn_domain: str | None = None
    """CloudFront domain serving /audio/* from the outputs bucket; without it URLs are presigned S3 GETs."""
    store_default: bool = False
    """Store every (non-streamed) result in the outputs bucket, unless a native request says store=false."""
    spool_dir: Path = Path("/var/spool/voicefleet")
    """Audio waiting for S3 when it is unreachable; must be on the instance's disk (it survives a restart)."""
    spool_retry_base_s: float = Field(default=1.0, gt=0, le=60)
    spool_retry_max_s: float = Field(default=60.0, gt=0, le=3600)
    presign_expiry_s: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    voices_bucket: str | None = None
    """Saved voices in S3 (shared by the fleet) when set; TTS_VOICES_DIR on local disk otherwise."""
    voices_prefix: str = "voices/"
    s3_region: str | None = None
    s3_endpoint_url: str | None = None
    """An S3-compatible endpoint (tests: moto on loopback); None = AWS's regional endpoint."""

    # -- Spot interruption watch (service/spot.py) ---------------------------------------------------------------
    spot_watch: bool = True
    imds_endpoint: str = "http://169.254.169.254"
    spot_poll_s: float = Field(default=5.0, gt=0, le=60)

    # -- fault injection: tests and drills only (refused outside local/dev/test/ci) ------------------------------
    fault_oom_every: int = Field(default=0, ge=0)
    """TTS_FAULT_OOM_EVERY=N: every Nth engine call raises CUDA out-of-memory (service/engines/faults.py)."""
    fault_delay_ms: int = Field(default=0, ge=0, le=60_000)
    """TTS_FAULT_DELAY_MS: every engine call takes this much longer (a slow GPU, to fill queues on purpose)."""

    @field_validator("api_keys", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("device")
    @classmethod
    def _device(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value != "cpu" and not (value.startswith("cuda:") and value[5:].isdigit()):
            raise ValueError(f"device '{value}' is not 'cpu' or 'cuda:<index>' (e.g. 'cuda:0')")
        return value

    @model_validator(mode="after")
    def _safe(self) -> Settings:
        if self.engine == "cosyvoice3" and self.model_dir is None:
            raise ValueError("engine 'cosyvoice3' needs TTS_MODEL_DIR (--model-dir): weights are never downloaded")
        if self.fp16 and self.engine == "cosyvoice3" and self.resolved_device == "cpu":
            raise ValueError("fp16 needs a GPU device; with device 'cpu' turn fp16 off (TTS_FP16=false)")
        if self.engine == "loadmodel" and not self.allow_loadmodel:
            raise ValueError(
                "engine 'loadmodel' makes noise, not speech; set TTS_ALLOW_LOADMODEL=true to run it (load tests only)"
            )
        if (self.fault_oom_every or self.fault_delay_ms) and self.environment not in OPEN_ENVIRONMENTS:
            raise ValueError(
                f"TTS_FAULT_* settings are for tests and drills; refused in environment '{self.environment}'"
            )
        if self.store_default and not self.outputs_bucket:
            raise ValueError("TTS_STORE_DEFAULT=true needs TTS_OUTPUTS_BUCKET (where the audio goes)")
        for name in ("outputs_prefix", "voices_prefix"):
            prefix = getattr(self, name)
            if not prefix.endswith("/") or prefix.startswith("/") or ".." in prefix:
                raise ValueError(f"{name} '{prefix}' must be relative and end with '/' (e.g. 'audio/')")
        if self.admin_key is not None and self.admin_key in self.api_keys:
            raise ValueError("TTS_ADMIN_KEY must differ from every key in TTS_API_KEYS")
        weak = [key for key in [*self.api_keys, self.admin_key or ""] if key and key.lower() in _WEAK_KEYS]
        if weak and self.environment not in OPEN_ENVIRONMENTS:
            raise ValueError(
                f"API key '{weak[0]}' is an example value; set real keys for environment '{self.environment}'"
            )
        from service.security import check_startup  # imports this module: import here, not at the top

        check_startup(self.environment, self.api_keys, self.admin_key)
        return self

    @property
    def resolved_drain_timeout_s(self) -> float:
        return self.drain_timeout_s if self.drain_timeout_s is not None else self.request_timeout_s

    @property
    def resolved_device(self) -> str:
        """The torch device the GPU engine runs on: TTS_DEVICE, else cuda:<gpu_id>."""
        return self.device or f"cuda:{self.gpu_id}"
