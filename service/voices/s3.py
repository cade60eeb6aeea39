"""Saved voices in S3, so every instance of the fleet shares them (the VoiceStore interface of service/voices/store.py).

Layout under the outputs bucket: `voices/<name>/prompt-<random>.flac` + `voices/<name>/voice.json`, the JSON naming
its clip in its metadata. The JSON is written last with `If-None-Match: *` (S3 conditional write), so it is the
commit marker: two instances saving the same name at once cannot both win, and the loser's clip (under its own
random key) never replaces the winner's.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import asdict
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from service.engines.base import Audio, VoicePrompt
from service.tenants.keyring import LEGACY_TENANT
from service.voices.store import (
    PromptLoader,
    SavedVoice,
    VoiceExistsError,
    VoiceNotFoundError,
    check_name,
    prompt_flac,
    read_prompt,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = {"404", "NoSuchKey", "NotFound"}
_PRECONDITION = {"412", "PreconditionFailed", "ConditionalRequestConflict"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3VoiceStore(PromptLoader):
    """Voices under s3://bucket/prefix<name>/."""

    def __init__(self, client: S3Client, bucket: str, prefix: str = "voices/") -> None:
        if not prefix.endswith("/") or prefix.startswith("/"):
            raise ValueError(f"voices prefix '{prefix}' must be relative and end with '/' (e.g. 'voices/')")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _key(self, name: str, leaf: str) -> str:
        return f"{self.prefix}{check_name(name)}/{leaf}"

    def _read(self, key: str, name: str) -> tuple[bytes, dict[str, str]]:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise VoiceNotFoundError(name) from exc
            raise
        return response["Body"].read(), response.get("Metadata", {})

    def _get(self, name: str) -> tuple[SavedVoice, str]:
        body, metadata = self._read(self._key(name, "voice.json"), name)
        prompt_key = metadata.get("prompt-key", "")
        if not prompt_key.startswith(self._key(name, "prompt-")):
            raise VoiceNotFoundError(name)  # not written by this store: refuse to follow it anywhere else
        return SavedVoice(**json.loads(body)), prompt_key

    def list(self) -> list[SavedVoice]:
        voices: list[SavedVoice] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if not key.endswith("/voice.json"):
                    continue
                name = key[len(self.prefix) : -len("/voice.json")]
                try:
                    voices.append(self.get(name))
                except (VoiceNotFoundError, ValueError, TypeError):
                    continue  # deleted meanwhile, or a damaged sidecar: hide that one voice
        return sorted(voices, key=lambda v: v.name)

    def get(self, name: str) -> SavedVoice:
        return self._get(name)[0]

    def load(self, name: str) -> tuple[SavedVoice, VoicePrompt]:
        voice, prompt_key = self._get(name)
        return voice, read_prompt(voice, io.BytesIO(self._read(prompt_key, name)[0]))

    def save(
        self,
        name: str,
        audio: Audio,
        sample_rate: int,
        *,
        text: str,
        language: str | None,
        owner: str = LEGACY_TENANT,
        shared: bool = False,
    ) -> SavedVoice:
        meta_key = self._key(name, "voice.json")
        try:
            self.client.head_object(Bucket=self.bucket, Key=meta_key)
            raise VoiceExistsError(f"voice '{name}' exists already; delete it first (DELETE /v1/voices/{name})")
        except ClientError as exc:
            if _code(exc) not in _MISSING:
                raise
        voice = SavedVoice.new(name, audio, sample_rate, text=text, language=language, owner=owner, shared=shared)
        flac = prompt_flac(audio, sample_rate)
        prompt_key = self._key(name, f"prompt-{uuid.uuid4().hex}.flac")
        self.client.put_object(Bucket=self.bucket, Key=prompt_key, Body=flac, ContentType="audio/flac")
        body = json.dumps(asdict(voice), ensure_ascii=False).encode("utf-8")
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=meta_key,
                Body=body,
                ContentType="application/json",
                Metadata={"prompt-key": prompt_key},
                IfNoneMatch="*",
            )
        except ClientError as exc:
            self.client.delete_object(Bucket=self.bucket, Key=prompt_key)
            if _code(exc) in _PRECONDITION:
                raise VoiceExistsError(f"voice '{name}' was saved by another instance just now") from exc
            raise
        return voice

    def delete(self, name: str) -> None:
        _voice, prompt_key = self._get(name)  # VoiceNotFoundError when absent
        self.client.delete_object(Bucket=self.bucket, Key=self._key(name, "voice.json"))
        self.client.delete_object(Bucket=self.bucket, Key=prompt_key)
