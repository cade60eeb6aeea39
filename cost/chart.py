"""Stacked bar chart of monthly cost by component per option (matplotlib, PNG or SVG)."""

from __future__ import annotations

from pathlib import Path

from cost.errors import CostInputError
from cost.result import COMPONENTS, EstimateReport, OptionSummary


def bars(report: EstimateReport) -> list[OptionSummary]:
    """The options drawn: feasible ones (all when none is), never one without a price."""
    # An option without a price has no bar: drawing its fixed costs alone would make it look cheapest.
    priced = [o for o in report.options if o.priced]
    return [o for o in priced if o.feasible] or priced


def draw(report: EstimateReport, path: Path) -> None:
    if path.suffix.lower() not in (".png", ".svg"):
        raise CostInputError(f"--chart '{path}': use a .png or .svg file name")
    options = bars(report)
    if not options:
        raise CostInputError(f"--chart '{path}': no option has a price to draw (try --live)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{o.instance_type}\n{o.purchase}" for o in options]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(options)), 4.5))
    bottom = [0.0] * len(options)
    for component in COMPONENTS:
        values = [float(getattr(o.monthly, component)) for o in options]
        ax.bar(labels, values, bottom=bottom, label=component)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("USD per month")
    ax.set_title(f"{report.environment}: monthly cost by component ({report.hours_basis})")
    ax.legend()
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as exc:
        raise CostInputError(f"--chart '{path}': cannot write ({exc.strerror})") from exc
    finally:
        plt.close(fig)
