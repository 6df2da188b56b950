"""Find real figures in what a developer can see (issue 11, item 4).

`RealFigures.of(real)` computes the figures of a real dataset a release must never carry: the sizes
of the whole dataset and of its training and held-out parts (children, episodes, events), and the
counts behind every rate one could quote about it (moves and children per move and out of each
stage, children, episodes and events per stage, children and episodes per journey path, referrals
and re-referrals), with every ratio a/b of two of those counts and the rates `synth.journeys` and
`synth.evaluate` compute directly.

`scan_bundle` / `scan_json` / `scan_text` flag
(a) any float written with 4 or more decimals that is within 1e-9 of a real ratio, and
(b) any integer that equals an exact real size (only sizes of 100 or more: small numbers coincide),
except values the release legitimately publishes about its synthetic sample (`allowed`).

Exempt: map.json's counts (`children`, `moves`) and its durations (`*_days`), because in a synthetic
release they are computed from the synthetic records (which the bundle publishes anyway), and in an
aggregate release they are the real counts under disclosure control (withheld below the threshold,
rounded, secondary suppression: checked by the gate's aggregate checks); the CSV tables' day columns
and keys (synthetic days and identifiers).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synth import journeys
from synth.split import split_tables

MIN_EXACT = 100
TOLERANCE = 1e-9
MAP_SYNTHETIC_FIELDS = {"children", "moves", "median_days", "p25_days", "p75_days", "mean_days"}
CSV_EXEMPT_COLUMNS = {"child_key", "days", "duration_days", "start_date", "end_date", "date"}
# Dates, timestamps and financial years are not figures: take them out before reading numbers.
_DATES = re.compile(r"\d{4}-\d{2}(?:-\d{2})?(?:[T ][\d:.]+(?:[+-]\d{2}:\d{2}|Z)?)?|\b\d{4}/\d{2}\b")
# Words holding letters and digits (hashes, ids, `syn0001-0000123`, CSS like `2rem`) are not figures.
_WORDS = re.compile(r"[A-Za-z0-9_#-]*[A-Za-z_#][A-Za-z0-9_#-]*")
_NUMBER = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|(?<![\d.])\d+(?:\.\d+)?(?![\d])")


@dataclass
class Finding:
    where: str
    value: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}: {self.value} ({self.why})"


@dataclass
class RealFigures:
    exact: dict[str, int]  # name -> exact real size
    counts: set[int]  # every real count behind a rate
    ratios: np.ndarray = field(repr=False)  # sorted, unique
    named: dict[float, str] = field(default_factory=dict, repr=False)  # directly computed rates -> what

    @classmethod
    def of(cls, real) -> RealFigures:
        parts = {"all": (real.children, real.events, real.episodes)}
        for part in ("training", "holdout"):
            parts[part] = split_tables(real.children, real.events, real.episodes, real.lineage_hash, part)
        exact, counts, named = {}, set(), {}
        for part, (children, events, episodes) in parts.items():
            exact |= {f"{part} children": len(children), f"{part} episodes": len(episodes),
                      f"{part} events": len(events)}
            counts |= {len(children), len(episodes), len(events), int(events["child_key"].nunique())}
            tr = journeys.transitions(events)
            g = tr.groupby(["source", "target"])
            counts |= set(g.size().tolist()) | set(g["child_key"].nunique().tolist())
            counts |= set(tr.groupby("source").size().tolist()) | set(tr.groupby("target").size().tolist())
            counts |= set(tr.groupby("source")["child_key"].nunique().tolist())
            st = events.groupby("stage")
            counts |= set(st.size().tolist()) | set(st["child_key"].nunique().tolist())
            counts |= set(events.drop_duplicates(["child_key", "episode_no", "stage"]).groupby("stage").size().tolist())
            pg = episodes.groupby("path")
            counts |= set(pg.size().tolist()) | set(pg["child_key"].nunique().tolist())
            counts |= set(episodes.groupby("first_stage").size().tolist())
            counts |= set(episodes.groupby("exit").size().tolist()) | {int(episodes["censored"].sum())}
            counts |= _rereferral_counts(events)
            for name, rate in journeys.headline_rates(events).items():
                named[rate] = f"{part} {name}"
            edges = tr.groupby(["source", "target"]).size().rename("moves").reset_index()
            edges["share"] = edges["moves"] / edges.groupby("source")["moves"].transform("sum")
            for (a, b), share in zip(zip(edges["source"], edges["target"]), edges["share"]):
                named[float(share)] = f"{part} share of moves out of {a} that go to {b}"
            n = episodes["child_key"].nunique()
            for path, k in pg["child_key"].nunique().items():
                named[float(k / n)] = f"{part} share of children on {path}"
            for path, share in episodes["path"].value_counts(normalize=True).items():
                named[float(share)] = f"{part} share of episodes on {path}"
        counts.discard(0)
        c = np.array(sorted(counts), dtype=float)
        ratios = np.unique(np.concatenate([c[:, None] / c[None, :], np.array(list(named), dtype=float)[None, :]],
                                          axis=None))
        ratios = ratios[np.isfinite(ratios)]
        return cls({k: int(v) for k, v in exact.items()}, counts, ratios, named)

    def is_ratio(self, x: float) -> bool:
        i = np.searchsorted(self.ratios, x)
        return any(0 <= j < len(self.ratios) and abs(self.ratios[j] - x) <= TOLERANCE for j in (i - 1, i))

    def why_ratio(self, x: float) -> str:
        for v, name in self.named.items():
            if abs(v - x) <= TOLERANCE:
                return name
        for b in sorted(self.counts):
            a = round(x * b)
            if a in self.counts and abs(a / b - x) <= TOLERANCE:
                return f"{a}/{b} of real counts"
        return "a ratio of real counts"

    def exact_name(self, n: int) -> str | None:
        names = [k for k, v in self.exact.items() if v == n and v >= MIN_EXACT]
        return ", ".join(names) or None


def _rereferral_counts(events) -> set[int]:
    ref = events.loc[events["stage"] == "referral", ["child_key", "date"]].sort_values(["child_key", "date"])
    if ref.empty:
        return set()
    prev_same = ref["child_key"].eq(ref["child_key"].shift())
    gap = (ref["date"] - ref["date"].shift()).dt.days
    is_re = prev_same & (gap <= 365)
    counted = ref["date"] >= ref["date"].min() + np.timedelta64(365, "D")
    return {len(ref), int(counted.sum()), int(is_re[counted].sum()), int(is_re.sum())}


class Scanner:
    def __init__(self, real: RealFigures, allowed: set[int] = frozenset(), public: set[float] = frozenset()):
        """`allowed`: whole numbers a release may print (its own synthetic sizes); `public`: decimals
        that are functions of public constants only (a DP release's per-measurement epsilons)."""
        self.real, self.allowed, self.public = real, set(allowed), {round(v, 4) for v in public}

    def number(self, where: str, text: str, value: float | int | None = None) -> list[Finding]:
        """One number as written (`text`); `value` when it is already parsed (JSON)."""
        if value is None:
            value = float(text.replace(",", "")) if "." in text else int(text.replace(",", ""))
        if isinstance(value, bool):
            return []
        if isinstance(value, int) or value.is_integer():  # 969 and 969.0 alike
            name = self.real.exact_name(int(value))
            if name and int(value) not in self.allowed:
                return [Finding(where, text, f"the exact {name}")]
            return []
        decimals = _decimals(text)
        if decimals >= 4 and self.real.is_ratio(value) and round(value, 4) not in self.public:
            return [Finding(where, text, f"equals {self.real.why_ratio(value)}")]
        return []

    def text(self, where: str, text: str) -> list[Finding]:
        # Words first: a synthetic key (`syn0003-0000531`) holds a date-like `0003-00` that would split it.
        text = _DATES.sub(" ", _WORDS.sub(" ", text))
        return [f for m in _NUMBER.finditer(text) for f in self.number(where, m.group(0))]

    def json(self, where: str, doc, exempt_fields: set[str] = frozenset()) -> list[Finding]:
        out = []

        def walk(node, path: str) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    out.extend(self.text(f"{where} {path}/{k} (key)", str(k)))
                    if k in exempt_fields and (v is None or isinstance(v, int | float)):
                        continue
                    walk(v, f"{path}/{k}")
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, f"{path}[{i}]")
            elif isinstance(node, str):
                out.extend(self.text(f"{where} {path}", node))
            elif isinstance(node, int | float) and not isinstance(node, bool):
                out.extend(self.number(f"{where} {path}", json.dumps(node), node))

        walk(doc, "")
        return out

    def csv(self, where: str, data: bytes) -> list[Finding]:
        out = []
        reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
        for i, row in enumerate(reader, start=2):
            for col, cell in row.items():
                if col in CSV_EXEMPT_COLUMNS or not cell:
                    continue
                out.extend(self.text(f"{where} line {i} {col}", cell))
        return out

    def file(self, name: str, data: bytes) -> list[Finding]:
        if name.endswith(".csv"):
            return self.csv(name, data)
        if name.endswith(".json"):
            # A synthetic map's counts and days are the synthetic sample's (its file, whatever the prefix).
            is_map = re.split(r"[ /]", name)[-1] == "map.json"
            return self.json(name, json.loads(data), MAP_SYNTHETIC_FIELDS if is_map else set())
        text = data.decode("utf-8")
        if name.endswith(".html"):
            text = re.sub(r"<style>.*?</style>", " ", text, flags=re.S)
            text = re.sub(r"<[^>]+>", " ", text)  # markup (SVG coordinates are drawing, not figures)
        return self.text(name, text)

    def bundle(self, path: Path) -> list[Finding]:
        with zipfile.ZipFile(path) as zf:
            return [f for name in zf.namelist() for f in self.file(name, zf.read(name))]


def _decimals(text: str) -> int:
    t = text.lower()
    if "e" in t:
        mantissa, exp = t.split("e")
        d = len(mantissa.split(".")[1]) if "." in mantissa else 0
        return d - int(exp)
    return len(t.split(".")[1]) if "." in t else 0
