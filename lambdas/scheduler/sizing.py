"""The running size of a group, kept on the group as a tag "min-desired-max" (e.g. "1-1-4")."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SIZE = re.compile(r"^(\d+)-(\d+)-(\d+)$")


class SizeFormatError(ValueError):
    """A size string is not "min-desired-max" with min <= desired <= max."""


@dataclass(frozen=True, order=True)
class RunningSize:
    min: int
    desired: int
    max: int

    @classmethod
    def parse(cls, text: str) -> RunningSize:
        match = _SIZE.match(text.strip())
        if not match:
            raise SizeFormatError(f"'{text}' is not 'min-desired-max' (e.g. '1-1-4')")
        size = cls(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if not size.min <= size.desired <= size.max:
            raise SizeFormatError(f"'{text}' breaks min <= desired <= max")
        return size

    def __str__(self) -> str:
        return f"{self.min}-{self.desired}-{self.max}"

    @property
    def is_zero(self) -> bool:
        """0-0-0: nothing can launch, not even by a scaling policy."""
        return self.min == self.desired == self.max == 0

    @property
    def is_stopped(self) -> bool:
        """No instance wanted: desired 0, whatever the maximum (a group scaled in to 0-0-1 serves nothing)."""
        return self.desired == 0

    def at_least(self, other: RunningSize) -> RunningSize:
        """Each bound raised to `other`'s: restoring a saved size never shrinks a group someone scaled up by hand.

        The result keeps min <= desired <= max, since both inputs do.
        """
        return RunningSize(max(self.min, other.min), max(self.desired, other.desired), max(self.max, other.max))

    def baseline(self, opening: RunningSize) -> RunningSize:
        """What the next opening restores from this running size: its bounds, with the opening desired size.

        The bounds are set by people (or the config); the desired size moves with target tracking during the day,
        so carrying it over would bring back yesterday's peak (a 1-4-4 group at 17:59 restored as four GPUs).
        The opening desired size is clamped into the bounds, so a raised minimum is kept.
        """
        desired = min(max(opening.desired, self.min), self.max)
        return RunningSize(self.min, desired, self.max)


ZERO = RunningSize(0, 0, 0)
