"""Named voices: built-in engine voices plus saved clone prompts (audio + transcript).

The store interface (store.py) and its implementations side by side: local.py (one directory) and s3.py (the outputs
bucket, shared by the fleet).
"""

from service.voices.local import LocalVoiceStore
from service.voices.s3 import S3VoiceStore
from service.voices.store import (
    SavedVoice,
    VoiceExistsError,
    VoiceNameError,
    VoiceNotFoundError,
    VoiceStore,
)

__all__ = [
    "LocalVoiceStore",
    "S3VoiceStore",
    "SavedVoice",
    "VoiceExistsError",
    "VoiceNameError",
    "VoiceNotFoundError",
    "VoiceStore",
]
