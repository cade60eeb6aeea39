"""`cost-estimate`: the cheapest deployment that meets the workload, with the full monthly bill.

Imports are lazy on purpose: the default run must start well under half a second, so boto3 (only for --live),
matplotlib (only for --chart) and aws_cdk (never) stay out of the default path.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from voicefleet_config.capacity import ServiceTime

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)

_FORMATS = ("table", "json", "csv", "markdown")


def _fail(message: str) -> None:
    from cost.errors import CostInputError

    raise CostInputError(message)


@app.command()
def estimate(
    env_name: Annotated[
        str | None, typer.Option("--env", help="Environment in cdk.json (default: all; with --template, its own)")
    ] = None,
    requests_per_day: Annotated[float | None, typer.Option(help="Requests per business day")] = None,
    avg_chars: Annotated[float | None, typer.Option(help="Average characters per request")] = None,
    peak_factor: Annotated[float | None, typer.Option(help="Peak arrival rate / mean rate")] = None,
    ttfa_p95: Annotated[
        float | None, typer.Option(help="SLO: p95 time to first audio, seconds, queueing included")
    ] = None,
    stream_rtf_max: Annotated[
        float | None, typer.Option(help="SLO: per-stream real-time factor must stay below this (<= 1)")
    ] = None,
    latency_p95: Annotated[
        float | None, typer.Option(help="Optional SLO: whole-clip p95, seconds (non-streaming clients)")
    ] = None,
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
    allow_missing_holidays: Annotated[
        bool,
        typer.Option(
            "--allow-missing-holidays",
            help="Price a year the holiday calendar does not cover (warns) instead of refusing",
        ),
    ] = False,
    engine_option: Annotated[str, typer.Option(help="pytorch (what the service runs) | trt | vllm")] = "pytorch",
    profile: Annotated[Path | None, typer.Option(help="Service-time profile JSON (tts-bench calibrate)")] = None,
    template: Annotated[Path | None, typer.Option(help="Synthesized CloudFormation template to price")] = None,
    cdk_json: Annotated[Path | None, typer.Option(help="cdk.json to read (default: the repository's)")] = None,
) -> None:
    """Price every option for the workload and recommend the cheapest that meets the latency target."""
    from dataclasses import replace

    from cost import report
    from cost.estimator import estimate as run
    from cost.whatif import WhatIf, scenario
    from voicefleet_config import DEFAULT_CDK_JSON, load_environments, select

    if fmt not in _FORMATS:
        _fail(f"--format '{fmt}' is not one of {', '.join(_FORMATS)}")
    what_if = WhatIf(
        requests_per_day=requests_per_day,
        avg_chars=avg_chars,
        peak_factor=peak_factor,
        latency_p95=latency_p95,
        ttfa_p95=ttfa_p95,
        stream_rtf_max=stream_rtf_max,
        allow_missing_holidays=allow_missing_holidays,
        engine_option=engine_option,
        p95_chars=p95_chars,
        hours=hours,
        weekdays=weekdays,
        timezone=timezone,
        always_on=always_on,
        purchase=purchase,
        instance_types=instance_types,
        region=region,
        fp16=fp16,
        glacier_after_days=glacier_after_days,
        output_format=output_format,
        live=live,
        month=month,
        env_given=env_name is not None,
    )
    envs = load_environments(cdk_json or DEFAULT_CDK_JSON)
    facts = None
    if template is not None:
        from cost import template as tpl

        # A template is one stack of one environment: price it under that one only, never under every environment.
        facts = tpl.load(template)
        env_name = tpl.environment_for(template, facts, env_name, list(envs))
    selected = [select(envs, env_name)] if env_name else list(envs.values())
    what_if = replace(what_if, profile=_explicit_profile(profile), template=facts)
    reports = [run(scenario(e, what_if)) for e in selected]
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


def _explicit_profile(path: Path | None) -> tuple[ServiceTime, ...]:
    """Load --profile (schema voicefleet-service-time/1); its entries win over shipped profiles and the prior. A
    CPU entry (gpu null) cannot stand for a GPU and is refused."""
    if path is None:
        return ()
    from voicefleet_config.capacity import ProfileError, load_profile

    try:
        entries = load_profile(path)
    except ProfileError as exc:
        _fail(str(exc))
        raise AssertionError("unreachable") from exc
    if all(e.gpu is None for e in entries):
        _fail(f"profile {path}: field 'entries[].gpu': every entry is a CPU measurement; it says nothing about a GPU")
    return tuple(e for e in entries if e.gpu is not None)


def usage_error_type() -> type[Any]:
    """The usage-error class the installed typer raises: typer vendors click as `typer._click` in recent releases;
    older ones (resolved next to upstream CosyVoice's rich pin on a GPU instance) use the click package."""
    import importlib

    try:
        module = importlib.import_module("typer._click.exceptions")
    except ModuleNotFoundError:
        module = importlib.import_module("click.exceptions")
    error: type[Any] = module.ClickException
    return error


def main(argv: list[str] | None = None) -> int:
    """Entry point: bad input -> one line on stderr and exit code 2, never a traceback."""
    from cost.errors import CostInputError
    from voicefleet_config import ConfigError

    click_error = usage_error_type()
    try:
        app(args=argv, standalone_mode=False, prog_name="cost-estimate")
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        print("cost-estimate: aborted", file=sys.stderr)
        return 2
    except click_error as exc:
        print(f"cost-estimate: error: {exc.format_message()}", file=sys.stderr)
        return 2
    except (CostInputError, ConfigError) as exc:
        print(f"cost-estimate: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
