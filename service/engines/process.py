"""Process memory figures shared by the engines' memory reports and memory hygiene."""

from __future__ import annotations

import os
import resource
import sys
import threading

_STATM = "/proc/self/statm"
_statm_fd: int | None = None
_lock = threading.Lock()


def _statm_pages() -> int:
    """Resident pages from /proc/self/statm, read with pread on one descriptor kept open: the service samples
    memory after every batch, and open + read + close through pathlib cost ~0.1 ms of every request in the
    espeak service's profile (2026-12-01), against ~2 us for this."""
    global _statm_fd
    with _lock:
        if _statm_fd is None:
            _statm_fd = os.open(_STATM, os.O_RDONLY | os.O_CLOEXEC)
        fd = _statm_fd
    return int(os.pread(fd, 128, 0).split()[1])


def rss_bytes() -> int:
    """Current resident set size (Linux /proc), else the peak RSS getrusage reports."""
    try:
        return _statm_pages() * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
