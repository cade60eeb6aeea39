"""A stand-in machine for the boot rehearsal: this host's own kernel, userland and network, with /etc, /opt, /usr
and /var as overlays in a private mount namespace (`unshare -m`), so the image build and the boots write where an
instance would (useradd, /etc/systemd/system, /opt/aws, /var/lib/voicefleet) without touching this host.

Layers: the image build writes layer "image"; each boot gets a fresh layer on top of it (a new instance of the
same image). /opt/voicefleet is a symlink into the sandbox on this host's root filesystem, so uv hardlinks the venv
from its warm cache (overlayfs would force a 6 GB copy); the NVMe instance store is a bind-mounted directory.
What cannot exist here is shimmed inside the namespace: systemctl (tests/boot/systemctl_shim.py) and the CloudWatch
agent's control script (tests/boot/cwagent_shim.py). Root only (mount namespaces).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OVERLAID = ("/etc", "/opt", "/usr", "/var")


class Sandbox:
    def __init__(self) -> None:
        # On this host's root filesystem, outside every overlaid tree, traversable by the service user.
        self.root = Path(tempfile.mkdtemp(prefix="voicefleet-rehearsal-", dir="/tmp"))
        self.root.chmod(0o755)
        self.voicefleet = self.root / "opt-voicefleet"
        self.voicefleet.mkdir(mode=0o755)
        self.shims = self.root / "shims"
        self.shims.mkdir()
        self.parents: dict[str, tuple[str, ...]] = {}
        self._install_shims()

    def _install_shims(self) -> None:
        systemctl = self.shims / "systemctl"
        systemctl.write_text(f'#!/bin/sh\nexec /usr/bin/python3 {HERE / "systemctl_shim.py"} "$@"\n')
        systemctl.chmod(0o755)

    @property
    def layers(self) -> list[str]:
        return list(self.parents)

    def layer(self, name: str, on: tuple[str, ...] = ()) -> str:
        """A new writable layer over `on` (bottom first): a fresh instance of an image, or an image built on one."""
        for mount in OVERLAID:
            for part in ("up", "work"):
                (self.root / "layers" / name / mount.strip("/") / part).mkdir(parents=True)
        (self.root / "layers" / name / "nvme").mkdir(mode=0o755)
        self.parents[name] = on
        return name

    def host_path(self, layer: str, path: str) -> Path:
        """Where a file a layer wrote (at `path` inside the sandbox) is on this host."""
        if path.startswith("/opt/voicefleet/") or path == "/opt/voicefleet":
            return self.voicefleet / path.removeprefix("/opt/voicefleet").lstrip("/")
        if path.startswith("/opt/dlami/nvme"):
            return self.root / "layers" / layer / "nvme" / path.removeprefix("/opt/dlami/nvme").lstrip("/")
        top = "/" + path.strip("/").split("/")[0]
        assert top in OVERLAID, path
        for name in (layer, *reversed(self.parents[layer])):  # the layer's own copy, else the one it sees below
            found = self.root / "layers" / name / top.strip("/") / "up" / path[len(top) :].lstrip("/")
            if found.exists() or found.is_symlink():
                return found
        return self.root / "layers" / layer / top.strip("/") / "up" / path[len(top) :].lstrip("/")

    def _mounts(self, layer: str) -> str:
        below = self.parents[layer]
        lines = ["set -e"]
        for mount in OVERLAID:
            name = mount.strip("/")
            own = self.root / "layers" / layer / name
            lower = ":".join([*(str(self.root / "layers" / b / name / "up") for b in reversed(below)), mount])
            lines.append(
                f"mount -t overlay overlay -o lowerdir={lower},upperdir={own / 'up'},workdir={own / 'work'} {mount}"
            )
        nvme = self.root / "layers" / layer / "nvme"
        lines += [
            f"[ -L /opt/voicefleet ] || ln -s {self.voicefleet} /opt/voicefleet",
            "mkdir -p /opt/dlami/nvme",
            f"mount --bind {nvme} /opt/dlami/nvme",
            f"mount --bind {self.shims / 'systemctl'} /usr/bin/systemctl",
        ]
        return "\n".join(lines)

    def command(self, layer: str, argv: Sequence[str]) -> list[str]:
        """`argv` inside the layer's mount namespace."""
        script = self._mounts(layer) + "\nexec " + " ".join(shlex.quote(a) for a in argv)
        return ["unshare", "--mount", "--propagation", "private", "bash", "-c", script]

    def run(
        self, layer: str, argv: Sequence[str], env: Mapping[str, str], timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(layer, argv), env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
        )

    def stop_everything(self) -> None:
        """Every process a layer's systemctl shim started (the namespaces end with them)."""
        for layer in self.layers:
            state = self.host_path(layer, "/var/lib/voicefleet-shim")
            for pid_file in state.glob("*.pid") if state.is_dir() else ():
                for pid in pid_file.read_text().split():
                    with contextlib.suppress(ProcessLookupError, ValueError):
                        os.kill(int(pid), signal.SIGKILL)

    def remove(self) -> None:
        self.stop_everything()
        shutil.rmtree(self.root, ignore_errors=True)


@functools.cache
def requirements() -> str | None:
    """Why this host cannot run the rehearsal (None when it can)."""
    if os.geteuid() != 0:
        return "the boot rehearsal needs root (mount namespaces, useradd, dropping to the service user)"
    for tool in ("unshare", "mount", "setpriv", "useradd"):
        if shutil.which(tool) is None:
            return f"the boot rehearsal needs `{tool}`"
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"unshare --mount is refused here: {probe.stderr.strip()}"
    return None
