"""Generators of synthetic children and journeys: one interface, several implementations.

    model = fit_model(dataset, TrainingSpec(generator="journey"))
    model.save(path, signing_key)
    tables = load_model(path, signing_key).sample(n_children=1000, seed=1)

`fit_model` trains on the dataset's training children only (synth.split); the holdout third is
never seen. Heavy libraries (SDV, torch) are imported only inside the implementations.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd

from synth.dataset import Dataset
from synth.errors import ModelError
from synth.models.base import (
    FittedModel,
    SyntheticTables,
    TrainingSpec,
    Window,
    library_versions,
    read_model_file,
    signing_key_from,
)
from synth.split import split_tables
from synth.stages import START_STAGES

GENERATORS = ("journey", "sdv-par", "sdv-hma")
MIN_TRAINING_CHILDREN = 50

__all__ = ["GENERATORS", "FittedModel", "SyntheticTables", "TrainingSpec", "fit_model", "load_model",
           "signing_key_from"]


def _implementation(name: str):
    if name == "journey":
        from synth.models.journey import JourneyModel

        return JourneyModel
    if name in ("sdv-par", "sdv-hma"):
        from synth.models.sdv_baselines import HMABaseline, PARBaseline

        return PARBaseline if name == "sdv-par" else HMABaseline
    raise ModelError(f"unknown generator '{name}'; choose one of: {', '.join(GENERATORS)}.")


def validate_spec(spec: TrainingSpec) -> None:
    _implementation(spec.generator) if spec.generator not in GENERATORS else None
    if spec.epsilon is not None:
        if spec.generator != "journey":
            raise ModelError(f"--epsilon is only available with the journey generator, not {spec.generator}.")
        if not (isinstance(spec.epsilon, int | float) and math.isfinite(spec.epsilon) and spec.epsilon > 0):
            raise ModelError(f"epsilon must be a positive number, not {spec.epsilon!r}.")
    elif spec.delta is not None:
        raise ModelError("--delta needs --epsilon (delta is part of a differential privacy budget).")
    declared_window(spec)
    if spec.attributes not in ("gaussian_copula", "ctgan"):
        raise ModelError(f"unknown attribute synthesizer '{spec.attributes}'; use gaussian_copula or ctgan.")
    if spec.min_children < 1 or spec.rare_threshold < 1:
        raise ModelError("min_children and rare_threshold must be at least 1.")


def declared_window(spec: TrainingSpec) -> Window | None:
    """The extract window the council declared, checked; None when none was declared (not private)."""
    if spec.window_start is None and spec.window_end is None:
        if spec.epsilon is not None:
            raise ModelError("with epsilon, declare the extract window (window_start and window_end, e.g. "
                             "2019-04-01 and 2025-03-31): a window read off the records would reveal real dates.")
        return None
    if spec.window_start is None or spec.window_end is None:
        raise ModelError("declare both ends of the extract window (window_start and window_end), or neither.")
    try:
        start, end = (pd.Timestamp(date.fromisoformat(str(d).strip())) for d in (spec.window_start, spec.window_end))
    except (ValueError, TypeError):
        raise ModelError(f"the extract window must be two dates (YYYY-MM-DD), not {spec.window_start!r} to "
                         f"{spec.window_end!r}.") from None
    if end <= start:
        raise ModelError(f"the extract window must end after it starts, not {spec.window_start} to {spec.window_end}.")
    if (end - start).days > 20 * 366:
        raise ModelError("the extract window is longer than 20 years; Annex A lists cover at most a few years.")
    return Window(start.normalize(), end.normalize())


def data_window(events) -> Window:
    """From the first contact or referral to the last event: the window journeys are sampled in."""
    ev = events
    starts = ev.loc[ev["stage"].isin(START_STAGES), "date"]
    return Window((starts.min() if len(starts) else ev["date"].min()).normalize(), ev["date"].max().normalize())


def fit_model(dataset: Dataset, spec: TrainingSpec) -> FittedModel:
    """Fit a generator on the dataset's training children. Raises ModelError with what to fix."""
    validate_spec(spec)
    impl = _implementation(spec.generator)
    if dataset.children.empty or dataset.events.empty:
        raise ModelError("the dataset is empty: ingest some Annex A data before training.")
    children, events, episodes = split_tables(dataset.children, dataset.events, dataset.episodes,
                                              dataset.lineage_hash, "training")
    if len(children) < MIN_TRAINING_CHILDREN:
        raise ModelError(f"the dataset is too small to train on: {len(children)} training children (after the "
                         f"holdout third is set aside); at least {MIN_TRAINING_CHILDREN} are needed.")
    # Declared (public), or else of the training children only: the holdout reaches nothing.
    window = declared_window(spec) or data_window(events)
    budget = None
    if spec.epsilon is not None:
        from synth.models.privacy import DEFAULT_DELTA, PrivacyBudget

        budget = PrivacyBudget(float(spec.epsilon), float(spec.delta or DEFAULT_DELTA))
    generator = impl.fit(children, events, episodes, window, spec, budget) if budget else \
        impl.fit(children, events, episodes, window, spec)
    if budget is not None and budget.accounting()["epsilon_spent"] > spec.epsilon * (1 + 1e-9):
        raise ModelError("internal error: the privacy budget was overspent; the model was not saved.")
    # Under DP the model file holds only noisy or public values: the number of training children too.
    trained_on = int(generator.params["noisy_children"]) if budget is not None else len(children)
    return FittedModel(generator, spec, dataset.lineage_hash, window, trained_on, versions=library_versions())


def load_model(path: Path, signing_key: bytes) -> FittedModel:
    """Load a model file written by `FittedModel.save`; refuses foreign, changed or damaged files."""
    meta, files = read_model_file(path, signing_key)
    impl = _implementation(meta["generator"])
    spec = TrainingSpec(**meta["spec"])
    generator = impl.from_state(meta["params"], files)
    return FittedModel(generator, spec, meta["lineage_hash"], Window.from_dict(meta["window"]),
                       meta["training_children"], created_at=meta["created_at"], versions=meta["versions"],
                       model_id=meta["model_id"])
