"""The scheduler's decisions table: every row is a test (test_scheduler_decisions.py) and a line of docs/lambdas.md.

Dates: America/New_York (cdk.json dev: no public holidays, window 08:35-18:00 = opening 09:00 minus the 25-minute
boot, default size 0-1-1) and Asia/Shanghai (cdk.json prod: China's official 2026 calendar from the `holidays`
library, default size 1-1-4). US clocks change on Sunday 2026-03-08 (EST -> EDT) and Sunday 2026-11-01 (EDT -> EST).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SIZE_TAG = "voicefleet:running-size"
OVERRIDE_TAG = "voicefleet:override"


@dataclass(frozen=True)
class Row:
    """One row of the decisions table: inputs -> expected result, reason, final group state and backstop."""

    env: str  # "dev" (New York) or "prod" (Shanghai)
    local: str  # local wall-clock time of the invocation
    action: str
    size: str
    tags: dict[str, str]
    result: str
    reason: str
    final_size: str
    final_tags: dict[str, str]
    backstop: str  # after the run: "-", "suspended" or "opening YYYY-MM-DD HH:MM" (local)
    extra_env: dict[str, str] = field(default_factory=dict)


def saved(size: str, o: str | None = None) -> dict[str, str]:
    """The saved-size tag, and an override tag when `o` is given."""
    return {SIZE_TAG: size, **({OVERRIDE_TAG: o} if o is not None else {})}


def override(value: str, size: str | None = None) -> dict[str, str]:
    return {OVERRIDE_TAG: value, **({SIZE_TAG: size} if size else {})}


NONE: dict[str, str] = {}
UNTIL_21 = "on-until=2026-03-10T21:00"  # naive: read in the environment's timezone
US_HOLIDAYS = {"HOLIDAYS": "2026-07-03,2026-12-25"}
DST_WORKDAYS = {"EXTRA_WORKDAYS": "2026-03-08,2026-11-01"}
TUE_OPEN = "opening 2026-03-11 08:35"
ROWS: dict[str, Row] = {
    # --- start (08:35 = opening minus the boot time), no override: the day decides --------------------------------
    "start weekday restores the saved baseline": Row(
        "dev", "2026-03-10 08:35", "start", "0-0-0", saved("1-1-2"), "started", "weekday", "1-1-2", saved("1-1-2"), "-"
    ),
    "start weekday without a saved tag uses DEFAULT_SIZE and saves it": Row(
        "dev", "2026-03-10 08:35", "start", "0-0-0", NONE, "started", "weekday", "0-1-1", saved("0-1-1"), "-"
    ),
    "start weekend does nothing, plans Monday's opening": Row(
        "dev", "2026-03-14 08:35", "start", "0-0-0", saved("1-1-2"), "skipped", "weekend", "0-0-0", saved("1-1-2"),
        "opening 2026-03-16 08:35",
    ),
    "start US holiday (Friday) does nothing": Row(
        "dev", "2026-07-03 08:35", "start", "0-0-0", saved("1-1-2"), "skipped", "holiday", "0-0-0", saved("1-1-2"),
        "opening 2026-07-06 08:35", US_HOLIDAYS,
    ),
    "start Shanghai weekday": Row(
        "prod", "2026-03-10 08:35", "start", "0-0-0", NONE, "started", "weekday", "1-1-4", saved("1-1-4"), "-"
    ),
    "start Shanghai weekend": Row(
        "prod", "2026-03-14 08:35", "start", "0-0-0", NONE, "skipped", "weekend", "0-0-0", NONE,
        "opening 2026-03-16 08:35",
    ),
    "start Shanghai Spring Festival Monday is a holiday; next opening after the break": Row(
        "prod", "2026-02-16 08:35", "start", "0-0-0", NONE, "skipped", "holiday", "0-0-0", NONE,
        "opening 2026-02-24 08:35",
    ),
    "start Shanghai make-up Saturday 2026-02-28 is a workday": Row(
        "prod", "2026-02-28 08:35", "start", "0-0-0", NONE, "started", "extra-workday", "1-1-4", saved("1-1-4"), "-"
    ),
    "start Shanghai make-up Saturday 2026-10-10 is a workday": Row(
        "prod", "2026-10-10 08:35", "start", "0-0-0", saved("1-1-2"), "started", "extra-workday", "1-1-2",
        saved("1-1-2"), "-",
    ),
    "start Shanghai 2027-01-01, outside the calendar's years: a plain Friday (alarmed)": Row(
        "prod", "2027-01-01 08:35", "start", "0-0-0", NONE, "started", "uncovered-weekday", "1-1-4", saved("1-1-4"),
        "-",
    ),
    # --- DST days (both Sundays): local date from the tz database, not a fixed offset ---------------------------
    "start 08:35 on spring-forward Sunday 2026-03-08 is a weekend": Row(
        "dev", "2026-03-08 08:35", "start", "0-0-0", saved("1-1-2"), "skipped", "weekend", "0-0-0", saved("1-1-2"),
        "opening 2026-03-09 08:35",
    ),
    "start 08:35 on spring-forward Sunday 2026-03-08 made a workday": Row(
        "dev", "2026-03-08 08:35", "start", "0-0-0", saved("1-1-2"), "started", "extra-workday", "1-1-2",
        saved("1-1-2"), "-", DST_WORKDAYS,
    ),
    "start 08:35 on fall-back Sunday 2026-11-01 made a workday": Row(
        "dev", "2026-11-01 08:35", "start", "0-0-0", saved("1-1-2"), "started", "extra-workday", "1-1-2",
        saved("1-1-2"), "-", DST_WORKDAYS,
    ),
    "start 00:30 EDT on 2026-11-01 (a fixed UTC-5 would say Saturday)": Row(
        "dev", "2026-11-01 00:30", "start", "0-0-0", saved("1-1-2"), "started", "extra-workday", "1-1-2",
        saved("1-1-2"), "-", {"EXTRA_WORKDAYS": "2026-11-01"},
    ),
    # --- sizing: the baseline, never yesterday's peak; desired 0 is stopped; never shrink ----------------------
    "start restores the baseline 1-1-4, not a saved peak 1-4-4": Row(
        "prod", "2026-03-10 08:35", "start", "0-0-0", saved("1-4-4"), "started", "weekday", "1-1-4", saved("1-1-4"),
        "-",
    ),
    "start keeps a raised minimum (saved 2-2-4)": Row(
        "prod", "2026-03-10 08:35", "start", "0-0-0", saved("2-2-4"), "started", "weekday", "2-2-4", saved("2-2-4"),
        "-",
    ),
    "start of a group scaled in to 0-0-1 launches the configured size": Row(
        "dev", "2026-03-10 08:35", "start", "0-0-1", NONE, "started", "weekday", "0-1-1", saved("0-1-1"), "-"
    ),
    "start after manual scale-up keeps the bigger size": Row(
        "dev", "2026-03-10 08:35", "start", "2-3-4", saved("1-1-2"), "unchanged", "already-running", "2-3-4",
        saved("2-2-4"), "-",
    ),
    "start raises only the bounds below the saved baseline": Row(
        "dev", "2026-03-10 08:35", "start", "0-2-2", saved("1-1-4"), "started", "weekday", "1-2-4", saved("1-1-4"),
        "-",
    ),
    # --- start with an override ---------------------------------------------------------------------------------
    "start override off keeps the fleet down on a workday": Row(
        "dev", "2026-03-10 08:35", "start", "0-0-0", saved("1-1-2", o="off"), "skipped", "override-off", "0-0-0",
        saved("1-1-2", o="off"), "-",
    ),
    "start override on brings the fleet up on a weekend; closing suspended": Row(
        "dev", "2026-03-14 08:35", "start", "0-0-0", saved("1-1-2", o="on"), "started", "override-on", "1-1-2",
        saved("1-1-2", o="on"), "suspended",
    ),
    "start override on-until (future) wins over a holiday": Row(
        "prod", "2026-02-16 08:35", "start", "0-0-0", override("on-until=2026-02-16T20:00"), "started",
        "override-on", "1-1-4", override("on-until=2026-02-16T20:00", "1-1-4"), "suspended",
    ),
    "start override on-until expired is removed and ignored": Row(
        "dev", "2026-03-14 08:35", "start", "0-0-0", saved("1-1-2", o="on-until=2026-03-13T20:00-05:00"), "skipped",
        "weekend", "0-0-0", saved("1-1-2"), "opening 2026-03-16 08:35",
    ),
    # --- stop -----------------------------------------------------------------------------------------------------
    "stop sets 0-0-0 and keeps the saved baseline": Row(
        "dev", "2026-03-10 18:00", "stop", "1-2-4", saved("1-1-4"), "stopped", "closing", "0-0-0", saved("1-1-4"),
        TUE_OPEN,
    ),
    "stop of a peak 1-4-4 saves the baseline 1-1-4": Row(
        "prod", "2026-03-10 18:00", "stop", "1-4-4", saved("1-4-4"), "stopped", "closing", "0-0-0", saved("1-1-4"),
        TUE_OPEN,
    ),
    "stop of a group scaled in to 0-0-1 sets 0-0-0 and saves 0-1-1": Row(
        "dev", "2026-03-10 18:00", "stop", "0-0-1", NONE, "stopped", "closing", "0-0-0", saved("0-1-1"), TUE_OPEN
    ),
    "stop on a weekend also stops a fleet started by hand": Row(
        "prod", "2026-03-14 18:00", "stop", "0-1-1", NONE, "stopped", "closing", "0-0-0", saved("0-1-1"),
        "opening 2026-03-16 08:35",
    ),
    "stop of a stopped group keeps the saved tag": Row(
        "dev", "2026-03-10 18:00", "stop", "0-0-0", saved("1-1-2"), "unchanged", "already-stopped", "0-0-0",
        saved("1-1-2"), TUE_OPEN,
    ),
    "stop at 18:00 on fall-back Sunday 2026-11-01": Row(
        "dev", "2026-11-01 18:00", "stop", "1-1-2", NONE, "stopped", "closing", "0-0-0", saved("1-1-2"),
        "opening 2026-11-02 08:35",
    ),
    "stop override on keeps the fleet up; closing suspended": Row(
        "dev", "2026-03-10 18:00", "stop", "1-1-2", override("on"), "skipped", "override-on", "1-1-2",
        override("on", "1-1-2"), "suspended",
    ),
    "stop override on-until (future, local time) keeps the fleet up": Row(
        "dev", "2026-03-10 18:00", "stop", "1-1-2", override(UNTIL_21), "skipped", "override-on", "1-1-2",
        override(UNTIL_21, "1-1-2"), "suspended",
    ),
    "stop override on-until expired (UTC stamp) is removed, fleet stops": Row(
        "dev", "2026-03-10 18:00", "stop", "1-1-2", override("on-until=2026-03-10T21:30Z"), "stopped", "closing",
        "0-0-0", saved("1-1-2"), TUE_OPEN,
    ),
    "stop override off does not block the stop": Row(
        "dev", "2026-03-10 18:00", "stop", "1-1-2", override("OFF"), "stopped", "closing", "0-0-0",
        override("OFF", "1-1-2"), "-",
    ),
    # --- reconcile (every 15 min): override, else workday and open window [08:35, 18:00) decide --------------------
    "reconcile on-until 21:00 keeps the fleet up at 20:45": Row(
        "dev", "2026-03-10 20:45", "reconcile", "1-1-2", override(UNTIL_21), "unchanged", "already-running", "1-1-2",
        override(UNTIL_21, "1-1-2"), "suspended",
    ),
    "reconcile at on-until 21:00 removes the tag and stops": Row(
        "dev", "2026-03-10 21:00", "reconcile", "1-1-2", override(UNTIL_21), "stopped", "outside-hours", "0-0-0",
        saved("1-1-2"), TUE_OPEN,
    ),
    "reconcile expired on-until inside open hours: tag removed, fleet stays up": Row(
        "dev", "2026-03-10 12:00", "reconcile", "1-1-2", override("on-until=2026-03-10T11:00"), "unchanged",
        "already-running", "1-1-2", saved("1-1-2"), "-",
    ),
    "reconcile override off during open hours stops the fleet": Row(
        "dev", "2026-03-10 11:00", "reconcile", "1-2-4", saved("1-1-2", o="off"), "stopped", "override-off",
        "0-0-0", saved("1-1-4", o="off"), "-",
    ),
    "reconcile override on after hours starts the fleet": Row(
        "dev", "2026-03-10 19:30", "reconcile", "0-0-0", saved("1-1-2", o="on"), "started", "override-on", "1-1-2",
        saved("1-1-2", o="on"), "suspended",
    ),
    "reconcile override on at night on a Shanghai weekend starts the fleet": Row(
        "prod", "2026-03-14 03:00", "reconcile", "0-0-0", override("ON"), "started", "override-on", "1-1-4",
        override("ON", "1-1-4"), "suspended",
    ),
    "reconcile on-until ending within the boot time does not start": Row(
        "dev", "2026-03-10 20:00", "reconcile", "0-0-0", saved("1-1-2", o="on-until=2026-03-10T20:10"), "unchanged",
        "too-late-to-start", "0-0-0", saved("1-1-2", o="on-until=2026-03-10T20:10"), "suspended",
    ),
    "reconcile 12:00 on a workday with the fleet up does nothing": Row(
        "dev", "2026-03-10 12:00", "reconcile", "1-1-2", saved("1-1-2"), "unchanged", "already-running", "1-1-2",
        saved("1-1-2"), "-",
    ),
    "reconcile in open hours does not undo a scale-in; the saved baseline follows the bounds": Row(
        "dev", "2026-03-10 12:00", "reconcile", "1-1-4", saved("1-2-4"), "unchanged", "already-running", "1-1-4",
        saved("1-1-4"), "-",
    ),
    "reconcile in open hours starts a fleet the morning start missed": Row(
        "dev", "2026-03-10 10:00", "reconcile", "0-0-0", saved("1-1-2"), "started", "weekday", "1-1-2",
        saved("1-1-2"), "-",
    ),
    "reconcile in open hours starts a group scaled in to 0-0-1": Row(
        "dev", "2026-03-10 12:00", "reconcile", "0-0-1", NONE, "started", "weekday", "0-1-1", saved("0-1-1"), "-"
    ),
    "reconcile 08:30 is before the window; today's opening is planned": Row(
        "dev", "2026-03-10 08:30", "reconcile", "0-0-0", saved("1-1-2"), "unchanged", "already-stopped", "0-0-0",
        saved("1-1-2"), "opening 2026-03-10 08:35",
    ),
    "reconcile 08:35 opens the window": Row(
        "dev", "2026-03-10 08:35", "reconcile", "0-0-0", NONE, "started", "weekday", "0-1-1", saved("0-1-1"), "-"
    ),
    "reconcile 17:30 still starts a stopped fleet (ready 17:55)": Row(
        "dev", "2026-03-10 17:30", "reconcile", "0-0-0", saved("1-1-2"), "started", "weekday", "1-1-2",
        saved("1-1-2"), "-",
    ),
    "reconcile 17:45 does not start a fleet it could not boot before 18:00": Row(
        "dev", "2026-03-10 17:45", "reconcile", "0-0-0", saved("1-1-2"), "unchanged", "too-late-to-start", "0-0-0",
        saved("1-1-2"), TUE_OPEN,
    ),
    "reconcile 17:45 with the fleet up does nothing": Row(
        "dev", "2026-03-10 17:45", "reconcile", "1-1-2", NONE, "unchanged", "already-running", "1-1-2",
        saved("1-1-2"), "-",
    ),
    "reconcile 19:00 stops a fleet the 18:00 stop missed": Row(
        "dev", "2026-03-10 19:00", "reconcile", "1-2-4", saved("1-1-2"), "stopped", "outside-hours", "0-0-0",
        saved("1-1-4"), TUE_OPEN,
    ),
    "reconcile stopped fleet after hours stays down": Row(
        "dev", "2026-03-10 23:15", "reconcile", "0-0-0", saved("1-1-2"), "unchanged", "already-stopped", "0-0-0",
        saved("1-1-2"), TUE_OPEN,
    ),
    "reconcile 10:00 on a Shanghai holiday keeps the fleet down": Row(
        "prod", "2026-02-16 10:00", "reconcile", "0-0-0", NONE, "unchanged", "already-stopped", "0-0-0", NONE,
        "opening 2026-02-24 08:35",
    ),
    "reconcile 10:00 on a Shanghai holiday stops a fleet started without an override": Row(
        "prod", "2026-02-16 10:00", "reconcile", "0-1-1", NONE, "stopped", "holiday", "0-0-0", saved("0-1-1"),
        "opening 2026-02-24 08:35",
    ),
    "reconcile 10:00 on a Shanghai make-up Saturday starts the fleet": Row(
        "prod", "2026-02-28 10:00", "reconcile", "0-0-0", NONE, "started", "extra-workday", "1-1-4", saved("1-1-4"),
        "-",
    ),
    "reconcile 10:00 on Saturday 2027-01-02, outside the calendar's years: a plain weekend": Row(
        "prod", "2027-01-02 10:00", "reconcile", "0-0-0", NONE, "unchanged", "already-stopped", "0-0-0", NONE,
        "opening 2027-01-04 08:35",
    ),
    # A fixed UTC-5 would read 07:35 (before the window) on the first EDT day; a fixed UTC-4 would read 18:45 (after
    # it) on the first EST day. The tz database gives the local wall-clock time.
    "reconcile 08:35 EDT on spring-forward Sunday 2026-03-08 made a workday": Row(
        "dev", "2026-03-08 08:35", "reconcile", "0-0-0", saved("1-1-2"), "started", "extra-workday", "1-1-2",
        saved("1-1-2"), "-", DST_WORKDAYS,
    ),
    "reconcile 17:45 EST on fall-back Sunday 2026-11-01 made a workday": Row(
        "dev", "2026-11-01 17:45", "reconcile", "1-1-2", saved("1-1-2"), "unchanged", "already-running", "1-1-2",
        saved("1-1-2"), "-", DST_WORKDAYS,
    ),
    "reconcile 18:00 EST on fall-back Sunday 2026-11-01 made a workday": Row(
        "dev", "2026-11-01 18:00", "reconcile", "1-1-2", NONE, "stopped", "outside-hours", "0-0-0", saved("1-1-2"),
        "opening 2026-11-02 08:35", DST_WORKDAYS,
    ),
}  # fmt: skip


def _tags(tags: dict[str, str]) -> str:
    short = {SIZE_TAG: "size", OVERRIDE_TAG: "override"}
    return ", ".join(f"{short[key]} `{value}`" for key, value in sorted(tags.items(), key=lambda kv: short[kv[0]]))


def render_table() -> str:
    """The table docs/lambdas.md carries between its decisions markers, one line per row, in this order."""
    lines = [
        "| case | env | local time | action | group before | result | reason | group after | backstop after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in ROWS.items():
        before = " ".join(part for part in (row.size, _tags(row.tags)) if part)
        after = " ".join(part for part in (row.final_size, _tags(row.final_tags)) if part)
        extra = "".join(f" ({key} {value})" for key, value in row.extra_env.items())
        lines.append(
            f"| {name}{extra} | {row.env} | {row.local} | {row.action} | {before} | {row.result} | {row.reason} "
            f"| {after} | {row.backstop} |"
        )
    return "\n".join(lines)
