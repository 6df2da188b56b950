"""The release gate: record-level and aggregate checks on a synthetic dataset -> DisclosureReport,
plus the disclosure-controlled map the release will publish."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from synth.dataset import Dataset
from synth.disclosure import aggregates, differencing, extremes, matching, records
from synth.disclosure.profiles import Profile, get_profile
from synth.disclosure.records import Check
from synth.disclosure.report import DisclosureReport
from synth.errors import DisclosureError
from synth.split import split_tables

JOURNEY_SHARES = 10
KINDS = ("synthetic", "aggregate")


@dataclass
class GateResult:
    report: DisclosureReport
    map_json: dict

    @property
    def verdict(self) -> str:
        return self.report.verdict


def _parts(real: Dataset) -> dict[str, SimpleNamespace]:
    out = {}
    for part in ("training", "holdout"):
        c, e, p = split_tables(real.children, real.events, real.episodes, real.lineage_hash, part)
        out[part] = SimpleNamespace(children=c, events=e, episodes=p)
    return out


def validate_inputs(real: Dataset, synth: Dataset) -> None:
    if real.manifest.get("synthetic"):
        raise DisclosureError("the first dataset is synthetic; give the real dataset, then the synthetic one.")
    if not synth.manifest.get("synthetic"):
        raise DisclosureError("the second dataset is not synthetic; sample one with `frontdoor sample`.")
    if synth.manifest.get("source_lineage_hash") != real.lineage_hash:
        raise DisclosureError("the synthetic dataset was not sampled from a model trained on this dataset "
                              "(their lineage differs); give the dataset the model was trained on.")
    if real.children.empty or synth.children.empty or synth.events.empty:
        raise DisclosureError("one of the datasets has no children; there is nothing to check.")


def aggregate_checks(map_json: dict, cells: pd.DataFrame, profile: Profile) -> list[Check]:
    """Independent checks of what the map publishes (the controls are in synth.disclosure.aggregates)."""
    published_counts, low, zeros_in_small, not_rounded = [], 0, 0, 0
    medians_bad, means = 0, 0
    raw = cells.set_index("cell")["value"]
    for v, view in map_json["views"].items():
        size = raw.get(f"t|{v}", 0)
        for n in view["nodes"]:
            published_counts.append(n["children"])
        for e in view["edges"]:
            published_counts.append(e["children"])
            if e["median_days"] is not None and raw.get(f"e|{v}|{e['source']}>{e['target']}", 0) < \
                    profile.min_children_for_median:
                medians_bad += 1
            means += e["mean_days"] is not None
        for j in view["top_journeys"]:
            published_counts.append(j["children"])
        for c in [*(n["children"] for n in view["nodes"]), *(e["children"] for e in view["edges"])]:
            if c == 0 and (profile.zeros_always_disclosive or
                           (profile.zero_view_size is not None and size < profile.zero_view_size)):
                zeros_in_small += 1
    for c in published_counts:
        if c is not None and 0 < c < profile.min_cell:
            low += 1
        if c is not None and profile.round_counts > 1 and c % profile.round_counts:
            not_rounded += 1
    n_cells = len(cells)
    n_suppressed = int(cells["suppressed"].sum())
    groups_ok = bool(cells["groups_ok"].iloc[0]) if len(cells) else True
    views = len(map_json["views"])
    return [
        Check("small_cells", "No small counts published", "aggregate", "pass" if low == 0 else "fail", float(low),
              f"0 published counts between 1 and {profile.min_cell - 1}",
              f"All {len(published_counts)} counts published across {views} views of the map are 0 or at least "
              f"{profile.min_cell}; {n_suppressed} of {n_cells} cells are withheld." if low == 0 else
              f"{low} published counts are below {profile.min_cell}.", {"withheld_cells": n_suppressed,
                                                                       "cells": n_cells, "views": views}),
        Check("zeros", "No revealing zeros", "aggregate", "pass" if zeros_in_small == 0 else "fail",
              float(zeros_in_small), "0 published zeros in small views" if not profile.zeros_always_disclosive
              else "0 published zeros", "Zeros that would tell that none of a small group took a route are "
              "withheld." if zeros_in_small == 0 else f"{zeros_in_small} zeros are published in small views.", {}),
        Check("secondary_suppression", "Withheld counts cannot be worked out", "aggregate",
              "pass" if groups_ok else "fail", None, "no group of cells adding up to a total with exactly one "
              "withheld cell", "Wherever counts add up to a published total (routes out of a stage; a classification's "
              "values), at least two cells are withheld or none, so no withheld count can be found by subtraction."
              if groups_ok else "A withheld count could be worked out from a total.", {}),
        Check("rounding", "Counts rounded", "aggregate", "pass" if not_rounded == 0 else "fail", float(not_rounded),
              f"counts are multiples of {profile.round_counts}, totals of {profile.round_totals}",
              f"Counts are rounded to the nearest {profile.round_counts} and totals to {profile.round_totals}, so small "
              "differences between published figures reveal nothing." if not_rounded == 0 else
              f"{not_rounded} counts are not rounded.", {}),
        Check("durations", "Durations only over enough children", "aggregate", "pass" if medians_bad == 0 else "fail",
              float(medians_bad), f"medians and quartiles only over {profile.min_children_for_median}+ children; "
              f"means only when two children make up less than {profile.dominance_k:.0%} of the days",
              f"Median and P25-P75 days are published only for moves taken by at least "
              f"{profile.min_children_for_median} children, and {means} means pass the dominance rule."
              if medians_bad == 0 else f"{medians_bad} medians rest on too few children.", {}),
    ]


def synthetic_map_check(map_json: dict, synth: Dataset, profile: Profile) -> Check:
    """The map of a synthetic release is computed from the published synthetic records only: recompute it
    from the synthetic tables and compare, view by view (the window aside)."""
    again, _ = aggregates.build_map(synth.events, synth.episodes, synth.children, profile, controlled=False)
    strip = {"window"}
    same = ({k: v for k, v in map_json.items() if k not in strip} == {k: v for k, v in again.items() if k not in strip})
    withheld = sum(bool(x.get("suppressed")) for view in map_json.get("views", {}).values()
                   for x in (view, *view.get("nodes", []), *view.get("edges", [])))
    ok = same and map_json.get("source") == "synthetic" and withheld == 0
    return Check("synthetic_map", "The map is computed from the synthetic records only", "aggregate",
                 "pass" if ok else "fail", 0.0 if ok else 1.0,
                 "map.json equals the map recomputed from the release's own synthetic tables",
                 "Every count and duration in the map was recomputed from the synthetic children, journeys and events "
                 "this release publishes, and matches: the map tells no more than the records do, so it is published "
                 "without suppression or rounding." if ok else
                 "The map does not match the one computed from the release's synthetic records (or says it is not "
                 "synthetic); it may carry figures from elsewhere.",
                 {"views": len(map_json.get("views", {})), "same": same, "withheld": withheld},
                 public_explanation="The map is computed from this release's synthetic records only, so it is published "
                                    "without suppression or rounding: it shows nothing the records do not.")


def journey_shares(real_episodes: pd.DataFrame, synth_episodes: pd.DataFrame, profile: Profile) -> list[dict]:
    """Shares of the most common real journeys (children on them >= the profile's minimum), rounded."""
    real = real_episodes.groupby("path")["child_key"].nunique().sort_values(ascending=False)
    real = real[real >= profile.min_cell].head(JOURNEY_SHARES)
    total_r = real_episodes["child_key"].nunique()
    syn = synth_episodes.groupby("path")["child_key"].nunique()
    total_s = synth_episodes["child_key"].nunique()
    return [{"path": p, "real": round(float(n / total_r), 3), "synthetic": round(float(syn.get(p, 0) / total_s), 3)}
            for p, n in real.items()]


def close_copies(parts: dict[str, SimpleNamespace], synth: Dataset, start: pd.Timestamp,
                 end: pd.Timestamp | None = None) -> matching.CloseCopies:
    """Near and exact matches of the synthetic children against every real child, with chance."""
    train, codes = matching.timelines(parts["training"].children, parts["training"].events,
                                      parts["training"].episodes, start)
    hold, codes = matching.timelines(parts["holdout"].children, parts["holdout"].events, parts["holdout"].episodes,
                                     start, codes)
    syn, _ = matching.timelines(synth.children, synth.events, synth.episodes, start, codes)
    window_days = (end - start).days if end is not None else None
    return matching.close_copies(syn, train, hold, window_days=window_days)


def run_gate(real: Dataset, synth: Dataset, profile_name: str = "default", release: dict | None = None,
             fidelity: bool = True, seed: int = 0, kind: str = "synthetic") -> GateResult:
    """The gate of a synthetic release: all checks, the map, and the report. Raises DisclosureError on
    unusable inputs. (An aggregate release has no synthetic records: `run_aggregate_gate`.)"""
    if kind != "synthetic":
        raise DisclosureError(f"run_gate checks synthetic releases; for kind '{kind}' use run_aggregate_gate"
                              if kind in KINDS else f"unknown kind of release '{kind}'; choose synthetic or aggregate.")
    profile = get_profile(profile_name)
    validate_inputs(real, synth)
    rng = np.random.default_rng(seed)
    parts = _parts(real)
    window = synth.manifest.get("model", {}).get("window") or {}
    start = pd.Timestamp(window.get("start") or real.events["date"].min())
    train_rows = records.child_rows(parts["training"].children, parts["training"].events, parts["training"].episodes,
                                    start)
    hold_rows = records.child_rows(parts["holdout"].children, parts["holdout"].events, parts["holdout"].episodes,
                                   start)
    syn_rows = records.child_rows(synth.children, synth.events, synth.episodes, start)
    if len(hold_rows) < 10 or len(train_rows) < 10:
        raise DisclosureError("too few real children to compare with (the holdout needs at least 10).")
    copies = close_copies(parts, synth, start, pd.Timestamp(window.get("end") or real.events["date"].max()))
    checks = [records.real_children_check(copies, profile), records.verbatim_copies_check(copies, profile),
              *records.distance_checks(syn_rows, train_rows, hold_rows, profile, rng),
              *records.anonymeter_checks(syn_rows, train_rows, hold_rows, profile, rng),
              extremes.rare_values_check(synth.events, real.events, profile,
                                         private=bool((synth.manifest.get("model") or {}).get("privacy")))]
    map_json, _ = aggregates.build_map(synth.events, synth.episodes, synth.children, profile, window or None,
                                       controlled=False)
    checks.append(synthetic_map_check(map_json, synth, profile))
    model = synth.manifest.get("model") or {}
    privacy = model.get("privacy")
    release_info = {
        **(release or {}),
        "kind": "synthetic",
        "synthetic_children": int(len(synth.children)),
        "generator": model.get("generator"),
        "differential_privacy": f"epsilon {privacy['epsilon']}, delta {privacy['delta']}" if privacy else "not private",
        "trained_on_children": int(len(parts["training"].children)),
        "held_out_children": int(len(parts["holdout"].children)),
        "dataset_lineage": real.lineage_hash[:16],
        "window": f"{window.get('start')} to {window.get('end')}" if window else None,
    }
    if privacy:  # the public report carries the model's noisy count instead of the real ones
        release_info["trained_on_children_dp"] = privacy.get("training_children_noisy")
    fid = None
    if fidelity:
        from synth.evaluate import evaluate

        fid = evaluate(parts["training"], synth, holdout=parts["holdout"], train_real=parts["training"], seed=seed)
        fid["durations"].pop("moves", None)
        fid["journey_shares"] = journey_shares(parts["training"].episodes, synth.episodes, profile)
    report = DisclosureReport(profile, checks, release_info, fid, privacy=privacy)
    return GateResult(report, map_json)


def real_window(real: Dataset) -> dict:
    """The calendar window the real records cover (the bundle publishes it as months only)."""
    ev = real.events
    starts = ev.loc[ev["stage"].isin(("contact", "referral")), "date"]
    start = starts.min() if len(starts) else ev["date"].min()
    return {"start": str(pd.Timestamp(start).date()), "end": str(pd.Timestamp(ev["date"].max()).date())}


def run_aggregate_gate(real: Dataset, profile_name: str = "default", earlier_maps: list[dict] | None = None,
                       release: dict | None = None) -> GateResult:
    """The gate of an aggregate release: the real dataset's counts (all its children, training and
    held-out) under the profile's disclosure control, the aggregate checks, and the differencing check
    against the maps of every earlier published release of the same dataset (`earlier_maps`)."""
    profile = get_profile(profile_name)
    if real.manifest.get("synthetic"):
        raise DisclosureError("an aggregate release is made from the real dataset; this one is synthetic.")
    if real.children.empty or real.events.empty:
        raise DisclosureError("the dataset has no children; there is nothing to count.")
    window = real_window(real)
    map_json, cells = aggregates.build_map(real.events, real.episodes, real.children, profile, window,
                                           controlled=True)
    earlier = list(earlier_maps or [])
    checks = [*aggregate_checks(map_json, cells, profile), differencing.differencing_check(map_json, earlier)]
    release_info = {
        **(release or {}),
        "kind": "aggregate",
        "real_children": int(real.children["child_key"].nunique()),
        "earlier_releases": sum(m.get("source") == "real" for m in earlier),
        "dataset_lineage": real.lineage_hash[:16],
        "window": f"{window['start']} to {window['end']}",
    }
    return GateResult(DisclosureReport(profile, checks, release_info, None), map_json)
