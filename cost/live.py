"""--live: refresh EC2 prices from the AWS Price List API and Spot price history, cached per region.

Imported only when --live is given (boto3 is slow to import). Without credentials the snapshot is used, with a
warning. Cache: $VOICEFLEET_CACHE_DIR or ~/.cache/voicefleet, one JSON file per region with its fetch time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cost.catalog import Price

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_pricing import PricingClient

CACHE_TTL = dt.timedelta(hours=24)
PRICING_SOURCE = "AWS Price List API (pricing.get_products, Linux, shared tenancy)"
SPOT_SOURCE = "ec2.describe_spot_price_history (Linux/UNIX, median over AZs)"


@dataclass
class LivePrices:
    on_demand: dict[str, Price] = field(default_factory=dict)
    spot: dict[str, Price] = field(default_factory=dict)
    fetched_at: str = ""
    warnings: list[str] = field(default_factory=list)

    def as_overlay(self) -> dict[str, dict[str, Price]]:
        return {"on_demand": self.on_demand, "spot": self.spot}


def cache_dir() -> Path:
    env = os.environ.get("VOICEFLEET_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "voicefleet"


def _cache_file(region: str) -> Path:
    return cache_dir() / f"prices-{region}.json"


def _to_json(p: Price) -> dict[str, Any]:
    return {"usd_per_hour": p.usd_per_hour, "source": p.source, "as_of": p.as_of, "verified": p.verified}


def _from_json(raw: dict[str, Any]) -> Price:
    return Price(float(raw["usd_per_hour"]), str(raw["source"]), str(raw["as_of"]), bool(raw["verified"]))


def read_cache(region: str, now: dt.datetime) -> LivePrices | None:
    path = _cache_file(region)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        fetched = dt.datetime.fromisoformat(raw["fetched_at"])
    except (OSError, ValueError, KeyError):
        return None
    if now - fetched > CACHE_TTL:
        return None
    return LivePrices(
        {k: _from_json(v) for k, v in raw["on_demand"].items()},
        {k: _from_json(v) for k, v in raw["spot"].items()},
        raw["fetched_at"],
    )


def write_cache(region: str, prices: LivePrices) -> None:
    path = _cache_file(region)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "fetched_at": prices.fetched_at,
        "on_demand": {k: _to_json(v) for k, v in prices.on_demand.items()},
        "spot": {k: _to_json(v) for k, v in prices.spot.items()},
    }
    path.write_text(json.dumps(body, indent=1), encoding="utf-8")


def on_demand_prices(client: PricingClient, region: str, types: tuple[str, ...], as_of: str) -> dict[str, Price]:
    out: dict[str, Price] = {}
    for itype in types:
        filters: list[Any] = [
            {"Type": "TERM_MATCH", "Field": field_name, "Value": value}
            for field_name, value in (
                ("instanceType", itype),
                ("regionCode", region),
                ("operatingSystem", "Linux"),
                ("tenancy", "Shared"),
                ("preInstalledSw", "NA"),
                ("capacitystatus", "Used"),
            )
        ]
        response = client.get_products(ServiceCode="AmazonEC2", Filters=filters, MaxResults=10)
        for item in response.get("PriceList", []):
            product = json.loads(item) if isinstance(item, str) else item
            for term in product.get("terms", {}).get("OnDemand", {}).values():
                for dim in term.get("priceDimensions", {}).values():
                    usd = float(dim.get("pricePerUnit", {}).get("USD", "0"))
                    if usd > 0:
                        out[itype] = Price(usd, f"{PRICING_SOURCE}, {region}", as_of, True)
    return out


def spot_prices(client: EC2Client, types: tuple[str, ...], now: dt.datetime, as_of: str) -> dict[str, Price]:
    response = client.describe_spot_price_history(
        InstanceTypes=list(types),  # type: ignore[arg-type]
        ProductDescriptions=["Linux/UNIX"],
        StartTime=now,
    )
    by_type: dict[str, dict[str, float]] = {}
    for row in response.get("SpotPriceHistory", []):
        itype, zone = str(row.get("InstanceType")), str(row.get("AvailabilityZone"))
        by_type.setdefault(itype, {}).setdefault(zone, float(row.get("SpotPrice", "0")))
    return {
        t: Price(statistics.median(zones.values()), SPOT_SOURCE, as_of, True) for t, zones in by_type.items() if zones
    }


def fetch(
    region: str,
    types: tuple[str, ...],
    *,
    now: dt.datetime | None = None,
    pricing: PricingClient | None = None,
    ec2: EC2Client | None = None,
    use_cache: bool = True,
) -> LivePrices:
    """Live prices for `types` in `region` (cache first); empty with a warning when no credentials are found."""
    now = now or dt.datetime.now(dt.UTC)
    if use_cache and (cached := read_cache(region, now)) is not None:
        return cached
    import boto3
    import botocore.exceptions

    if pricing is None or ec2 is None:
        session = boto3.Session()
        if session.get_credentials() is None:
            return LivePrices(warnings=["--live: no AWS credentials found; using the price snapshot"])
        pricing = pricing or session.client("pricing", region_name="us-east-1")
        ec2 = ec2 or session.client("ec2", region_name=region)
    as_of = now.date().isoformat()
    try:
        prices = LivePrices(
            on_demand_prices(pricing, region, types, as_of), spot_prices(ec2, types, now, as_of), now.isoformat()
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        return LivePrices(warnings=[f"--live: AWS call failed ({exc}); using the price snapshot"])
    write_cache(region, prices)
    return prices
