"""Fake councils for the benchmarks, generated once into the (git-ignored) work folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

KEY_ENV = {"FRONTDOOR_PSEUDONYM_KEY": "benchmark-key-0123456789abcdef0123456789"}


def council_files(work: Path, children: int, seed: int, fmt: str) -> list[Path]:
    out = work / f"council_{children}_{seed}_{fmt}"
    if not out.exists():
        tmp = out.with_name(out.name + ".part")
        subprocess.run([sys.executable, "-m", "service.cli", "fixtures", "--children", str(children), "--seed",
                        str(seed), "--format", fmt, "--out", str(tmp)], check=True, stdout=subprocess.DEVNULL)
        tmp.rename(out)
    return sorted(p for p in out.iterdir() if p.suffix in (".csv", ".xlsx"))


def council_dataset(work: Path, children: int, seed: int) -> Path:
    """An ingested fake council (from CSVs)."""
    out = work / f"dataset_{children}_{seed}"
    if not out.exists():
        files = council_files(work, children, seed, "csv")
        subprocess.run([sys.executable, "-m", "service.cli", "ingest", *map(str, files), "--out", str(out)],
                       check=True, stdout=subprocess.DEVNULL, env={**os.environ, **KEY_ENV})
    return out
