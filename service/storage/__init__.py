"""Durable storage of finished audio: to S3, spooled locally while S3 fails (saved voices: service/voices/)."""

from service.storage.audio_store import AudioStore, StoredAudio, s3_client
from service.storage.keys import CONTENT_TYPES, StorageKeyError, audio_key, audio_metadata, new_audio_id, text_hash
from service.storage.spool import Spool

__all__ = [
    "CONTENT_TYPES",
    "AudioStore",
    "Spool",
    "StorageKeyError",
    "StoredAudio",
    "audio_key",
    "audio_metadata",
    "new_audio_id",
    "s3_client",
    "text_hash",
]
