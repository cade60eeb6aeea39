"""The typed configuration of one voicefleet environment (one entry of cdk.json `context.environments`).

Pure pydantic, and no import of another voicefleet package: infra, cost, service and benchmarks all read it, and the
service installs without the CDK. Every model is frozen and refuses unknown keys, so a typo in cdk.json fails at synth
time instead of being silently ignored.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from functools import cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voicefleet_config.calendar import CalendarConfig, ResolvedCalendar, resolve
from voicefleet_config.capacity import fleet_streams
from voicefleet_config.cdn import CdnConfig
from voicefleet_config.image import ImageConfig
from voicefleet_config.instance_types import INSTANCE_TYPES
from voicefleet_config.service import ServiceConfig
from voicefleet_config.workload import WorkloadConfig

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# An AWS region name, e.g. 'us-east-1', 'us-gov-west-1'.
AWS_REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")

NonNegInt = Annotated[int, Field(ge=0)]
# Launch -> ready (the launch gate passed: /readyz 200 and one synthesis), minutes: one figure for the warm-up before
# opening, the latest start before closing, the launch lifecycle hook's timeout (a boot that hangs is abandoned then)
# and the cost model's warm-up hours. An estimate, not a measurement: docs/infra.md's boot-time budget table puts a
# golden-image boot at a few minutes (weights baked or pulled), but no boot has been measured on AWS yet, above all
# the image's volume loading lazily from its snapshot; 25 (the budget of the old boot, which installed everything)
# stays until one is. Every instance publishes its own figure (VoiceFleet/BootSeconds): lower this to the measured
# p95 plus a margin. A boot that fails is abandoned at once with its reason (instance/gate.py), not at this timeout.
DEFAULT_BOOT_MINUTES = 25


def did_you_mean(value: str, choices: tuple[str, ...] | list[str]) -> str:
    """' — did you mean 'x'?' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


@cache
def _timezones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


class _Frozen(BaseModel):
    # allow_inf_nan=False: an infinite or NaN figure is refused at the edge, naming the key (issue 14).
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def parse_hhmm(value: str) -> dt.time:
    """'09:00' -> time(9, 0); anything else raises ValueError with the expected form."""
    match = _HHMM.match(value)
    if not match:
        raise ValueError(f"'{value}' is not a time of day in HH:MM form (e.g. '09:00')")
    return dt.time(int(match.group(1)), int(match.group(2)))


class ScheduleConfig(_Frozen):
    """Business hours: the fleet runs from `start` (minus warm-up) to `stop`, local time, on workdays."""

    enabled: bool = True
    start: str = "09:00"
    stop: str = "18:00"
    weekdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    # None: the fleet's boot time (fleet.boot_minutes), so the fleet is ready at opening. The environment fills it in.
    warmup_minutes: NonNegInt | None = None
    calendar: CalendarConfig = CalendarConfig()

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("holidays", "extra_workdays", "holidays_source"):
                if key in data:
                    new = "source" if key == "holidays_source" else key
                    raise ValueError(
                        f"{key} moved to schedule.calendar.{new} (with country, years: the years the dates cover)"
                    )
        return data

    @field_validator("start", "stop")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        parse_hhmm(value)
        return value

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one weekday is needed (e.g. ['mon', 'tue', 'wed', 'thu', 'fri'])")
        for day in value:
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday '{day}'{did_you_mean(day, WEEKDAYS)} (use {', '.join(WEEKDAYS)})")
        if len(set(value)) != len(value):
            raise ValueError(f"weekdays {list(value)} repeat a day")
        return value

    @model_validator(mode="after")
    def _order(self) -> ScheduleConfig:
        start, stop = self.start_time, self.stop_time
        if stop <= start:
            raise ValueError(f"stop '{self.stop}' is not after start '{self.start}'")
        start_minutes = start.hour * 60 + start.minute
        if self.warmup > start_minutes:
            raise ValueError(f"warmup_minutes {self.warmup} reaches back before midnight of start '{self.start}'")
        return self

    @property
    def warmup(self) -> int:
        """Minutes the fleet starts before opening (the environment sets it to the boot time when not given)."""
        return DEFAULT_BOOT_MINUTES if self.warmup_minutes is None else self.warmup_minutes

    @property
    def start_time(self) -> dt.time:
        return parse_hhmm(self.start)

    @property
    def stop_time(self) -> dt.time:
        return parse_hhmm(self.stop)

    @property
    def open_hours(self) -> float:
        """Hours the service is open per workday (start to stop, without warm-up)."""
        start, stop = self.start_time, self.stop_time
        return (stop.hour * 60 + stop.minute - start.hour * 60 - start.minute) / 60

    @property
    def weekday_numbers(self) -> frozenset[int]:
        """Configured weekdays as `date.weekday()` numbers (Monday = 0)."""
        return frozenset(WEEKDAYS.index(d) for d in self.weekdays)

    @property
    def resolved_calendar(self) -> ResolvedCalendar:
        """Holidays and make-up workdays (library + cdk.json) that change the weekday pattern, and the years covered."""
        return resolve(self.calendar, self.weekday_numbers)

    @property
    def holidays(self) -> tuple[dt.date, ...]:
        return tuple(sorted(self.resolved_calendar.holidays))

    @property
    def extra_workdays(self) -> tuple[dt.date, ...]:
        return tuple(sorted(self.resolved_calendar.extra_workdays))

    def is_workday(self, day: dt.date) -> bool:
        """An extra (make-up) workday, else a configured weekday that is not a holiday; a day outside the calendar's
        years is decided as a plain weekday (the scheduler Lambda does the same and raises an alarm)."""
        return self.resolved_calendar.is_workday(day, self.weekday_numbers)


SpotStrategy = Literal[
    "price-capacity-optimized", "capacity-optimized", "lowest-price", "capacity-optimized-prioritized"
]


class FleetConfig(_Frozen):
    """The GPU Auto Scaling group: instance types in preference order, capacity and the Spot/on-demand mix."""

    instance_types: tuple[str, ...] = ("g6.xlarge", "g5.xlarge")
    min_capacity: NonNegInt = 0
    max_capacity: NonNegInt = 2
    desired_capacity: NonNegInt = 1
    on_demand_base_capacity: NonNegInt = 0
    on_demand_percentage_above_base: Annotated[int, Field(ge=0, le=100)] = 0
    spot_allocation_strategy: SpotStrategy = "price-capacity-optimized"
    capacity_rebalance: bool = True
    warm_pool: bool = False
    root_volume_gib: Annotated[int, Field(ge=30, le=2000)] = 100
    service_port: Annotated[int, Field(ge=1024, le=65535)] = 8000
    # Launch -> ready, minutes (see DEFAULT_BOOT_MINUTES for the source of the default).
    boot_minutes: Annotated[int, Field(ge=1, le=180)] = DEFAULT_BOOT_MINUTES

    @field_validator("instance_types")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one instance type is needed (e.g. ['g6.xlarge', 'g5.xlarge'])")
        known = INSTANCE_TYPES
        for name in value:
            if name not in known:
                hint = did_you_mean(name, known) or f" (supported: {', '.join(known)})"
                raise ValueError(f"unknown instance type '{name}'{hint}")
        if len(set(value)) != len(value):
            raise ValueError(f"instance types {list(value)} repeat a type")
        return value

    @model_validator(mode="after")
    def _capacity(self) -> FleetConfig:
        if self.min_capacity > self.max_capacity:
            raise ValueError(f"min_capacity {self.min_capacity} is greater than max_capacity {self.max_capacity}")
        if not self.min_capacity <= self.desired_capacity <= self.max_capacity:
            raise ValueError(
                f"desired_capacity {self.desired_capacity} is outside min_capacity..max_capacity "
                f"({self.min_capacity}..{self.max_capacity})"
            )
        if self.on_demand_base_capacity > self.max_capacity:
            base = self.on_demand_base_capacity
            raise ValueError(f"on_demand_base_capacity {base} is greater than max_capacity {self.max_capacity}")
        return self


GlacierClass = Literal["GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"]


class StorageConfig(_Frozen):
    """Outputs bucket lifecycle: Standard -> Glacier class after N days -> expire after M days (0 = never)."""

    glacier_after_days: NonNegInt = 30
    glacier_class: GlacierClass = "GLACIER_IR"
    expire_after_days: NonNegInt = 365

    @model_validator(mode="after")
    def _order(self) -> StorageConfig:
        if self.expire_after_days and self.expire_after_days <= self.glacier_after_days:
            raise ValueError(
                f"expire_after_days {self.expire_after_days} is not after glacier_after_days {self.glacier_after_days}"
            )
        return self


class NetworkConfig(_Frozen):
    nat: bool = False
    max_azs: Annotated[int, Field(ge=2, le=6)] = 2

    @property
    def nat_gateways(self) -> int:
        """NAT gateways the VPC gets (infra/network.py) and the cost model prices: one, not one per AZ, when `nat` is
        on — it only carries boot-time package downloads and AWS API calls."""
        return 1 if self.nat else 0


class AlertingConfig(_Frozen):
    email: str | None = None
    monthly_budget_usd: Annotated[float, Field(gt=0)] | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError(f"'{value}' is not an e-mail address")
        return value


class EnvironmentConfig(_Frozen):
    """One deployable environment: where, when, on what, and for which workload."""

    name: str
    account: str | None = None
    region: str = "us-east-1"
    timezone: str = "UTC"
    disposable: bool = False
    schedule: ScheduleConfig = ScheduleConfig()
    fleet: FleetConfig = FleetConfig()
    service: ServiceConfig = ServiceConfig()
    storage: StorageConfig = StorageConfig()
    cdn: CdnConfig = CdnConfig()
    network: NetworkConfig = NetworkConfig()
    alerting: AlertingConfig = AlertingConfig()
    workload: WorkloadConfig = WorkloadConfig()
    image: ImageConfig = ImageConfig()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,23}", value):
            raise ValueError(f"'{value}' is not a valid environment name (lowercase letters, digits, '-'; max 24)")
        return value

    @field_validator("account")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d{12}", value):
            raise ValueError(f"'{value}' is not a 12-digit AWS account id")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not AWS_REGION.fullmatch(value):
            raise ValueError(f"'{value}' is not an AWS region name (e.g. 'us-east-1')")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone '{value}'{did_you_mean(value, _timezones())}") from exc
        return value

    @model_validator(mode="after")
    def _p95_fits_the_service(self) -> EnvironmentConfig:
        p95, limit = self.workload.p95_chars, self.service.max_text_chars
        if p95 is not None and p95 > limit:
            raise ValueError(
                f"workload.p95_chars {p95:g} exceeds service.max_text_chars {limit} (the service refuses longer "
                "requests): lower workload.p95_chars or raise service.max_text_chars"
            )
        return self

    @model_validator(mode="after")
    def _average_fits_the_service(self) -> EnvironmentConfig:
        avg, limit = self.workload.avg_chars, self.service.max_text_chars
        if avg > limit:
            raise ValueError(
                f"workload.avg_chars {avg:g} exceeds service.max_text_chars {limit} (the service refuses longer "
                "requests, so no average can be above it): lower workload.avg_chars or raise service.max_text_chars"
            )
        return self

    @model_validator(mode="after")
    def _shape_fits_the_open_hours(self) -> EnvironmentConfig:
        shape = self.workload.hourly_shape
        if shape is None:
            return self
        hours = math.ceil(self.schedule.open_hours - 1e-9)
        if len(shape) != hours:
            raise ValueError(
                f"workload.hourly_shape has {len(shape)} weights for the {hours} open hours "
                f"({self.schedule.start}-{self.schedule.stop}): one weight per open hour from opening"
            )
        if not any(shape):
            raise ValueError("workload.hourly_shape has no positive weight")
        return self

    @model_validator(mode="after")
    def _slots_from_the_profile(self) -> EnvironmentConfig:
        """service.max_concurrency (the admission slots, TTS_MAX_CONCURRENCY) defaults to what the service-time
        profile says the fleet's slowest GPU serves within the SLO (voicefleet_config/capacity.py): the same number
        the cost model and the Auto Scaling target use. A value set in cdk.json is kept (and priced as set)."""
        if "max_concurrency" in self.service.model_fields_set or self.service.engine != "cosyvoice3":
            return self
        slots = fleet_streams(
            self.fleet.instance_types,
            fp16=self.service.fp16,
            ttfa_s=self.workload.ttfa_p95_s,
            rtf_max=self.workload.stream_rtf_max,
        )
        service = self.service.model_copy(update={"max_concurrency": slots})
        # Still "not set in cdk.json": a re-validation (a what-if) derives it again from its own fleet and SLO.
        object.__setattr__(service, "__pydantic_fields_set__", set(self.service.model_fields_set))
        object.__setattr__(self, "service", service)  # frozen: filled once, inside its own validation
        return self

    @model_validator(mode="after")
    def _schedule_fits_the_boot(self) -> EnvironmentConfig:
        """Warm-up defaults to the boot time; the open window must leave time to boot before closing."""
        schedule, fleet = self.schedule, self.fleet
        if schedule.warmup_minutes is None:
            schedule = ScheduleConfig.model_validate({**schedule.model_dump(), "warmup_minutes": fleet.boot_minutes})
            object.__setattr__(self, "schedule", schedule)  # frozen: filled once, inside its own validation
        if not schedule.enabled:
            return self
        window = schedule.open_hours * 60 + schedule.warmup
        if window <= fleet.boot_minutes:
            raise ValueError(
                f"schedule: the open window ({schedule.warmup} min warm-up + {schedule.open_hours * 60:g} min open) "
                f"is not longer than fleet.boot_minutes {fleet.boot_minutes}: no start could be ready before closing "
                "(lower fleet.boot_minutes or widen schedule.start/stop)"
            )
        if fleet.desired_capacity == 0:
            raise ValueError(
                "fleet.desired_capacity is 0 with the schedule enabled: the morning start would launch nothing "
                "(set it to at least 1, or schedule.enabled false)"
            )
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def stack_name(self) -> str:
        return f"VoiceFleet-{self.name}"
