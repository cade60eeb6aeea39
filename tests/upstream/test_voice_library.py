"""OpenAI's voice names on cosyvoice3, which has no built-in speakers: the voice library seeded the way
`voicefleet-models voices push` seeds it (read_library + seed, here into the server's own local store) resolves
`alloy` through the OpenAI endpoint on upstream's real code and the tiny checkpoint; an unseeded name is 422 naming
`voice` and listing what exists."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from service.models_sync.voices import read_library, seed
from tests.service.conftest import LiveServer
from tests.upstream.conftest import ZERO_SHOT_TEXT, upstream_asset
from tests.upstream.test_modes_http import TEXT, _decode, _expected_samples


def test_seeded_openai_voice_names_resolve_on_cosyvoice3(cosy: LiveServer, tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.mkdir()
    shutil.copy(upstream_asset("zero_shot_prompt.wav"), library / "alloy.wav")
    (library / "alloy.txt").write_text(ZERO_SHOT_TEXT, encoding="utf-8")
    store = cosy.state.voices
    report = seed(store, read_library(library))
    try:
        assert report.saved == ["alloy"]
        assert "nova" in report.missing_openai
        with httpx.Client(base_url=cosy.url, timeout=180) as http:
            body = {"model": "tts-1", "input": TEXT, "voice": "alloy", "response_format": "wav", "stream": False}
            response = http.post("/v1/audio/speech", json=body)
            assert response.status_code == 200, response.text
            audio, rate = _decode(response.content)
            assert rate == 24000
            assert audio.size == _expected_samples(cosy, TEXT)
            assert "voicefleet:zs:alloy" in cosy.state.engine.cached_speakers()  # type: ignore[attr-defined]

            refused = http.post("/v1/audio/speech", json={**body, "voice": "nova"})
            assert refused.status_code == 422
            error = refused.json()["error"]
            assert error["param"] == "voice"
            assert "unknown voice 'nova'; known voices: alloy" in error["message"]
    finally:
        store.delete("alloy")
