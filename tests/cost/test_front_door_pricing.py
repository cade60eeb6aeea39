"""The front door on the bill: the optional WAF web ACL (per ACL, per rule, per request) when enabled, and no public
IPv4 charge for the internal ALB; the same from the config and from the synthesized template."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cost import bill
from cost.catalog import service_price
from cost.cli import main
from tests.synth import FRONT, FRONT_CONFIG, Synth
from voicefleet_config import read_context


def _price(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main([*args, "--format", "json", "--month", "2026-05"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def _cdk_json(tmp_path: Path, environments: dict[str, Any]) -> Path:
    path = tmp_path / "cdk.json"
    path.write_text(json.dumps({"context": {"environments": environments}}), encoding="utf-8")
    return path


def _network(data: dict[str, Any]) -> dict[tuple[str, str], float]:
    return {(o["instance_type"], o["purchase"]): o["monthly"]["network"] for o in data["options"] if o["hourly_price"]}


def test_waf_prices_acl_rules_and_requests() -> None:
    assert bill.waf(web_acls=0, rules=0, requests=5e6) == 0.0
    expected = 5.00 + 2 * 1.00 + 3.0 * 0.60  # the sourced figures: $5/ACL, $1/rule, $0.60 per million requests
    assert bill.waf(web_acls=1, rules=2, requests=3e6) == pytest.approx(expected)
    for key in ("waf_web_acl_month", "waf_rule_month", "waf_per_million_requests"):
        assert service_price(key) > 0


def test_internal_alb_has_no_public_ipv4_charge() -> None:
    internal = bill.network(albs=1, alb_gb=0.0, nat_gateways=0, azs=2, instance_hours=100.0)
    public = bill.network(albs=1, alb_gb=0.0, nat_gateways=0, azs=2, instance_hours=100.0, public_albs=1)
    assert internal.ipv4 == pytest.approx(100 * service_price("public_ipv4_hour"))  # the instances' addresses only
    assert public.ipv4 - internal.ipv4 == pytest.approx(2 * 730 * service_price("public_ipv4_hour"))


def test_enabling_waf_adds_exactly_its_price(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    environments = copy.deepcopy(read_context())
    off = _price(capsys, "--env", "prod", "--cdk-json", str(_cdk_json(tmp_path, environments)))
    environments["prod"]["cdn"]["waf"] = {"enabled": True}
    on = _price(capsys, "--env", "prod", "--cdk-json", str(_cdk_json(tmp_path, environments)))
    wl = environments["prod"]["workload"]
    requests = off["requests_per_month"] * (1 + wl.get("downloads_per_output", 1.0))  # API calls + audio downloads
    waf = bill.waf(web_acls=1, rules=2, requests=requests)
    assert waf > 7.0
    for key, network in _network(off).items():
        assert _network(on)[key] == pytest.approx(network + waf, abs=0.01)


@pytest.mark.slow
def test_template_with_web_acl_is_priced_like_its_config(
    synth: Synth, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cdk_json = str(_cdk_json(tmp_path, {FRONT: FRONT_CONFIG}))
    template = str(synth.outdir / f"VoiceFleet-{FRONT}.template.json")
    from_config = _price(capsys, "--env", FRONT, "--cdk-json", cdk_json)
    from_template = _price(capsys, "--template", template, "--cdk-json", cdk_json)
    priced = _network(from_template)
    assert priced  # the template's own fleet types
    assert priced == pytest.approx({key: _network(from_config)[key] for key in priced})
    without = copy.deepcopy(FRONT_CONFIG)
    without["cdn"]["waf"] = {"enabled": False}
    plain = _price(capsys, "--env", FRONT, "--cdk-json", str(_cdk_json(tmp_path, {FRONT: without})))
    for key, network in priced.items():
        assert network > _network(plain)[key] + 7.0  # one ACL + two rules at least
