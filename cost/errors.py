"""Named errors of the cost model; the CLI maps CostInputError to exit code 2 with its one-line message."""

from __future__ import annotations


class CostInputError(ValueError):
    """Bad input (unknown instance type or region, malformed value, unreadable file): the message says what and how."""
