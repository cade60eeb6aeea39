"""`cost-catalog-refresh` (`python -m cost.catalog.refresh`): rewrite the price snapshot from the live sources.

For every instance type voicefleet_config supports and every region the snapshot covers (or each --region), it
fetches what `cost-estimate --live` fetches (cost/live.py): the on-demand price from the AWS Price List API, the Spot
price from describe_spot_price_history (median over zones), and the Spot interruption bucket from the Spot Instance
Advisor file (cost/spot_advisor.py). Each refreshed figure is written with its own source and today's date; a figure
that could not be fetched keeps its old value, source and date, and is listed. When nothing at all could be fetched
(offline, no credentials) nothing is written: the snapshot stays as it is, and the command exits 1. Specs (vCPU,
memory, GPU) are not refreshed: they come from instance type data sheets and change only with a new type.
instances.json is replaced atomically (written beside itself, then renamed), so an interrupted run leaves the old file.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cost import live, spot_advisor
from cost.catalog import DATA_DIR, Interruption, Price
from voicefleet_config import AWS_REGION, INSTANCE_TYPES

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_pricing import PricingClient

    # region -> (Price List client, that region's EC2 client); tests pass Stubber-backed clients.
    Clients = Callable[[str], tuple[PricingClient, EC2Client]]

INSTANCES_FILE = "instances.json"
SOURCE = "cost.catalog.refresh"


class RefreshError(ValueError):
    """The catalog cannot be refreshed as asked (bad region, a supported type without specs)."""


@dataclass
class RegionRefresh:
    """What one region's refresh fetched, and what it did not."""

    region: str
    on_demand: dict[str, Price] = field(default_factory=dict)
    spot: dict[str, Price] = field(default_factory=dict)
    interruption: dict[str, Interruption] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def fetched(self) -> bool:
        return bool(self.on_demand or self.spot or self.interruption)

    def summary(self, types: tuple[str, ...]) -> str:
        parts = []
        for label, found in (("on-demand", self.on_demand), ("Spot", self.spot), ("interruption", self.interruption)):
            kept = [t for t in types if t not in found]
            parts.append(
                f"{label} {len(types) - len(kept)}/{len(types)}" + (f" (kept: {', '.join(kept)})" if kept else "")
            )
        return f"{self.region}: " + "; ".join(parts)


@dataclass(frozen=True)
class Advisor:
    """The Spot Instance Advisor file, downloaded once per run (a few MB; it covers every region)."""

    data: Any
    url: str
    warnings: tuple[str, ...]

    @classmethod
    def download(cls, url: str | None = None) -> Advisor:
        data, used, warnings = spot_advisor.download(url)
        return cls(data, used, tuple(warnings))

    def buckets(self, region: str, as_of: str) -> tuple[dict[str, Interruption], list[str]]:
        if self.data is None:
            return {}, list(self.warnings)
        return spot_advisor.buckets_for(self.data, region, as_of=as_of, url=self.url)


def fetch_region(
    region: str,
    types: tuple[str, ...],
    *,
    now: dt.datetime,
    advisor: Advisor,
    clients: Clients | None = None,
) -> RegionRefresh:
    """Live figures for `types` in `region` (never from the --live cache: the snapshot records what AWS says now)."""
    pricing, ec2 = clients(region) if clients is not None else (None, None)
    prices = live.fetch_prices(region, types, now, pricing, ec2)
    buckets, advisor_warnings = advisor.buckets(region, now.date().isoformat())
    return RegionRefresh(
        region=region,
        on_demand={t: p for t, p in prices.on_demand.items() if t in types},
        spot={t: p for t, p in prices.spot.items() if t in types},
        interruption={t: b for t, b in buckets.items() if t in types},
        warnings=[*prices.warnings, *advisor_warnings],
    )


def _price(p: Price) -> dict[str, Any]:
    return {"usd_per_hour": p.usd_per_hour, "source": p.source, "as_of": p.as_of, "verified": p.verified}


def _bucket(b: Interruption) -> dict[str, Any]:
    raw = {k: v for k, v in asdict(b).items() if k != "measured"}
    return raw if b.savings_pct is not None else {k: v for k, v in raw.items() if k != "savings_pct"}


def apply(data: dict[str, Any], refreshed: list[RegionRefresh], *, today: str) -> dict[str, Any]:
    """`data` (instances.json) with every fetched figure replaced; everything else as it was."""
    out: dict[str, Any] = copy.deepcopy(data)
    instances = out["instances"]
    for region in refreshed:
        for itype, price in region.on_demand.items():
            instances[itype]["on_demand"][region.region] = _price(price)
        for itype, price in region.spot.items():
            instances[itype]["spot"][region.region] = _price(price)
        for itype, bucket in region.interruption.items():
            instances[itype].setdefault("interruption", {})[region.region] = _bucket(bucket)
        if region.fetched and region.region not in out["regions"]:
            out["regions"].append(region.region)
    done = ", ".join(r.region for r in refreshed if r.fetched)
    out["as_of"] = today
    out["source"] = (
        f"{SOURCE} on {today} for {done}: {live.PRICING_SOURCE}; {live.SPOT_SOURCE}; {spot_advisor.SOURCE}. "
        "Each figure names its own source and as_of (figures not refreshed keep theirs)"
    )
    return out


def write_atomically(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` in one rename, so a reader (or an interrupted run) never sees half a file."""
    text = json.dumps(data, indent=1, ensure_ascii=False)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refresh(
    data_dir: Path,
    regions: list[str] | None = None,
    *,
    now: dt.datetime | None = None,
    clients: Clients | None = None,
    advisor_url: str | None = None,
    dry_run: bool = False,
) -> list[RegionRefresh]:
    """Fetch every region and rewrite instances.json in `data_dir` (unless nothing was fetched, or `dry_run`)."""
    path = data_dir / INSTANCES_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RefreshError(f"{path}: cannot read the snapshot ({exc})") from exc
    missing = [t for t in INSTANCE_TYPES if t not in data.get("instances", {})]
    if missing:
        raise RefreshError(f"{path}: no specs for supported type(s) {', '.join(missing)}; add them by hand first")
    now = now or dt.datetime.now(dt.UTC)
    wanted = regions or list(data["regions"])
    for region in wanted:
        if not AWS_REGION.fullmatch(region):
            raise RefreshError(f"--region '{region}' is not an AWS region name (e.g. 'us-east-1')")
    advisor = Advisor.download(advisor_url)
    refreshed = [fetch_region(region, INSTANCE_TYPES, now=now, advisor=advisor, clients=clients) for region in wanted]
    if any(r.fetched for r in refreshed) and not dry_run:
        write_atomically(path, apply(data, refreshed, today=now.date().isoformat()))
    return refreshed


app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)


@app.command()
def run(
    region: Annotated[
        list[str] | None,
        typer.Option("--region", metavar="REGION", help="Region to refresh (repeatable; default: the snapshot's)"),
    ] = None,
    data_dir: Annotated[Path, typer.Option(help="Catalog data directory")] = DATA_DIR,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Fetch and report, write nothing")] = False,
) -> None:
    """Refresh the catalog's prices and Spot interruption buckets from AWS."""
    refreshed = refresh(data_dir, region, dry_run=dry_run)
    for item in refreshed:
        for warning in dict.fromkeys(item.warnings):  # the fetchers word them for --live; the text holds here too
            print(f"warning: {warning.removeprefix('--live: ')}", file=sys.stderr)
        print(item.summary(INSTANCE_TYPES))
    if not any(r.fetched for r in refreshed):
        print("cost-catalog-refresh: nothing could be fetched; the snapshot is unchanged", file=sys.stderr)
        raise typer.Exit(1)
    print("dry run: nothing written" if dry_run else f"wrote {data_dir / INSTANCES_FILE}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: bad input -> one line on stderr and exit code 2; nothing fetched -> exit 1."""
    from cost.cli import usage_error_type

    click_error = usage_error_type()
    try:
        # With standalone_mode off, click returns a command's typer.Exit code instead of raising it.
        code = app(args=argv, standalone_mode=False, prog_name="cost-catalog-refresh")
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except click_error as exc:
        print(f"cost-catalog-refresh: error: {exc.format_message()}", file=sys.stderr)
        return 2
    except RefreshError as exc:
        print(f"cost-catalog-refresh: error: {exc}", file=sys.stderr)
        return 2
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
