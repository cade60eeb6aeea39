"""Render estimate reports (cost.result.EstimateReport) as rich tables, JSON, CSV or Markdown."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from cost.result import EstimateReport, OptionSummary

COLUMNS = (
    "instance_type",
    "gpu",
    "purchase",
    "source",
    "feasible",
    "instances",
    "hourly_instances",
    "streams_per_gpu",
    "ttfa_p95_s",
    "spare_total",
    "hourly_price",
    "compute",
    "storage",
    "egress",
    "network",
    "other",
    "total",
    "cost_per_1k_requests",
    "cost_per_audio_hour",
)


NA = "n/a"  # a missing price is shown as n/a, never as 0


def _na(value: Any) -> Any:
    return NA if value is None else value


def _fmt(value: float | None, spec: str) -> str:
    return NA if value is None else format(value, spec)


def _row(option: OptionSummary) -> list[Any]:
    m = option.monthly
    return [
        option.instance_type,
        option.gpu,
        option.purchase,
        option.source,
        option.feasible,
        option.instances,
        "/".join("-" if n is None else str(n) for n in option.hourly_instances),
        option.concurrency_per_gpu,
        _na(option.ttfa_p95_s),
        _na(option.with_one_spare.monthly_total),
        _na(option.hourly_price),
        _na(m.compute),
        m.storage,
        m.egress,
        m.network,
        m.other,
        _na(m.total),
        _na(option.cost_per_1k_requests),
        _na(option.cost_per_audio_hour),
    ]


def interruption_notes(report: EstimateReport) -> list[str]:
    """One footnote per (bucket, source) saying which interruption bucket each priced Spot option's expected cost
    used, and whether it is a per-type figure or the default assumption."""
    groups: dict[tuple[str, str], list[str]] = {}
    for option in report.options:
        if option.interruption_bucket is None:
            continue
        key = (option.interruption_bucket, str(option.interruption_source))
        label = option.instance_type + (" (mix)" if option.purchase == "mix" else "")
        if label not in groups.setdefault(key, []):
            groups[key].append(label)
    return [
        f"† Spot interruption bucket {bucket} for {', '.join(types)}: {source}"
        for (bucket, source), types in groups.items()
    ]


def to_json(reports: list[EstimateReport]) -> str:
    """One report object, or {"environments": {name: report}} when several environments were priced."""
    if len(reports) == 1:
        return json.dumps(reports[0].to_json(), indent=2)
    return json.dumps({"environments": {r.environment: r.to_json() for r in reports}}, indent=2)


def to_csv(reports: list[EstimateReport]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("environment", *COLUMNS, "reasons", "interruption_bucket", "interruption_source"))
    for report in reports:
        for option in report.options:
            writer.writerow(
                (
                    report.environment,
                    *_row(option),
                    "; ".join(option.reasons),
                    option.interruption_bucket or "",
                    option.interruption_source or "",
                )
            )
    return out.getvalue()


def slo_line(report: EstimateReport) -> str:
    slo = report.slo
    clip = f", whole clip p95 <= {slo.latency_p95_s:g} s" if slo.latency_p95_s is not None else ""
    line = (
        f"SLO: p95 time to first audio <= {slo.ttfa_p95_s:g} s (queueing included), per-stream RTF < "
        f"{slo.stream_rtf_max:g}{clip}; engine option {report.engine_option}; load per open hour (req/s): "
        + ", ".join(f"{r:.3f}" for r in report.hourly_load_rps)
    )
    if report.service is not None:
        svc = report.service
        line += (
            f". Service: max_concurrency {svc.max_concurrency}; Auto Scaling tracks {svc.scaling_metric} at "
            f"{svc.scaling_target_in_flight:g} per instance (sized for {svc.sized_for})"
        )
    return line


def recommendation_lines(report: EstimateReport) -> list[str]:
    """The recommendation (with its one-spare variant and the ratio to the seed's baseline), then the SLO."""
    rec = report.recommendation
    if rec is None or rec.instance_type is None or rec.monthly_total is None:
        why = rec.why if rec is not None else "see the reasons column"
        return [f"No option meets the workload — {why}.", slo_line(report)]
    line = f"Recommendation: {rec.instance_type} {rec.purchase}, ${rec.monthly_total:,.2f}/month — {rec.why}"
    if rec.reference_g5_xlarge_on_demand_24x7 is not None and rec.ratio_to_reference is not None:
        line += (
            f". The seed's baseline, one g5.xlarge on-demand 24/7, costs ${rec.reference_g5_xlarge_on_demand_24x7:,.2f}"
            f" (this is {rec.ratio_to_reference:.2f}x it)"
        )
    lines = [line]
    spare = rec.with_one_spare
    if spare is not None and spare.monthly_total is not None:
        ratio = f", {rec.spare_ratio_to_reference:.2f}x the baseline" if rec.spare_ratio_to_reference else ""
        lines.append(
            f"With one spare instance every open hour: {spare.instances} at peak, ${spare.monthly_total:,.2f}/month"
            f"{ratio}, p95 time to first audio at peak {spare.ttfa_p95_s} s"
        )
    lines.append(slo_line(report))
    return lines


def spot_lines(report: EstimateReport) -> list[str]:
    """How often Spot interruptions break the SLO at each Spot option's hourly fleet, and what a spare costs."""
    out = []
    for o in report.options:
        risk = o.spot_risk
        if risk is None or o.monthly.total is None:
            continue
        spare = o.with_one_spare.monthly_total
        extra = f"; one spare: +${spare - o.monthly.total:,.2f}/month" if spare is not None else ""
        out.append(
            f"Spot {o.instance_type} ({o.source}): {risk.expected_interruptions_per_month:g} interruptions/month "
            f"expected ({risk.bucket} of instances), each {risk.replacement_gap_minutes} min one instance short; SLO "
            f"broken {risk.slo_breach_minutes_per_month:g} min/month ({risk.slo_breach_share_of_open_time:.2%} of "
            f"open time){extra}"
        )
    return out


def to_markdown(reports: list[EstimateReport]) -> str:
    lines: list[str] = []
    for report in reports:
        cat = report.catalog
        lines += [
            f"### {report.environment} ({cat.region}, {report.hours_basis}, {report.hours_per_month} h/month)",
            "",
            *recommendation_lines(report),
            "",
        ]
        lines.append("| " + " | ".join(COLUMNS) + " |")
        lines.append("|" + "---|" * len(COLUMNS))
        for option in report.options:
            lines.append("| " + " | ".join(str(v) for v in _row(option)) + " |")
        notes = [*interruption_notes(report), *spot_lines(report)]
        lines += ["", *notes, *([""] if notes else []), f"Prices: {cat.source} ({cat.as_of})", ""]
    return "\n".join(lines)


def print_tables(reports: list[EstimateReport]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=170)
    for report in reports:
        cat = report.catalog
        first, *rest = recommendation_lines(report)
        console.print(first, style="bold", markup=False, highlight=False)
        for line in rest:
            console.print(line, markup=False, highlight=False)
        table = Table(
            title=f"{report.environment} — {cat.region}, {report.hours_basis}, "
            f"{report.hours_per_month} h/month, {report.requests_per_month:,.0f} requests"
        )
        for name in (
            "type",
            "gpu",
            "purchase",
            "from",
            "n/hour",
            "ttfa p95",
            "$/h",
            "compute",
            "storage",
            "egress",
            "network",
            "other",
            "total $/mo",
            "$/1k req",
            "$/audio h",
            "ok",
        ):
            table.add_column(name, justify="right" if name not in ("type", "gpu", "purchase") else "left")
        for o in report.options:
            m = o.monthly
            style = None if o.feasible else "dim"
            table.add_row(
                o.instance_type,
                o.gpu,
                o.purchase + ("†" if o.interruption_bucket else ""),
                "env" if o.source == "environment" else "catalog",
                "/".join("-" if n is None else str(n) for n in o.hourly_instances),
                _fmt(o.ttfa_p95_s, ".2f"),
                _fmt(o.hourly_price, ".4f"),
                _fmt(m.compute, ",.2f"),
                _fmt(m.storage, ",.2f"),
                _fmt(m.egress, ",.2f"),
                _fmt(m.network, ",.2f"),
                _fmt(m.other, ",.2f"),
                _fmt(m.total, ",.2f"),
                _fmt(o.cost_per_1k_requests, ".3f"),
                _fmt(o.cost_per_audio_hour, ".3f"),
                "yes" if o.feasible else "no*",
                style=style,
            )
        console.print(table)
        for o in report.options:
            if o.reasons:
                console.print(f"* {o.instance_type} {o.purchase}: {'; '.join(o.reasons)}")
        for line in [*interruption_notes(report), *spot_lines(report)]:
            console.print(line, markup=False, highlight=False)
        for note in report.notes:
            console.print(f"note: {note}")
        console.print(f"prices: {cat.source} ({cat.as_of})\n")
