"""systemd `EnvironmentFile=` files: written by the boot (service.env, instance.env), read back by the launch gate.

Written in the syntax systemd's own parser reads (src/basic/env-file.c, `parse_env_file_internal`): a plain value
as it is; a value holding a quote, a backslash or surrounding spaces double-quoted, with `\\` and `"` escaped — the two
escapes systemd undoes inside double quotes (so a tenants' JSON key document survives, quotes and all). A newline
cannot be carried on one line: refused, naming the setting."""

from __future__ import annotations

_NEEDS_QUOTES = frozenset("\"'\\")
_UNCARRIED = frozenset("\n\r\0")
# Undone after a backslash inside double quotes (env-file.c: SHELL_NEED_ESCAPE); any other keeps its backslash.
_DOUBLE_QUOTE_ESCAPES = frozenset('"\\`$')


class EnvFileError(ValueError):
    """A value an environment file cannot carry; the message names the setting."""


def render(values: dict[str, str]) -> str:
    """One `KEY=value` line per setting, in order."""
    lines = []
    for key, value in values.items():
        if any(c in _UNCARRIED for c in value):
            raise EnvFileError(f"{key} holds a line break, which an environment file cannot carry")
        if any(c in _NEEDS_QUOTES for c in value) or value != value.strip():
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        lines.append(f"{key}={value}\n")
    return "".join(lines)


def parse(text: str) -> dict[str, str]:
    """The settings of a file `render` wrote (also plain `KEY=value` lines, blank lines and `#` comments), read as
    systemd reads them: unquoted values lose trailing spaces, double-quoted ones their escapes."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.lstrip()
        if not stripped or stripped[0] in "#;" or "=" not in stripped:
            continue
        key, _, raw = stripped.partition("=")
        raw = raw.lstrip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            out, chars = [], iter(raw[1:-1])
            for c in chars:
                if c == "\\":
                    escaped = next(chars, "")
                    out.append(escaped if escaped in _DOUBLE_QUOTE_ESCAPES else "\\" + escaped)
                else:
                    out.append(c)
            values[key.strip()] = "".join(out)
        else:
            values[key.strip()] = raw.rstrip()
    return values
