"""A seeded discrete-event simulation of one instance of the service at a steady arrival rate.

What it models (docs/cost.md "Queueing"): Poisson arrivals; request lengths lognormal from the average and p95
characters (capped at the service's text limit, as the service refuses longer text); `slots` admission slots
(service.max_concurrency), FIFO queue beyond them; the streams in flight share the GPU: with k in flight each stream
advances at 1/rtf(k) audio seconds per second (the profile's per-stream RTF). A stream's first audio comes
`first_chunk_s(k)` after it enters the engine, with k counted at that moment (streams joining later are not charged to
its first chunk: a small optimism, stated). Time to first audio (TTFA) = queue wait + first chunk; whole clip =
queue wait + time to its last audio.

Implementation: the streams in flight progress equally, so one "virtual time" V (audio seconds each stream has made)
advances at 1/rtf(k); a stream finishes when V reaches its start V plus its length: a heap of finish V's, O(log k)
per event. Arrivals and lengths are drawn with numpy in one go (seeded); the event loop is plain Python over ~2,000
requests. Results are cached per (profile, rate, slots, lengths), so the hourly search and every purchase option of a
GPU share them.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from voicefleet_config.capacity import ServiceTime

Z95 = 1.6448536269514722  # standard normal 95th percentile
REQUESTS = 1600  # simulated per run, the first WARMUP dropped (the queue starts empty)
WARMUP = 160
SEED = 20261201


@dataclass(frozen=True)
class Lengths:
    """Request lengths: lognormal with this mean and 95th percentile (characters), capped, in audio seconds."""

    avg_chars: float
    p95_chars: float
    max_chars: float
    chars_per_audio_s: float

    def sigma_mu(self) -> tuple[float, float]:
        """Lognormal (sigma, mu) with mean `avg_chars` and p95 `p95_chars` (p95 <= mean: no spread)."""
        ratio = self.p95_chars / self.avg_chars
        if ratio <= 1.0:
            return 0.0, math.log(self.avg_chars)
        # p95/mean = exp(Z95*s - s^2/2): the smaller root of s^2/2 - Z95*s + ln(ratio) = 0.
        disc = Z95**2 - 2 * math.log(ratio)
        sigma = Z95 - math.sqrt(disc) if disc > 0 else Z95
        return sigma, math.log(self.avg_chars) - sigma**2 / 2

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        sigma, mu = self.sigma_mu()
        chars = np.minimum(rng.lognormal(mu, sigma, n), self.max_chars)
        return np.maximum(chars, 1.0) / self.chars_per_audio_s


@dataclass(frozen=True)
class SimResult:
    rate_rps: float
    slots: int
    ttfa_p95_s: float
    clip_p95_s: float
    max_stream_rtf: float  # worst per-stream RTF any stream saw (k in flight at its start)
    mean_in_flight: float  # time-average streams in the engine (what the Auto Scaling metric reports)
    mean_queue: float
    utilization: float  # share of time at least one stream is in flight
    stable: bool  # the queue did not grow without bound over the run

    def meets(self, *, ttfa_s: float, rtf_max: float, clip_s: float | None) -> bool:
        ok = self.stable and self.ttfa_p95_s <= ttfa_s and self.max_stream_rtf < rtf_max
        return ok and (clip_s is None or self.clip_p95_s <= clip_s)


def simulate(st: ServiceTime, rate_rps: float, slots: int, lengths: Lengths, *, seed: int = SEED) -> SimResult:
    return _simulate(st, round(rate_rps, 6), slots, lengths, seed)


@lru_cache(maxsize=4096)
def _simulate(st: ServiceTime, rate: float, slots: int, lengths: Lengths, seed: int) -> SimResult:
    if rate <= 0:
        return SimResult(0.0, slots, st.first_chunk_s(1), 0.0, st.rtf(1), 0.0, 0.0, 0.0, True)
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1 / rate, REQUESTS)).tolist()
    sizes = lengths.draw(rng, REQUESTS).tolist()
    rtf = [0.0] + [st.rtf(k) for k in range(1, slots + 1)]
    first = [0.0] + [st.first_chunk_s(k) for k in range(1, slots + 1)]
    ttfa = [0.0] * REQUESTS
    clip = [0.0] * REQUESTS
    heap: list[tuple[float, int]] = []  # (finish virtual time, request)
    queue: deque[int] = deque()
    push, pop = heapq.heappush, heapq.heappop
    t = v = 0.0
    area_k = area_q = busy = 0.0
    end = arrivals[-1]
    snapshot: tuple[float, float, float, int] | None = None
    most = 0  # most streams in flight at once (queued ones enter only as others finish: never above this)
    # One loop over arrivals plus a final drain (until = inf): the engine runs to each arrival, finishing streams
    # and admitting queued ones on the way (inlined for speed: this is the hot loop of every estimate).
    for i in range(REQUESTS + 1):
        until = arrivals[i] if i < REQUESTS else math.inf
        while heap:
            k = len(heap)
            finish_t = t + (heap[0][0] - v) * rtf[k]
            if finish_t > until:
                break
            span = finish_t - t
            area_k += k * span
            area_q += len(queue) * span
            busy += span
            v, t = heap[0][0], finish_t
            done = pop(heap)[1]
            clip[done] = t - arrivals[done]
            if queue:
                j = queue.popleft()
                push(heap, (v + sizes[j], j))
                ttfa[j] = t - arrivals[j] + first[len(heap)]
        if i == REQUESTS:
            break
        span = until - t
        if heap:
            v += span / rtf[len(heap)]
            area_k += len(heap) * span
            busy += span
        area_q += len(queue) * span
        t = until
        if len(heap) < slots:
            push(heap, (v + sizes[i], i))
            ttfa[i] = first[len(heap)]
            if len(heap) > most:
                most = len(heap)
        else:
            queue.append(i)
        if i == REQUESTS - 1:
            snapshot = (area_k, area_q, busy, len(queue))
    assert snapshot is not None
    in_flight_area, queue_area, busy_time, backlog = snapshot
    worst = rtf[max(most, 1)]
    horizon = end - arrivals[WARMUP]
    kept_ttfa = np.array(ttfa[WARMUP:])
    kept_clip = np.array(clip[WARMUP:])
    # Unstable: the backlog at the last arrival is more than the slots could clear in a few service times.
    stable = backlog <= 4 * slots
    return SimResult(
        rate_rps=rate,
        slots=slots,
        ttfa_p95_s=float(np.percentile(kept_ttfa, 95)),
        clip_p95_s=float(np.percentile(kept_clip, 95)),
        max_stream_rtf=worst,
        mean_in_flight=in_flight_area / end,
        mean_queue=queue_area / end if horizon > 0 else 0.0,
        utilization=min(1.0, busy_time / end),
        stable=stable,
    )
