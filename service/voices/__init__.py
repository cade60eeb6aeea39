"""Named voices: built-in engine voices plus saved clone prompts (audio + transcript)."""

from service.voices.store import (
    LocalVoiceStore,
    SavedVoice,
    VoiceExistsError,
    VoiceNameError,
    VoiceNotFoundError,
    VoiceStore,
)

__all__ = ["LocalVoiceStore", "SavedVoice", "VoiceExistsError", "VoiceNameError", "VoiceNotFoundError", "VoiceStore"]
