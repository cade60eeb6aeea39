"""Time to synthesize a 100-character Mandarin sentence with espeak (median of N), and the response size per format.

Run: .venv/bin/python -m benchmarks.espeak_latency [--runs 50]
Prints figures only; nothing is asserted (timings belong here, not in tests).
"""

from __future__ import annotations

import argparse
import statistics
import time

from service.audio.encode import FORMATS, encode
from service.audio.loudness import normalize_loudness
from service.engines.base import SynthesisRequest
from service.engines.espeak import EspeakEngine
from service.text import prepare_text

# 100 characters of ordinary Mandarin prose (punctuation included), written for this benchmark.
SENTENCE = (
    "今天早上的天气非常好，阳光明媚，微风轻轻地吹过湖面。我们一家人决定去附近的公园散步，顺便看看刚刚盛开的樱花。"
    "公园里的人很多，有的在跑步，有的在下棋，还有孩子们在草地上放风筝，到处都充满了欢声笑语。这真是美好的一天。"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    text = SENTENCE[:100]
    engine = EspeakEngine()
    engine.load()
    request = SynthesisRequest(text=prepare_text(text, limit=200).text, language="zh")
    engine.synthesize_batch([request])  # warm-up (dictionary pages, first-call setup)
    timings = []
    for _ in range(args.runs):
        start = time.perf_counter()
        [result] = engine.synthesize_batch([request])
        timings.append(time.perf_counter() - start)
    audio = normalize_loudness(result.audio, result.sample_rate, -20.0)
    print(f"text: {len(text)} characters of Mandarin; audio: {result.duration_s:.2f} s at {result.sample_rate} Hz")
    print(
        f"espeak synthesis, median of {args.runs}: {statistics.median(timings) * 1000:.1f} ms "
        f"(min {min(timings) * 1000:.1f}, max {max(timings) * 1000:.1f}); "
        f"real-time factor {statistics.median(timings) / result.duration_s:.4f}"
    )
    for fmt in FORMATS:
        start = time.perf_counter()
        encoded = encode(audio, result.sample_rate, fmt)
        took = (time.perf_counter() - start) * 1000
        print(f"  {fmt:5s} {len(encoded.data):>8,d} bytes  ({encoded.sample_rate} Hz, encode {took:.1f} ms)")


if __name__ == "__main__":
    main()
