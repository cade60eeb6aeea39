"""Durable audio storage against a real moto server on loopback, with real outages through a TCP proxy."""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from benchmarks.drills.outage_proxy import OutageProxy
from service.storage.audio_store import AudioStore, s3_client
from service.storage.keys import StorageKeyError, audio_key, audio_metadata, new_audio_id, text_hash
from service.storage.spool import Spool

BUCKET = "voicefleet-outputs"


def wav_bytes(seconds: float = 0.2, sample_rate: int = 24000) -> bytes:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    buffer = io.BytesIO()
    sf.write(buffer, 0.3 * np.sin(2 * np.pi * 220 * t), sample_rate, format="WAV")
    return buffer.getvalue()


@pytest.fixture
def proxy(moto_endpoint: str, aws_client: Callable[..., Any]) -> Iterator[OutageProxy]:
    aws_client("s3").create_bucket(Bucket=BUCKET)
    p = OutageProxy(moto_endpoint)
    yield p
    p.close()


def make_store(proxy: OutageProxy, spool_dir: Path, **kw: Any) -> AudioStore:
    return AudioStore(s3_client("us-east-1", proxy.url), BUCKET, Spool(spool_dir), retry_base_s=0.05, **kw)


def test_keys_follow_the_date_scheme_and_refuse_unsafe_parts() -> None:
    when = dt.datetime(2026, 3, 14, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert audio_key("abc123", "wav", when) == "audio/2026/03/15/abc123.wav"  # UTC date
    assert len(new_audio_id()) == 32
    for bad_id in ("../etc/passwd", "a/b", "", "x" * 65, "-leading"):
        with pytest.raises(StorageKeyError, match="audio id"):
            audio_key(bad_id, "wav")
    with pytest.raises(StorageKeyError, match="format 'exe'"):
        audio_key("abc", "exe")
    with pytest.raises(StorageKeyError, match="prefix"):
        audio_key("abc", "wav", prefix="../")


def test_metadata_is_ascii_and_hashes_the_text() -> None:
    meta = audio_metadata(engine="cosyvoice3", voice="小明", text="你好", duration_s=1.23456)
    assert meta["voice"] == "%E5%B0%8F%E6%98%8E"
    assert meta["text-sha256"] == text_hash("你好")
    assert meta["duration-s"] == "1.235"
    assert all(v.isascii() for v in meta.values())


def test_upload_with_metadata_and_a_presigned_url_that_returns_the_audio(
    proxy: OutageProxy, tmp_path: Path, aws_client: Callable[..., Any]
) -> None:
    store = make_store(proxy, tmp_path)
    body = wav_bytes()
    key = audio_key(new_audio_id(), "wav")
    meta = audio_metadata(engine="espeak", voice="en", text="hello", duration_s=0.2)
    stored = store.store(key, body, content_type="audio/wav", metadata=meta)
    assert not stored.pending
    head = aws_client("s3").head_object(Bucket=BUCKET, Key=key)
    assert head["Metadata"] == meta
    assert head["ContentType"] == "audio/wav"
    fetched = httpx.get(stored.url, timeout=10)
    assert fetched.status_code == 200
    audio, rate = sf.read(io.BytesIO(fetched.content))
    assert rate == 24000
    assert len(audio) == 4800


def test_cdn_domain_gives_a_cloudfront_url(proxy: OutageProxy, tmp_path: Path) -> None:
    store = make_store(proxy, tmp_path, cdn_domain="https://d111.cloudfront.net/")
    stored = store.store("audio/2026/01/02/x.wav", b"RIFF", content_type="audio/wav", metadata={})
    assert stored.url == "https://d111.cloudfront.net/audio/2026/01/02/x.wav"


def test_spool_is_atomic_and_cleans_interrupted_writes(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    entry = spool.put("audio/a.wav", b"data", content_type="audio/wav", metadata={"engine": "x"})
    (tmp_path / ".tmp-crashed").write_bytes(b"half")
    (tmp_path / ("f" * 64 + ".data")).write_bytes(b"no commit marker")
    reopened = Spool(tmp_path)
    assert [e.key for e in reopened.entries()] == ["audio/a.wav"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([entry.data_path.name, entry.meta_path.name])
    assert reopened.entries()[0].read() == b"data"
    assert reopened.size_bytes() == 4


def test_s3_outage_mid_load_loses_nothing_and_everything_lands_after_recovery(
    proxy: OutageProxy, tmp_path: Path, aws_client: Callable[..., Any]
) -> None:
    spool_sizes: list[int] = []
    store = make_store(proxy, tmp_path, on_spool_change=lambda n, _b: spool_sizes.append(n))
    store.start()
    keys = [audio_key(f"load{i}", "wav") for i in range(30)]
    results = {}

    def writer(chunk: list[str]) -> None:
        for key in chunk:
            results[key] = store.store(key, wav_bytes(0.05), content_type="audio/wav", metadata={"engine": "t"})
            if key == keys[10]:
                proxy.cut()
            if key == keys[25]:
                proxy.restore()

    writer(keys[:11])
    threads = [threading.Thread(target=writer, args=([k],)) for k in keys[11:25]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer(keys[25:])
    pending = [k for k, r in results.items() if r.pending]
    assert pending, "the outage should have spooled some audio"
    assert len(results) == 30
    assert store.flush(timeout_s=30) == 0
    store.stop()
    listed = aws_client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(keys)
    assert len(Spool(tmp_path)) == 0
    assert max(spool_sizes) >= 1
    assert spool_sizes[-1] == 0
    print(f"\nS3 outage: stored 30, spooled {len(pending)}, lost {30 - len(listed)}")


def test_spooled_audio_survives_a_restart_and_the_next_process_uploads_it(
    proxy: OutageProxy, tmp_path: Path, aws_client: Callable[..., Any]
) -> None:
    proxy.cut()
    first = make_store(proxy, tmp_path)
    keys = [audio_key(f"restart{i}", "wav") for i in range(3)]
    for key in keys:
        assert first.store(key, wav_bytes(0.05), content_type="audio/wav", metadata={}).pending
    del first  # the process dies before S3 comes back
    proxy.restore()
    second = make_store(proxy, tmp_path)
    second.start()  # the background thread picks up the old spool on its own
    deadline = time.monotonic() + 60  # a state, not a fixed time: CI machines can be slow
    while len(second.spool) and time.monotonic() < deadline:
        threading.Event().wait(0.05)
    second.stop()
    listed = aws_client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]
    assert sorted(o["Key"] for o in listed) == sorted(keys)
    body = aws_client("s3").get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    assert sf.read(io.BytesIO(body))[1] == 24000


def test_flush_gives_up_at_its_timeout_and_reports_what_is_left(proxy: OutageProxy, tmp_path: Path) -> None:
    proxy.cut()
    store = make_store(proxy, tmp_path)
    store.store(audio_key("stuck", "wav"), b"x", content_type="audio/wav", metadata={})
    assert store.flush(timeout_s=0.3) == 1
    assert len(store.spool) == 1
