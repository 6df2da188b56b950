"""What machine a benchmark ran on, for the record in BENCHMARKS.md."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone


def describe() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem_gib = f"{int(line.split()[1]) / 1024**2:.0f}"
                break
    except OSError:
        pass
    load = f"load average {os.getloadavg()[0]:.2f} at start" if hasattr(os, "getloadavg") else ""
    return (f"{cpu}, {os.cpu_count()} cores, {mem_gib} GiB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"
            + (f"; {load} (other work on the machine slows every figure)" if load else ""))
