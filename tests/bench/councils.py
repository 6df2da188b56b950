"""Fake councils for the benchmarks, generated once into the (git-ignored) work folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

KEY_ENV = {"FRONTDOOR_PSEUDONYM_KEY": "benchmark-key-0123456789abcdef0123456789"}


def _name(kind: str, council: str, *parts: object) -> str:
    """Folder name; shire's names carry no council, so caches made before Moorside stay valid."""
    return "_".join(map(str, (kind, *([] if council == "shire" else [council]), *parts)))


def council_files(work: Path, children: int, seed: int, fmt: str, council: str = "shire") -> list[Path]:
    out = work / _name("council", council, children, seed, fmt)
    if not out.exists():
        tmp = out.with_name(out.name + ".part")
        subprocess.run([sys.executable, "-m", "service.cli", "fixtures", "--children", str(children), "--seed",
                        str(seed), "--format", fmt, "--council", council, "--out", str(tmp)], check=True,
                       stdout=subprocess.DEVNULL)
        tmp.rename(out)
    return sorted(p for p in out.iterdir() if p.suffix in (".csv", ".xlsx"))


def council_dataset(work: Path, children: int, seed: int, council: str = "shire") -> Path:
    """An ingested fake council (from CSVs)."""
    out = work / _name("dataset", council, children, seed)
    if not out.exists():
        files = council_files(work, children, seed, "csv", council)
        subprocess.run([sys.executable, "-m", "service.cli", "ingest", *map(str, files), "--out", str(out)],
                       check=True, stdout=subprocess.DEVNULL, env={**os.environ, **KEY_ENV})
    return out
