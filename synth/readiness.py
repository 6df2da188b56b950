"""Can a dataset train a generator? Said at ingest, before anyone presses Train.

The answer is worked out on the training part of the split (synth.split), the children a model
would see, and stored in the ingest report as `training`: {"ready", "reasons", "generators"}. The
service refuses a training request its generator cannot do (422), and a training job checks it
again before fitting, so the user reads why (and what to upload) instead of "internal error".

What each generator needs is stated here in one place:
- every generator: at least `MIN_TRAINING_CHILDREN` training children with events;
- the journey model also learns what Annex A records only at an assessment or later (disability,
  Lists 4-8) and in care (UASC status and missing episodes, List 8), so its training children must
  include some who reached those lists.
"""

from __future__ import annotations

import pandas as pd

from synth.errors import ModelError
from synth.models import GENERATORS, MIN_TRAINING_CHILDREN
from synth.models.prepare import ASSESSED_STAGES
from synth.split import split_tables


def training_readiness(children: pd.DataFrame, events: pd.DataFrame, episodes: pd.DataFrame,
                       lineage_hash: str) -> dict:
    """{"ready": the default (journey) generator can train, "reasons": why not, "generators": reasons per
    generator (empty: it can train)}. Reasons name the lists to add; they hold counts, never values."""
    kids, ev, _ = split_tables(children, events, episodes, lineage_hash, "training")
    common: list[str] = []
    if len(kids) < MIN_TRAINING_CHILDREN or ev.empty:
        common.append(f"the dataset is too small to train on: {len(kids):,} training children (after the holdout "
                      f"third is set aside); at least {MIN_TRAINING_CHILDREN} are needed. Upload more of the "
                      "council's records (a longer period or every list).")
    journey = list(common)
    stages = set(ev["stage"].unique()) if len(ev) else set()
    if not common and not stages & set(ASSESSED_STAGES):
        journey.append("no training child reached an assessment or a later list (Lists 4-8), so the journey model "
                       "cannot learn what Annex A records there (such as disability). Add List 4 (Assessments) "
                       "and the later lists, or choose an SDV baseline generator.")
    if not common and "cla" not in stages:
        journey.append("no training child is in care (List 8: Children in care), so the journey model cannot learn "
                       "the attributes recorded in care (UASC status, missing episodes). Add List 8, or choose an "
                       "SDV baseline generator.")
    generators = {g: (journey if g == "journey" else common) for g in GENERATORS}
    return {"ready": not journey, "reasons": journey, "generators": generators}


def blockers(report: dict | None, generator: str) -> list[str]:
    """Why `generator` cannot train on a dataset with this ingest report ([] when it can, or when the report
    predates the check: the training job then checks the tables themselves)."""
    training = (report or {}).get("training") or {}
    return list((training.get("generators") or {}).get(generator, []))


def check_trainable(children: pd.DataFrame, events: pd.DataFrame, episodes: pd.DataFrame, lineage_hash: str,
                    generator: str) -> None:
    """Raise ModelError saying why, when `generator` cannot train on these tables."""
    reasons = training_readiness(children, events, episodes, lineage_hash)["generators"].get(generator, [])
    if reasons:
        raise ModelError(cannot_train_message(generator, reasons))


def cannot_train_message(generator: str, reasons: list[str]) -> str:
    return f"this dataset cannot train the {generator} generator: " + " ".join(reasons)
