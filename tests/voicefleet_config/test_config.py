"""The typed per-environment config: every validation rule with its exact message, and the shipped cdk.json."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from voicefleet_config import (
    DEFAULT_CDK_JSON,
    INSTANCE_TYPES,
    ConfigError,
    EnvironmentConfig,
    load_environment,
    load_environments,
    parse_environment,
)


def _error(raw: dict[str, Any], env: str = "prod") -> str:
    with pytest.raises(ConfigError) as info:
        parse_environment(env, raw)
    return str(info.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"fleet": {"instance_types": ["g5.xlarg"]}},
            "environment 'prod': fleet.instance_types: unknown instance type 'g5.xlarg' — did you mean 'g5.xlarge'?",
        ),
        (
            {"timezone": "Asia/Shangai"},
            "environment 'prod': timezone: unknown IANA timezone 'Asia/Shangai' — did you mean 'Asia/Shanghai'?",
        ),
        ({"timezone": "Mars/Olympus"}, "environment 'prod': timezone: unknown IANA timezone 'Mars/Olympus'"),
        (
            {"schedule": {"start": "18:00", "stop": "09:00"}},
            "environment 'prod': schedule: stop '09:00' is not after start '18:00'",
        ),
        (
            {"schedule": {"start": "09:00", "stop": "09:00"}},
            "environment 'prod': schedule: stop '09:00' is not after start '09:00'",
        ),
        (
            {"schedule": {"start": "9am"}},
            "environment 'prod': schedule.start: '9am' is not a time of day in HH:MM form (e.g. '09:00')",
        ),
        (
            {"schedule": {"weekdays": ["mon", "tues"]}},
            "environment 'prod': schedule.weekdays: unknown weekday 'tues' — did you mean 'tue'? "
            "(use mon, tue, wed, thu, fri, sat, sun)",
        ),
        (
            {
                "schedule": {
                    "calendar": {
                        "years": [2026],
                        "holidays": ["2026-10-01"],
                        "extra_workdays": ["2026-10-01"],
                        "source": "notice",
                    }
                }
            },
            "environment 'prod': schedule.calendar: 2026-10-01 is both a holiday and an extra workday",
        ),
        (
            {"fleet": {"min_capacity": 3, "max_capacity": 1, "desired_capacity": 1}},
            "environment 'prod': fleet: min_capacity 3 is greater than max_capacity 1",
        ),
        (
            {"fleet": {"min_capacity": 0, "max_capacity": 2, "desired_capacity": 5}},
            "environment 'prod': fleet: desired_capacity 5 is outside min_capacity..max_capacity (0..2)",
        ),
        (
            {"storage": {"glacier_after_days": -1}},
            "environment 'prod': storage.glacier_after_days: Input should be greater than or equal to 0 (got -1)",
        ),
        (
            {"storage": {"glacier_after_days": 30, "expire_after_days": 10}},
            "environment 'prod': storage: expire_after_days 10 is not after glacier_after_days 30",
        ),
        (
            {"schedule": {"warmup_minutes": -5}},
            "environment 'prod': schedule.warmup_minutes: Input should be greater than or equal to 0 (got -5)",
        ),
        (
            {"fleet": {"instance_type": ["g5.xlarge"]}},
            "environment 'prod': fleet.instance_type: unknown key — did you mean 'instance_types'?",
        ),
        (
            {"storage": {"glacier_class": "GLACIER_IRR"}},
            "environment 'prod': storage.glacier_class: Input should be 'GLACIER_IR', 'GLACIER' or 'DEEP_ARCHIVE' "
            "(got 'GLACIER_IRR')",
        ),
        ({"region": "useast1"}, "environment 'prod': region: 'useast1' is not an AWS region name (e.g. 'us-east-1')"),
        (
            {"cdn": {"domain_name": "tts.example.com"}},
            "environment 'prod': cdn: domain_name 'tts.example.com' needs hosted_zone (the stack creates the "
            "certificate and alias) or certificate_arn (an ACM certificate in us-east-1; you point DNS at the "
            "distribution)",
        ),
        (
            {"cdn": {"certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/x"}},
            "environment 'prod': cdn: certificate_arn is set but domain_name is not (the certificate and DNS record "
            "are for it)",
        ),
        (
            {"cdn": {"domain_name": "tts.example.com", "certificate_arn": "arn:aws:acm:eu-west-1:1:certificate/x"}},
            "environment 'prod': cdn: certificate_arn 'arn:aws:acm:eu-west-1:1:certificate/x' is not an ACM "
            "certificate in us-east-1 (CloudFront needs one)",
        ),
        (
            {"cdn": {"domain_name": "tts.other.org", "hosted_zone": {"id": "Z0123", "name": "example.com"}}},
            "environment 'prod': cdn: domain_name 'tts.other.org' is not inside hosted_zone 'example.com'",
        ),
        (
            {"cdn": {"domain_name": "TTS.example.com", "hosted_zone": {"id": "Z0123", "name": "example.com"}}},
            "environment 'prod': cdn.domain_name: 'TTS.example.com' is not a lowercase DNS name for the "
            "distribution (e.g. 'tts.example.com')",
        ),
        (
            {"cdn": {"domain_name": "example.com", "hosted_zone": {"id": "zone-1", "name": "example.com"}}},
            "environment 'prod': cdn.hosted_zone.id: 'zone-1' is not a Route 53 hosted zone id "
            "(e.g. 'Z0123456789ABCDEFGHIJ')",
        ),
        (
            {"cdn": {"waf": {"enabled": True, "rate_limit": 5}}},
            "environment 'prod': cdn.waf.rate_limit: Input should be greater than or equal to 10 (got 5)",
        ),
        (
            {"cdn": {"waf": {"window_s": 30}}},
            "environment 'prod': cdn.waf.window_s: Input should be 60, 120, 300 or 600 (got 30)",
        ),
        ({"cdn": {"tryit": True}}, "environment 'prod': cdn.tryit: unknown key — did you mean 'try_it_page'?"),
        (
            {"alerting": {"email": "ops-at-example"}},
            "environment 'prod': alerting.email: 'ops-at-example' is not an e-mail address",
        ),
    ],
)
def test_invalid_values_name_environment_key_value_and_fix(raw: dict[str, Any], message: str) -> None:
    assert _error(raw) == message


def test_unknown_instance_type_without_close_match_lists_supported() -> None:
    supported = ", ".join(INSTANCE_TYPES)
    assert "g5.xlarge" in supported
    assert _error({"fleet": {"instance_types": ["t2.micro"]}}) == (
        f"environment 'prod': fleet.instance_types: unknown instance type 't2.micro' (supported: {supported})"
    )


def test_unknown_environment_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        load_environment("nope")
    assert str(info.value) == "unknown environment 'nope' (known: dev, prod)"
    with pytest.raises(ConfigError) as info:
        load_environment("prd")
    assert str(info.value) == "unknown environment 'prd' — did you mean 'prod'? (known: dev, prod)"


def test_shipped_environments_round_trip() -> None:
    raw = json.loads(DEFAULT_CDK_JSON.read_text(encoding="utf-8"))["context"]["environments"]
    envs = load_environments()
    assert set(envs) == {"dev", "prod"} == set(raw)
    for name, config in envs.items():
        dumped = config.model_dump(mode="json", exclude={"name"})
        again = parse_environment(name, dumped)
        assert again == config
        # Everything written in cdk.json survives the trip (defaults fill the rest).
        for section, values in raw[name].items():
            if isinstance(values, dict):
                for key, value in values.items():
                    got = dumped[section][key]
                    if isinstance(value, dict):  # a nested section (schedule.calendar): what was written survives
                        got = {k: v for k, v in got.items() if k in value}
                    assert (list(got) if isinstance(got, (list, tuple)) else got) == value, f"{name}.{section}.{key}"
            else:
                assert dumped[section] == values


def test_reference_workload_is_prod() -> None:
    prod = load_environment("prod")
    assert prod.timezone == "Asia/Shanghai"
    assert (prod.schedule.start, prod.schedule.stop) == ("09:00", "18:00")
    assert prod.schedule.weekdays == ("mon", "tue", "wed", "thu", "fri")
    assert prod.workload.requests_per_business_day == 3000
    assert prod.workload.avg_chars == 100
    assert prod.workload.peak_factor == 3
    assert (prod.workload.ttfa_p95_s, prod.workload.stream_rtf_max, prod.workload.latency_p95_s) == (2, 1.0, None)
    assert prod.workload.p95_chars == 200
    assert prod.storage.glacier_after_days == 30
    assert prod.service.max_text_chars == 200
    assert prod.stack_name == "VoiceFleet-prod"


def test_config_is_frozen() -> None:
    prod = load_environment("prod")
    with pytest.raises(Exception, match="frozen"):
        prod.region = "eu-west-1"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        (dt.date(2026, 9, 30), True),  # Wednesday
        (dt.date(2026, 10, 3), False),  # Saturday
        (dt.date(2026, 10, 1), False),  # National Day holiday, a Thursday
        (dt.date(2026, 10, 10), True),  # make-up workday, a Saturday
    ],
)
def test_workday_rule(day: dt.date, workday: bool) -> None:
    assert load_environment("prod").schedule.is_workday(day) is workday


def test_defaults_are_safe() -> None:
    env = EnvironmentConfig(name="x")
    assert env.service.max_text_chars == 200
    assert env.fleet.spot_allocation_strategy == "price-capacity-optimized"
    assert env.network.nat is False
    assert env.schedule.open_hours == 9.0
    # The front door: only the API, no WAF charge, the default certificate.
    assert (env.cdn.try_it_page, env.cdn.waf.enabled, env.cdn.waf.rules, env.cdn.domain_name) == (False, False, 0, None)


@pytest.mark.parametrize(
    "cdn",
    [
        {"domain_name": "example.com", "hosted_zone": {"id": "Z0123", "name": "example.com."}},  # the zone apex
        {"domain_name": "tts.example.com", "hosted_zone": {"id": "Z0123", "name": "example.com"}},
        {"domain_name": "tts.example.com", "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/x"},
        {
            "domain_name": "a.tts.example.com",
            "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/x",
            "hosted_zone": {"id": "Z0123", "name": "example.com"},
        },
        {"try_it_page": True, "waf": {"enabled": True, "rate_limit": 10, "window_s": 60}},
    ],
)
def test_front_door_options_accepted(cdn: dict[str, Any]) -> None:
    env = parse_environment("prod", {"cdn": cdn})
    assert env.cdn.waf.rules == (2 if cdn.get("waf", {}).get("enabled") else 0)
    if env.cdn.hosted_zone:
        assert not env.cdn.hosted_zone.name.endswith(".")


def test_bad_cdk_json_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "cdk.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_environments(bad)
    bad.write_text('{"context": {}}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"context\.environments is missing or empty"):
        load_environments(bad)


def test_service_env_matches_settings_names() -> None:
    env = load_environment("prod").service.to_env()
    assert env["TTS_MAX_TEXT_CHARS"] == "200"
    assert env["TTS_FP16"] == "true"
    assert all(key.startswith("TTS_") for key in env)


def test_admission_slots_come_from_the_service_time_profile() -> None:
    """service.max_concurrency (TTS_MAX_CONCURRENCY) is what the fleet's slowest GPU serves within the SLO."""
    from voicefleet_config.capacity import service_time

    prod = load_environment("prod")
    slowest = min(service_time(g).streams(ttfa_s=2.0, rtf_max=1.0) for g in ("A10G", "L4"))
    assert prod.service.max_concurrency == slowest
    assert prod.service.to_env()["TTS_MAX_CONCURRENCY"] == str(slowest)
    relaxed = parse_environment("x", {"fleet": {"instance_types": ["g6e.xlarge"]}, "workload": {"ttfa_p95_s": 5}})
    assert relaxed.service.max_concurrency == service_time("L40S").streams(ttfa_s=5, rtf_max=1.0)
    pinned = parse_environment("x", {"service": {"max_concurrency": 5}})
    assert pinned.service.max_concurrency == 5  # set in cdk.json: kept (and priced as set)
    espeak = parse_environment("x", {"service": {"engine": "espeak"}})
    assert espeak.service.max_concurrency == 8


@pytest.mark.parametrize(
    ("workload", "needle"),
    [
        ({"avg_chars": 500}, "workload.avg_chars 500 exceeds service.max_text_chars 200"),
        ({"avg_chars": float("inf")}, "workload.avg_chars"),
        ({"ttfa_p95_s": 0}, "workload.ttfa_p95_s"),
        ({"stream_rtf_max": 1.5}, "workload.stream_rtf_max"),
        ({"requests_per_business_day": float("nan")}, "workload.requests_per_business_day"),
        ({"hourly_shape": [1, 2]}, "workload.hourly_shape has 2 weights for the 9 open hours"),
        ({"hourly_shape": [0] * 9}, "workload.hourly_shape has no positive weight"),
    ],
)
def test_workload_refuses_absurd_values(workload: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        parse_environment("prod", {"workload": workload})
