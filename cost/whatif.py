"""What-if input: the cost-estimate flags as one typed value, and the pricing scenario they make of an environment.

Every change is re-validated by the environment's own config model, so a bad what-if fails with the config's
message ("what-if schedule.start: ..."), never with a half-applied scenario.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from cost.catalog import known_instance_types, known_regions
from cost.errors import CostInputError
from cost.estimator import Deployment, Scenario
from cost.result import Purchase
from cost.schedule import MonthHours, always_on_hours, month_hours, parse_month, typical_month_hours
from cost.template import TemplateFacts, config_changes
from voicefleet_config import WEEKDAYS, EnvironmentConfig, did_you_mean, format_error, parse_hhmm
from voicefleet_config.capacity import ENGINE_OPTIONS, ServiceTime

# --purchase: the options priced for each instance type ("mix" is added where the fleet mixes on-demand and Spot).
_PURCHASES: dict[str, tuple[Purchase, ...]] = {
    "spot": ("spot",),
    "on-demand": ("on-demand",),
    "both": ("on-demand", "spot"),
}


@dataclass(frozen=True)
class WhatIf:
    """The flags of one cost-estimate run; None keeps the environment's own value. Checked on construction."""

    requests_per_day: float | None = None
    avg_chars: float | None = None
    peak_factor: float | None = None
    latency_p95: float | None = None  # whole clip (optional target)
    ttfa_p95: float | None = None
    stream_rtf_max: float | None = None
    p95_chars: float | None = None
    hours: str | None = None  # "09:00-18:00"
    weekdays: str | None = None  # "mon-fri" or "mon,wed,fri"
    timezone: str | None = None
    always_on: bool = False
    purchase: str = "both"
    instance_types: str | None = None  # comma-separated
    region: str | None = None
    fp16: bool | None = None
    glacier_after_days: int | None = None
    output_format: str | None = None
    live: bool = False
    month: str | None = None  # "YYYY-MM"
    allow_missing_holidays: bool = False  # price a year the calendar does not cover (warned), instead of refusing
    engine_option: str = "pytorch"
    # What the files named by --profile and --template hold, once read.
    profile: tuple[ServiceTime, ...] = ()
    template: TemplateFacts | None = None
    env_given: bool = False  # --env named the environment

    def __post_init__(self) -> None:
        if self.purchase not in _PURCHASES:
            _fail(f"--purchase '{self.purchase}' is not one of {', '.join(_PURCHASES)}")
        if self.engine_option not in ENGINE_OPTIONS:
            _fail(f"--engine-option '{self.engine_option}' is not one of {', '.join(ENGINE_OPTIONS)}")
        for name, value, limit in (
            ("--requests-per-day", self.requests_per_day, _MAX_REQUESTS_PER_DAY),
            ("--avg-chars", self.avg_chars, None),
            ("--peak-factor", self.peak_factor, None),
            ("--latency-p95", self.latency_p95, None),
            ("--ttfa-p95", self.ttfa_p95, None),
            ("--stream-rtf-max", self.stream_rtf_max, None),
            ("--p95-chars", self.p95_chars, None),
        ):
            _finite(name, value, limit)
        _non_negative("--requests-per-day", self.requests_per_day)
        _non_negative("--glacier-after-days", self.glacier_after_days)
        for name, value in (
            ("--avg-chars", self.avg_chars),
            ("--latency-p95", self.latency_p95),
            ("--peak-factor", self.peak_factor),
            ("--p95-chars", self.p95_chars),
            ("--ttfa-p95", self.ttfa_p95),
            ("--stream-rtf-max", self.stream_rtf_max),
        ):
            _non_negative(name, value, strict=True)

    @property
    def purchases(self) -> tuple[Purchase, ...]:
        return _PURCHASES[self.purchase]


def _fail(message: str) -> None:
    raise CostInputError(message)


# Beyond any fleet the model sizes (64 instances per hour): refused as absurd rather than priced.
_MAX_REQUESTS_PER_DAY = 100_000_000


def _finite(name: str, value: float | None, limit: float | None) -> None:
    if value is None:
        return
    if not math.isfinite(value):
        _fail(f"{name} {value} is not a finite number")
    if limit is not None and value > limit:
        _fail(f"{name} {value:g} is above {limit:,.0f}, beyond anything this model sizes")


def _non_negative(name: str, value: float | None, *, strict: bool = False) -> None:
    if value is not None and (value < 0 or (strict and value == 0)):
        _fail(f"{name} {value:g} must be {'greater than' if strict else 'at least'} 0")


def parse_hours(value: str) -> tuple[str, str]:
    """'09:00-18:00' -> ('09:00', '18:00'); CostInputError naming --hours otherwise."""
    parts = value.split("-")
    if len(parts) != 2:
        _fail(f"--hours '{value}' is not a range like 09:00-18:00")
    try:
        start, stop = parse_hhmm(parts[0].strip()), parse_hhmm(parts[1].strip())
    except ValueError as exc:
        raise CostInputError(f"--hours '{value}': {exc}") from exc
    if stop <= start:
        _fail(f"--hours '{value}': stop {parts[1]} is not after start {parts[0]}")
    return parts[0].strip(), parts[1].strip()


def parse_weekdays(value: str) -> list[str]:
    """'mon-fri' or 'mon,wed,fri' -> day names; CostInputError naming --weekdays otherwise."""
    days: list[str] = []
    for part in value.lower().split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = part.split("-", 1)
            if lo not in WEEKDAYS or hi not in WEEKDAYS or WEEKDAYS.index(hi) < WEEKDAYS.index(lo):
                _fail(f"--weekdays '{value}': '{part}' is not a range like mon-fri")
            days += WEEKDAYS[WEEKDAYS.index(lo) : WEEKDAYS.index(hi) + 1]
        elif part in WEEKDAYS:
            days.append(part)
        else:
            _fail(f"--weekdays '{value}': unknown day '{part}' (use {', '.join(WEEKDAYS)})")
    return days


def _override(env: EnvironmentConfig, changes: dict[str, dict[str, Any]], top: dict[str, Any]) -> EnvironmentConfig:
    """Re-validate the environment with what-if changes, so bad values fail with the config's own messages."""
    # exclude_unset: values the environment derives (warm-up from the boot time, admission slots from the
    # service-time profile) are derived again from the changed config, never frozen at the old ones.
    raw = env.model_dump(exclude_unset=True)
    for section, values in changes.items():
        raw.setdefault(section, {}).update({k: v for k, v in values.items() if v is not None})
    raw.update({k: v for k, v in top.items() if v is not None})
    try:
        return EnvironmentConfig.model_validate(raw)
    except ValidationError as exc:
        message = format_error(env.name, exc).replace(f"environment '{env.name}': ", "what-if ")
        raise CostInputError(message) from exc


def apply(env: EnvironmentConfig, what_if: WhatIf) -> tuple[EnvironmentConfig, Deployment]:
    """The environment as the what-if (and the template, when priced) changes it, and what surrounds the fleet."""
    schedule: dict[str, Any] = {}
    fleet: dict[str, Any] = {}
    storage: dict[str, Any] = {}
    top: dict[str, Any] = {"timezone": what_if.timezone, "region": what_if.region}
    deployment = Deployment()
    if what_if.template is not None:
        changes = config_changes(what_if.template, env_given=what_if.env_given, warmup_minutes=env.schedule.warmup)
        schedule, fleet, storage = dict(changes.schedule), dict(changes.fleet), dict(changes.storage)
        top["timezone"] = top["timezone"] or changes.timezone
        if changes.price_class:
            top["cdn"] = {**env.cdn.model_dump(), "price_class": changes.price_class}
        deployment = changes.deployment
    if what_if.hours:
        schedule["start"], schedule["stop"] = parse_hours(what_if.hours)
    if what_if.weekdays:
        schedule["weekdays"] = tuple(parse_weekdays(what_if.weekdays))
    if what_if.glacier_after_days is not None:
        storage["glacier_after_days"] = what_if.glacier_after_days
    workload = {
        "requests_per_business_day": what_if.requests_per_day,
        "avg_chars": what_if.avg_chars,
        "peak_factor": what_if.peak_factor,
        "latency_p95_s": what_if.latency_p95,
        "ttfa_p95_s": what_if.ttfa_p95,
        "stream_rtf_max": what_if.stream_rtf_max,
        "output_format": what_if.output_format,
        "p95_chars": what_if.p95_chars,
    }
    if what_if.avg_chars is not None and what_if.avg_chars > env.service.max_text_chars:
        _fail(
            f"--avg-chars {what_if.avg_chars:g} exceeds service.max_text_chars {env.service.max_text_chars} of "
            f"environment '{env.name}' (the service refuses longer requests)"
        )
    if what_if.p95_chars is not None and what_if.p95_chars > env.service.max_text_chars:
        _fail(
            f"--p95-chars {what_if.p95_chars:g} exceeds service.max_text_chars {env.service.max_text_chars} of "
            f"environment '{env.name}' (the service refuses longer requests)"
        )
    # --fp16/--fp32 is service.fp16: the admission slots and the scaling target derived from it follow, as they
    # would with the same value in cdk.json.
    service = {"fp16": what_if.fp16}
    sections = {"schedule": schedule, "fleet": fleet, "storage": storage, "workload": workload, "service": service}
    return _override(env, sections, top), deployment


def _instance_types(env: EnvironmentConfig, what_if: WhatIf) -> tuple[str, ...]:
    """--instance-types, else a template's own types, else every type the catalog knows."""
    known = known_instance_types()
    if what_if.instance_types:
        types = tuple(t.strip() for t in what_if.instance_types.split(",") if t.strip())
        for t in types:
            if t not in known:
                _fail(f"unknown instance type '{t}'{did_you_mean(t, known)}")
        return types
    if what_if.template is not None and env.fleet.instance_types:
        return env.fleet.instance_types
    return known


def _month(env: EnvironmentConfig, what_if: WhatIf) -> MonthHours:
    """The month priced; its year must be one the holiday calendar covers (refused, or warned with the flag).

    A disabled schedule is priced always on, as --always-on: infra/schedule.py then creates no start/stop, so the
    fleet runs 24/7 (and infra/budget.py's limit counts 730 h the same way).
    """
    year = dt.date.today().year
    month = None
    always_on = what_if.always_on or not env.schedule.enabled
    if what_if.month and not always_on:
        try:
            year, month = parse_month(what_if.month)
        except ValueError as exc:
            raise CostInputError(str(exc)) from exc
    _check_calendar(env, year, what_if)
    if always_on:
        return always_on_hours(env.schedule, year)
    if month is not None:
        return month_hours(env.schedule, year, month)
    return typical_month_hours(env.schedule, year)


def _check_calendar(env: EnvironmentConfig, year: int, what_if: WhatIf) -> None:
    calendar = env.schedule.calendar
    if calendar.covers(year):
        return
    what = f"--month {what_if.month}" if what_if.month else f"the typical month of {year} (today's year)"
    message = (
        f"{what}: environment '{env.name}' has no holiday data for {year} (schedule.calendar covers "
        f"{calendar.coverage()}); add {year} to schedule.calendar.years, or pass --allow-missing-holidays to price "
        "it as plain weekdays"
    )
    if not what_if.allow_missing_holidays:
        _fail(message)
    print(f"warning: {message.split('; add')[0]}: priced as plain weekdays (--allow-missing-holidays)", file=sys.stderr)


def scenario(base: EnvironmentConfig, what_if: WhatIf) -> Scenario:
    """The pricing scenario for one environment under the what-if; --live prices overlay the snapshot."""
    env, deployment = apply(base, what_if)
    if env.region not in known_regions() and not what_if.live:
        _fail(f"region '{env.region}' is not in the price snapshot ({', '.join(known_regions())}); use --live")
    types = _instance_types(env, what_if)
    hours = _month(env, what_if)
    purchases = what_if.purchases
    overlay: dict[str, Any] = {}
    interruption: dict[str, Any] = {}
    source = as_of = ""
    if what_if.live:
        from cost import live  # boto3 is slow to import: only for --live

        prices = live.fetch(env.region, types)
        for warning in prices.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if prices.on_demand or prices.spot:
            overlay = prices.as_overlay()
            source, as_of = f"{live.PRICING_SOURCE} + {live.SPOT_SOURCE}", prices.fetched_at
        interruption = prices.interruption
    return Scenario(
        env=env,
        hours=hours,
        purchases=purchases,
        instance_types=types,
        fp16=env.service.fp16,  # --fp16/--fp32 already in the config (apply)
        profiles=what_if.profile,
        engine_option=what_if.engine_option,
        deployment=deployment,
        prices=overlay,
        interruption=interruption,
        catalog_source=source,
        catalog_as_of=as_of,
    )
