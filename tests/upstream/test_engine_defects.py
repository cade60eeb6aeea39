"""Defects 1-9 of the CosyVoice3-engine issue, each reproduced on upstream's real code and shown fixed in the adapter.

Engine level (no HTTP); the HTTP side is in test_modes_http.py. The tiny checkpoint's LLM is random: it may stop at
any token after its minimum length (2 speech tokens per text token), so tests assert on structure, not on audio.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Generator, Iterator
from typing import Any

import pytest
import soundfile as sf

from service.engines.base import EngineError, EngineOutOfMemoryError, SynthesisRequest, VoicePrompt
from service.engines.cosyvoice3 import CosyVoice3Engine, UpstreamThreadError, prompt_text
from service.text import prepare_text
from service.text.errors import TagError

SAMPLES_PER_TOKEN = 960  # 24 kHz / 25 tokens per second (token_mel_ratio 2 x hop 480)


def _request(prompt: VoicePrompt, text: str = "八百标兵奔北坡。", **kw: Any) -> SynthesisRequest:
    return SynthesisRequest(text=text, prompt=prompt, **kw)


# -- 1. the prompt is read three times -----------------------------------------------------------------------------


def test_1_upstream_cannot_read_one_in_memory_file_three_times(engine: CosyVoice3Engine, zero_shot_prompt: Any) -> None:
    buffer = io.BytesIO()
    sf.write(buffer, zero_shot_prompt.audio, zero_shot_prompt.sample_rate, format="WAV")
    buffer.seek(0)
    model = engine._model
    outputs = model.inference_zero_shot("你好。", prompt_text(zero_shot_prompt.text), buffer, text_frontend=False)
    with pytest.raises(Exception, match=r"Format not recognised|Error opening"):
        list(outputs)


def test_1_clone_from_a_clip_works(engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt) -> None:
    [result] = engine.synthesize_batch([_request(zero_shot_prompt)])
    assert result.sample_rate == 24000
    text_tokens = len(engine._model.frontend.tokenizer.encode("八百标兵奔北坡。"))
    # The tiny LLM never stops early: upstream's maximum of 20 speech tokens per text token, 960 samples each.
    assert result.audio.size == 20 * text_tokens * SAMPLES_PER_TOKEN


# -- 2. tags reach the model as written; numbers are normalized once -----------------------------------------------


@pytest.fixture
def tokenized(engine: CosyVoice3Engine, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text upstream's frontend tokenizes (spied; the real tokenizer still runs)."""
    frontend = engine._model.frontend
    seen: list[str] = []
    original = frontend._extract_text_token

    def spy(text: Any) -> Any:
        seen.append(text)
        return original(text)

    monkeypatch.setattr(frontend, "_extract_text_token", spy)
    return seen


def test_2_upstream_frontend_would_mangle_phones(engine: CosyVoice3Engine) -> None:
    mangled = engine._model.frontend.text_normalize("[M][AY0][N][UW1][T]", split=False, text_frontend=True)
    assert "zero" in mangled  # upstream's English branch spells the stress digits: [AYzero]


def test_2_phones_and_numbers_reach_the_tokenizer_once_normalized(
    engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt, tokenized: list[str]
) -> None:
    text = "It takes a [M][AY0][N][UW1][T], 3 times."
    prepared = prepare_text(text, limit=200, language="en", tag_vocabulary=engine.tag_vocabulary())
    engine.synthesize_batch([_request(zero_shot_prompt, prepared.text, language="en")])
    tts_texts = [t for t in tokenized if "[M]" in t]
    assert tts_texts == ["It takes a [M][AY0][N][UW1][T], three times."]
    ids = engine._model.frontend.tokenizer.encode("[AY0]")
    assert len(ids) == 1
    assert ids[0] > 151646


# -- 3. the accepted tags are the tokenizer's ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["几[ji3]", "[jǐ]", "[a1]", "[AY3]", "[note]"])
def test_3_tags_outside_the_vocabulary_are_refused(engine: CosyVoice3Engine, text: str) -> None:
    with pytest.raises(TagError, match="unknown pronunciation tag"):
        prepare_text(text, limit=200, tag_vocabulary=engine.tag_vocabulary())


@pytest.mark.parametrize("text", ["妈[m][a]来了", "电话[j][ǐ]予", "[breath]好[laughter]", "<strong>勇气</strong>"])
def test_3_tags_in_the_vocabulary_are_accepted(engine: CosyVoice3Engine, text: str) -> None:
    assert prepare_text(text, limit=200, tag_vocabulary=engine.tag_vocabulary()).text == text


def test_3_vocabulary_is_upstreams_special_tokens(engine: CosyVoice3Engine) -> None:
    specials = set(engine._model.frontend.tokenizer.special_tokens["additional_special_tokens"])
    vocabulary = engine.tag_vocabulary()
    assert vocabulary is not None
    assert vocabulary <= specials
    assert specials - vocabulary == {"<|im_start|>", "<|im_end|>", "<|endofprompt|>", "<|endofsystem|>"}


# -- 4. punctuation-only text: no audio is an input error, never an fp16 rebuild ------------------------------------


def test_4_punctuation_only_is_an_error_without_rebuild(
    engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt
) -> None:
    model = engine._model
    with pytest.raises(EngineError, match="nothing speakable"):
        engine.synthesize_batch([_request(zero_shot_prompt, "。！？……")])
    assert engine._model is model
    assert engine.synthesize_batch([_request(zero_shot_prompt)])[0].audio.size > 0


def test_4_fp16_on_cpu_is_refused_before_loading(tiny_dir: Any) -> None:
    with pytest.raises(EngineError, match="fp16 needs a CUDA device"):
        CosyVoice3Engine(tiny_dir, device="cpu", fp16=True).check()


# -- 5. failures on upstream's LLM thread become this request's error ----------------------------------------------


@pytest.fixture
def failing_llm(engine: CosyVoice3Engine, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Upstream's real LLM, made to fail after `after` tokens with `error` (on upstream's own LLM thread)."""
    llm = engine._model.model.llm
    original = llm.inference
    plan: dict[str, Any] = {"after": 30, "error": RuntimeError("injected LLM failure")}

    def inference(*args: Any, **kwargs: Any) -> Iterator[int]:
        for i, token in enumerate(original(*args, **kwargs)):
            if i == plan["after"]:
                raise plan["error"]
            yield token

    monkeypatch.setattr(llm, "inference", inference)
    return plan


def _within(seconds: float, fn: Any) -> Any:
    """fn() on a thread; fails the test if it has not finished in `seconds` (a hang is the defect)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")


LONG = "八百标兵奔北坡，炮兵并排北边跑。"  # 16 text tokens -> 320 speech tokens: the failure comes mid-way


def test_5_whole_request_raises_instead_of_truncating(
    engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt, failing_llm: dict[str, Any]
) -> None:
    with pytest.raises(UpstreamThreadError, match="injected LLM failure"):
        _within(120, lambda: engine.synthesize_batch([_request(zero_shot_prompt, LONG)]))


def test_5_stream_raises_instead_of_looping_forever(
    engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt, failing_llm: dict[str, Any]
) -> None:
    with pytest.raises(UpstreamThreadError, match="injected LLM failure"):
        _within(120, lambda: list(engine.stream(_request(zero_shot_prompt, LONG))))
    model = engine._model.model
    assert model.tts_speech_token_dict == {}
    assert model.llm_end_dict == {}
    assert model.hift_cache_dict == {}


def test_5_out_of_memory_on_the_llm_thread_is_mapped(
    engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt, failing_llm: dict[str, Any]
) -> None:
    failing_llm["error"] = RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    with pytest.raises(EngineOutOfMemoryError):
        _within(120, lambda: engine.synthesize_batch([_request(zero_shot_prompt, LONG)]))
    assert engine.healthy


def test_5_engine_serves_after_a_thread_failure(engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt) -> None:
    assert engine.healthy
    assert engine.synthesize_batch([_request(zero_shot_prompt)])[0].audio.size > 0


def test_5_closing_a_stream_early_stops_and_cleans_upstream_state(
    engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt
) -> None:
    stream = engine.stream(_request(zero_shot_prompt, LONG))
    assert isinstance(stream, Generator)
    first = next(stream)
    assert first.size > 0
    stream.close()
    model = engine._model.model
    assert model.tts_speech_token_dict == {}
    assert model.llm_end_dict == {}
    assert model.hift_cache_dict == {}


# -- 6. every stream starts with upstream's first hop (25 tokens), not the previous stream's ------------------------


def test_6_first_chunk_does_not_grow_from_stream_to_stream(
    engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = engine._model.model
    first_chunk_tokens: list[int] = []
    original = model.token2wav

    def spy(token: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("token_offset") == 0 and not kwargs.get("finalize"):
            first_chunk_tokens.append(int(token.shape[1]))
        return original(token, *args, **kwargs)

    monkeypatch.setattr(model, "token2wav", spy)
    for _ in range(3):
        list(engine.stream(_request(zero_shot_prompt, LONG)))
    assert len(first_chunk_tokens) == 3
    assert len(set(first_chunk_tokens)) == 1, first_chunk_tokens
    assert model.token_hop_len == 25  # outside any request: upstream's initial value, never grown


# -- 7. instructions map onto the trained list ---------------------------------------------------------------------


def test_7_every_mapped_instruction_is_in_upstreams_trained_list() -> None:
    from cosyvoice.utils.common import instruct_list

    from service.engines.cosyvoice3 import instruct_text
    from service.text.instruct import INSTRUCTIONS

    assert sorted(instruct_text(i.trained) for i in INSTRUCTIONS) == sorted(instruct_list)


@pytest.mark.parametrize(
    ("written", "trained"),
    [
        ("用四川话说这句话", "请用四川话表达。"),
        ("Say it in Sichuanese", "请用四川话表达。"),
        ("粤语", "请用广东话表达。"),
        ("speak slowly please", "请用尽可能慢地语速说一句话。"),
        ("开心一点", "请非常开心地说一句话。"),
        ("read it in a very soft voice", "Please say a sentence in a very soft voice."),
        ("You are a helpful assistant. 请用东北话表达。<|endofprompt|>", "请用东北话表达。"),
    ],
)
def test_7_what_users_write_maps_to_one_trained_instruction(
    engine: CosyVoice3Engine, written: str, trained: str
) -> None:
    assert engine.instruction(written) == trained


@pytest.mark.parametrize("written", ["用火星语说", "sing it", "粤语，慢一点"])
def test_7_unmappable_instructions_are_refused_naming_the_field(engine: CosyVoice3Engine, written: str) -> None:
    from service.text.instruct import InstructError

    with pytest.raises(InstructError) as caught:
        engine.instruction(written, field="instructions")
    assert caught.value.field == "instructions"


def test_7_instruct2_runs_with_the_trained_instruction(engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt) -> None:
    request = _request(zero_shot_prompt, "好少咯。", instruct=engine.instruction("用广东话说"))
    assert engine.synthesize_batch([request])[0].audio.size > 0


# -- 8. devices ----------------------------------------------------------------------------------------------------


def test_8_cpu_engine_hides_cuda_from_upstream(engine: CosyVoice3Engine) -> None:
    import os

    import torch

    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""
    assert torch.cuda.is_available() is False
    assert str(engine._model.model.device) == "cpu"


def test_8_speech_tokenizer_gets_the_service_gpu(
    engine: CosyVoice3Engine, tiny_dir: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnxruntime

    from service.engines.cosyvoice3_upstream import select_speech_tokenizer_device

    created: list[Any] = []
    real = onnxruntime.InferenceSession

    def spy(path: str, sess_options: Any = None, providers: Any = None, **kw: Any) -> Any:
        created.append(providers)
        return real(path, sess_options=sess_options, providers=["CPUExecutionProvider"])  # no GPU on this machine

    monkeypatch.setattr(onnxruntime, "InferenceSession", spy)

    class Frontend:
        speech_tokenizer_session: Any = None

    frontend = Frontend()
    select_speech_tokenizer_device(frontend, tiny_dir, 1)
    assert created == [[("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]]
    assert frontend.speech_tokenizer_session is not None


# -- 9. hygiene: no user text in logs, no progress bars, a bounded speaker cache --------------------------------------


def test_9_no_user_text_in_logs_and_no_progress_bars(
    engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    secret = "机密合同编号甲乙丙"
    with caplog.at_level(logging.DEBUG):
        engine.synthesize_batch([_request(zero_shot_prompt, f"{secret}。")])
    out, err = capfd.readouterr()
    assert secret not in caplog.text
    assert secret not in out + err
    assert "it/s" not in err
    assert "%|" not in err


def test_9_speaker_cache_is_bounded_and_forgets_deleted_voices(tiny_dir: Any, zero_shot_prompt: VoicePrompt) -> None:
    small = CosyVoice3Engine(tiny_dir, device="cpu", speaker_cache=2)
    small.load()
    for name in ("a", "b", "c"):
        prompt = VoicePrompt(zero_shot_prompt.audio, zero_shot_prompt.sample_rate, zero_shot_prompt.text, name)
        small.synthesize_batch([_request(prompt, "你好。")])
    assert small.cached_speakers() == ("voicefleet:zs:b", "voicefleet:zs:c")
    assert set(small._model.frontend.spk2info) == {"voicefleet:zs:b", "voicefleet:zs:c"}
    small.forget_voice("c")
    assert set(small._model.frontend.spk2info) == {"voicefleet:zs:b"}


def test_saved_voice_registers_its_speaker_once(
    engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = engine._model.add_zero_shot_spk

    def spy(*args: Any) -> Any:
        calls.append(args[2])
        return original(*args)

    monkeypatch.setattr(engine._model, "add_zero_shot_spk", spy)
    prompt = VoicePrompt(zero_shot_prompt.audio, zero_shot_prompt.sample_rate, zero_shot_prompt.text, "once")
    engine.synthesize_batch([_request(prompt, "你好。"), _request(prompt, "再见。")])
    assert calls == ["voicefleet:zs:once"]


def test_no_prompt_is_an_error(engine: CosyVoice3Engine) -> None:
    with pytest.raises(EngineError, match="needs a voice"):
        engine.synthesize_batch([SynthesisRequest(text="你好。")])


def test_speed_scales_whole_audio(engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt) -> None:
    import torch

    def run(speed: float) -> int:
        torch.manual_seed(7)  # upstream samples speech tokens with torch's global generator
        return int(engine.synthesize_batch([_request(zero_shot_prompt, "你好。", speed=speed)])[0].audio.size)

    normal, fast = run(1.0), run(2.0)
    # Speed interpolates the mel frames (upstream token2wav): the same tokens at speed 2 give half the frames.
    assert fast == normal // 2


def test_sentences_are_split_as_upstream_does_and_all_audio_kept(
    engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt, monkeypatch: pytest.MonkeyPatch,
    tokenized: list[str],
) -> None:  # fmt: skip
    from service.engines import cosyvoice3_upstream

    # Upstream splits Chinese at 80 characters; smaller limits make two short segments (and a fast test).
    monkeypatch.setitem(cosyvoice3_upstream._SPLIT, "token_max_n", 8)
    monkeypatch.setitem(cosyvoice3_upstream._SPLIT, "token_min_n", 4)
    monkeypatch.setitem(cosyvoice3_upstream._SPLIT, "merge_len", 2)
    [result] = engine.synthesize_batch([_request(zero_shot_prompt, "八百标兵奔北坡。炮兵并排北边跑。")])
    segments = [t for t in tokenized if "兵" in t]
    assert segments == ["八百标兵奔北坡。", "炮兵并排北边跑。"]
    encode = engine._model.frontend.tokenizer.encode
    assert result.audio.size == sum(20 * len(encode(s)) * SAMPLES_PER_TOKEN for s in segments)


@pytest.mark.parametrize("option", ["load_trt", "load_vllm"])
def test_gpu_accelerations_are_refused_on_a_cpu_in_one_line(tiny_dir: Any, option: str) -> None:
    with pytest.raises(EngineError, match=rf"TTS_{option.upper()} needs a CUDA device"):
        CosyVoice3Engine(tiny_dir, device="cpu", **{option: True}).check()


def test_vllm_missing_from_the_runtime_is_one_clear_line() -> None:
    from service.engines.cosyvoice3_upstream import register_vllm_model

    with pytest.raises(EngineError, match="TTS_LOAD_VLLM needs vLLM"):
        register_vllm_model()  # the instance runtime lock carries no vLLM (upstream pins it beside another torch)
