"""Tenants across keys, on the real app over a real uvicorn, voices in S3 (moto on loopback): each key's tenant owns
the voices it saves; another tenant cannot list, get, use or delete them unless shared; admin keys (TTS_ADMIN_KEY
and a tenant marked admin) see and delete all; ownership is in the store, so it survives a restart; voices saved
before tenants (no owner in voice.json) belong to tenant `default`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from service.voices.s3 import S3VoiceStore
from tests.service.conftest import CLIP_TEXT, LiveServer, live_server, make_settings, speech_clip

BUCKET = "voicefleet-outputs"
ACME = "k-acme-0123456789abcdef"
GLOBEX_NEW, GLOBEX_OLD = "k-globex-new-0123456789", "k-globex-old-0123456789"
OPS = "k-ops-0123456789abcdef"
ADMIN = "k-admin-0123456789abcdef"
DOCUMENT = json.dumps({"acme": ACME, "globex": [GLOBEX_NEW, GLOBEX_OLD], "ops": {"keys": [OPS], "admin": True}})


def _settings(moto_endpoint: str) -> Any:
    return make_settings(
        environment="prod",
        api_keys=DOCUMENT,
        admin_key=ADMIN,
        voices_bucket=BUCKET,
        s3_endpoint_url=moto_endpoint,
        s3_region="us-east-1",
    )


@pytest.fixture(scope="module")
def clip() -> bytes:
    return speech_clip()


@pytest.fixture
def keyed(moto_endpoint: str, aws_client: Callable[..., Any]) -> Iterator[LiveServer]:
    aws_client("s3").create_bucket(Bucket=BUCKET)
    with live_server(_settings(moto_endpoint)) as live:
        yield live


def _as(live: LiveServer, key: str) -> httpx.Client:
    return httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def _save(http: httpx.Client, name: str, clip: bytes, **extra: str) -> httpx.Response:
    data = {"name": name, "text": CLIP_TEXT, "language": "zh", **extra}
    return http.post("/v1/voices", data=data, files={"audio": ("a.wav", clip, "audio/wav")})


def _saved(http: httpx.Client) -> set[str]:
    return {v["name"] for v in http.get("/v1/voices").json()["voices"] if v["kind"] == "saved"}


def _speak(http: httpx.Client, voice: str) -> httpx.Response:
    return http.post(
        "/v1/audio/speech", json={"input": "你好", "voice": voice, "response_format": "wav", "stream": False}
    )


def test_a_tenant_cannot_see_use_or_delete_another_tenants_voice(keyed: LiveServer, clip: bytes) -> None:
    with _as(keyed, ACME) as acme, _as(keyed, GLOBEX_NEW) as globex:
        created = _save(acme, "anna", clip)
        assert created.status_code == 201, created.text
        assert (created.json()["owner"], created.json()["shared"]) == ("acme", False)
        assert _saved(acme) == {"anna"}
        assert _speak(acme, "anna").status_code == 200

        assert _saved(globex) == set()
        hidden = globex.get("/v1/voices/anna")
        assert (hidden.status_code, hidden.json()["error"]["code"]) == (404, "voice_not_found")
        refused = _speak(globex, "anna")
        assert (refused.status_code, refused.json()["error"]["param"]) == (422, "voice")
        assert "unknown voice 'anna'" in refused.json()["error"]["message"]
        assert "anna," not in refused.json()["error"]["message"].split("known voices:")[1]
        native = globex.post("/v1/tts", data={"text": "你好", "voice": "anna"})
        assert native.status_code == 422
        assert globex.delete("/v1/voices/anna").status_code == 404  # as if absent: nothing learned
        taken = _save(globex, "anna", clip)
        assert (taken.status_code, taken.json()["error"]["code"]) == (409, "voice_exists")  # one namespace
        assert acme.get("/v1/voices/anna").status_code == 200  # still acme's, untouched


def test_shared_voices_are_usable_by_all_and_deletable_by_the_owner_or_an_admin(keyed: LiveServer, clip: bytes) -> None:
    with _as(keyed, ACME) as acme, _as(keyed, GLOBEX_OLD) as globex, _as(keyed, OPS) as ops:
        assert _save(acme, "bella", clip, shared="true").json()["shared"] is True
        assert _save(globex, "gina", clip).status_code == 201  # the old key of a rotating pair works
        assert _saved(globex) == {"bella", "gina"}
        assert _speak(globex, "bella").status_code == 200
        speech = globex.post(
            "/v1/audio/speech",
            json={"input": "你好", "voice": {"id": "bella"}, "response_format": "wav", "stream": False},
        )
        assert speech.status_code == 200  # OpenAI's custom voice reference {"id": ...}
        malformed = globex.post("/v1/audio/speech", json={"input": "你好", "voice": {"name": "bella"}})
        assert (malformed.status_code, malformed.json()["error"]["param"]) == (422, "voice")
        not_owner = globex.delete("/v1/voices/bella")
        assert (not_owner.status_code, not_owner.json()["error"]["code"]) == (403, "voice_not_owned")
        assert "tenant 'acme'" in not_owner.json()["error"]["message"]

        assert _saved(ops) == {"bella", "gina"}  # a tenant marked admin sees all
        assert _speak(ops, "gina").status_code == 200
        assert ops.delete("/v1/voices/gina").status_code == 204
        assert _saved(globex) == {"bella"}
    with _as(keyed, ADMIN) as admin:
        assert _saved(admin) == {"bella"}
        assert admin.delete("/v1/voices/bella").status_code == 204


def test_ownership_is_stored_with_the_voice_and_survives_a_restart(
    moto_endpoint: str, aws_client: Callable[..., Any], clip: bytes
) -> None:
    aws_client("s3").create_bucket(Bucket=BUCKET)
    with live_server(_settings(moto_endpoint)) as first, _as(first, ACME) as acme:
        assert _save(acme, "anna", clip).status_code == 201
    record = json.loads(aws_client("s3").get_object(Bucket=BUCKET, Key="voices/anna/voice.json")["Body"].read())
    assert (record["owner"], record["shared"]) == ("acme", False)
    with live_server(_settings(moto_endpoint)) as second, _as(second, GLOBEX_NEW) as globex, _as(second, ACME) as acme:
        assert _saved(globex) == set()
        assert _saved(acme) == {"anna"}
        assert _speak(acme, "anna").status_code == 200


def test_voices_from_before_tenants_belong_to_tenant_default(
    moto_endpoint: str, aws_client: Callable[..., Any], clip: bytes
) -> None:
    """voice.json written before owners existed (no owner, no shared) is tenant `default`'s: the tenant of the old
    single-key format, so an upgraded fleet keeps serving them to the same key and to no new tenant."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    tone = (0.3 * np.sin(2 * np.pi * 180 * np.arange(48000) / 16000)).astype(np.float32)
    S3VoiceStore(s3, BUCKET).save("legacy", tone, 16000, text="hi", language="en")
    record = json.loads(s3.get_object(Bucket=BUCKET, Key="voices/legacy/voice.json")["Body"].read())
    head = s3.head_object(Bucket=BUCKET, Key="voices/legacy/voice.json")
    for field in ("owner", "shared"):
        del record[field]
    s3.put_object(Bucket=BUCKET, Key="voices/legacy/voice.json", Body=json.dumps(record), Metadata=head["Metadata"])
    old_key = "k-the-old-single-key-0123"
    document = json.dumps({"default": old_key, "acme": ACME})
    settings = make_settings(
        environment="prod",
        api_keys=document,
        voices_bucket=BUCKET,
        s3_endpoint_url=moto_endpoint,
        s3_region="us-east-1",
    )
    with live_server(settings) as live, _as(live, old_key) as default, _as(live, ACME) as acme:
        assert _saved(default) == {"legacy"}
        assert default.get("/v1/voices/legacy").json()["owner"] == "default"
        assert _saved(acme) == set()
