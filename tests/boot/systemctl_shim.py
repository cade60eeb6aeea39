"""systemctl for the boot rehearsal: systemd cannot run inside the test sandbox, so this starts units the way
systemd.exec(5) and systemd.service(5) describe, for the directives our units use, and refuses any other.

Emulated: Type= simple|oneshot; User=/Group= (setpriv drops to them, supplementary groups from /etc/group);
Environment= then EnvironmentFile= (later wins; a leading '-' makes the file optional); USER, LOGNAME, HOME, SHELL
from passwd for User= units; StateDirectory=/CacheDirectory=/LogsDirectory= created under /var/lib, /var/cache,
/var/log, owned by the unit's user, and announced as $STATE_DIRECTORY/$CACHE_DIRECTORY/$LOGS_DIRECTORY;
StandardOutput=/StandardError= append:PATH (opened by the manager, as root); ExecStart= (one command line);
KillSignal= and TimeoutStopSec= on stop; working directory "/", umask 0022, systemd's default PATH; drop-ins
(NAME.d/*.conf, after the unit, in lexical order).
Accepted and not emulated: ordering (After=, Wants=), Restart=/RestartSec=/RestartPreventExitStatus= (a rehearsal
starts each unit once; `is-active` reports "failed" when it exited non-zero), [Install] (enable only records).

Commands: daemon-reload, enable, start, stop, is-active. Standard library only (runs on the host's python3).
"""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

UNITS = Path("/etc/systemd/system")
STATE = Path("/var/lib/voicefleet-shim")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
KNOWN = {
    "Unit": {"Description", "After", "Wants", "Requires", "Before"},
    "Service": {
        "Type", "User", "Group", "EnvironmentFile", "Environment", "StateDirectory", "CacheDirectory",
        "LogsDirectory", "ExecStart", "Restart", "RestartSec", "RestartPreventExitStatus", "KillSignal",
        "TimeoutStopSec", "StandardOutput", "StandardError",
    },
    "Install": {"WantedBy"},
}  # fmt: skip


class UnitError(Exception):
    pass


def parse(name: str) -> dict[str, list[str]]:
    """{"Section.Key": [values]} of a unit file then its drop-ins (NAME.d/*.conf in lexical order, systemd.unit(5);
    list settings such as EnvironmentFile= accumulate); unknown sections or keys are errors."""
    path = UNITS / name
    if not path.is_file():
        raise UnitError(f"Unit {name} not found.")
    out = dict[str, list[str]]()
    for file in [path, *sorted((UNITS / f"{name}.d").glob("*.conf"))]:
        _parse_file(name, file, out)
    if "Service.ExecStart" not in out:
        raise UnitError(f"{name}: no ExecStart=")
    return out


def _parse_file(name: str, path: Path, out: dict[str, list[str]]) -> None:
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            if section not in KNOWN:
                raise UnitError(f"{name}: section [{section}] is not understood by this rehearsal")
            continue
        key, _, value = line.partition("=")
        if key not in KNOWN.get(section, set()):
            raise UnitError(f"{name}: {section}.{key}= is not understood by this rehearsal")
        out.setdefault(f"{section}.{key}", []).append(value)


def one(unit: dict[str, list[str]], key: str, default: str = "") -> str:
    return unit.get(f"Service.{key}", [default])[-1]


def _assignments(text: str) -> dict[str, str]:
    out = {}
    for word in shlex.split(text):
        key, _, value = word.partition("=")
        out[key] = value
    return out


def _env_file(path: str) -> dict[str, str]:
    optional = path.startswith("-")
    file = Path(path.lstrip("-"))
    if not file.is_file():
        if optional:
            return {}
        raise UnitError(f"Failed to load environment files: {file}")
    return parse_env_file(file.read_text(encoding="utf-8"))


_WHITESPACE, _NEWLINE, _COMMENTS, _SHELL_NEED_ESCAPE = " \t\n\r", "\n\r", "#;", '"\\`$'


def parse_env_file(text: str) -> dict[str, str]:
    """An EnvironmentFile= as systemd reads it: a line-for-line port of `parse_env_file_internal` in systemd's
    src/basic/env-file.c (main branch, read 2026-12-02): quotes open only where a value starts, single quotes keep
    everything, double quotes undo a backslash before one of `"\\`$` (and keep it before anything else), an unquoted
    backslash escapes the next character, unquoted values lose trailing whitespace, a backslash-newline joins lines,
    `#`/`;` start comments only where a key would. The last assignment of a key wins."""
    out: dict[str, str] = {}
    state = "PRE_KEY"
    key: list[str] = []
    value: list[str] = []
    last_key_ws: int | None = None
    last_value_ws: int | None = None

    def push() -> None:
        name = "".join(key[:last_key_ws] if last_key_ws is not None else key)
        out[name] = "".join(value)

    for c in text:
        if state == "PRE_KEY":
            if c in _COMMENTS:
                state = "COMMENT"
            elif c not in _WHITESPACE:
                state, key, last_key_ws = "KEY", [c], None
        elif state == "KEY":
            if c in _NEWLINE:
                state, key = "PRE_KEY", []
            elif c == "=":
                state, value, last_value_ws = "PRE_VALUE", [], None
            else:
                if c not in _WHITESPACE:
                    last_key_ws = None
                elif last_key_ws is None:
                    last_key_ws = len(key)
                key.append(c)
        elif state == "PRE_VALUE":
            if c in _NEWLINE:
                push()
                state, key, value = "PRE_KEY", [], []
            elif c == "'":
                state = "SINGLE_QUOTE_VALUE"
            elif c == '"':
                state = "DOUBLE_QUOTE_VALUE"
            elif c == "\\":
                state = "VALUE_ESCAPE"
            elif c not in _WHITESPACE:
                state = "VALUE"
                value.append(c)
        elif state == "VALUE":
            if c in _NEWLINE:
                if last_value_ws is not None:
                    del value[last_value_ws:]
                push()
                state, key, value = "PRE_KEY", [], []
            elif c == "\\":
                state, last_value_ws = "VALUE_ESCAPE", None
            else:
                if c not in _WHITESPACE:
                    last_value_ws = None
                elif last_value_ws is None:
                    last_value_ws = len(value)
                value.append(c)
        elif state == "VALUE_ESCAPE":
            state = "VALUE"
            if c not in _NEWLINE:
                value.append(c)
        elif state == "SINGLE_QUOTE_VALUE":
            if c == "'":
                state = "PRE_VALUE"
            else:
                value.append(c)
        elif state == "DOUBLE_QUOTE_VALUE":
            if c == '"':
                state = "PRE_VALUE"
            elif c == "\\":
                state = "DOUBLE_QUOTE_VALUE_ESCAPE"
            else:
                value.append(c)
        elif state == "DOUBLE_QUOTE_VALUE_ESCAPE":
            state = "DOUBLE_QUOTE_VALUE"
            if c in _SHELL_NEED_ESCAPE:
                value.append(c)
            elif c != "\n":
                value += ["\\", c]
        elif state == "COMMENT":
            if c == "\\":
                state = "COMMENT_ESCAPE"
            elif c in _NEWLINE:
                state = "PRE_KEY"
        elif state == "COMMENT_ESCAPE":
            state = "PRE_KEY" if c in _NEWLINE else "COMMENT"
    if state in ("PRE_VALUE", "VALUE", "VALUE_ESCAPE", "SINGLE_QUOTE_VALUE", "DOUBLE_QUOTE_VALUE",
                 "DOUBLE_QUOTE_VALUE_ESCAPE"):  # fmt: skip
        if state == "VALUE" and last_value_ws is not None:
            del value[last_value_ws:]
        push()
    return out


def environment(unit: dict[str, list[str]]) -> dict[str, str]:
    env = {"PATH": DEFAULT_PATH}
    user = one(unit, "User")
    if user:
        entry = pwd.getpwnam(user)
        env.update(USER=user, LOGNAME=user, HOME=entry.pw_dir, SHELL=entry.pw_shell)
    for key, root, variable in (
        ("StateDirectory", "/var/lib", "STATE_DIRECTORY"),
        ("CacheDirectory", "/var/cache", "CACHE_DIRECTORY"),
        ("LogsDirectory", "/var/log", "LOGS_DIRECTORY"),
    ):
        name = one(unit, key)
        if name:
            path = Path(root) / name
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o755)
            if user:
                entry = pwd.getpwnam(user)
                group = grp.getgrnam(one(unit, "Group")).gr_gid if one(unit, "Group") else entry.pw_gid
                os.chown(path, entry.pw_uid, group)
            env[variable] = str(path)
    for text in unit.get("Service.Environment", []):
        env.update(_assignments(text))
    for env_file in unit.get("Service.EnvironmentFile", []):
        env.update(_env_file(env_file))
    return env


def command(unit: dict[str, list[str]]) -> list[str]:
    argv = shlex.split(one(unit, "ExecStart"))
    user = one(unit, "User")
    if not user:
        return argv
    group = one(unit, "Group", user)
    return ["setpriv", f"--reuid={user}", f"--regid={group}", "--init-groups", "--", *argv]


def _output(unit: dict[str, list[str]], key: str) -> int | None:
    target = one(unit, key)
    if not target:
        return None
    if not target.startswith("append:"):
        raise UnitError(f"{key}={target} is not understood by this rehearsal (append:PATH only)")
    path = Path(target.removeprefix("append:"))
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def spawn(name: str, unit: dict[str, list[str]]) -> subprocess.Popen[bytes]:
    out = _output(unit, "StandardOutput")
    err = _output(unit, "StandardError")
    os.umask(0o022)
    return subprocess.Popen(
        command(unit), env=environment(unit), cwd="/", stdin=subprocess.DEVNULL, stdout=out, stderr=err
    )


def start(name: str) -> int:
    unit = parse(name)
    kind = one(unit, "Type", "simple")
    STATE.mkdir(parents=True, exist_ok=True)
    if kind == "oneshot":
        code = spawn(name, unit).wait()
        (STATE / f"{name}.exit").write_text(str(code))
        if code:
            print(f"Job for {name} failed because the control process exited with error code.", file=sys.stderr)
        return 1 if code else 0
    if kind != "simple":
        raise UnitError(f"{name}: Type={kind} is not understood by this rehearsal")
    # A supervisor outlives this command (as systemd does): it records the main pid, then the exit status. It holds
    # none of this command's pipes: a caller reading `systemctl start`'s output would otherwise wait for it forever.
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / f"{name}.supervisor.log").open("ab") as log:
        subprocess.Popen(
            [sys.executable, __file__, "_supervise", name],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    for _ in range(100):
        if (STATE / f"{name}.pid").exists():
            return 0
        time.sleep(0.05)
    raise UnitError(f"{name}: did not start")


def supervise(name: str) -> int:
    (STATE / f"{name}.exit").unlink(missing_ok=True)
    process = spawn(name, parse(name))
    (STATE / f"{name}.pid").write_text(f"{os.getpid()} {process.pid}")
    code = process.wait()
    (STATE / f"{name}.exit").write_text(str(code))
    (STATE / f"{name}.pid").unlink(missing_ok=True)
    return 0


def stop(name: str) -> int:
    unit = parse(name)
    pid_file = STATE / f"{name}.pid"
    if not pid_file.exists():
        return 0
    main = int(pid_file.read_text().split()[1])
    os.kill(main, getattr(signal, one(unit, "KillSignal", "SIGTERM")))
    deadline = time.monotonic() + float(one(unit, "TimeoutStopSec", "90"))
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_file.exists():
        os.kill(main, signal.SIGKILL)
    return 0


def is_active(name: str) -> int:
    parse(name)
    if (STATE / f"{name}.pid").exists():
        print("active")
        return 0
    exit_file = STATE / f"{name}.exit"
    print("failed" if exit_file.exists() and exit_file.read_text().strip() != "0" else "inactive")
    return 3


def main(argv: list[str]) -> int:
    if not argv:
        raise UnitError("usage: systemctl COMMAND [UNIT...]")
    verb, names = argv[0], argv[1:]
    if verb == "daemon-reload":
        # Checks ours only: the sandbox sees this host's own units too, which are not the rehearsal's business.
        for path in sorted(UNITS.glob("voicefleet*.service")):
            parse(path.name)
        return 0
    if verb == "enable":
        for name in names:
            if "Install.WantedBy" not in parse(name):
                raise UnitError(f"{name} has no [Install] section")
        STATE.mkdir(parents=True, exist_ok=True)
        (STATE / "enabled").write_text("\n".join(names) + "\n")
        return 0
    if verb == "_supervise":
        return supervise(names[0])
    actions = {"start": start, "stop": stop, "is-active": is_active}
    if verb not in actions:
        raise UnitError(f"systemctl {verb} is not understood by this rehearsal")
    return max((actions[verb](name) for name in names), default=0)


if __name__ == "__main__":
    try:
        raise SystemExit(main(sys.argv[1:]))
    except (UnitError, KeyError, OSError) as exc:
        print(f"systemctl (rehearsal): {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
