"""The S3 voice store against moto on loopback: what one instance saves, another lists and clones from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from service.voices.s3 import S3VoiceStore
from service.voices.store import VoiceExistsError, VoiceNameError, VoiceNotFoundError, VoiceStore

BUCKET = "voicefleet-outputs"


@pytest.fixture
def stores(aws_client: Callable[..., Any]) -> tuple[S3VoiceStore, S3VoiceStore]:
    aws_client("s3").create_bucket(Bucket=BUCKET)
    return S3VoiceStore(aws_client("s3"), BUCKET), S3VoiceStore(aws_client("s3"), BUCKET)


def clip(seconds: float = 3.0, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate), dtype=np.float32) / rate
    return (0.4 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)


def test_a_voice_saved_on_one_instance_is_usable_on_another(stores: tuple[S3VoiceStore, S3VoiceStore]) -> None:
    one, two = stores
    store: VoiceStore = one  # satisfies the part-1 interface
    saved = store.save("anna-zh", clip(), 16000, text="你好，欢迎。", language="zh")
    assert saved.duration_s == 3.0
    assert [v.name for v in two.list()] == ["anna-zh"]
    prompt = two.load_prompt("anna-zh")
    assert prompt.sample_rate == 16000
    assert prompt.text == "你好，欢迎。"
    assert np.max(np.abs(prompt.audio - clip())) < 1e-3  # 16-bit FLAC round trip


def test_names_are_checked_and_duplicates_refused(stores: tuple[S3VoiceStore, S3VoiceStore]) -> None:
    one, two = stores
    with pytest.raises(VoiceNameError):
        one.save("../../etc", clip(), 16000, text="x", language=None)
    one.save("bob", clip(1), 16000, text="hi", language="en")
    with pytest.raises(VoiceExistsError, match="exists already"):
        two.save("bob", clip(1), 16000, text="hi", language="en")


def test_delete_and_not_found(stores: tuple[S3VoiceStore, S3VoiceStore], aws_client: Callable[..., Any]) -> None:
    one, two = stores
    one.save("carl", clip(1), 16000, text="hi", language="en")
    two.delete("carl")
    assert one.list() == []
    assert aws_client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
    with pytest.raises(VoiceNotFoundError):
        one.get("carl")
    with pytest.raises(VoiceNotFoundError):
        one.delete("carl")


def test_two_instances_saving_the_same_name_at_once_cannot_both_win(
    stores: tuple[S3VoiceStore, S3VoiceStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both pass the existence check; the conditional write of voice.json (If-None-Match: *) decides."""
    from botocore.exceptions import ClientError

    one, two = stores
    one.save("dora", clip(1), 16000, text="first", language="en")

    def not_there(**_kw: Any) -> Any:
        raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")

    monkeypatch.setattr(two.client, "head_object", not_there)
    with pytest.raises(VoiceExistsError, match="another instance"):
        two.save("dora", (clip(1) * 0.5).astype(np.float32), 16000, text="second", language="en")
    assert one.get("dora").text == "first"
    assert np.max(np.abs(one.load_prompt("dora").audio - clip(1))) < 1e-3
    keys = [o["Key"] for o in two.client.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 2  # the loser's clip was removed
