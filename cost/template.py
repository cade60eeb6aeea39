"""Price what a synthesized CloudFormation template will actually deploy.

Reads the Auto Scaling group (instance types, capacity, Spot mix), EventBridge Scheduler schedules (cron, timezone,
start/stop input), S3 lifecycle rules, load balancers (and whether they face the internet), NAT gateways, the
CloudFront price class, the WAF web ACL and its rules, and the environment the stack was synthesized for. CDK writes
some values as intrinsics ({"Ref": ...}, {"Fn::...": ...}); those are unknown here and listed in the notes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cost.errors import CostInputError
from cost.estimator import Deployment
from voicefleet_config import INSTANCE_TYPES, WEEKDAYS

_CRON = re.compile(r"^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$")
# The tag the CDK app puts on every resource (infra/budget.py's ENV_TAG_KEY; not imported: that module pulls in
# aws_cdk, which the CLI never loads). tests/cost/test_template.py checks the two stay equal.
ENV_TAG_KEY = "voicefleet:env"
_FILE_NAME = re.compile(r"^VoiceFleet-(?P<env>[A-Za-z0-9-]+)\.template\.json$")
_GLACIER = {"GLACIER_IR": "GLACIER_IR", "GLACIER": "GLACIER", "DEEP_ARCHIVE": "DEEP_ARCHIVE"}


@dataclass
class TemplateFacts:
    instance_types: list[str] = field(default_factory=list)
    min_size: int | None = None
    max_size: int | None = None
    desired: int | None = None
    on_demand_base: int | None = None
    on_demand_pct: int | None = None
    start: str | None = None  # HH:MM of the start schedule
    stop: str | None = None
    weekdays: list[str] = field(default_factory=list)
    timezone: str | None = None
    # The scheduler Lambda's own calendar (its WEEKDAYS/HOLIDAYS/EXTRA_WORKDAYS variables): the schedules fire daily
    # and the Lambda decides which days are workdays, so this, not the cron, is what the deployment runs.
    calendar_weekdays: list[str] = field(default_factory=list)
    holidays: list[str] = field(default_factory=list)
    extra_workdays: list[str] = field(default_factory=list)
    calendar_years: list[str] = field(default_factory=list)  # CALENDAR_YEARS; ["*"]: no public holidays at all
    glacier_after_days: int | None = None
    glacier_class: str | None = None
    expire_after_days: int | None = None
    albs: int = 0
    public_albs: int = 0
    nat_gateways: int = 0
    web_acls: int = 0
    waf_rules: int = 0
    alarms: int = 0
    price_class: str | None = None
    env_tag: str | None = None  # the value of the ENV_TAG_KEY tag, when the template carries one
    unknown: list[str] = field(default_factory=list)


def _is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::"))


def _int(value: Any, where: str, facts: TemplateFacts) -> int | None:
    if value is None:
        return None
    if _is_intrinsic(value):
        facts.unknown.append(f"{where} is {json.dumps(value)} (unresolved; taken from the environment)")
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        facts.unknown.append(f"{where} = {value!r} is not a number")
        return None


def _weekdays(field_value: str) -> list[str]:
    names = [d.upper() for d in WEEKDAYS]
    out: list[str] = []
    for part in field_value.split(","):
        if part in ("*", "?"):
            return list(WEEKDAYS)
        if "-" in part:
            lo, hi = part.split("-", 1)
            if lo in names and hi in names:
                out += list(WEEKDAYS[names.index(lo) : names.index(hi) + 1])
        elif part in names:
            out.append(WEEKDAYS[names.index(part)])
    return out


def _schedule(props: dict[str, Any], facts: TemplateFacts, name: str) -> None:
    expr = props.get("ScheduleExpression")
    target = props.get("Target", {})
    raw_input = target.get("Input") if isinstance(target, dict) else None
    if not isinstance(expr, str) or not isinstance(raw_input, str):
        facts.unknown.append(f"schedule {name}: expression or input is not a literal")
        return
    match = _CRON.match(expr)
    try:
        action = json.loads(raw_input).get("action")
    except (json.JSONDecodeError, AttributeError):
        action = None
    if not match or action not in ("start", "stop"):
        facts.unknown.append(f"schedule {name}: not a start/stop cron ({expr}, {raw_input})")
        return
    minute, hour, _dom, _month, dow, _year = match.groups()
    if not (minute.isdigit() and hour.isdigit()):
        facts.unknown.append(f"schedule {name}: cron {expr} has no fixed time")
        return
    hhmm = f"{int(hour):02d}:{int(minute):02d}"
    if action == "start":
        facts.start = hhmm
        facts.weekdays = _weekdays(dow)
    else:
        facts.stop = hhmm
    tz = props.get("ScheduleExpressionTimezone")
    if isinstance(tz, str):
        facts.timezone = tz


def _asg(props: dict[str, Any], facts: TemplateFacts) -> None:
    facts.min_size = _int(props.get("MinSize"), "AutoScalingGroup MinSize", facts)
    facts.max_size = _int(props.get("MaxSize"), "AutoScalingGroup MaxSize", facts)
    facts.desired = _int(props.get("DesiredCapacity"), "AutoScalingGroup DesiredCapacity", facts)
    mip = props.get("MixedInstancesPolicy") or {}
    overrides = ((mip.get("LaunchTemplate") or {}).get("Overrides")) or []
    for override in overrides:
        itype = override.get("InstanceType") if isinstance(override, dict) else None
        if isinstance(itype, str):
            facts.instance_types.append(itype)
        elif itype is not None:
            facts.unknown.append(f"LaunchTemplate override InstanceType {json.dumps(itype)} is unresolved")
    dist = mip.get("InstancesDistribution") or {}
    facts.on_demand_base = _int(dist.get("OnDemandBaseCapacity"), "OnDemandBaseCapacity", facts)
    facts.on_demand_pct = _int(
        dist.get("OnDemandPercentageAboveBaseCapacity"), "OnDemandPercentageAboveBaseCapacity", facts
    )


def _scheduler_calendar(props: dict[str, Any], facts: TemplateFacts) -> None:
    variables = (props.get("Environment") or {}).get("Variables") or {}
    if not isinstance(variables, dict) or not isinstance(variables.get("WEEKDAYS"), str):
        return
    for key in ("WEEKDAYS", "HOLIDAYS", "EXTRA_WORKDAYS", "CALENDAR_YEARS", "TIMEZONE"):
        if key in variables and not isinstance(variables[key], str):
            facts.unknown.append(f"scheduler Lambda {key} is unresolved")

    def split(key: str) -> list[str]:
        return [part.strip() for part in str(variables.get(key) or "").split(",") if part.strip()]

    facts.calendar_weekdays = split("WEEKDAYS")
    facts.holidays = split("HOLIDAYS")
    facts.extra_workdays = split("EXTRA_WORKDAYS")
    facts.calendar_years = split("CALENDAR_YEARS")
    if isinstance(variables.get("TIMEZONE"), str):
        facts.timezone = variables["TIMEZONE"]


def _bucket(props: dict[str, Any], facts: TemplateFacts) -> None:
    for rule in (props.get("LifecycleConfiguration") or {}).get("Rules", []):
        if rule.get("Status", "Enabled") != "Enabled":
            continue
        for transition in rule.get("Transitions", []) or []:
            cls = transition.get("StorageClass")
            if cls in _GLACIER:
                facts.glacier_class = _GLACIER[cls]
                facts.glacier_after_days = _int(transition.get("TransitionInDays"), "TransitionInDays", facts)
        if "ExpirationInDays" in rule:
            facts.expire_after_days = _int(rule["ExpirationInDays"], "ExpirationInDays", facts)


def _env_tags(props: dict[str, Any]) -> Iterator[str]:
    """ENV_TAG_KEY values in a resource's Tags: a [{Key, Value}] list for most types, a {key: value} map for some."""
    tags = props.get("Tags")
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, dict) and tag.get("Key") == ENV_TAG_KEY and isinstance(tag.get("Value"), str):
                yield tag["Value"]
    elif isinstance(tags, dict) and isinstance(tags.get(ENV_TAG_KEY), str):
        yield tags[ENV_TAG_KEY]


def parse(template: dict[str, Any]) -> TemplateFacts:
    """What the template deploys, as far as it is literal."""
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        raise CostInputError("template has no Resources section (is it a synthesized CloudFormation template?)")
    facts = TemplateFacts()
    envs: set[str] = set()
    for name, res in resources.items():
        if not isinstance(res, dict):
            continue
        kind, props = res.get("Type"), res.get("Properties") or {}
        if isinstance(props, dict):
            envs.update(_env_tags(props))
        if kind == "AWS::AutoScaling::AutoScalingGroup":
            _asg(props, facts)
        elif kind == "AWS::Scheduler::Schedule":
            _schedule(props, facts, name)
        elif kind == "AWS::Lambda::Function":
            _scheduler_calendar(props, facts)
        elif kind == "AWS::S3::Bucket" and props.get("LifecycleConfiguration"):
            _bucket(props, facts)
        elif kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            facts.albs += 1
            # CloudFormation's default scheme is internet-facing.
            facts.public_albs += 1 if props.get("Scheme", "internet-facing") != "internal" else 0
        elif kind == "AWS::WAFv2::WebACL":
            facts.web_acls += 1
            rules = props.get("Rules")
            if isinstance(rules, list):
                facts.waf_rules += len(rules)
            else:
                facts.unknown.append("WAF web ACL Rules are not a literal list")
        elif kind == "AWS::EC2::NatGateway":
            facts.nat_gateways += 1
        elif kind == "AWS::CloudWatch::Alarm":
            facts.alarms += 1
        elif kind == "AWS::CloudFront::Distribution":
            pc = (props.get("DistributionConfig") or {}).get("PriceClass", "PriceClass_All")
            if isinstance(pc, str):
                facts.price_class = pc
            else:
                facts.unknown.append("CloudFront PriceClass is unresolved")
    if len(envs) > 1:
        raise CostInputError(
            f"template tags its resources with several environments ({ENV_TAG_KEY}: {', '.join(sorted(envs))})"
        )
    facts.env_tag = next(iter(envs), None)
    return facts


def environment_for(path: Path, facts: TemplateFacts, given: str | None, known: Sequence[str]) -> str:
    """The one cdk.json environment to price the template under.

    The stack's own ENV_TAG_KEY tag decides (and --env must agree with it); without the tag, --env, else the CDK file
    name VoiceFleet-<env>.template.json, else the only environment cdk.json has.
    """
    if facts.env_tag is not None:
        if given is not None and given != facts.env_tag:
            raise CostInputError(
                f"--env {given} disagrees with --template '{path.name}', which was synthesized for environment "
                f"'{facts.env_tag}' (tag {ENV_TAG_KEY})"
            )
        name, origin, remedy = facts.env_tag, f"its {ENV_TAG_KEY} tag", "pass the --cdk-json it was synthesized from"
    elif given is not None:
        return given  # an unknown name gets cdk.json's own "unknown environment" error
    elif match := _FILE_NAME.match(path.name):
        name, origin, remedy = match["env"], "its file name", f"pass --env ({', '.join(known)})"
    elif len(known) == 1:
        return known[0]
    else:
        raise CostInputError(
            f"--template '{path.name}': cannot tell which environment it was synthesized for (no {ENV_TAG_KEY} tag, "
            f"name not VoiceFleet-<env>.template.json); pass --env ({', '.join(known)})"
        )
    if name not in known:
        raise CostInputError(
            f"--template '{path.name}' is for environment '{name}' (from {origin}), which cdk.json does not define "
            f"({', '.join(known)}); {remedy}"
        )
    return name


def load(path: Path) -> TemplateFacts:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CostInputError(f"--template '{path}': cannot read ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise CostInputError(f"--template '{path}': not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(raw, dict):
        raise CostInputError(f"--template '{path}': expected a JSON object")
    return parse(raw)


@dataclass(frozen=True)
class ConfigChanges:
    """What a template fixes in its environment's config for pricing, by cdk.json section (absent keys, and None
    values, keep the environment's), and what is deployed around the fleet."""

    schedule: dict[str, Any]
    fleet: dict[str, Any]
    storage: dict[str, Any]
    timezone: str | None
    price_class: str | None
    deployment: Deployment


def template_calendar(facts: TemplateFacts) -> dict[str, Any]:
    """The scheduler Lambda's resolved calendar as a hand-entered one: the same days, the same covered years (a
    template from before CALENDAR_YEARS: the years its dates fall in)."""
    days = [*facts.holidays, *facts.extra_workdays]
    if facts.calendar_years == ["*"] or not (days or facts.calendar_years):
        return {}
    years = sorted({int(y) for y in facts.calendar_years if y.isdigit()} or {int(day[:4]) for day in days})
    return {
        "years": years,
        "holidays": facts.holidays,
        "extra_workdays": facts.extra_workdays,
        "source": "the scheduler Lambda's HOLIDAYS/EXTRA_WORKDAYS in the template",
    }


def opening(start: str, warmup_minutes: int) -> str:
    """HH:MM the service opens: the start schedule fires `warmup_minutes` before it (infra/schedule.py start_time)."""
    hour, minute = (int(part) for part in start.split(":"))
    minutes = hour * 60 + minute + warmup_minutes
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def config_changes(facts: TemplateFacts, *, env_given: bool, warmup_minutes: int) -> ConfigChanges:
    """The config a template deploys. `env_given`: --env named the environment, whose calendar then stands in for
    a scheduler calendar the template does not carry (instead of the cron's weekdays). `warmup_minutes`: the
    environment's warm-up, which the template does not carry."""
    unknown_types = [t for t in facts.instance_types if t not in INSTANCE_TYPES]
    if unknown_types:
        raise CostInputError(f"--template: instance type '{unknown_types[0]}' is not in the catalog")
    schedule: dict[str, Any] = {}
    if facts.start and facts.stop:
        # The start cron fires the warm-up before opening: the requests arrive from opening on, and the fleet is
        # billed from the cron (the warm-up), as pricing the environment from cdk.json does.
        opens = opening(facts.start, warmup_minutes)
        if opens >= facts.stop:
            raise CostInputError(
                f"--template: the start schedule at {facts.start} plus the environment's {warmup_minutes}-minute "
                f"warm-up opens at {opens}, not before the stop schedule at {facts.stop}"
            )
        schedule.update(start=opens, stop=facts.stop, warmup_minutes=warmup_minutes)
        # Real schedules fire daily and the scheduler Lambda decides workdays from its own calendar, which the
        # template carries; without it, the environment's calendar (--env) or else the cron's weekdays.
        if facts.calendar_weekdays:
            schedule.update(weekdays=tuple(facts.calendar_weekdays), calendar=template_calendar(facts))
        elif not env_given and facts.weekdays:
            schedule["weekdays"] = tuple(facts.weekdays)
    return ConfigChanges(
        schedule=schedule,
        fleet={
            "instance_types": tuple(facts.instance_types) or None,
            "min_capacity": facts.min_size,
            "max_capacity": facts.max_size,
            "desired_capacity": facts.desired,
            "on_demand_base_capacity": facts.on_demand_base,
            "on_demand_percentage_above_base": facts.on_demand_pct,
        },
        storage={
            "glacier_after_days": facts.glacier_after_days,
            "glacier_class": facts.glacier_class,
            "expire_after_days": facts.expire_after_days,
        },
        timezone=facts.timezone if facts.start and facts.stop else None,
        price_class=facts.price_class,
        deployment=Deployment(
            albs=facts.albs,
            public_albs=facts.public_albs,
            nat_gateways=facts.nat_gateways,
            alarms=facts.alarms,
            web_acls=facts.web_acls,
            waf_rules=facts.waf_rules,
            notes=tuple(facts.unknown),
        ),
    )
