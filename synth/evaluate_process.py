"""Process fidelity: does the synthetic data move between stages the way the real data does?

Three measures, each aimed at a failure the marginal next-stage error cannot see:
- invented moves: synthetic moves (stage -> next stage) and episode starts (START -> first stage)
  that never occur in the real data at all;
- next-stage TSTR: a classifier predicting the next stage from the current stage, the previous
  one, the repeat number, age band, disability, the episode's source group and time since the
  episode began, trained on synthetic moves vs on real training moves, both scored on real
  held-out moves (multiclass one-vs-rest AUC, weighted by class frequency);
- next-stage R²: next-stage probabilities per cell (stage, repeat number, age band), real vs
  synthetic, over the cells with enough real children: does the synthetic data keep who goes where?

Everything is vectorised over moves; sklearn is imported only when the TSTR runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth import journeys
from synth.stages import START_STAGES

KEY = "child_key"
START, LC_START = "START", "LC_START"
MAX_REPEAT = 4
DAY_EDGES = (1, 8, 31, 91, 366)
DAY_BANDS = ("0", "1-7", "8-30", "31-90", "91-365", "366+")
FEATURES = ("stage", "prev", "repeat", "age_band", "disability", "source_group", "days_band")
CELL = ("stage", "repeat", "age_band")
MAX_TSTR_ROWS = 200_000
MIN_CELL_CHILDREN = 50


def _ordered(events: pd.DataFrame) -> pd.DataFrame:
    """Events with each episode's steps together and in order (as link_episodes leaves them)."""
    cols = [KEY, "episode_no", "step"] if "step" in events.columns else [KEY, "episode_no"]
    return events.sort_values(cols, kind="stable").reset_index(drop=True)


def _starts(events: pd.DataFrame) -> pd.Series:
    """Each episode's first stage (left-censored episodes included), one value per episode."""
    ev = _ordered(events)
    first = ~(ev[KEY].eq(ev[KEY].shift()) & ev["episode_no"].eq(ev["episode_no"].shift()))
    return ev.loc[first, "stage"].reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# 1. Invented moves.
def _pair_counts(events: pd.DataFrame) -> pd.DataFrame:
    tr = journeys.transitions(_ordered(events))
    moves = pd.DataFrame({"source": tr["source"].astype(str), "target": tr["target"].astype(str)})
    starts = pd.DataFrame({"source": START, "target": _starts(events).astype(str)})
    both = pd.concat([moves, starts], ignore_index=True)
    return both.groupby(["source", "target"]).size().rename("moves").reset_index()


def invented_moves(real_events: pd.DataFrame, synth_events: pd.DataFrame) -> dict:
    """Synthetic moves and episode starts (START -> first stage) whose pair the real data never shows."""
    real, syn = _pair_counts(real_events), _pair_counts(synth_events)
    seen = real[["source", "target"]].assign(_seen=True)
    m = syn.merge(seen, on=["source", "target"], how="left")
    new = m[m["_seen"].isna()].sort_values(["moves", "source", "target"], ascending=[False, True, True])
    total = int(syn["moves"].sum())
    invented = int(new["moves"].sum())
    return {"share": invented / total if total else float("nan"), "moves": invented, "synthetic_moves": total,
            "pairs": [{"source": s, "target": t, "synthetic_moves": int(n)}
                      for s, t, n in new[["source", "target", "moves"]].itertuples(index=False)]}


# ----------------------------------------------------------------------------------------------
# One row per move, with what was known when it was made.
def move_features(children: pd.DataFrame, events: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    """One row per event that has a next event in the same episode: its features and the next stage."""
    ev = _ordered(events)[[KEY, "episode_no", "stage", "date"]]
    key, ep_no = ev[KEY], ev["episode_no"]
    same_prev = (key.eq(key.shift()) & ep_no.eq(ep_no.shift())).to_numpy()
    same_next = (key.eq(key.shift(-1)) & ep_no.eq(ep_no.shift(-1))).to_numpy()
    stage = ev["stage"].astype(str).to_numpy(dtype=object)
    first_idx = np.flatnonzero(~same_prev)
    episode_of = np.cumsum(~same_prev) - 1
    start_date = ev["date"].to_numpy()[first_idx][episode_of]
    days = ((ev["date"].to_numpy() - start_date) / np.timedelta64(1, "D"))
    days = np.nan_to_num(days, nan=0.0)
    opening = np.where(np.isin(stage, list(START_STAGES)), START, LC_START).astype(object)
    prev = np.where(same_prev, np.roll(stage, 1), opening)
    nxt = np.roll(stage, -1)

    ch = children.drop_duplicates(KEY).set_index(KEY)
    age = journeys.age_band(pd.to_numeric(ch["age_at_first_contact"], errors="coerce").astype(float))
    disability = ch["disability"].astype(object).where(ch["disability"].notna(), "unknown").astype(str)
    eps = episodes.drop_duplicates([KEY, "episode_no"])
    src = pd.Series(np.where(eps["source"].isna(), "none", journeys.source_group(eps["source"]).astype(str)),
                    index=pd.MultiIndex.from_arrays([eps[KEY], eps["episode_no"].astype(np.int64)]))

    keep = same_next
    k = key.to_numpy()[keep]
    e = ep_no.to_numpy().astype(np.int64)[keep]
    out = pd.DataFrame({
        KEY: k,
        "episode_no": e,
        "stage": stage[keep],
        "prev": prev[keep],
        "repeat": np.minimum(e, MAX_REPEAT),
        "age_band": pd.Series(k).map(age).fillna("Not known").astype(str).to_numpy(),
        "disability": pd.Series(k).map(disability).fillna("unknown").to_numpy(),
        "source_group": src.reindex(pd.MultiIndex.from_arrays([k, e])).fillna("none").to_numpy(),
        "days_band": np.asarray(DAY_BANDS, dtype=object)[np.digitize(days[keep], DAY_EDGES)],
        "next": nxt[keep],
    })
    return out


# ----------------------------------------------------------------------------------------------
# 2. Next-stage TSTR.
def _aligned_proba(clf, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Probabilities over `labels` (the holdout's classes): 0 for classes the model never saw,
    renormalised over the holdout's classes (the model's mass on classes the holdout lacks is dropped)."""
    p = clf.predict_proba(x)
    out = np.zeros((len(x), len(labels)))
    col = {c: i for i, c in enumerate(clf.classes_)}
    for j, lab in enumerate(labels):  # over classes (a dozen), not rows
        if lab in col:
            out[:, j] = p[:, col[lab]]
    total = out.sum(axis=1, keepdims=True)
    return np.where(total > 0, out / np.where(total > 0, total, 1.0), 1.0 / len(labels))


def _ovr_auc(y: np.ndarray, p: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if len(labels) == 2:  # binary: the weighted one-vs-rest AUC is the AUC of either class
        return float(roc_auc_score(y == labels[1], p[:, 1]))
    return float(roc_auc_score(y, p, labels=labels, multi_class="ovr", average="weighted"))


def next_stage_tstr(train_real, synth, holdout, seed: int = 0) -> dict:
    """Train-on-synthetic, test-on-real for the next stage of each move, against train-on-real.

    Each argument has .children/.events/.episodes. AUC is multiclass one-vs-rest, weighted by
    class frequency, on the real held-out moves; a held-out next stage a model never saw gets
    probability 0 from it. Each side is subsampled (with `seed`) to at most MAX_TSTR_ROWS moves.
    The classifiers run on one OpenMP thread: with two on a 2-core machine that is busy with
    anything else, gradient boosting slows down a hundredfold.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    sides = {}
    for name, d in (("train_real", train_real), ("synthetic", synth), ("holdout", holdout)):
        m = move_features(d.children, d.events, d.episodes)
        if len(m) > MAX_TSTR_ROWS:
            m = m.iloc[np.sort(rng.choice(len(m), MAX_TSTR_ROWS, replace=False))]
        sides[name] = m.reset_index(drop=True)
    counts = {k: int(len(v)) for k, v in sides.items()}
    if any(v["next"].nunique() < 2 for v in sides.values()):
        return {"auc_real": None, "auc_synthetic": None, "gap_points": None, "moves": counts,
                "note": "a side has fewer than two next stages to tell apart"}

    # One integer code per category, shared by the three sides (the union of what each shows).
    both = pd.concat(sides.values(), keys=list(sides), names=["side", None])
    codes = np.column_stack([pd.factorize(both[f].astype(str))[0] for f in FEATURES])
    labels = pd.factorize(both["next"].astype(str))[0]
    side = both.index.get_level_values("side").to_numpy()
    x = {s: codes[side == s] for s in sides}
    y = {s: labels[side == s] for s in sides}
    hold_labels = np.unique(y["holdout"])

    # The features are few and categorical, so moves repeat: each distinct (features, next stage)
    # row is fitted once, weighted by how often it occurs (the same gradients as every copy), and
    # each distinct held-out row is predicted once.
    hold_rows, hold_of = np.unique(x["holdout"], axis=0, return_inverse=True)

    def auc(train: str) -> float:
        rows, weight = np.unique(np.column_stack([x[train], y[train]]), axis=0, return_counts=True)
        clf = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, categorical_features=list(range(
            len(FEATURES))), early_stopping=False, random_state=seed)
        with threadpool_limits(1, user_api="openmp"):  # two OpenMP threads on a busy 2-core host crawl
            clf.fit(rows[:, :-1], rows[:, -1], sample_weight=weight.astype(float))
            p = _aligned_proba(clf, hold_rows, hold_labels)[hold_of.ravel()]
        return _ovr_auc(y["holdout"], p, hold_labels)

    a_real, a_syn = auc("train_real"), auc("synthetic")
    return {"task": "next stage of each move, from " + ", ".join(FEATURES), "auc_real": a_real,
            "auc_synthetic": a_syn, "gap_points": 100 * (a_real - a_syn), "moves": counts}


# ----------------------------------------------------------------------------------------------
# 3. Next-stage R² over cells.
def _cell_shares(moves: pd.DataFrame) -> pd.DataFrame:
    n = moves.groupby([*CELL, "next"]).size().rename("moves").reset_index()
    n["p"] = n["moves"] / n.groupby(list(CELL))["moves"].transform("sum")
    return n


def next_stage_r2(real, synth, min_children: int = MIN_CELL_CHILDREN) -> dict:
    """R² of synthetic next-stage probabilities against real ones, per (stage, repeat, age band) cell.

    Cells are kept where at least `min_children` real children make a move from them; every next
    stage seen on either side of a kept cell counts (probability 0 where a side has none).
    """
    mr = move_features(real.children, real.events, real.episodes)
    ms = move_features(synth.children, synth.events, synth.episodes)
    kids = mr.groupby(list(CELL))[KEY].nunique()
    kept = kids[kids >= min_children].rename("real_children").reset_index()
    r = _cell_shares(mr).merge(kept[list(CELL)], on=list(CELL))
    s = _cell_shares(ms).merge(kept[list(CELL)], on=list(CELL))
    m = r.merge(s, on=[*CELL, "next"], how="outer", suffixes=("_real", "_synth"))
    m = m.fillna({"p_real": 0.0, "p_synth": 0.0})
    if m.empty:
        return {"r2": float("nan"), "cells": 0, "pairs": 0, "min_children": min_children, "worst": []}
    sse = float(((m["p_real"] - m["p_synth"]) ** 2).sum())
    sst = float(((m["p_real"] - m["p_real"].mean()) ** 2).sum())
    m["diff"] = m["p_synth"] - m["p_real"]
    worst = m.reindex(m["diff"].abs().sort_values(ascending=False, kind="stable").index).head(5)
    return {"r2": 1 - sse / sst if sst > 0 else float("nan"), "cells": int(len(kept)), "pairs": int(len(m)),
            "min_children": min_children,
            "worst": [{"stage": a, "repeat": int(b), "age_band": c, "next": d, "p_real": float(pr),
                       "p_synth": float(ps), "diff": float(df)}
                      for a, b, c, d, pr, ps, df in worst[[*CELL, "next", "p_real", "p_synth", "diff"]]
                      .itertuples(index=False)]}
