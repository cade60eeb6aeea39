"""The GPU load model on CPU with the tiny preset: shapes, duration vs text, batching, determinism, errors."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from service.engines.base import EngineError, EngineNotReadyError, SynthesisRequest, VoicePrompt
from service.engines.loadmodel import LoadModelEngine, estimate_seconds
from service.engines.loadmodel_shapes import PRESETS, SAMPLE_RATE, TOKEN_MEL_RATIO, TOKEN_RATE_HZ

SAMPLES_PER_TOKEN = SAMPLE_RATE // TOKEN_RATE_HZ  # 960


@pytest.fixture(scope="module")
def engine() -> LoadModelEngine:
    eng = LoadModelEngine(preset="tiny", device="cpu", seed=7)
    eng.load()
    return eng


def _req(text: str, **kw: object) -> SynthesisRequest:
    return SynthesisRequest(text=text, **kw)  # type: ignore[arg-type]


def test_import_does_not_load_torch() -> None:
    code = "import sys, service.engines.loadmodel; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_capabilities_say_not_speech() -> None:
    caps = LoadModelEngine().capabilities
    assert caps.name == "loadmodel"
    assert caps.is_speech is False
    assert caps.batching is True
    assert caps.sample_rate == 24_000
    assert any("not speech" in note for note in caps.notes)


def test_output_is_24khz_mono_float_of_25_tokens_per_second(engine: LoadModelEngine) -> None:
    text = "今天天气很好，我们去公园散步吧。"
    [result] = engine.synthesize_batch([_req(text)])
    expected_tokens = round(estimate_seconds(text) * TOKEN_RATE_HZ)
    assert result.sample_rate == SAMPLE_RATE
    assert result.audio.dtype == np.float32
    assert result.audio.ndim == 1
    assert len(result.audio) == expected_tokens * SAMPLES_PER_TOKEN
    assert np.isfinite(result.audio).all()
    assert 0 < np.abs(result.audio).max() <= 1.0
    assert any("not speech" in n for n in result.notes)
    timings = engine.last_timings
    assert timings is not None
    assert timings.tokens == expected_tokens
    assert timings.frames == expected_tokens * TOKEN_MEL_RATIO
    assert min(timings.llm_s, timings.flow_s, timings.vocoder_s) > 0


def test_wav_round_trip_keeps_every_sample(engine: LoadModelEngine) -> None:
    [result] = engine.synthesize_batch([_req("Hello world.")])
    buf = io.BytesIO()
    sf.write(buf, result.audio, result.sample_rate, format="WAV", subtype="PCM_16")
    decoded, rate = sf.read(io.BytesIO(buf.getvalue()), dtype="float32")
    assert rate == SAMPLE_RATE
    assert len(decoded) == len(result.audio)
    assert np.allclose(decoded, result.audio, atol=1 / 32768 + 1e-6)


@pytest.mark.parametrize(
    ("short", "long"),
    [
        ("你好。", "你好，今天我们来谈谈语音合成的成本。"),
        ("Hi.", "Hi, this sentence is clearly much longer than the first."),
    ],
)
def test_duration_grows_with_text_length(engine: LoadModelEngine, short: str, long: str) -> None:
    a, b = engine.synthesize_batch([_req(short), _req(long)])
    assert b.duration_s > 2 * a.duration_s


def test_speed_shortens_audio(engine: LoadModelEngine) -> None:
    normal, fast = engine.synthesize_batch([_req("语音合成测试句子。"), _req("语音合成测试句子。", speed=2.0)])
    assert fast.duration_s == pytest.approx(normal.duration_s / 2, abs=1 / TOKEN_RATE_HZ)


def test_batch_results_match_solo_lengths(engine: LoadModelEngine) -> None:
    texts = ["短句。", "This one is a medium length English sentence.", "这是一个比较长的中文句子，用来测试批处理。"]
    solo = [engine.synthesize_batch([_req(t)])[0] for t in texts]
    batched = engine.synthesize_batch([_req(t) for t in texts])
    assert [len(r.audio) for r in batched] == [len(r.audio) for r in solo]
    assert engine.last_timings is not None
    assert engine.last_timings.batch == 3


def test_same_text_in_one_batch_gives_same_audio(engine: LoadModelEngine) -> None:
    results = engine.synthesize_batch([_req("同一句话。")] * 4)
    assert len({len(r.audio) for r in results}) == 1
    for r in results[1:]:
        np.testing.assert_allclose(r.audio, results[0].audio, atol=1e-5)


def test_seed_makes_weights_reproducible() -> None:
    outs = []
    for seed in (1, 1, 2):
        eng = LoadModelEngine(preset="tiny", seed=seed)
        eng.load()
        outs.append(eng.synthesize_batch([_req("seed test")])[0].audio)
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.allclose(outs[0], outs[2])


def test_prompt_adds_work_but_not_output(engine: LoadModelEngine) -> None:
    text = "克隆测试。"
    [plain] = engine.synthesize_batch([_req(text)])
    prompt = VoicePrompt(audio=np.zeros(SAMPLE_RATE, dtype=np.float32), sample_rate=SAMPLE_RATE, text="参考")
    [cloned] = engine.synthesize_batch([_req(text, prompt=prompt)])
    assert len(cloned.audio) == len(plain.audio)
    assert engine.last_timings is not None
    # The flow decoder ran over the 1 s prompt (25 tokens -> 50 frames) plus the answer.
    assert engine.last_timings.frames == (TOKEN_RATE_HZ + engine.last_timings.tokens) * TOKEN_MEL_RATIO


def test_memory_report_on_cpu(engine: LoadModelEngine) -> None:
    report = engine.memory_report()
    assert report.rss_bytes > 50 * 2**20  # torch alone is larger than this
    assert report.gpu_allocated_bytes == 0
    assert report.gpu_total_bytes == 0
    engine.release()  # a no-op on CPU, and must not fail


def test_not_loaded_is_a_clear_error() -> None:
    with pytest.raises(EngineNotReadyError, match="load"):
        LoadModelEngine().synthesize_batch([_req("x")])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"preset": "huge"}, "full, tiny"), ({"device": "gpu0"}, "cuda:N"), ({"n_timesteps": 0}, "n_timesteps")],
)
def test_bad_constructor_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LoadModelEngine(**kwargs)  # type: ignore[arg-type]


def test_fp16_on_cpu_is_refused() -> None:
    with pytest.raises(EngineError, match="fp16 needs a CUDA"):
        LoadModelEngine(fp16=True).load()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_gpu_is_refused() -> None:
    with pytest.raises(EngineError, match="no CUDA GPU"):
        LoadModelEngine(device="cuda:0").load()


@pytest.mark.parametrize(("text", "match"), [("   ", "empty"), ("字" * 400, "caps a request")])
def test_bad_text(engine: LoadModelEngine, text: str, match: str) -> None:
    with pytest.raises(EngineError, match=match):
        engine.synthesize_batch([_req(text)])


def test_full_preset_has_cosyvoice3_sizes() -> None:
    from service.engines.loadmodel_audio import FlowDecoder, Vocoder
    from service.engines.loadmodel_llm import SpeechTokenLM

    full = PRESETS["full"]
    with torch.device("meta"):  # counts parameters without allocating 3 GB
        llm, flow, vocoder = SpeechTokenLM(full.llm), FlowDecoder(full.flow), Vocoder(full.vocoder)
    llm_params = sum(p.numel() for p in llm.parameters())
    flow_params = sum(p.numel() for p in flow.parameters())
    assert 0.45e9 < llm_params < 0.55e9  # Qwen2.5-0.5B + speech embedding and head
    assert 0.25e9 < flow_params < 0.40e9  # DiT dim 1024 x 22
    assert sum(p.numel() for p in vocoder.parameters()) > 5e6
    for preset in PRESETS.values():
        assert preset.vocoder.samples_per_frame * TOKEN_RATE_HZ * TOKEN_MEL_RATIO == SAMPLE_RATE


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_fp16_batch_and_memory_report() -> None:
    eng = LoadModelEngine(preset="tiny", device="cuda:0", fp16=True)
    eng.load()
    results = eng.synthesize_batch([_req("GPU test."), _req("第二句。")])
    assert all(np.isfinite(r.audio).all() and len(r.audio) > 0 for r in results)
    report = eng.memory_report()
    assert 0 < report.gpu_allocated_bytes <= report.gpu_reserved_bytes < report.gpu_total_bytes
    eng.release()
    eng.close()


def test_loadmodel_serves_over_http_without_a_prompt(tmp_path: Path) -> None:
    """Regression: the load model had no built-in voice, so `tts-bench load` over HTTP got 422 'unknown voice'."""
    import httpx

    from tests.service.conftest import live_server, make_settings

    settings = make_settings(
        engine="loadmodel", allow_loadmodel=True, loadmodel_preset="tiny", device="cpu", fp16=False, voices_dir=tmp_path
    )
    with live_server(settings, ready_timeout_s=120) as live:
        response = httpx.post(
            f"{live.url}/v1/audio/speech",
            json={"model": "loadmodel", "input": "load test sentence.", "response_format": "wav"},
            timeout=120,
        )
        assert response.status_code == 200, response.text
        audio, rate = sf.read(io.BytesIO(response.content))
        assert rate == 24000
        assert len(audio) > 0
