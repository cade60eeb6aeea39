"""The queue simulation and the hourly plan: seeded, checked against closed forms, and the fleet the bill follows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cost.capacity.plan import Slo, hourly_shape, plan, smallest_fleet
from cost.capacity.simulate import Lengths, simulate
from cost.errors import CostInputError
from voicefleet_config.capacity import ServiceTime

# Processor sharing: per-stream RTF = k x 0.3, a constant 0.1 s first chunk.
SHARED = ServiceTime(
    gpu="A10G",
    engine_option="pytorch",
    precision="fp16",
    basis="measured",
    verified=False,
    source="test",
    date="2026-12-01",
    device="test",
    points=((1, 0.1, 0.3), (2, 0.1, 0.6)),
)
# Every request the same length (p95 = mean: no spread), 10 s of audio.
FIXED = Lengths(avg_chars=45.0, p95_chars=45.0, max_chars=200.0, chars_per_audio_s=4.5)
LOGNORMAL = Lengths(avg_chars=100.0, p95_chars=200.0, max_chars=10_000.0, chars_per_audio_s=4.5)


def test_lognormal_lengths_have_the_configured_mean_and_p95() -> None:
    chars = LOGNORMAL.draw(np.random.default_rng(1), 200_000) * LOGNORMAL.chars_per_audio_s
    assert chars.mean() == pytest.approx(100, rel=0.02)
    assert np.percentile(chars, 95) == pytest.approx(200, rel=0.02)
    capped = Lengths(100.0, 200.0, 200.0, 4.5).draw(np.random.default_rng(1), 10_000)
    assert capped.max() * 4.5 == pytest.approx(200)  # the service refuses longer text


def test_the_simulation_is_seeded() -> None:
    a = simulate(SHARED, 0.1, 2, LOGNORMAL)
    assert simulate(SHARED, 0.1, 2, LOGNORMAL) == a
    assert simulate(SHARED, 0.1, 2, LOGNORMAL, seed=7) != a


def test_single_slot_matches_pollaczek_khinchine() -> None:
    """One slot is an M/D/1 queue: mean queue length = rho^2 / (2 (1 - rho)) for fixed service times (rho as the
    seeded arrivals realised it: the busy share of the run)."""
    service_s = 10.0 * 0.3
    result = simulate(SHARED, 0.5 / service_s, 1, FIXED)  # rho = 0.5 offered
    rho = result.utilization
    assert rho == pytest.approx(0.5, abs=0.05)
    assert result.mean_queue == pytest.approx(rho**2 / (2 * (1 - rho)), rel=0.1)


def test_unlimited_slots_match_processor_sharing() -> None:
    """Many slots: M/G/1 processor sharing, mean number in system rho / (1 - rho) whatever the length law."""
    result = simulate(SHARED, 0.5 / (10.0 * 0.3), 64, FIXED)
    rho = result.utilization
    assert result.mean_queue == 0
    assert result.mean_in_flight == pytest.approx(rho / (1 - rho), rel=0.15)


def test_overload_is_unstable_and_never_meets_the_slo() -> None:
    result = simulate(SHARED, 1.0, 2, FIXED)  # 10 audio s/s offered, 3.3 made
    assert not result.stable
    assert not result.meets(ttfa_s=60, rtf_max=1.0, clip_s=None)


def test_smallest_fleet_is_the_smallest() -> None:
    slo = Slo(ttfa_s=2.0, rtf_max=1.0)
    n, result = smallest_fleet(SHARED, 0.6, 2, LOGNORMAL, slo) or (0, None)
    assert n > 1
    assert result is not None
    assert result.ttfa_p95_s <= 2.0
    fewer = simulate(SHARED, 0.6 / (n - 1), 2, LOGNORMAL)
    assert not fewer.meets(ttfa_s=2.0, rtf_max=1.0, clip_s=None)


def test_per_stream_rtf_is_what_the_streams_in_flight_saw() -> None:
    busy = simulate(SHARED, 0.3, 4, FIXED)  # 4 slots: 1.2 per-stream RTF when all are busy
    assert busy.max_stream_rtf == pytest.approx(1.2)
    assert not busy.meets(ttfa_s=600, rtf_max=1.0, clip_s=None)  # streams would stall
    quiet = simulate(SHARED, 0.001, 4, FIXED)
    assert quiet.max_stream_rtf <= 0.6  # almost always alone (0.3), rarely two at once


def test_business_hours_shape() -> None:
    shape = hourly_shape(9, 3.0)
    assert len(shape) == 9
    assert sum(shape) / 9 == pytest.approx(1.0)
    assert max(shape) == pytest.approx(3.0)
    assert [i for i, w in enumerate(shape) if w == max(shape)] == [1, 5]  # late morning, mid-afternoon
    assert hourly_shape(9, 1.0) == pytest.approx((1.0,) * 9)
    assert hourly_shape(3, (2.0)) == pytest.approx((0.5, 2.0, 0.5))
    with pytest.raises(CostInputError, match="peak factor 12 is above the 9 open hours"):
        hourly_shape(9, 12.0)
    with pytest.raises(CostInputError, match="hourly_shape has 2 weights for 9 open hours"):
        hourly_shape(9, 3.0, (1.0, 2.0))
    custom = hourly_shape(2, 3.0, (1.0, 3.0))
    assert custom == pytest.approx((0.5, 1.5))


def test_the_fleet_follows_the_hourly_load() -> None:
    slo = Slo(ttfa_s=2.0, rtf_max=1.0)
    hourly = plan(SHARED, slots=2, lengths=LOGNORMAL, slo=slo, requests_per_day=3000, open_hours=9, peak_factor=3.0)
    sizes = [h.instances for h in hourly.hours]
    assert sizes[1] == sizes[5] == hourly.peak_instances
    assert sizes[0] is not None
    assert sizes[0] < hourly.peak_instances
    spare = plan(
        SHARED, slots=2, lengths=LOGNORMAL, slo=slo, requests_per_day=3000, open_hours=9, peak_factor=3.0, spare=1
    )
    assert [h.instances for h in spare.hours] == [n + 1 for n in sizes if n is not None]
    assert math.isclose(spare.instance_hours_per_day(), hourly.instance_hours_per_day() + 9)
