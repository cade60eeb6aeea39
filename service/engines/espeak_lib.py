"""ctypes binding to libespeak-ng from the espeakng-loader wheel: synchronous synthesis into memory.

The library keeps global state (one voice, one callback, one output buffer per process), so every call goes
through one process-wide lock, and the callback object lives as long as the module (a collected ctypes callback
crashes the process the next time the library calls it).
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from service.engines.base import EngineError

# speak_lib.h constants (espeak-ng 1.5x).
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
ESPEAK_PHONEMES = 0x100  # text between [[ ]] is phoneme mnemonics
_PARAM_RATE, _PARAM_VOLUME, _PARAM_PITCH, _PARAM_RANGE = 1, 2, 3, 4
# espeakRATE_MINIMUM / espeakRATE_MAXIMUM / espeakRATE_NORMAL in speak_lib.h (words per minute).
RATE_MIN, RATE_MAX, RATE_NORMAL = 80, 450, 175

_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass(frozen=True)
class Prosody:
    """espeak parameters: rate in words/min (80-450), volume 0-200 (100 normal), pitch and range 0-100 (50)."""

    rate: int = RATE_NORMAL
    volume: int = 100
    pitch: int = 50
    range: int = 50


class EspeakLibrary:
    """The one libespeak-ng instance of this process."""

    _instance: EspeakLibrary | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        import espeakng_loader  # the wheel only; imported here so `import service` stays light

        self.lock = threading.Lock()
        self._chunks: list[npt.NDArray[np.int16]] = []
        try:
            self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except OSError as exc:
            raise EngineError(f"cannot load libespeak-ng from espeakng-loader: {exc}") from exc
        data_path = str(espeakng_loader.get_data_path()).encode()
        self.sample_rate = int(self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, 0))
        if self.sample_rate <= 0:
            raise EngineError(f"espeak_Initialize failed (returned {self.sample_rate}) with data at {data_path!r}")
        self._callback = _Callback(self._collect)
        self._lib.espeak_SetSynthCallback(self._callback)

    @classmethod
    def get(cls) -> EspeakLibrary:
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = EspeakLibrary()
            return cls._instance

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None) -> int:
        if wav and count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0  # 0 = continue synthesis

    def synth(self, voice: str, text: str, prosody: Prosody, *, phonemes: bool = False) -> npt.NDArray[np.int16]:
        """Synthesize `text` with espeak voice spec `voice` (e.g. 'cmn', 'en-us+f2'); int16 mono samples."""
        with self.lock:
            if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise EngineError(f"espeak has no voice '{voice}'")
            for param, value in (
                (_PARAM_RATE, prosody.rate),
                (_PARAM_VOLUME, prosody.volume),
                (_PARAM_PITCH, prosody.pitch),
                (_PARAM_RANGE, prosody.range),
            ):
                self._lib.espeak_SetParameter(param, value, 0)
            self._chunks = []
            encoded = text.encode()
            flags = _ESPEAK_CHARS_UTF8 | (ESPEAK_PHONEMES if phonemes else 0)
            status = self._lib.espeak_Synth(encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, flags, None, None)
            self._lib.espeak_Synchronize()
            if status != 0:
                raise EngineError(f"espeak_Synth failed with status {status}")
            chunks, self._chunks = self._chunks, []
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
