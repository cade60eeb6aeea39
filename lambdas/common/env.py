"""Reading a Lambda's environment variables into typed values, failing loudly with the variable's name.

Each handler has a frozen dataclass built by `from_env()`; these helpers do the per-variable work so that every
missing or malformed variable raises the same named errors, never a silent default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


class EnvironmentVariableError(ValueError):
    """A Lambda environment variable is missing or malformed; `.variable` names it."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"environment variable {variable}: {problem}")


class MissingEnvironmentVariableError(EnvironmentVariableError):
    """A required variable is not set at all."""

    def __init__(self, variable: str) -> None:
        super().__init__(variable, "is not set (the CDK stack sets it; check the function's configuration)")


class MalformedEnvironmentVariableError(EnvironmentVariableError):
    """A variable is set but its value cannot be used."""


def required(environ: Mapping[str, str], name: str, *, allow_empty: bool = False) -> str:
    """The stripped value of `name`; missing (or empty, unless allowed) raises."""
    if name not in environ:
        raise MissingEnvironmentVariableError(name)
    value = environ[name].strip()
    if not value and not allow_empty:
        raise MalformedEnvironmentVariableError(name, "is empty")
    return value


def csv_list(environ: Mapping[str, str], name: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    """A comma-separated list; blank items (e.g. 'a,,b' or a trailing comma) are a mistake, not skipped."""
    raw = required(environ, name, allow_empty=allow_empty)
    if not raw:
        return ()
    items = tuple(item.strip() for item in raw.split(","))
    if any(not item for item in items):
        raise MalformedEnvironmentVariableError(name, f"'{raw}' has an empty item (expected 'a,b,c')")
    if len(set(items)) != len(items):
        raise MalformedEnvironmentVariableError(name, f"'{raw}' repeats an item")
    return items


def current_environ() -> Mapping[str, str]:
    """The process environment (a seam so tests can pass a plain dict instead)."""
    return os.environ
