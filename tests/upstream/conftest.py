"""The upstream suite: voicefleet against upstream CosyVoice's real code (the commit instances install), on a tiny
random checkpoint built by `voicefleet-models tiny`. Runs in .venv-upstream (make upstream-env), on the CPU, from the
instance runtime lock; `make test` runs it after the main suite (pytest --confcutdir=tests/upstream, so the main
suite's conftest, with its AWS and CDK fixtures, is not loaded here).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

try:
    import cosyvoice  # noqa: F401 - upstream's package, from the .pth file make upstream-env writes
except ImportError as exc:  # pragma: no cover - wrong environment
    raise ImportError("tests/upstream runs in .venv-upstream: `make upstream-env`, then `make test`") from exc

from service.engines.base import VoicePrompt
from service.engines.cosyvoice3 import CosyVoice3Engine
from service.models_sync import tiny
from tests.service.conftest import LiveServer, live_server, make_settings

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".voicefleet" / "tiny-cosyvoice3"
ZERO_SHOT_TEXT = "希望你以后能够做的比我还好呦。"  # upstream's transcript of asset/zero_shot_prompt.wav (example.py)


def upstream_asset(name: str) -> Path:
    path = tiny.upstream_root() / "asset" / name
    assert path.is_file(), path
    return path


def _builder_digest() -> str:
    """Rebuild the cached checkpoint when the builder or upstream's yaml changes."""
    digest = hashlib.sha256(Path(tiny.__file__).read_bytes())
    digest.update((tiny.upstream_root() / tiny.UPSTREAM_YAML).read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def tiny_dir() -> Path:
    """The seed-0 tiny checkpoint, built once per builder version (about 16 MB, seconds once upstream is imported)."""
    target = CACHE / f"seed0-{_builder_digest()}"
    if not (target / "llm.pt").is_file():
        tiny.build_tiny(target, seed=0)
    return target


@pytest.fixture(scope="session")
def zero_shot_prompt() -> VoicePrompt:
    audio, rate = sf.read(upstream_asset("zero_shot_prompt.wav"), dtype="float32")
    return VoicePrompt(audio=np.asarray(audio, dtype=np.float32), sample_rate=rate, text=ZERO_SHOT_TEXT)


@pytest.fixture(scope="session")
def engine(tiny_dir: Path) -> CosyVoice3Engine:
    """One loaded engine on the CPU for the engine-level tests (upstream's model loads in a few seconds)."""
    loaded = CosyVoice3Engine(tiny_dir, device="cpu")
    loaded.load()
    return loaded


@pytest.fixture(scope="session")
def cosy(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real service (create_app on a real uvicorn) running cosyvoice3 on the tiny checkpoint."""
    settings = make_settings(
        engine="cosyvoice3",
        model_dir=tiny_dir,
        device="cpu",
        voices_dir=tmp_path_factory.mktemp("voices"),
        request_timeout_s=120,
    )
    with live_server(settings, ready_timeout_s=300) as live:
        assert live.state.status == "ready", live.state.load_error
        yield live


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("TQDM_DISABLE", "1")
