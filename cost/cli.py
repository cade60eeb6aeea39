"""`cost-estimate`: the cheapest deployment that meets the workload, with the full monthly bill.

Imports are lazy on purpose: the default run must start well under half a second, so boto3 (only for --live),
matplotlib (only for --chart) and aws_cdk (never) stay out of the default path.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from cost.estimator import Purchase, Scenario
    from cost.profiles import Profile
    from cost.template import TemplateFacts
    from infra.config.model import EnvironmentConfig

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)

_FORMATS = ("table", "json", "csv", "markdown")


def _fail(message: str) -> None:
    from cost.errors import CostInputError

    raise CostInputError(message)


def _non_negative(name: str, value: float | None, *, strict: bool = False) -> None:
    if value is not None and (value < 0 or (strict and value == 0)):
        _fail(f"{name} {value:g} must be {'greater than' if strict else 'at least'} 0")


def _parse_hours(value: str) -> tuple[str, str]:
    from infra.config.model import parse_hhmm

    parts = value.split("-")
    if len(parts) != 2:
        _fail(f"--hours '{value}' is not a range like 09:00-18:00")
    try:
        start, stop = parse_hhmm(parts[0].strip()), parse_hhmm(parts[1].strip())
    except ValueError as exc:
        _fail(f"--hours '{value}': {exc}")
        raise
    if stop <= start:
        _fail(f"--hours '{value}': stop {parts[1]} is not after start {parts[0]}")
    return parts[0].strip(), parts[1].strip()


def _parse_weekdays(value: str) -> list[str]:
    from infra.config.model import WEEKDAYS

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


def _template_calendar(facts: TemplateFacts) -> dict[str, Any]:
    """The scheduler Lambda's resolved calendar as a hand-entered one: the same days, the same covered years (a
    template from before CALENDAR_YEARS: the years its dates fall in)."""
    days = [*facts.holidays, *facts.extra_workdays]
    if facts.calendar_years == ["*"] or not (days or facts.calendar_years):
        return {}
    years = sorted({int(y) for y in facts.calendar_years if y.isdigit()} or {int(day[:4]) for day in days})
    return {
        "years": years,
        "holidays": facts.holidays,
        "extra_workdays": facts.extra_workdays,
        "source": "the scheduler Lambda's HOLIDAYS/EXTRA_WORKDAYS in the template",
    }


def _override(env: EnvironmentConfig, changes: dict[str, dict[str, Any]], top: dict[str, Any]) -> EnvironmentConfig:
    """Re-validate the environment with what-if changes, so bad values fail with the config's own messages."""
    from pydantic import ValidationError

    from infra.config.loader import format_error
    from infra.config.model import EnvironmentConfig

    raw = env.model_dump()
    for section, values in changes.items():
        raw[section].update({k: v for k, v in values.items() if v is not None})
    raw.update({k: v for k, v in top.items() if v is not None})
    try:
        return EnvironmentConfig.model_validate(raw)
    except ValidationError as exc:
        _fail(format_error(env.name, exc).replace(f"environment '{env.name}': ", "what-if "))
        raise


@app.command()
def estimate(
    env_name: Annotated[
        str | None, typer.Option("--env", help="Environment in cdk.json (default: all; with --template, its own)")
    ] = None,
    requests_per_day: Annotated[float | None, typer.Option(help="Requests per business day")] = None,
    avg_chars: Annotated[float | None, typer.Option(help="Average characters per request")] = None,
    peak_factor: Annotated[float | None, typer.Option(help="Peak arrival rate / mean rate")] = None,
    latency_p95: Annotated[float | None, typer.Option(help="p95 latency target, seconds")] = None,
    p95_chars: Annotated[float | None, typer.Option(help="Characters of the p95-length request")] = None,
    hours: Annotated[str | None, typer.Option(help="Open hours, e.g. 09:00-18:00")] = None,
    weekdays: Annotated[str | None, typer.Option(help="Workdays, e.g. mon-fri or mon,wed,fri")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA timezone")] = None,
    always_on: Annotated[bool, typer.Option("--always-on", help="Run 24/7 (730 h)")] = False,
    purchase: Annotated[str, typer.Option(help="spot | on-demand | both")] = "both",
    instance_types: Annotated[str | None, typer.Option(help="Comma-separated instance types")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region")] = None,
    fp16: Annotated[bool | None, typer.Option("--fp16/--fp32", help="Precision (default: the environment's)")] = None,
    glacier_after_days: Annotated[int | None, typer.Option(help="Days in S3 Standard before Glacier")] = None,
    output_format: Annotated[str | None, typer.Option(help="wav | mp3 | opus | flac | pcm")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | json | csv | markdown")] = "table",
    chart: Annotated[Path | None, typer.Option(help="Write a stacked bar chart (.png or .svg)")] = None,
    live: Annotated[
        bool,
        typer.Option("--live", help="Refresh EC2 prices (needs credentials) and Spot Instance Advisor buckets"),
    ] = False,
    month: Annotated[str | None, typer.Option(help="Exact calendar month YYYY-MM (default: typical month)")] = None,
    profile: Annotated[Path | None, typer.Option(help="Measured throughput profile JSON")] = None,
    template: Annotated[Path | None, typer.Option(help="Synthesized CloudFormation template to price")] = None,
    cdk_json: Annotated[Path | None, typer.Option(help="cdk.json to read (default: the repository's)")] = None,
) -> None:
    """Price every option for the workload and recommend the cheapest that meets the latency target."""
    from cost import report
    from infra.config.loader import DEFAULT_CDK_JSON, load_environments, select

    if fmt not in _FORMATS:
        _fail(f"--format '{fmt}' is not one of {', '.join(_FORMATS)}")
    if purchase not in ("spot", "on-demand", "both"):
        _fail(f"--purchase '{purchase}' is not one of spot, on-demand, both")
    for name, value in (("--requests-per-day", requests_per_day), ("--glacier-after-days", glacier_after_days)):
        _non_negative(name, value)
    for name, value in (
        ("--avg-chars", avg_chars),
        ("--latency-p95", latency_p95),
        ("--peak-factor", peak_factor),
        ("--p95-chars", p95_chars),
    ):
        _non_negative(name, value, strict=True)

    envs = load_environments(cdk_json or DEFAULT_CDK_JSON)
    env_given = env_name is not None
    facts = None
    if template is not None:
        from cost import template as tpl

        # A template is one stack of one environment: price it under that one only, never under every environment.
        facts = tpl.load(template)
        env_name = tpl.environment_for(template, facts, env_name, list(envs))
    selected = [select(envs, env_name)] if env_name else list(envs.values())
    explicit = _explicit_profile(profile)
    scenarios = [
        _scenario(
            e,
            locals_={
                "requests_per_day": requests_per_day,
                "avg_chars": avg_chars,
                "peak_factor": peak_factor,
                "latency_p95": latency_p95,
                "p95_chars": p95_chars,
                "hours": hours,
                "weekdays": weekdays,
                "timezone": timezone,
                "always_on": always_on,
                "purchase": purchase,
                "instance_types": instance_types,
                "region": region,
                "fp16": fp16,
                "glacier_after_days": glacier_after_days,
                "output_format": output_format,
                "live": live,
                "month": month,
                "profile": explicit,
                "template": facts,
                "env_given": env_given,
            },
        )
        for e in selected
    ]
    from cost.estimator import estimate as run

    reports = [run(s) for s in scenarios]
    if chart is not None:
        from cost.chart import draw

        draw(reports[0], chart)
    if fmt == "json":
        print(report.to_json(reports))
    elif fmt == "csv":
        print(report.to_csv(reports), end="")
    elif fmt == "markdown":
        print(report.to_markdown(reports))
    else:
        report.print_tables(reports)


def _explicit_profile(path: Path | None) -> Profile | None:
    """Load --profile; a loadmodel profile is used as asked, with a one-line warning (it is not the real model)."""
    if path is None:
        return None
    from cost.profiles import load_profile
    from cost.throughput import GPU_ENGINES

    loaded = load_profile(path)
    if loaded.engine not in GPU_ENGINES:
        _fail(
            f"profile {path}: field 'engine': '{loaded.engine}' cannot stand for the CosyVoice3 GPU pipeline "
            f"(use a {' or '.join(GPU_ENGINES)} profile)"
        )
    if loaded.engine == "loadmodel":
        print(
            f"warning: --profile {path.name} is a loadmodel profile (CosyVoice3 shapes, random weights) measured on "
            f"{loaded.device}: a proxy for CosyVoice3 throughput on {loaded.gpu}, not the real model",
            file=sys.stderr,
        )
    return loaded


def _scenario(env: EnvironmentConfig, locals_: dict[str, Any]) -> Scenario:
    from cost.catalog import known_instance_types, known_regions
    from cost.estimator import Deployment, Scenario
    from cost.profiles import bundled_profiles
    from cost.schedule import always_on_hours, month_hours, parse_month, typical_month_hours

    a = locals_
    notes: list[str] = []
    deployment = Deployment()
    schedule: dict[str, Any] = {}
    fleet: dict[str, Any] = {}
    storage: dict[str, Any] = {}
    top: dict[str, Any] = {"timezone": a["timezone"], "region": a["region"]}
    if a["template"] is not None:
        facts: TemplateFacts = a["template"]
        notes += facts.unknown
        unknown_types = [t for t in facts.instance_types if t not in known_instance_types()]
        if unknown_types:
            _fail(f"--template: instance type '{unknown_types[0]}' is not in the catalog")
        fleet.update(
            instance_types=tuple(facts.instance_types) or None,
            min_capacity=facts.min_size,
            max_capacity=facts.max_size,
            desired_capacity=facts.desired,
            on_demand_base_capacity=facts.on_demand_base,
            on_demand_percentage_above_base=facts.on_demand_pct,
        )
        if facts.start and facts.stop:
            # The template's start time already includes the warm-up.
            schedule.update(start=facts.start, stop=facts.stop, warmup_minutes=0)
            # Real schedules fire daily and the scheduler Lambda decides workdays from its own calendar, which the
            # template carries; without it, the environment's calendar (--env) or else the cron's weekdays.
            if facts.calendar_weekdays:
                schedule.update(weekdays=tuple(facts.calendar_weekdays), calendar=_template_calendar(facts))
            elif not a["env_given"] and facts.weekdays:
                schedule["weekdays"] = tuple(facts.weekdays)
            top["timezone"] = top["timezone"] or facts.timezone
        storage.update(
            glacier_after_days=facts.glacier_after_days,
            glacier_class=facts.glacier_class,
            expire_after_days=facts.expire_after_days,
        )
        deployment = Deployment(
            albs=facts.albs,
            public_albs=facts.public_albs,
            nat_gateways=facts.nat_gateways,
            alarms=facts.alarms,
            web_acls=facts.web_acls,
            waf_rules=facts.waf_rules,
            notes=tuple(facts.unknown),
        )
        if facts.price_class:
            top["cdn"] = {**env.cdn.model_dump(), "price_class": facts.price_class}
    if a["hours"]:
        schedule["start"], schedule["stop"] = _parse_hours(a["hours"])
    if a["weekdays"]:
        schedule["weekdays"] = tuple(_parse_weekdays(a["weekdays"]))
    if a["glacier_after_days"] is not None:
        storage["glacier_after_days"] = a["glacier_after_days"]
    workload = {
        "requests_per_business_day": a["requests_per_day"],
        "avg_chars": a["avg_chars"],
        "peak_factor": a["peak_factor"],
        "latency_p95_s": a["latency_p95"],
        "output_format": a["output_format"],
        "p95_chars": a["p95_chars"],
    }
    if a["p95_chars"] is not None and a["p95_chars"] > env.service.max_text_chars:
        _fail(
            f"--p95-chars {a['p95_chars']:g} exceeds service.max_text_chars {env.service.max_text_chars} of "
            f"environment '{env.name}' (the service refuses longer requests)"
        )
    env = _override(env, {"schedule": schedule, "fleet": fleet, "storage": storage, "workload": workload}, top)
    if env.region not in known_regions() and not a["live"]:
        _fail(f"region '{env.region}' is not in the price snapshot ({', '.join(known_regions())}); use --live")

    types: tuple[str, ...] = known_instance_types()
    if a["instance_types"]:
        types = tuple(t.strip() for t in a["instance_types"].split(",") if t.strip())
        from infra.config.model import did_you_mean

        for t in types:
            if t not in known_instance_types():
                _fail(f"unknown instance type '{t}'{did_you_mean(t, known_instance_types())}")
    elif a["template"] is not None and env.fleet.instance_types:
        types = env.fleet.instance_types

    year = dt.date.today().year
    if a["always_on"]:
        hours = always_on_hours(env.schedule, year)
    elif a["month"]:
        try:
            y, m = parse_month(a["month"])
        except ValueError as exc:
            _fail(str(exc))
            raise
        hours = month_hours(env.schedule, y, m)
    else:
        hours = typical_month_hours(env.schedule, year)

    purchases: tuple[Purchase, ...] = ("on-demand", "spot") if a["purchase"] == "both" else (a["purchase"],)
    mixed = env.fleet.on_demand_base_capacity or env.fleet.on_demand_percentage_above_base
    if mixed and a["purchase"] == "both":
        purchases = (*purchases, "mix")
    profiles = [a["profile"]] if a["profile"] is not None else []

    overlay: dict[str, Any] = {}
    interruption: dict[str, Any] = {}
    source = as_of = ""
    if a["live"]:
        from cost import live

        prices = live.fetch(env.region, types)
        for warning in prices.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if prices.on_demand or prices.spot:
            overlay = prices.as_overlay()
            source, as_of = f"{live.PRICING_SOURCE} + {live.SPOT_SOURCE}", prices.fetched_at
        interruption = prices.interruption
    fp16 = env.service.fp16 if a["fp16"] is None else a["fp16"]
    return Scenario(
        env=env,
        hours=hours,
        purchases=purchases,
        instance_types=types,
        fp16=fp16,
        profiles=tuple(profiles),
        bundled_profiles=tuple(bundled_profiles()),
        deployment=deployment,
        prices=overlay,
        interruption=interruption,
        catalog_source=source,
        catalog_as_of=as_of,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point: bad input -> one line on stderr and exit code 2, never a traceback."""
    from typer._click.exceptions import ClickException
    from typer.exceptions import Abort, Exit

    from cost.errors import CostInputError
    from infra.config.loader import ConfigError

    try:
        app(args=argv, standalone_mode=False, prog_name="cost-estimate")
    except Exit as exc:
        return int(exc.exit_code or 0)
    except Abort:
        print("cost-estimate: aborted", file=sys.stderr)
        return 2
    except ClickException as exc:
        print(f"cost-estimate: error: {exc.format_message()}", file=sys.stderr)
        return 2
    except (CostInputError, ConfigError) as exc:
        print(f"cost-estimate: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
