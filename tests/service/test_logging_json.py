"""Structured JSON logs: one object per line, extra fields on top level, the request id on every line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from service.logging import JsonFormatter, configure_logging, request_id_var


@pytest.fixture
def restore_root() -> object:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield None
    root.handlers[:], level = saved
    root.setLevel(level)


def test_lines_are_json_with_request_id_extras_and_exceptions(restore_root: object) -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    log = logging.getLogger("voicefleet.test")
    token = request_id_var.set("req-1")
    try:
        log.warning("spooled %s", "audio/x.wav", extra={"event": "spool", "key": "audio/x.wav"})
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("failed, 中文 stays readable")
    finally:
        request_id_var.reset(token)
    log.info("outside a request")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["message"] == "spooled audio/x.wav"
    assert lines[0]["event"] == "spool"
    assert lines[0]["request_id"] == "req-1"
    assert lines[0]["level"] == "warning"
    assert "RuntimeError: boom" in lines[1]["exception"]
    assert "中文" in stream.getvalue()
    assert "request_id" not in lines[2]


def test_unserializable_extras_do_not_break_logging() -> None:
    record = logging.makeLogRecord({"msg": "x", "thing": object()})
    assert json.loads(JsonFormatter().format(record))["thing"].startswith("<object")
