"""Several CosyVoice3 requests inside upstream's real model at once: each gets exactly its own audio.

The tiny checkpoint decodes deterministically (its sampling is argmax in effect, the flow and causal vocoder use
fixed noise), so a request run alongside others must produce the very samples it produces alone: any state shared
across requests (upstream's hop length, a vocoder cache, the LLM's per-uuid token lists) would change them.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from service.engines.base import SynthesisRequest, VoicePrompt
from service.engines.cosyvoice3 import CosyVoice3Engine

TEXTS = ("你好。", "八百标兵。", "北坡炮兵。", "今天很好。", "Hi there.", "我们走吧。", "早上好。", "谢谢你。")


def _requests(prompt: VoicePrompt, instruct: str | None = None) -> list[SynthesisRequest]:
    return [SynthesisRequest(text=t, prompt=prompt, instruct=instruct) for t in TEXTS]


def test_concurrent_whole_requests_each_get_their_own_audio(
    engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt
) -> None:
    requests = _requests(zero_shot_prompt)
    alone = [engine.synthesize_batch([r])[0].audio for r in requests]
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        together = list(pool.map(lambda r: engine.synthesize_batch([r])[0].audio, requests))
    for text, solo, concurrent in zip(TEXTS, alone, together, strict=True):
        assert np.array_equal(solo, concurrent), text


def test_concurrent_streams_each_get_their_own_audio(engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt) -> None:
    requests = [SynthesisRequest(text=t * 3, prompt=zero_shot_prompt) for t in TEXTS[:4]]  # several chunks each
    alone = [np.concatenate(list(engine.stream(r))) for r in requests]
    start = threading.Barrier(len(requests))

    def run(request: SynthesisRequest) -> Any:
        start.wait()
        return np.concatenate(list(engine.stream(request)))

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        together = list(pool.map(run, requests))
    for solo, concurrent in zip(alone, together, strict=True):
        assert np.array_equal(solo, concurrent)
    model = engine._model.model
    assert model.tts_speech_token_dict == {}
    assert model.token_hop_len == 25


def test_stream_steps_may_move_between_threads(engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt) -> None:
    """The service's worker pool may run each step of a stream on a different thread."""
    request = SynthesisRequest(text="八百标兵奔北坡。" * 2, prompt=zero_shot_prompt)
    alone = np.concatenate(list(engine.stream(request)))
    stream = engine.stream(request)
    pieces = []
    with ThreadPoolExecutor(max_workers=3) as pool:
        while True:
            piece = pool.submit(next, stream, None).result()
            if piece is None:
                break
            pieces.append(piece)
    assert np.array_equal(np.concatenate(pieces), alone)


@pytest.mark.parametrize("instruct", ["请用广东话表达。"])
def test_mixed_modes_at_once(engine: CosyVoice3Engine, zero_shot_prompt: VoicePrompt, instruct: str) -> None:
    requests = [*_requests(zero_shot_prompt)[:3], *_requests(zero_shot_prompt, instruct)[:3]]
    alone = [engine.synthesize_batch([r])[0].audio for r in requests]
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        together = list(pool.map(lambda r: engine.synthesize_batch([r])[0].audio, requests))
    assert all(np.array_equal(a, b) for a, b in zip(alone, together, strict=True))
