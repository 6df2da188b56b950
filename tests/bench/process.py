"""Run a command in a fresh process and measure its wall time and peak memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def measure(args: list[str], env: dict | None = None) -> dict:
    """Wall seconds, peak resident memory (MiB) of that process, and its JSON output if any."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(err.decode())
        raise RuntimeError(f"benchmark command failed ({proc.returncode}): {' '.join(args)}")
    return {"wall_s": wall, "peak_mib": _peak_mib(proc.pid, err), "output": _json_or_none(out)}


def _json_or_none(out: bytes):
    try:
        return json.loads(out)
    except ValueError:
        return None


def _peak_mib(pid: int, err: bytes) -> float:
    # The child prints its own peak (ru_maxrss) as the last line of stderr: see report_peak().
    for line in reversed(err.decode().splitlines()):
        if line.startswith("PEAK_RSS_KIB="):
            return int(line.split("=", 1)[1]) / 1024
    return float("nan")


def report_peak() -> None:
    """Called at the end of a benchmark child process."""
    import resource

    sys.stderr.write(f"PEAK_RSS_KIB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\n")
