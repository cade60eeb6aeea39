"""--live: Spot interruption-frequency buckets from the public AWS Spot Instance Advisor file (no credentials).

The file (`SPOT_ADVISOR_URL`, the data behind aws.amazon.com/ec2/spot/instance-advisor/) maps region -> OS ->
instance type -> {"s": savings % against on-demand, "r": index into "ranges"}, each range labelled "<5%", "5-10%",
... "> 20%". urllib is imported inside `fetch` only, so the default CLI path never loads it (start-up time); no new
dependency. Any network error or malformed file gives one warning line and no buckets: the caller falls back to the
catalog's buckets and the default assumption.
"""

from __future__ import annotations

import os
from typing import Any

from cost.catalog import Interruption, interruption_buckets

SPOT_ADVISOR_URL = "https://spot-bid-advisor.s3.amazonaws.com/spot-advisor-data.json"
URL_ENV = "VOICEFLEET_SPOT_ADVISOR_URL"  # override (tests serve a sample file on 127.0.0.1)
TIMEOUT_S = 10.0
MAX_BYTES = 64 * 1024 * 1024  # the real file is a few MB; refuse anything absurd rather than exhaust memory
SOURCE = "AWS Spot Instance Advisor (spot-advisor-data.json, Linux)"
_FALLBACK = "using the catalog's interruption buckets (the default assumption where it has none)"


class AdvisorError(ValueError):
    """The advisor file does not have the expected shape; the message names the offending key."""


def advisor_url() -> str:
    return os.environ.get(URL_ENV) or SPOT_ADVISOR_URL


def _label(raw: Any) -> str | None:
    """The catalog's bucket name for an advisor label ("<5%", "> 20%", ...), or None when it is not one."""
    if not isinstance(raw, str):
        return None
    label = raw.replace(" ", "")
    return label if label in interruption_buckets() else None


def parse(data: Any, region: str, *, as_of: str, url: str) -> dict[str, Interruption]:
    """Per-type Linux buckets of `region` (empty when the file has no Linux figures for it)."""
    if not isinstance(data, dict):
        raise AdvisorError("the top level is not a JSON object")
    ranges = data.get("ranges")
    if not isinstance(ranges, list) or not ranges:
        raise AdvisorError("'ranges' is missing or empty")
    labels: dict[int, str] = {}
    for i, entry in enumerate(ranges):
        index = entry.get("index") if isinstance(entry, dict) else None
        label = _label(entry.get("label")) if isinstance(entry, dict) else None
        if not isinstance(index, int) or isinstance(index, bool) or label is None:
            raise AdvisorError(
                f"ranges[{i}] needs an integer 'index' and a 'label' among {', '.join(interruption_buckets())}"
            )
        labels[index] = label
    advisor = data.get("spot_advisor")
    if not isinstance(advisor, dict):
        raise AdvisorError("'spot_advisor' is missing or not an object")
    by_os = advisor.get(region)
    if by_os is None:
        return {}
    linux = by_os.get("Linux") if isinstance(by_os, dict) else None
    if not isinstance(linux, dict):
        raise AdvisorError(f"spot_advisor.{region}.Linux is missing or not an object")
    out: dict[str, Interruption] = {}
    for itype, entry in linux.items():
        where = f"spot_advisor.{region}.Linux.{itype}"
        rank = entry.get("r") if isinstance(entry, dict) else None
        if not isinstance(rank, int) or isinstance(rank, bool) or rank not in labels:
            raise AdvisorError(f"{where}.r is not one of the 'ranges' indexes {sorted(labels)}")
        savings = entry.get("s")
        if savings is not None and (isinstance(savings, bool) or not isinstance(savings, int | float)):
            raise AdvisorError(f"{where}.s is not a number")
        out[str(itype)] = Interruption(
            bucket=labels[rank],
            source=f"{SOURCE} {url}",
            as_of=as_of,
            verified=True,
            savings_pct=None if savings is None else float(savings),
        )
    return out


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def download(url: str | None = None, *, timeout: float = TIMEOUT_S) -> tuple[Any, str, list[str]]:
    """(the decoded file or None, the URL used, warnings): one warning line instead of any error."""
    import http.client
    import json
    import urllib.error
    import urllib.request

    url = url or advisor_url()
    if not url.startswith(("http://", "https://")):
        return None, url, [f"--live: {URL_ENV} '{url}' is not an http(s) URL; {_FALLBACK}"]
    try:  # the scheme check above matters: urlopen would also read file:// URLs
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        return None, url, [f"--live: Spot Instance Advisor {url} answered HTTP {exc.code}; {_FALLBACK}"]
    except (OSError, http.client.HTTPException, ValueError) as exc:
        reason = _one_line(getattr(exc, "reason", None) or exc) or type(exc).__name__
        return None, url, [f"--live: Spot Instance Advisor not reachable at {url} ({reason}); {_FALLBACK}"]
    try:
        if len(body) > MAX_BYTES:
            raise AdvisorError(f"larger than {MAX_BYTES} bytes")
        return json.loads(body), url, []
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError and AdvisorError are ValueErrors
        return None, url, [_malformed(url, exc)]


def _malformed(url: str, exc: ValueError) -> str:
    return f"--live: Spot Instance Advisor file at {url} is malformed ({_one_line(exc)}); {_FALLBACK}"


def buckets_for(data: Any, region: str, *, as_of: str, url: str) -> tuple[dict[str, Interruption], list[str]]:
    """(buckets, warnings) of one region from a downloaded file: buckets only when it has Linux figures there."""
    try:
        buckets = parse(data, region, as_of=as_of, url=url)
    except ValueError as exc:
        return {}, [_malformed(url, exc)]
    if not buckets:
        return {}, [f"--live: Spot Instance Advisor file at {url} has no Linux figures for {region}; {_FALLBACK}"]
    return buckets, []


def fetch(
    region: str, *, as_of: str, url: str | None = None, timeout: float = TIMEOUT_S
) -> tuple[dict[str, Interruption], list[str]]:
    """(buckets, warnings): buckets only when the file was fetched and parsed; else one warning line."""
    data, url, warnings = download(url, timeout=timeout)
    if data is None:
        return {}, warnings
    return buckets_for(data, region, as_of=as_of, url=url)
