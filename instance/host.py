"""The machine the boot acts on: its files (under `root`, "/" on an instance) and the commands it runs (systemctl,
the CloudWatch agent's control script). Unit tests pass a temporary root and a recording runner; the boot rehearsal
runs the real thing in its sandbox."""

from __future__ import annotations

import grp
import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def run_command(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=False)


class CommandError(RuntimeError):
    """A command the boot needs exited non-zero; the message carries its last output line."""


@dataclass(frozen=True)
class Host:
    root: Path = Path("/")
    runner: Runner = field(default=run_command)
    # Give root-and-group files to their group (unit tests under a temporary root have no such group).
    set_owners: bool = True

    def path(self, path: PurePosixPath | str) -> Path:
        return self.root / PurePosixPath(path).relative_to("/")

    def run(self, *args: str) -> str:
        done = self.runner(args)
        if done.returncode != 0:
            lines = (done.stderr or done.stdout or "").strip().splitlines()
            raise CommandError(f"`{' '.join(args)}` exited {done.returncode}: {lines[-1] if lines else 'no output'}")
        return done.stdout

    def write_private(self, path: PurePosixPath, text: str, *, group: str, mode: int = 0o640) -> None:
        """Written so that only root and `group` can read it, with no moment where others could."""
        target = self.path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if self.set_owners and os.geteuid() == 0:
            os.chown(target, 0, grp.getgrnam(group).gr_gid)
        target.chmod(mode)

    def write(self, path: PurePosixPath, text: str, mode: int = 0o644) -> None:
        target = self.path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        target.chmod(mode)

    def is_mountpoint(self, path: PurePosixPath) -> bool:
        return os.path.ismount(self.path(path))
