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
    "feasible",
    "instances",
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
        option.feasible,
        option.instances,
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


def recommendation_lines(report: EstimateReport) -> list[str]:
    """The recommendation, then the cheaper alternative that misses only the latency target (when there is one)."""
    rec = report.recommendation
    if rec is None:
        return ["No option meets the workload: see the reasons column."]
    if rec.instance_type is None or rec.monthly_total is None:
        line = f"No option meets the workload — {rec.why}."
    else:
        line = f"Recommendation: {rec.instance_type} {rec.purchase}, ${rec.monthly_total:,.2f}/month — {rec.why}"
        if rec.reference_g5_xlarge_on_demand_24x7 is not None and rec.ratio_to_reference is not None:
            line += (
                f". g5.xlarge on-demand 24/7 would cost ${rec.reference_g5_xlarge_on_demand_24x7:,.2f} "
                f"(this is {rec.ratio_to_reference:.0%} of it)"
            )
    lines = [line]
    if rec.alternative is not None:
        lines.append(f"Alternative: {rec.alternative.why}")
    return lines


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
        notes = interruption_notes(report)
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
            "n",
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
                str(o.instances),
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
        for line in interruption_notes(report):
            console.print(line, markup=False, highlight=False)
        for note in report.notes:
            console.print(f"note: {note}")
        console.print(f"prices: {cat.source} ({cat.as_of})\n")
