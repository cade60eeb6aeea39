"""Process memory figures shared by the engines' memory reports."""

from __future__ import annotations

import os
import resource
from pathlib import Path


def rss_bytes() -> int:
    """Current resident set size (Linux /proc), else the peak RSS getrusage reports."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
