"""--live: refresh EC2 prices (Price List API, Spot price history) and Spot interruption buckets, cached per region.

Imported only when --live is given (boto3 is slow to import). Without credentials the price snapshot is used, with a
warning; the Spot Instance Advisor file needs none (`cost.spot_advisor`) and on any error the catalog's buckets are
used, with a warning. Cache: $VOICEFLEET_CACHE_DIR or ~/.cache/voicefleet, one JSON file per region; prices and
advisor buckets each carry their own fetch time and expire after 24 h independently.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cost import spot_advisor
from cost.catalog import Interruption, Price

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
    interruption: dict[str, Interruption] = field(default_factory=dict)  # Spot Instance Advisor, by type
    advisor_fetched_at: str = ""

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


def _fresh(stamp: Any, now: dt.datetime) -> bool:
    return isinstance(stamp, str) and bool(stamp) and now - dt.datetime.fromisoformat(stamp) <= CACHE_TTL


def read_cache(region: str, now: dt.datetime) -> LivePrices | None:
    """The cached sections still fresh at `now` (prices, advisor buckets), or None when neither is."""
    try:
        raw = json.loads(_cache_file(region).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    found = LivePrices()
    try:
        if _fresh(raw.get("fetched_at"), now):
            found.on_demand = {k: _from_json(v) for k, v in raw["on_demand"].items()}
            found.spot = {k: _from_json(v) for k, v in raw["spot"].items()}
            found.fetched_at = raw["fetched_at"]
    except (KeyError, TypeError, ValueError, AttributeError):
        found = LivePrices()
    advisor = raw.get("spot_advisor")
    try:
        if isinstance(advisor, dict) and _fresh(advisor.get("fetched_at"), now):
            found.interruption = {k: Interruption(**v) for k, v in advisor["interruption"].items()}
            found.advisor_fetched_at = advisor["fetched_at"]
    except (KeyError, TypeError, ValueError, AttributeError):
        found.interruption, found.advisor_fetched_at = {}, ""
    return found if found.fetched_at or found.advisor_fetched_at else None


def write_cache(region: str, prices: LivePrices) -> None:
    path = _cache_file(region)
    path.parent.mkdir(parents=True, exist_ok=True)
    body: dict[str, Any] = {
        "fetched_at": prices.fetched_at,
        "on_demand": {k: _to_json(v) for k, v in prices.on_demand.items()},
        "spot": {k: _to_json(v) for k, v in prices.spot.items()},
    }
    if prices.advisor_fetched_at:
        body["spot_advisor"] = {
            "fetched_at": prices.advisor_fetched_at,
            "interruption": {k: asdict(v) for k, v in prices.interruption.items()},
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
    advisor_url: str | None = None,
) -> LivePrices:
    """Live prices for `types` and Spot interruption buckets in `region`, each from the cache while fresh; what
    cannot be fetched is left empty with a one-line warning (the caller then uses the snapshot)."""
    now = now or dt.datetime.now(dt.UTC)
    result = (read_cache(region, now) if use_cache else None) or LivePrices()
    fetched = False
    if not result.fetched_at:
        got = fetch_prices(region, types, now, pricing, ec2)
        result.on_demand, result.spot, result.fetched_at = got.on_demand, got.spot, got.fetched_at
        result.warnings += got.warnings
        fetched = bool(got.fetched_at)
    if not result.advisor_fetched_at:
        buckets, warnings = spot_advisor.fetch(region, as_of=now.date().isoformat(), url=advisor_url)
        result.warnings += warnings
        if buckets:
            result.interruption, result.advisor_fetched_at = buckets, now.isoformat()
            fetched = True
    if fetched:
        write_cache(region, result)
    return result


def fetch_prices(
    region: str, types: tuple[str, ...], now: dt.datetime, pricing: PricingClient | None, ec2: EC2Client | None
) -> LivePrices:
    """On-demand and Spot prices for `types` in `region` from AWS (no cache); a warning instead of any error."""
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
        return LivePrices(
            on_demand_prices(pricing, region, types, as_of), spot_prices(ec2, types, now, as_of), now.isoformat()
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        return LivePrices(warnings=[f"--live: AWS call failed ({exc}); using the price snapshot"])
