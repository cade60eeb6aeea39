"""instance.envfile: what the boot writes is what systemd hands the service. Read back by a port of systemd's own
parser (tests/boot/systemctl_shim.parse_env_file, from src/basic/env-file.c): no systemd runs on this machine."""

from __future__ import annotations

import json

import pytest

from instance.envfile import EnvFileError, parse, render
from tests.boot.systemctl_shim import parse_env_file as systemd_reads

VALUES = [
    "plain-key-0123456789abcdef",
    "k1-0123456789abcdef,k2-0123456789abcdef",
    json.dumps({"acme": ["k\"1\\x'y$z`w-0123456789"], "globex": {"keys": ["g" * 24], "admin": False}}),
    " padded ",
    "trailing\t",
    "",
    "a#b;c",
    "back\\slash",
    "quote'in",
    'dq"in',
    "tab\tin",
    "ключ-密钥-🔑",
    "https://s3.us-east-1.amazonaws.com",
]


@pytest.mark.parametrize("value", VALUES)
def test_systemd_reads_back_exactly_what_was_written(value: str) -> None:
    text = render({"TTS_X": value, "TTS_NEXT": "after"})
    assert systemd_reads(text) == {"TTS_X": value, "TTS_NEXT": "after"}
    assert parse(text) == {"TTS_X": value, "TTS_NEXT": "after"}  # the gate's reader agrees with systemd


def test_plain_values_stay_unquoted() -> None:
    assert render({"TTS_ENVIRONMENT": "prod", "TTS_MAX_BATCH": "4"}) == "TTS_ENVIRONMENT=prod\nTTS_MAX_BATCH=4\n"


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\0b"])
def test_a_line_break_is_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(EnvFileError, match="TTS_X"):
        render({"TTS_X": value})
