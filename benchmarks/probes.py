"""Probes of a server process: its pid from the port it listens on, its RSS, its CPU time, its GPU memory."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp


def pid_listening_on(port: int) -> int | None:
    """The pid of the process holding a listening TCP socket on `port` (Linux /proc; None if not found/visible)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and parts[3] == _LISTEN and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:  # another user's process, or it just exited
            continue
        for fd in fds:
            try:
                if str(fd.readlink()) in targets:
                    return int(proc.name)
            except OSError:  # a descriptor closed while we looked (e.g. the one listing the directory)
                continue
    return None


def rss_bytes(pid: int) -> int | None:
    """Current resident set size of `pid`, or None when the process is gone or unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """CPU time `pid` has used (user + system, all threads; Linux /proc/<pid>/stat), or None when unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (proc(5): 14, 15)
    except (OSError, ValueError, IndexError):
        return None


def gpu_memory_bytes(pid: int) -> int | None:
    """GPU memory `pid` uses per nvidia-smi (None without a GPU, or when the process has no CUDA context)."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    total = None
    for line in out.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) == 2 and fields[0] == str(pid) and fields[1].isdigit():
            total = (total or 0) + int(fields[1]) * 2**20
    return total
