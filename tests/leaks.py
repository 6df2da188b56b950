"""Leaky "releases" for testing the release gate: a genuine synthetic sample with part of it
replaced by real children, verbatim or lightly disguised, from the training part, the held-out
part or both; and a release made only of real children.

Used by the gate's tests and by its benchmark (`tests/bench/gate_job.py`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.dataset import Dataset
from synth.split import split_tables


def _part(real: Dataset, part: str):
    return split_tables(real.children, real.events, real.episodes, real.lineage_hash, part)


def disguise(children: pd.DataFrame, events: pd.DataFrame, episodes: pd.DataFrame, rng: np.random.Generator,
             days: int = 1):
    """Near copies: age moved by one year (either way) and every date moved by `days`."""
    step = rng.choice([-1, 1], len(children))
    age = children["age_at_first_contact"].astype(int)
    age = np.where(age + step < 0, age + 1, age + step)
    children = children.assign(age_at_first_contact=age)
    events = events.assign(date=events["date"] + pd.Timedelta(days=days))
    episodes = episodes.assign(start_date=episodes["start_date"] + pd.Timedelta(days=days),
                               end_date=episodes["end_date"] + pd.Timedelta(days=days))
    return children, events, episodes


def real_children(real: Dataset, n: int, source: str, rng: np.random.Generator):
    """`n` real children from `source` (training, holdout or both: half from each)."""
    parts = ["training", "holdout"] if source == "both" else [source]
    sizes = [n // len(parts) + (i < n % len(parts)) for i in range(len(parts))]
    out = []
    for part, k in zip(parts, sizes):
        c, e, p = _part(real, part)
        keys = c["child_key"].to_numpy()[rng.choice(len(c), min(k, len(c)), replace=False)]
        out.append(tuple(t[t["child_key"].isin(keys)] for t in (c, e, p)))
    return tuple(pd.concat([o[i] for o in out], ignore_index=True) for i in range(3))


def _rekey(tables, prefix: str):
    c = tables[0]
    new = dict(zip(c["child_key"], [f"{prefix}{i:07d}" for i in range(len(c))]))
    return tuple(t.assign(child_key=t["child_key"].map(new)) for t in tables)


def leaky_release(real: Dataset, synth: Dataset, fraction: float, source: str = "training", kind: str = "verbatim",
                  seed: int = 0) -> Dataset:
    """`synth` with `fraction` of its children replaced by real children (`kind`: verbatim or near)."""
    rng = np.random.default_rng(seed)
    n = max(1, int(round(fraction * len(synth.children))))
    leaked = real_children(real, n, source, rng)
    if kind == "near":
        leaked = disguise(*leaked, rng)
    leaked = _rekey(leaked, "synleak")
    drop = set(synth.children["child_key"].to_numpy()[rng.choice(len(synth.children), len(leaked[0]),
                                                                  replace=False)])
    kept = [t[~t["child_key"].isin(drop)] for t in (synth.children, synth.events, synth.episodes)]
    tables = [pd.concat([k, lk[k.columns.intersection(lk.columns)]], ignore_index=True)
              for k, lk in zip(kept, leaked)]
    return Dataset(*tables, {**synth.manifest, "lineage_hash": f"leak-{kind}-{source}-{fraction}-{seed}"})


def all_real_release(real: Dataset, synth: Dataset, part: str = "holdout") -> Dataset:
    """A "release" of one part's real children verbatim, and no synthetic child."""
    tables = _rekey(_part(real, part), "synreal")
    return Dataset(*tables, {**synth.manifest, "lineage_hash": f"all-real-{part}"})
