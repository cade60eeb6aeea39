"""Durable audio and shared voices on the real app: real uvicorn, moto behind a proxy that really drops the network.

Every request with store=true (native API) gets its final key and URL; audio written during an S3 outage is
spooled, uploaded after recovery (in the background, or on drain at the latest), and survives a restart of the
real `tts-serve` process. Nothing is lost.
"""

from __future__ import annotations

import asyncio
import io
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import soundfile as sf

from benchmarks.drills.outage_proxy import OutageProxy
from benchmarks.drills.serve_process import TtsServe, event
from benchmarks.http_driver import Tally, send, speech
from service.settings import Settings
from tests.service.conftest import live_server, make_settings, speech_clip

BUCKET = "voicefleet-outputs-e2e"


@pytest.fixture
def proxy(moto_endpoint: str, aws_client: Callable[..., Any]) -> Iterator[OutageProxy]:
    aws_client("s3").create_bucket(Bucket=BUCKET)
    p = OutageProxy(moto_endpoint)
    yield p
    p.close()


def bucket_keys(aws_client: Callable[..., Any], prefix: str = "audio/") -> set[str]:
    listed = aws_client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"] for o in listed.get("Contents", [])}


def storing(proxy: OutageProxy, tmp_path: Path, **values: Any) -> Settings:
    values.setdefault("flush_timeout_s", 20)
    return make_settings(
        voices_dir=tmp_path / "voices",
        outputs_bucket=BUCKET,
        s3_endpoint_url=proxy.url,
        s3_region="us-east-1",
        spool_dir=tmp_path / "spool",
        spool_retry_base_s=0.05,
        spool_retry_max_s=0.5,
        **values,
    )


async def stored_burst(url: str, texts: list[str], result: Tally) -> None:
    """Native API, store=true: each answer is JSON with the audio's key and URL."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        fields = [{"text": t, "store": "true", "format": "wav"} for t in texts]
        await asyncio.gather(*(send(client, result, f, path="/v1/tts", form=True) for f in fields))


def wait_for(predicate: Callable[[], bool], timeout_s: float = 30) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_s3_outage_mid_load_every_audio_file_lands_in_the_bucket(
    proxy: OutageProxy, tmp_path: Path, aws_client: Callable[..., Any]
) -> None:
    result = Tally()
    with live_server(storing(proxy, tmp_path)) as live:
        asyncio.run(stored_burst(live.url, [f"之前第{i}句。" for i in range(8)], result))
        proxy.cut()
        asyncio.run(stored_burst(live.url, [f"中断第{i}句。" for i in range(12)], result))
        assert "voicefleet_spool_files 12.0" in httpx.get(f"{live.url}/metrics").text
        assert bucket_keys(aws_client) == {r.json()["key"] for r in result.responses[:8]}
        proxy.restore()
        # Recovery: the background retry uploads the spool while the service keeps running (no drain needed).
        store = live.state.audio_store
        assert store is not None
        assert wait_for(lambda: len(store.spool) == 0), "the spool was not uploaded after S3 came back"
        asyncio.run(stored_burst(live.url, [f"之后第{i}句。" for i in range(8)], result))
        assert "voicefleet_spool_files 0.0" in httpx.get(f"{live.url}/metrics").text
    bodies = [r.json() for r in result.responses]
    pending = [b for b in bodies if b["pending"]]
    print(f"\nS3 outage mid-load (HTTP): {result.describe()}; spooled during the outage {len(pending)}")
    assert result.served == 28
    assert result.lost == 0
    assert len(pending) == 12
    assert all(b["key"].startswith("audio/") and b["key"].endswith(".wav") for b in bodies)
    assert bucket_keys(aws_client) == {b["key"] for b in bodies}
    presigned = httpx.get(pending[0]["url"], timeout=10)
    assert presigned.status_code == 200  # the URL handed out while S3 was down works now
    audio, rate = sf.read(io.BytesIO(presigned.content))
    assert (rate, len(audio) > rate // 2) == (22050, True)
    head = aws_client("s3").head_object(Bucket=BUCKET, Key=pending[0]["key"])
    assert set(head["Metadata"]) == {"engine", "voice", "text-sha256", "duration-s"}
    assert head["Metadata"]["engine"] == "espeak"
    assert head["ContentType"] == "audio/wav"


def test_spooled_audio_survives_a_process_restart_during_the_outage(
    proxy: OutageProxy, tmp_path: Path, aws_client: Callable[..., Any]
) -> None:
    """Real `tts-serve` processes: the first is stopped (SIGTERM) while S3 is down, the next one uploads its spool."""
    env = {
        "TTS_OUTPUTS_BUCKET": BUCKET,
        "TTS_S3_ENDPOINT_URL": proxy.url,
        "TTS_S3_REGION": "us-east-1",
        "TTS_SPOOL_DIR": str(tmp_path / "spool"),
        "TTS_SPOOL_RETRY_BASE_S": "0.05",
        "TTS_SPOOL_RETRY_MAX_S": "0.5",
    }
    result = Tally()
    proxy.cut()
    first = TtsServe({**env, "TTS_FLUSH_TIMEOUT_S": "0.3"}, tmp_path)
    try:
        first.wait_ready()
        asyncio.run(stored_burst(first.url, [f"doomed instance {i}." for i in range(5)], result))
        first.proc.send_signal(signal.SIGTERM)
        code, events = first.wait_exit()
    finally:
        first.kill()
    assert code == 0, events[-10:]
    assert event(events, "drained")["unflushed"] == 5
    # The process is gone with S3 still down: the audio is on disk only.
    assert len(list((tmp_path / "spool").glob("*.json"))) == 5
    assert bucket_keys(aws_client) == set()
    proxy.restore()
    keys = {r.json()["key"] for r in result.responses}
    second = TtsServe(env, tmp_path)
    try:
        second.wait_ready()
        assert wait_for(lambda: bucket_keys(aws_client) == keys), "the next process did not upload the old spool"
        second.proc.send_signal(signal.SIGTERM)
        code, events = second.wait_exit()
    finally:
        second.kill()
    print(f"\nS3 outage across a process restart: {result.describe()}; uploaded by the next process {len(keys)}")
    assert code == 0
    assert event(events, "drained")["unflushed"] == 0
    assert result.served == 5
    assert result.lost == 0
    assert not list((tmp_path / "spool").glob("*.json"))


def test_server_default_store_on_the_openai_api_with_a_cdn_url(
    proxy: OutageProxy, tmp_path: Path, aws_client: Callable[..., Any]
) -> None:
    settings = storing(proxy, tmp_path, store_default=True, cdn_domain="d111111abcdef8.cloudfront.net")
    with live_server(settings) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        response = client.post("/v1/audio/speech", json=speech("stored by default."))
        assert response.status_code == 200
        assert response.headers["content-type"] == "audio/wav"  # OpenAI clients still get audio
        key = response.headers["x-audio-key"]
        assert response.headers["x-audio-url"] == f"https://d111111abcdef8.cloudfront.net/{key}"
        assert response.headers["x-audio-pending"] == "false"
        stored = aws_client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert stored == response.content
        native = client.post("/v1/tts", data={"text": "not this one.", "store": "false"})
        assert native.status_code == 200
        assert "x-audio-key" not in native.headers
        streamed = client.post("/v1/tts", data={"text": "streamed.", "store": "true", "stream": "true"})
        assert streamed.status_code == 422
        assert streamed.json()["error"]["param"] == "store"
        uploads = 'voicefleet_storage_uploads_total{result="uploaded"} 1.0'
        assert uploads in client.get("/metrics").text
    assert bucket_keys(aws_client) == {key}


def test_saved_voices_live_in_s3_and_every_instance_sees_them(
    proxy: OutageProxy, tmp_path: Path, aws_client: Callable[..., Any]
) -> None:
    settings = make_settings(
        voices_dir=tmp_path / "unused", voices_bucket=BUCKET, s3_endpoint_url=proxy.url, s3_region="us-east-1"
    )
    clip = {"audio": ("anna.wav", speech_clip(), "audio/wav")}
    with live_server(settings) as first:
        saved = httpx.post(f"{first.url}/v1/voices", data={"name": "anna", "text": "她说的话。"}, files=clip)
        assert saved.status_code == 201, saved.text
    assert bucket_keys(aws_client, "voices/anna/") >= {"voices/anna/voice.json"}
    assert not (tmp_path / "unused").exists()
    with live_server(settings) as second:  # another instance of the fleet
        listed = httpx.get(f"{second.url}/v1/voices").json()["voices"]
        assert {"name": "anna", "kind": "saved"}.items() <= next(v for v in listed if v["name"] == "anna").items()
        spoken = httpx.post(f"{second.url}/v1/audio/speech", json=speech("你好。", voice="anna"), timeout=30)
        assert spoken.status_code == 200
        assert httpx.delete(f"{second.url}/v1/voices/anna").status_code == 204
    assert bucket_keys(aws_client, "voices/") == set()
