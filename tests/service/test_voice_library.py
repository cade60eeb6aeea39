"""OpenAI's voice names on every engine. espeak: each name of the installed openai SDK's `Voice` literal is a
built-in voice (checked against the SDK itself and over HTTP with the SDK as client). Engines without built-in
speakers (cosyvoice3): the voice library seeded by `voicefleet-models voices push` into the voice store (moto S3),
shared and admin-owned, resolves the names for every tenant; an unseeded name is 422 naming `voice` and listing
what exists. Here the engine is a clone-only fake that records the prompt it receives; the same resolution on
upstream's real code and the tiny CosyVoice3 checkpoint is tests/upstream/test_voice_library.py."""

from __future__ import annotations

import json
import typing
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.audio import speech_create_params
from typer.testing import CliRunner

from service.engines.base import SynthesisRequest, SynthesisResult
from service.engines.espeak import BUILTIN_VARIANTS
from service.engines.registry import OPENAI_VOICE_NAMES
from service.models_sync.cli import app
from service.voices.s3 import S3VoiceStore
from tests.service.conftest import CLIP_TEXT, LiveServer, live_server, make_settings, speech_clip
from tests.service.fakes.batch_engine import BatchEngine

BUCKET = "voicefleet-outputs"
TENANT_KEY = "k-acme-0123456789abcdef"
ADMIN_KEY = "k-admin-0123456789abcdef"


def _sdk_voice_names() -> set[str]:
    """The names in the installed openai package's `Voice` type (Union[str, Literal[...], VoiceID])."""
    names: set[str] = set()
    for arm in typing.get_args(speech_create_params.Voice):
        if typing.get_origin(arm) is typing.Literal:
            names.update(typing.get_args(arm))
    assert names, "the openai SDK no longer lists voice names as a Literal"
    return names


def test_our_list_is_the_sdks_and_espeak_has_every_name() -> None:
    assert set(OPENAI_VOICE_NAMES) == _sdk_voice_names()
    assert set(OPENAI_VOICE_NAMES) <= set(BUILTIN_VARIANTS)


def test_every_sdk_voice_name_speaks_on_espeak(tmp_path: Path) -> None:
    with live_server(make_settings(engine="espeak", voices_dir=tmp_path)) as live:
        client = openai.OpenAI(base_url=f"{live.url}/v1", api_key="unused", max_retries=0)
        for name in sorted(_sdk_voice_names()):
            audio = client.audio.speech.create(model="tts-1", voice=name, input="Hello.", response_format="wav")
            assert audio.read()[:4] == b"RIFF", name


class CloneOnly(BatchEngine):
    """No built-in speakers, like cosyvoice3: every request needs a prompt; records the prompt names it gets."""

    builtin_voices: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__(batching=False)
        self.prompts: list[str | None] = []

    def synthesize_batch(self, requests: Sequence[SynthesisRequest]) -> list[SynthesisResult]:
        self.prompts += [r.prompt.name if r.prompt is not None else None for r in requests]
        return super().synthesize_batch(requests)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    source = tmp_path / "library"
    source.mkdir()
    clip = speech_clip()
    for name in ("alloy", "nova"):
        (source / f"{name}.wav").write_bytes(clip)
        (source / f"{name}.txt").write_text(CLIP_TEXT + "\n", encoding="utf-8")
    return source


@pytest.fixture
def bucket(moto_endpoint: str, aws_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)  # the CLI's boto3 clients talk to moto
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return s3


def _push(*args: str) -> Any:
    return CliRunner().invoke(app, ["voices", "push", "--bucket", BUCKET, *args])


def test_push_seeds_shared_admin_voices_and_a_rerun_changes_nothing(library: Path, bucket: Any) -> None:
    first = _push("--from", str(library))
    assert first.exit_code == 0, first.output
    assert "saved 2, replaced 0, unchanged 0" in first.output
    assert "ash" in first.output.split("not in the library")[1]  # says which OpenAI names still get 422
    store = S3VoiceStore(bucket, BUCKET)
    alloy = store.get("alloy")
    assert (alloy.owner, alloy.shared, alloy.text) == ("admin", True, CLIP_TEXT)
    again = _push("--from", str(library))
    assert again.exit_code == 0
    assert "saved 0, replaced 0, unchanged 2" in again.output
    (library / "nova.txt").write_text("a different transcript", encoding="utf-8")
    conflict = _push("--from", str(library))
    assert conflict.exit_code == 1
    assert "different voice(s) named nova" in conflict.output
    assert store.get("nova").text == CLIP_TEXT
    replaced = _push("--from", str(library), "--replace")
    assert replaced.exit_code == 0
    assert "replaced 1" in replaced.output
    assert store.get("nova").text == "a different transcript"


def test_push_by_env_needs_only_the_outputs_bucket_output(
    library: Path, bucket: Any, aws_client: Callable[..., Any]
) -> None:
    """`--env`: the bucket is the stack's OutputsBucket output; the models bucket output is not this command's
    business (a stack without it still seeds), and a stack without OutputsBucket is refused naming that output."""
    outputs_only = {  # the bucket itself exists already (the fixture's)
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"OutputsBucket": {"Value": BUCKET}},
    }
    cfn = aws_client("cloudformation")
    cfn.create_stack(StackName="VoiceFleet-dev", TemplateBody=json.dumps(outputs_only))
    seeded = CliRunner().invoke(app, ["voices", "push", "--env", "dev", "--from", str(library)])
    assert seeded.exit_code == 0, seeded.output
    assert S3VoiceStore(bucket, BUCKET).get("alloy").shared
    models_only = {
        "Resources": {"Models": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "voicefleet-prod-models"}}},
        "Outputs": {"ModelsBucket": {"Value": {"Ref": "Models"}}},
    }
    cfn.create_stack(StackName="VoiceFleet-prod", TemplateBody=json.dumps(models_only))
    refused = CliRunner().invoke(app, ["voices", "push", "--env", "prod", "--from", str(library)])
    assert refused.exit_code == 1
    assert "the 'prod' environment's stack has no 'OutputsBucket' output; pass --bucket" in refused.output


def test_a_bad_clip_stops_the_push_before_anything_is_written(library: Path, bucket: Any, tmp_path: Path) -> None:
    (library / "echo.wav").write_bytes(speech_clip()[: 44 + 22050 * 2])  # one second: too short to clone
    result = _push("--from", str(library))
    assert result.exit_code == 2
    assert "echo.wav lasts 1.00 s; at least 3 s is needed" in result.output
    assert S3VoiceStore(bucket, BUCKET).list() == []
    (library / "echo.wav").unlink()
    (library / "Bad Name.wav").write_bytes(speech_clip())
    assert _push("--from", str(library)).exit_code == 2
    assert _push("--from", str(tmp_path / "nowhere")).exit_code == 2


@pytest.fixture
def clone_server(
    library: Path, bucket: Any, moto_endpoint: str, tmp_path: Path
) -> Iterator[tuple[LiveServer, CloneOnly]]:
    assert _push("--from", str(library)).exit_code == 0
    settings = make_settings(
        environment="prod",
        api_keys=f'{{"acme": "{TENANT_KEY}"}}',
        admin_key=ADMIN_KEY,
        voices_bucket=BUCKET,
        s3_endpoint_url=moto_endpoint,
        s3_region="us-east-1",
    )
    engine = CloneOnly()
    with live_server(settings, engine=engine) as live:
        yield live, engine


def test_seeded_names_resolve_for_every_tenant_on_an_engine_without_builtin_voices(
    clone_server: tuple[LiveServer, CloneOnly],
) -> None:
    live, engine = clone_server
    client = openai.OpenAI(base_url=f"{live.url}/v1", api_key=TENANT_KEY, max_retries=0)
    audio = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello there.", response_format="wav")
    assert audio.read()[:4] == b"RIFF"
    assert engine.prompts == ["alloy"]  # the seeded clip reached the engine as the prompt

    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.audio.speech.create(model="tts-1", voice="ash", input="Hello.", response_format="wav")
    error = refused.value.body
    assert isinstance(error, dict)
    assert error["param"] == "voice"
    assert "unknown voice 'ash'; known voices: alloy, nova" in error["message"]

    headers = {"Authorization": f"Bearer {TENANT_KEY}"}
    listed = httpx.get(f"{live.url}/v1/voices", headers=headers).json()["voices"]
    assert {(v["name"], v["owner"], v["shared"]) for v in listed} == {("alloy", "admin", True), ("nova", "admin", True)}
    assert httpx.delete(f"{live.url}/v1/voices/alloy", headers=headers).status_code == 403  # usable, not deletable
