"""The CosyVoice3 adapter against a fake `cosyvoice` package (tests/service/fakes/cosyvoice), real API surface."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from service.engines.base import EngineError, EngineNotReadyError, EngineOutOfMemoryError, SynthesisRequest, VoicePrompt
from service.engines.cosyvoice3 import CosyVoice3Engine, instruct_text, prompt_text
from tests.service.conftest import FAKES


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(FAKES))
    fake_module: Any = importlib.import_module("cosyvoice.cli.cosyvoice")
    fake_module.LOG.__init__()
    return fake_module.LOG


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    (tmp_path / "cosyvoice3.yaml").write_text("# fake export\n")
    return tmp_path


def _prompt(text: str | None = "希望你以后能够做的比我还好呦。", name: str | None = None) -> VoicePrompt:
    t = np.arange(16000 * 4) / 16000
    return VoicePrompt(
        audio=(0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32), sample_rate=16000, text=text, name=name
    )


def _engine(model_dir: Path, fp16: bool = False) -> CosyVoice3Engine:
    engine = CosyVoice3Engine(model_dir, device="cpu", fp16=fp16)
    engine.load()
    return engine


def test_prompt_and_instruct_formatting() -> None:
    assert prompt_text("你好") == "You are a helpful assistant.<|endofprompt|>你好"
    assert instruct_text("请用广东话表达。") == "You are a helpful assistant. 请用广东话表达。<|endofprompt|>"
    # Already-formatted instructions are not prefixed twice.
    assert instruct_text("You are a helpful assistant. 慢一点<|endofprompt|>") == instruct_text("慢一点")


def test_zero_shot_with_transcript(fake: Any, model_dir: Path) -> None:
    engine = _engine(model_dir)
    [result] = engine.synthesize_batch([SynthesisRequest(text="八百标兵奔北坡。", prompt=_prompt())])
    name, args = fake.calls[-1]
    assert name == "inference_zero_shot"
    assert args["prompt_text"] == "You are a helpful assistant.<|endofprompt|>希望你以后能够做的比我还好呦。"
    assert args["tts_text"] == "八百标兵奔北坡。"
    assert result.sample_rate == 24000
    assert result.audio.dtype == np.float32
    assert result.duration_s == pytest.approx(8 * 0.2, rel=0.01)


def test_cross_lingual_without_transcript(fake: Any, model_dir: Path) -> None:
    _engine(model_dir).synthesize_batch([SynthesisRequest(text="Hello there.", prompt=_prompt(text=None))])
    name, args = fake.calls[-1]
    assert name == "inference_cross_lingual"
    assert args["tts_text"] == "You are a helpful assistant.<|endofprompt|>Hello there."


def test_instruct_maps_to_instruct2(fake: Any, model_dir: Path) -> None:
    request = SynthesisRequest(text="好少咯。", prompt=_prompt(), instruct="请用广东话表达。")
    _engine(model_dir).synthesize_batch([request])
    name, args = fake.calls[-1]
    assert name == "inference_instruct2"
    assert args["instruct_text"] == "You are a helpful assistant. 请用广东话表达。<|endofprompt|>"


@pytest.mark.parametrize("text", ["高管也通过电话[j][ǐ]予好评。", "It takes a [M][AY0][N][UW1][T] [breath] look."])
def test_pronunciation_tags_pass_through(fake: Any, model_dir: Path, text: str) -> None:
    _engine(model_dir).synthesize_batch([SynthesisRequest(text=text, prompt=_prompt())])
    assert fake.calls[-1][1]["tts_text"] == text


def test_saved_voice_registers_speaker_once(fake: Any, model_dir: Path) -> None:
    engine = _engine(model_dir)
    request = SynthesisRequest(text="你好。", prompt=_prompt(name="anna"))
    engine.synthesize_batch([request, request])
    names = [name for name, _ in fake.calls]
    assert names == ["add_zero_shot_spk", "inference_zero_shot", "inference_zero_shot"]
    assert fake.calls[-1][1]["spk_id"] == "voicefleet:anna"
    assert fake.calls[-1][1]["prompt_text"] == ""


def test_fp16_nan_retries_in_fp32_once(fake: Any, model_dir: Path) -> None:
    fake.nan_when_fp16 = True
    engine = CosyVoice3Engine(model_dir, device="cpu", fp16=True)
    engine.load()
    [result] = engine.synthesize_batch([SynthesisRequest(text="你好。", prompt=_prompt())])
    assert np.all(np.isfinite(result.audio))
    assert np.max(np.abs(result.audio)) > 0.1
    assert any("fp32" in note for note in result.notes)
    assert [m["fp16"] for m in fake.models] == [True, False]
    # The engine stays in fp32: the next request neither fails nor rebuilds.
    [again] = engine.synthesize_batch([SynthesisRequest(text="再见。", prompt=_prompt())])
    assert again.notes == ()
    assert len(fake.models) == 2


def test_nan_in_fp32_is_an_error(fake: Any, model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine(model_dir)
    monkeypatch.setattr(engine._model, "fp16", True)  # the model misbehaves although the engine asked for fp32
    fake.nan_when_fp16 = True
    with pytest.raises(EngineError, match="NaN or silent"):
        engine.synthesize_batch([SynthesisRequest(text="你好。", prompt=_prompt())])


def test_missing_model_dir_names_the_path(fake: Any, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(EngineNotReadyError, match=str(missing)):
        CosyVoice3Engine(missing, device="cpu").load()
    with pytest.raises(EngineNotReadyError, match=r"cosyvoice3\.yaml"):
        CosyVoice3Engine(tmp_path, device="cpu").load()
    assert fake.models == []  # AutoModel (which would download) was never reached


def test_cuda_device_without_cuda_is_refused(fake: Any, model_dir: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(EngineNotReadyError, match=r"cuda:0 requested but CUDA is not available"):
        CosyVoice3Engine(model_dir, device="cuda:0").load()


def test_out_of_memory_is_reported(fake: Any, model_dir: Path) -> None:
    engine = _engine(model_dir)
    fake.oom_next = True
    with pytest.raises(EngineOutOfMemoryError):
        engine.synthesize_batch([SynthesisRequest(text="你好。", prompt=_prompt())])
    assert engine.synthesize_batch([SynthesisRequest(text="你好。", prompt=_prompt())])[0].audio.size > 0


def test_stream_yields_chunks_and_ignores_speed(fake: Any, model_dir: Path) -> None:
    chunks = list(_engine(model_dir).stream(SynthesisRequest(text="你好世界。", prompt=_prompt(), speed=1.5)))
    assert len(chunks) == 3
    assert fake.calls[-1][1]["stream"] is True
    assert fake.calls[-1][1]["speed"] == 1.0


def test_no_prompt_is_an_error(fake: Any, model_dir: Path) -> None:
    with pytest.raises(EngineError, match="needs a voice"):
        _engine(model_dir).synthesize_batch([SynthesisRequest(text="你好。")])


def test_import_does_not_load_torch_or_cosyvoice() -> None:
    code = (
        "import sys, service.engines.cosyvoice3, service.app; print('torch' in sys.modules, 'cosyvoice' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
