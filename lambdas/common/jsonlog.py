"""Structured JSON logs with the standard library only: one JSON object per line on stdout.

Lambda ships stdout to CloudWatch Logs, where Logs Insights can filter on the fields (`action`, `result`,
`group`...). Powertools would do the same but would have to be packaged with the function; this is 40 lines.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

_FIELDS = "voicefleet_fields"


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: time, level, logger, message, then the structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "timestamp": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(getattr(record, _FIELDS, {}))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False, sort_keys=False)


class _StdoutHandler(logging.Handler):
    """Writes to whatever sys.stdout is at emit time (the Lambda runtime's, or a test's capture)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:  # logging must never break the handler it reports on
            self.handleError(record)


def get_logger(name: str) -> logging.Logger:
    """A logger writing JSON lines to stdout, not propagating to the runtime's plain-text root handler."""
    logger = logging.getLogger(name)
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def log(logger: logging.Logger, message: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log `message` with `fields` as top-level JSON keys."""
    logger.log(level, message, extra={_FIELDS: fields})
