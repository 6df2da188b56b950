"""Synthetic datasets: written like real ones (same tables), marked synthetic, with their lineage.

A synthetic dataset's manifest says which model and seed made it and which real dataset the model
was trained on (`source_lineage_hash`), so that evaluation and the release gate compare it with
the right real children, and refuse to compare it with any others.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from synth.dataset import Dataset, read_dataset, write_dataset
from synth.errors import DatasetError


def write_synthetic(out: Path, tables, model, seed: int, overwrite: bool = False) -> Path:
    info = model.describe()
    lineage = hashlib.sha256(f"{info['model_id']}:{seed}:{len(tables.children)}".encode()).hexdigest()
    manifest = {
        "synthetic": True,
        "lineage_hash": lineage,
        "source_lineage_hash": model.lineage_hash,
        "model": {k: info[k] for k in ("model_id", "generator", "spec", "privacy", "window", "versions")},
        "seed": seed,
        "first_date": str(tables.events["date"].min().date()) if len(tables.events) else None,
        "last_date": str(tables.events["date"].max().date()) if len(tables.events) else None,
        "counts": {"children": len(tables.children), "events": len(tables.events), "episodes": len(tables.episodes)},
    }
    return write_dataset(out, Dataset(tables.children, tables.events, tables.episodes, manifest), overwrite=overwrite)


def read_pair(dataset_dir: Path, synth_dir: Path) -> tuple[Dataset, Dataset]:
    """The real dataset and a synthetic one sampled from a model trained on it, or a clear error."""
    real, synth = read_dataset(dataset_dir), read_dataset(synth_dir)
    if real.manifest.get("synthetic"):
        raise DatasetError(f"{dataset_dir} is synthetic; give the real dataset first, then the synthetic one.")
    if not synth.manifest.get("synthetic"):
        raise DatasetError(f"{synth_dir} is not a synthetic dataset; sample one with `frontdoor sample`.")
    if synth.manifest.get("source_lineage_hash") != real.lineage_hash:
        raise DatasetError(f"{synth_dir} was not sampled from a model trained on {dataset_dir} (their lineage "
                           "differs); give the dataset the model was trained on.")
    if real.children.empty or synth.children.empty:
        raise DatasetError("one of the datasets has no children; there is nothing to compare.")
    return real, synth


def evaluate_against(dataset_dir: Path, synth_dir: Path) -> dict:
    """`synth.evaluate.evaluate` against the real training children (what the model learnt from),
    with the utility check on the held-out third."""
    from types import SimpleNamespace

    from synth.evaluate import evaluate
    from synth.split import split_tables

    real, synth = read_pair(dataset_dir, synth_dir)
    parts = {}
    for part in ("training", "holdout"):
        c, e, p = split_tables(real.children, real.events, real.episodes, real.lineage_hash, part)
        parts[part] = SimpleNamespace(children=c, events=e, episodes=p)
    result = evaluate(parts["training"], synth, holdout=parts["holdout"], train_real=parts["training"])
    result["model"] = synth.manifest.get("model")
    return result
