"""A cloned voice for benchmarks of engines that need one (cosyvoice3 has no built-in speakers)."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import httpx

from benchmarks.common import BenchError
from benchmarks.http_driver import HttpTarget, auth_headers

BENCH_VOICE = "bench"
# upstream's transcript of asset/zero_shot_prompt.wav (its example.py)
ZERO_SHOT_TEXT = "希望你以后能够做的比我还好呦。"


def default_clip() -> tuple[Path, str]:
    """Upstream's own prompt clip and its transcript, when upstream's package is importable."""
    spec = importlib.util.find_spec("cosyvoice")
    if spec is None or spec.origin is None:
        raise BenchError("no --voice-clip given and upstream's cosyvoice package is not importable for its asset")
    clip = Path(spec.origin).resolve().parent.parent / "asset" / "zero_shot_prompt.wav"
    if not clip.is_file():
        raise BenchError(f"{clip} not found; pass --voice-clip")
    return clip, ZERO_SHOT_TEXT


def clone_voice(target: HttpTarget, clip: Path | None, transcript: str | None = None) -> HttpTarget:
    """Save `clip` as voice 'bench' on the target and return the target sending that voice."""
    if clip is None:
        clip, transcript = default_clip()
    data = {"name": BENCH_VOICE, **({"text": transcript} if transcript else {})}
    with clip.open("rb") as file:
        response = httpx.post(
            f"{target.url}/v1/voices",
            data=data,
            files={"audio": (clip.name, file.read(), "audio/wav")},
            headers=auth_headers(target.api_key),
            timeout=target.timeout_s,
        )
    if response.status_code not in (201, 409):
        raise BenchError(f"could not save the benchmark voice: HTTP {response.status_code} {response.text[:200]}")
    print(f"cloned voice '{BENCH_VOICE}' from {clip}")
    return dataclasses.replace(target, voice=BENCH_VOICE)
