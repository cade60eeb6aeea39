"""Regressions from the service audit (saved voices): a DELETE racing synthesis on the same voice name, and voice
names that only looked valid (a trailing newline). Real app on real uvicorn; the S3 store's read path is checked
against moto."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from service.voices.local import LocalVoiceStore
from service.voices.s3 import S3VoiceStore
from service.voices.store import VoiceNotFoundError
from tests.service.conftest import CLIP_TEXT, LiveServer, speech_clip

NAME = "race"


@pytest.fixture(scope="module")
def clip() -> bytes:
    return speech_clip(repeat=1)


def test_delete_racing_synthesis_never_gives_a_5xx(server: LiveServer, clip: bytes) -> None:
    """Creates, deletes and speech requests on one name at once: each answer is JSON or audio, never a 5xx."""
    with httpx.Client(base_url=server.url, timeout=60) as http:

        def create() -> httpx.Response:
            return http.post("/v1/voices", data={"name": NAME}, files={"audio": ("a.wav", clip, "audio/wav")})

        def delete() -> httpx.Response:
            return http.delete(f"/v1/voices/{NAME}")

        def probe() -> httpx.Response:
            # An unspoken language is refused after the voice is loaded, so the race is hit without synthesis.
            return http.post("/v1/audio/speech", json={"input": "好。", "voice": NAME, "language": "xx"})

        def speak() -> httpx.Response:
            return http.post("/v1/audio/speech", json={"input": "好。", "voice": NAME, "response_format": "wav"})

        calls: list[Callable[[], httpx.Response]] = [create, delete, *[probe] * 6, speak] * 12
        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(lambda call: call(), calls))
    statuses = sorted({r.status_code for r in responses})
    assert all(r.status_code < 500 for r in responses), statuses
    for response in responses:
        if response.status_code >= 400:
            error = response.json()["error"]
            assert error["param"] in ("voice", "name", "language"), error
        elif response.status_code == 200 and response.request.url.path == "/v1/audio/speech":
            assert response.headers["content-type"] == "audio/wav"


def test_load_prompt_after_delete_is_voice_not_found(tmp_path: Path) -> None:
    store = LocalVoiceStore(tmp_path)
    store.save(NAME, np.zeros(48000, dtype=np.float32), 16000, text=CLIP_TEXT, language="zh")
    (tmp_path / NAME / "prompt.flac").unlink()  # what a DELETE halfway through its rmtree leaves
    with pytest.raises(VoiceNotFoundError):
        store.load_prompt(NAME)


def test_s3_load_prompt_racing_delete_is_voice_not_found(moto_endpoint: str) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="voices")
    store = S3VoiceStore(client, "voices")
    store.save(NAME, np.zeros(48000, dtype=np.float32), 16000, text=CLIP_TEXT, language="zh")
    prompt_key = next(o["Key"] for o in client.list_objects_v2(Bucket="voices")["Contents"] if "prompt-" in o["Key"])
    client.delete_object(Bucket="voices", Key=prompt_key)  # delete removed the clip between our two reads
    with pytest.raises(VoiceNotFoundError):
        store.load_prompt(NAME)


@pytest.mark.parametrize("name", ["anna\n", "anna\r\n", "\nanna"])
def test_voice_name_with_a_newline_is_refused(client: httpx.Client, server: LiveServer, clip: bytes, name: str) -> None:
    response = client.post("/v1/voices", data={"name": name}, files={"audio": ("a.wav", clip, "audio/wav")})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["param"] == "name"
    assert not list(Path(server.settings.voices_dir).glob("*anna*"))  # nothing created on disk
