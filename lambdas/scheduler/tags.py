"""The scheduler's two tags on a group, read so that a bad value can never block a decision.

A saved size or override the scheduler cannot read is ignored for that decision and reported as a TagProblem (the
handler logs it at ERROR with the value and counts `ScheduleTagIgnored`, which is alarmed): the schedule wins, and a
start uses the configured size. A key that looks like one of ours but is not (a typo, other case, no prefix) is
reported the same way, since the tag it was meant to be has no effect.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from lambdas.scheduler.override import Override, OverrideFormatError
from lambdas.scheduler.sizing import RunningSize, SizeFormatError

ProblemKind = Literal["running-size", "override", "key"]
# How close a key must be to one of ours to count as a typo of it (difflib ratio; 'voicefleet:env' is 0.73 away
# from 'voicefleet:override', 'voicefleet:overide' 0.97).
_TYPO_CUTOFF = 0.85


@dataclass(frozen=True)
class TagProblem:
    kind: ProblemKind
    key: str
    value: str
    problem: str

    def describe(self) -> str:
        return f"tag {self.key}={self.value!r} ignored: {self.problem}"


@dataclass(frozen=True)
class GroupTags:
    saved_size: RunningSize | None
    saved_text: str | None  # the tag's raw value, so a stop can tell whether it needs rewriting
    override: Override | None
    problems: tuple[TagProblem, ...]


def read_tags(tags: Mapping[str, str], *, size_key: str, override_key: str, timezone: ZoneInfo) -> GroupTags:
    """Parse the two tags; anything unreadable becomes a TagProblem and is treated as absent."""
    problems: list[TagProblem] = []
    saved: RunningSize | None = None
    override: Override | None = None
    if size_key in tags:
        try:
            saved = RunningSize.parse(tags[size_key])
        except SizeFormatError as exc:
            problems.append(TagProblem("running-size", size_key, tags[size_key], f"{exc}; the configured size is used"))
    if override_key in tags:
        try:
            override = Override.parse(tags[override_key], timezone)
        except OverrideFormatError as exc:
            problems.append(TagProblem("override", override_key, tags[override_key], f"{exc}; the schedule decides"))
    problems.extend(_lookalike_keys(tags, (size_key, override_key)))
    return GroupTags(saved, tags.get(size_key), override, tuple(problems))


def _lookalike_keys(tags: Mapping[str, str], ours: tuple[str, ...]) -> list[TagProblem]:
    folded = {key.casefold(): key for key in ours}
    bare = {key.split(":", 1)[-1].casefold(): key for key in ours}
    found: list[TagProblem] = []
    for key, value in tags.items():
        if key in ours:
            continue
        close = difflib.get_close_matches(key.casefold(), list(folded), n=1, cutoff=_TYPO_CUTOFF)
        meant = folded[close[0]] if close else bare.get(key.strip().casefold())
        if meant is not None:
            found.append(
                TagProblem("key", key, value, f"the scheduler reads '{meant}', not '{key}' (tag keys are exact)")
            )
    return found
