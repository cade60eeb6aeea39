"""Settings of the synthesis service, read from TTS_* environment variables (the names ServiceConfig.to_env() writes).

The limits (text length, batching, queue, concurrency, deadline, recycling) are voicefleet_config's ServiceLimits,
inherited with their bounds and defaults, so cdk.json, the instance's environment file and this class cannot
disagree. Every startup refusal lives in this class's validation, the key rules included: a misconfigured instance
fails fast with one readable message instead of serving badly (the fastapi full-stack template's habit of refusing
default secrets in production). service/security.py only authenticates requests.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from service.tenants.keyring import MIN_KEY_CHARS, OPEN_ENVIRONMENTS, KeyFormatError, Keyring
from voicefleet_config import ServiceKeys, ServiceLimits

__all__ = ["MIN_KEY_CHARS", "OPEN_ENVIRONMENTS", "Settings", "key_problem"]

# "loadmodel" (CosyVoice3's shapes with random weights, for GPU load tests) needs TTS_ALLOW_LOADMODEL=true.
EngineName = Literal["espeak", "cosyvoice3", "loadmodel"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

# The deployment guidance's name for the text limit (no prefix); read when TTS_MAX_TEXT_CHARS is not set.
LEGACY_MAX_TEXT_LEN = "MAX_TEXT_LEN"


def default_spool_dir() -> Path:
    """`spool/` in the state directory systemd made for the service (StateDirectory= sets $STATE_DIRECTORY, owned by
    the unit's user), else /var/spool/voicefleet (a root run). The service user cannot create anything in /var/spool
    itself (issue 13, fault 4: tts-serve exited 2 at once and systemd restarted it every 5 s)."""
    state = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(state) / "spool" if state else Path("/var/spool/voicefleet")


class _LegacyNames(PydanticBaseSettingsSource):
    """MAX_TEXT_LEN for max_text_chars, below TTS_MAX_TEXT_CHARS and explicit arguments in priority."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        value = os.environ.get(LEGACY_MAX_TEXT_LEN)
        return {"max_text_chars": value} if value is not None else {}


def key_problem(environment: str, api_keys: str | list[str] | None, admin_key: str | None) -> str | None:
    """Why these inline keys must not protect `environment` (None when they may). The rules themselves live in
    service/tenants/keyring.py, which also applies them to every re-read of a key file or secret."""
    text = ",".join(api_keys) if isinstance(api_keys, list) else api_keys
    try:
        keyring = Keyring.parse(text, admin_key or None)
    except KeyFormatError as exc:
        return str(exc)
    return keyring.problem(environment)


class Settings(ServiceLimits, ServiceKeys, BaseSettings):
    """Everything the service reads at startup (docs/service.md lists every variable); the limits are inherited."""

    # protected_namespaces: `model_dir` is a field; older pydantic-settings reserve all of "model_" and warn.
    model_config = SettingsConfigDict(
        env_prefix="TTS_", extra="ignore", frozen=True, protected_namespaces=("settings_customise_sources",)
    )

    engine: EngineName = "espeak"
    model_dir: Path | None = None
    fp16: bool = False
    gpu_id: int = Field(default=0, ge=0)
    # None = "cuda:<gpu_id>"; "cpu" is only sensible for tests or a debugging session.
    device: str | None = None
    voices_dir: Path = Path("voices")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Prompt clips are 3-30 s; 10 MiB holds 30 s of 48 kHz stereo 24-bit WAV (8.6 MB) with room to spare.
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=200 * 1024 * 1024)
    # JSON bodies carry text, not audio: 64 KiB holds 10,000 characters even \u-escaped (6 bytes each), far over
    # the 200-character default; refused with 413 before (or while) reading, so a huge body never fills memory.
    max_json_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    # -- keys and tenants (service/tenants) ------------------------------------------------------------------------
    api_keys: Annotated[str | None, NoDecode] = None
    """TTS_API_KEYS: the key document (JSON, tenant -> keys) or the old comma-separated list (tenant `default`)."""
    api_keys_file: Path | None = None
    """A file holding the key document, re-read every keys_refresh_s."""
    api_keys_secret: str | None = None
    """A Secrets Manager secret (ARN or name) holding the key document, re-read every keys_refresh_s."""
    admin_key: str | None = None
    """TTS_ADMIN_KEY: the admin key (or a comma-separated list while rotating); tenant `admin`."""
    admin_key_file: Path | None = None
    admin_key_secret: str | None = None
    secrets_endpoint_url: str | None = None
    """A Secrets Manager-compatible endpoint (tests: moto); None = AWS's regional endpoint."""
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
    spool_dir: Path = Field(default_factory=default_spool_dir)
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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, dotenv_settings, file_secret_settings, _LegacyNames(settings_cls)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys_text(cls, value: object) -> object:
        """A list (Python callers, tests) is the old comma-separated format."""
        return ",".join(str(key) for key in value) if isinstance(value, list) else value

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
        self._check_keys()
        return self

    def _check_keys(self) -> None:
        """Key sources: one file or secret at most per kind; inline keys (alone, or as the fallback until the first
        read of a file or secret) follow the keyring's rules now; a keyed source is required outside open envs."""
        for kind in ("api_keys", "admin_key"):
            if getattr(self, f"{kind}_file") is not None and getattr(self, f"{kind}_secret"):
                raise ValueError(f"give TTS_{kind.upper()}_FILE or TTS_{kind.upper()}_SECRET, not both")
        keyed_api = self.api_keys_file is not None or bool(self.api_keys_secret)
        admin_inline = None if self.admin_key_file is not None or self.admin_key_secret else self.admin_key
        if self.api_keys or not keyed_api:
            problem = key_problem(self.environment, self.api_keys, admin_inline)
            if problem:
                raise ValueError(problem)

    @property
    def resolved_drain_timeout_s(self) -> float:
        return self.drain_timeout_s if self.drain_timeout_s is not None else self.request_timeout_s

    @property
    def resolved_device(self) -> str:
        """The torch device the GPU engine runs on: TTS_DEVICE, else cuda:<gpu_id>."""
        return self.device or f"cuda:{self.gpu_id}"
