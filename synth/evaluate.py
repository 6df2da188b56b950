"""Fidelity of synthetic journeys to real ones: journey-aware metrics, SDMetrics for attributes,
and one downstream utility check. `evaluate(real, synthetic, holdout)` returns one JSON-able dict.

Definitions (each figure in the output names what it compares):
- validity: share of synthetic episodes that follow the stage grammar (start at a contact or
  referral unless left-censored as a child's first episode; only allowed moves) with
  non-decreasing dates;
- next-stage error: |P_real(next | stage) - P_synth(next | stage)| over moves with at least 100
  real occurrences (max and mean);
- journey TVD: total variation distance between the distributions of whole paths, over the
  top-20 real paths (all other paths pooled as one) and over all paths;
- durations: per move with 100+ real occurrences, the median days' relative error
  (|synth - real| / max(real, 1)) and the two-sample KS statistic; a median is "within 10%"
  when |synth - real| <= max(10% of real, 1 day), since days are whole numbers and 10% of a
  same-day or two-day step is not a resolvable difference;
- re-referral within 12 months, and conversion rates, real vs synthetic;
- SDMetrics quality score (column shapes and pair trends) of the child attributes;
- utility: a classifier trained on synthetic children predicts "reaches a CP plan" for real
  held-out children; its AUC against one trained on the real training children;
- process fidelity (synth.evaluate_process): invented moves (synthetic moves and episode starts
  the real data never shows), next-stage R² over (stage, repeat, age band) cells, and, with a
  holdout, next-stage TSTR (train on synthetic moves, test on real held-out moves).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from synth import evaluate_process, journeys
from synth.schema import SOURCE_CODES, SOURCE_GROUP_LABELS
from synth.stages import START_STAGES, allowed_edges

MIN_MOVES = 100
TOP_PATHS = 20
ATTRIBUTE_COLUMNS = {"sex": "categorical", "ethnicity_group": "categorical", "age_at_first_contact": "numerical",
                     "disability": "categorical", "uasc": "categorical", "missing_episodes": "numerical",
                     "previous_cp_plans": "numerical"}
MAX_SDMETRICS_ROWS = 20_000
CONVERSIONS = (("contact", "referral"), ("referral", "assessment"), ("s47", "icpc"), ("icpc", "cp_plan"))
TARGETS = {  # issue 3, on a fake council of 20,000 children
    "validity": 1.0, "next_stage_max_error": 0.03, "top20_tvd": 0.05, "median_days_within_10pct": 1.0,
    "rereferral_diff_pp": 2.0, "attribute_quality": 0.85,
}


def validity(events: pd.DataFrame, episodes: pd.DataFrame) -> float:
    """Share of episodes that follow the grammar with non-decreasing dates."""
    if episodes.empty:
        return float("nan")
    tr = journeys.transitions(events)
    allowed = {f"{a}>{b}" for a, b in allowed_edges()}
    bad_move = ~(tr["source"] + ">" + tr["target"]).isin(allowed) | (tr["days"] < 0)
    bad = tr.loc[bad_move, ["child_key", "episode_no"]].drop_duplicates().assign(bad=True)
    flagged = episodes[["child_key", "episode_no"]].merge(bad, on=["child_key", "episode_no"], how="left")
    start_ok = episodes["first_stage"].isin(START_STAGES) | (episodes["left_censored"] & (episodes["episode_no"] == 1))
    ok = start_ok.to_numpy() & flagged["bad"].isna().to_numpy()
    return float(ok.mean())


def _shares(events: pd.DataFrame) -> pd.DataFrame:
    tr = journeys.transitions(events)
    edges = tr.groupby(["source", "target"]).size().rename("moves").reset_index()
    edges["share"] = edges["moves"] / edges.groupby("source")["moves"].transform("sum")
    return edges


def next_stage_error(real: pd.DataFrame, synth: pd.DataFrame) -> dict:
    r, s = _shares(real), _shares(synth)
    m = r.merge(s, on=["source", "target"], how="left", suffixes=("_real", "_synth")).fillna({"share_synth": 0.0})
    m = m[m["moves_real"] >= MIN_MOVES]
    m["error"] = (m["share_real"] - m["share_synth"]).abs()
    return {"max": float(m["error"].max()) if len(m) else float("nan"),
            "mean": float(m["error"].mean()) if len(m) else float("nan"),
            "moves_compared": int(len(m)),
            "worst": m.sort_values("error", ascending=False).head(5)[["source", "target", "share_real", "share_synth",
                                                                       "error"]].to_dict("records")}


def path_tvd(real_eps: pd.DataFrame, synth_eps: pd.DataFrame, top: int | None = TOP_PATHS) -> float:
    p = real_eps["path"].value_counts(normalize=True)
    q = synth_eps["path"].value_counts(normalize=True)
    if top is not None:
        keep = p.index[:top]
        p = pd.concat([p[keep], pd.Series({"(other)": 1 - p[keep].sum()})])
        q_keep = q.reindex(keep, fill_value=0.0)
        q = pd.concat([q_keep, pd.Series({"(other)": 1 - q_keep.sum()})])
    both = pd.concat([p.rename("p"), q.rename("q")], axis=1).fillna(0.0)
    return float(0.5 * (both["p"] - both["q"]).abs().sum())


def durations(real: pd.DataFrame, synth: pd.DataFrame, rng: np.random.Generator) -> dict:
    from scipy.stats import ks_2samp

    tr_r, tr_s = journeys.transitions(real), journeys.transitions(synth)
    rows = []
    for (a, b), days in tr_r.groupby(["source", "target"])["days"]:
        if len(days) < MIN_MOVES:
            continue
        syn = tr_s.loc[(tr_s["source"] == a) & (tr_s["target"] == b), "days"]
        if syn.empty:
            rows.append({"source": a, "target": b, "median_real": float(days.median()), "median_synth": None,
                         "rel_error": 1.0, "within_10pct": False, "ks": 1.0})
            continue
        mr, ms = float(days.median()), float(syn.median())
        x = days.to_numpy() if len(days) <= 20000 else rng.choice(days.to_numpy(), 20000, replace=False)
        y = syn.to_numpy() if len(syn) <= 20000 else rng.choice(syn.to_numpy(), 20000, replace=False)
        rows.append({"source": a, "target": b, "median_real": mr, "median_synth": ms,
                     "rel_error": abs(ms - mr) / max(mr, 1.0), "within_10pct": abs(ms - mr) <= max(0.1 * mr, 1.0),
                     "ks": float(ks_2samp(x, y).statistic)})
    t = pd.DataFrame(rows)
    if t.empty:
        return {"median_days_max_rel_error": float("nan"), "ks_max": float("nan"), "moves": []}
    return {"median_days_max_rel_error": float(t["rel_error"].max()),
            "median_days_within_10pct": float(t["within_10pct"].mean()),
            "median_days_mean_rel_error": float(t["rel_error"].mean()),
            "ks_max": float(t["ks"].max()), "ks_mean": float(t["ks"].mean()),
            "moves": t.round(4).to_dict("records")}


def attribute_quality(real: pd.DataFrame, synth: pd.DataFrame, rng: np.random.Generator) -> float:
    from sdmetrics.reports.single_table import QualityReport  # deprecated alias; same report

    cols = list(ATTRIBUTE_COLUMNS)

    def prep(df: pd.DataFrame) -> pd.DataFrame:
        d = df[cols].copy()
        if len(d) > MAX_SDMETRICS_ROWS:
            d = d.iloc[rng.choice(len(d), MAX_SDMETRICS_ROWS, replace=False)]
        for c, kind in ATTRIBUTE_COLUMNS.items():
            d[c] = pd.to_numeric(d[c]).astype(float) if kind == "numerical" else d[c].astype(str)
        return d.reset_index(drop=True)

    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(prep(real), prep(synth), {"columns": {c: {"sdtype": k} for c, k in ATTRIBUTE_COLUMNS.items()}},
                        verbose=False)
    return float(report.get_score())


def _utility_frame(children: pd.DataFrame, events: pd.DataFrame, episodes: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    first = episodes.sort_values(["child_key", "episode_no"]).drop_duplicates("child_key").set_index("child_key")
    n_eps = episodes.groupby("child_key").size()
    cp = set(events.loc[events["stage"] == "cp_plan", "child_key"])
    group = {c: SOURCE_GROUP_LABELS[g] for c, (g, _) in SOURCE_CODES.items()}
    ch = children.set_index("child_key")
    x = pd.DataFrame({
        "sex": ch["sex"].astype(str), "ethnicity_group": ch["ethnicity_group"].astype(str),
        "age_band": journeys.age_band(ch["age_at_first_contact"]).astype(str), "disability": ch["disability"].astype(str),
        "uasc": ch["uasc"].astype(str), "missing": (ch["missing_episodes"].fillna(0) > 0).astype(str),
        "first_source": first["source"].map(group).reindex(ch.index).fillna("none").astype(str),
        "first_stage": first["first_stage"].reindex(ch.index).fillna("none").astype(str),
        "episodes": n_eps.reindex(ch.index).fillna(0).clip(upper=5).astype(int).astype(str),
    }, index=ch.index)
    return x, ch.index.isin(cp).astype(int)


def utility(train_real: tuple, synth: tuple, holdout: tuple) -> dict:
    """AUC on real held-out children of 'reaches a CP plan' classifiers trained on real vs synthetic."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import OneHotEncoder

    xr, yr = _utility_frame(*train_real)
    xs, ys = _utility_frame(*synth)
    xh, yh = _utility_frame(*holdout)
    if len(set(yh)) < 2 or len(set(ys)) < 2 or len(set(yr)) < 2:
        return {"auc_real": None, "auc_synthetic": None, "ratio": None,
                "note": "too few children reach a CP plan to compare"}
    enc = OneHotEncoder(handle_unknown="ignore").fit(pd.concat([xr, xs, xh]))

    def auc(x, y) -> float:
        clf = LogisticRegression(max_iter=2000).fit(enc.transform(x), y)
        return float(roc_auc_score(yh, clf.predict_proba(enc.transform(xh))[:, 1]))

    a_real, a_syn = auc(xr, yr), auc(xs, ys)
    return {"task": "reaches a CP plan, from attributes and the first episode", "auc_real": a_real,
            "auc_synthetic": a_syn, "ratio": a_syn / a_real if a_real else None,
            "holdout_children": int(len(yh))}


def evaluate(real, synth, holdout=None, train_real=None, seed: int = 0) -> dict:
    """All metrics. `real` and `synth` have .children/.events/.episodes; `holdout` and `train_real`
    (the real training part) enable the utility check and the next-stage TSTR."""
    rng = np.random.default_rng(seed)
    rates_r, rates_s = journeys.headline_rates(real.events), journeys.headline_rates(synth.events)
    conv_r, conv_s = _shares(real.events), _shares(synth.events)

    def conv(edges, a, b):
        return journeys.edge_share(edges, a, b)

    out = {
        "children": {"real": int(len(real.children)), "synthetic": int(len(synth.children))},
        "episodes": {"real": int(len(real.episodes)), "synthetic": int(len(synth.episodes))},
        "validity": validity(synth.events, synth.episodes),
        "next_stage_error": next_stage_error(real.events, synth.events),
        "journey_tvd": {"top20": path_tvd(real.episodes, synth.episodes),
                        "all": path_tvd(real.episodes, synth.episodes, top=None)},
        "durations": durations(real.events, synth.events, rng),
        "rereferral_12m": {"real": rates_r["rereferral_12m"], "synthetic": rates_s["rereferral_12m"],
                           "diff_pp": 100 * abs(rates_s["rereferral_12m"] - rates_r["rereferral_12m"])},
        "conversions": {f"{a}_to_{b}": {"real": conv(conv_r, a, b), "synthetic": conv(conv_s, a, b)}
                        for a, b in CONVERSIONS},
        "attribute_quality": attribute_quality(real.children, synth.children, rng),
        "invented_moves": evaluate_process.invented_moves(real.events, synth.events),
        "next_stage_r2": evaluate_process.next_stage_r2(real, synth),
    }
    if holdout is not None and train_real is not None:
        out["utility"] = utility((train_real.children, train_real.events, train_real.episodes),
                                 (synth.children, synth.events, synth.episodes),
                                 (holdout.children, holdout.events, holdout.episodes))
        out["next_stage_tstr"] = evaluate_process.next_stage_tstr(train_real, synth, holdout, seed=seed)
    out["targets"] = check_targets(out)
    return out


def check_targets(m: dict) -> dict:
    got = {
        "validity": m["validity"], "next_stage_max_error": m["next_stage_error"]["max"],
        "top20_tvd": m["journey_tvd"]["top20"],
        "median_days_within_10pct": m["durations"].get("median_days_within_10pct", float("nan")),
        "rereferral_diff_pp": m["rereferral_12m"]["diff_pp"], "attribute_quality": m["attribute_quality"],
    }
    higher_is_better = {"validity", "attribute_quality", "median_days_within_10pct"}
    return {k: {"value": v, "target": TARGETS[k],
                "met": bool(v >= TARGETS[k] if k in higher_is_better else v <= TARGETS[k])}
            for k, v in got.items()}
