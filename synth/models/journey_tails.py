"""No rare value in the journey model's tables (not private): day values top- and bottom-coded at
the k-th most extreme child's, and day histograms whose every kept bin holds k children. The
release gate checks the same of a release (synth.disclosure.extremes)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.models.journey_vocab import END, LC_START, START, transition_domain


def tail_bounds(values: pd.DataFrame, by: list[str], k: int) -> pd.DataFrame:
    """Per group of `by`: the k-th smallest of the children's smallest values (`lo`) and the k-th
    largest of their largest (`hi`), and how many children the group has. At least k children lie at
    or beyond each bound, so a value clamped to it is shared by k children. Groups of fewer than k
    children get no bounds (NaN), and `lo` is kept only where it is at most `hi` (under 2k children
    it may not be): without one, a group backs off to a pooled group's."""
    per = values.groupby([*by, "child_key"], observed=True, sort=False)["days"].agg(["min", "max"]).reset_index()
    g = per.groupby(by, observed=True, sort=False)
    out = pd.DataFrame({"children": g.size()})
    low = per[g["min"].rank(method="first", ascending=True).to_numpy() == k].set_index(by)["min"]
    high = per[g["max"].rank(method="first", ascending=False).to_numpy() == k].set_index(by)["max"]
    out = out.join(low.rename("lo")).join(high.rename("hi"))
    out.loc[out["lo"] > out["hi"], "lo"] = np.nan
    return out.reset_index()


def pooled_bounds(days: np.ndarray, children: np.ndarray, k: int) -> tuple[int, int]:
    """`tail_bounds` of one pool of values (every move, every gap); with fewer than k children
    in the whole pool, its median on both sides (nothing in it is shared by enough children); 0 at
    the bottom where the k-th smallest passes the k-th largest."""
    per = pd.DataFrame({"child_key": children, "days": days}).groupby("child_key")["days"].agg(["min", "max"])
    if len(per) == 0:
        return 0, 0
    if len(per) < k:
        mid = int(np.median(days))
        return mid, mid
    lo, hi = int(np.sort(per["min"].to_numpy())[k - 1]), int(np.sort(per["max"].to_numpy())[::-1][k - 1])
    return (lo if lo <= hi else 0), hi


def merge_bins(values: pd.DataFrame, cols: list[str], k: int, edges: np.ndarray,
                weight: str = "w") -> pd.DataFrame:
    """Day histograms per context (`cols`; bins in `bin`) in which every bin kept holds at least k
    distinct children.

    Going up from each context's lowest bin, bins are merged with the next until the run holds k
    children (a left-over run at the top joins the run below it). A merged run's weight is spread
    evenly over its days, so the histogram keeps where k children lie and nothing finer."""
    if values.empty:
        return pd.DataFrame(columns=[*cols, "bin", "count"])
    n_bins = len(edges) - 1
    ctx_id, ctx_keys = pd.MultiIndex.from_frame(values[cols]).factorize()
    child = pd.factorize(values["child_key"])[0]
    bins = values["bin"].to_numpy(dtype=np.int64)
    weights = np.bincount(ctx_id * n_bins + bins, weights=values[weight].to_numpy(float),
                          minlength=len(ctx_keys) * n_bins).reshape(len(ctx_keys), n_bins)
    order = np.lexsort((child, bins, ctx_id))
    ctx_s, bin_s, child_s = ctx_id[order], bins[order], child[order]
    seg = np.flatnonzero(np.r_[True, ctx_s[1:] != ctx_s[:-1], True])
    widths = np.diff(edges).astype(float)
    counts = np.zeros_like(weights)
    for a, z in zip(seg[:-1], seg[1:]):
        cb, cc = bin_s[a:z], child_s[a:z]
        cuts = np.flatnonzero(np.r_[True, cb[1:] != cb[:-1], True])
        runs, seen, first = [], set(), int(cb[0])
        for i, j in zip(cuts[:-1], cuts[1:]):
            seen.update(cc[i:j].tolist())
            if len(seen) >= k:
                runs.append([first, int(cb[i])])
                seen, first = set(), int(cb[i]) + 1
        if seen or not runs:  # children left over at the top: merged into the run below
            if runs:
                runs[-1][1] = int(cb[-1])
            else:
                runs.append([first, int(cb[-1])])
        row = ctx_s[a]
        for lo, hi in runs:
            span = widths[lo:hi + 1]
            counts[row, lo:hi + 1] = weights[row, lo:hi + 1].sum() * span / span.sum()
    r, b = np.nonzero(counts)
    return ctx_keys[r].to_frame(index=False, name=cols).assign(bin=b, count=counts[r, b])


def duration_bounds(m: pd.DataFrame, k: int) -> tuple[pd.DataFrame, pd.DataFrame, tuple[int, int]]:
    """The bounds each move's days are clamped to: the move's own (k-th most extreme child), or
    when fewer than k children made it, those of all moves out of the same stage, then of all moves
    (each side on its own: a lower bound also backs off where it would pass the upper one).
    Returns (per move of the grammar, per stage, pooled)."""
    pooled = pooled_bounds(m["days"].to_numpy(), m["child_key"].to_numpy(), k)
    per_cur = tail_bounds(m, ["cur"], k).set_index("cur")
    per_move = tail_bounds(m, ["cur", "next"], k).set_index(["cur", "next"])
    domain = transition_domain()
    domain = domain[(domain["next"] != END) & ~domain["cur"].isin([START, LC_START])][["cur", "next"]]
    domain = domain.drop_duplicates().set_index(["cur", "next"])
    b = domain.join(per_move[["lo", "hi"]], how="left")
    cur_b = per_cur[["lo", "hi"]].reindex(b.index.get_level_values("cur"))
    b["hi"] = b["hi"].fillna(pd.Series(cur_b["hi"].to_numpy(), index=b.index)).fillna(pooled[1])
    b["lo"] = _first_below(b["hi"].to_numpy(), b["lo"].to_numpy(), cur_b["lo"].to_numpy(), pooled[0])
    b = b.astype({"lo": np.int64, "hi": np.int64}).reset_index()
    stages = per_cur[["lo", "hi"]].copy()
    stages["hi"] = stages["hi"].fillna(pooled[1])
    stages["lo"] = _first_below(stages["hi"].to_numpy(), stages["lo"].to_numpy(), pooled[0])
    return b, stages.astype(np.int64), pooled


def _first_below(hi: np.ndarray, *candidates) -> np.ndarray:
    """The first lower bound among `candidates` (NaN: none) that is at most `hi`; else 0 (no
    bottom-coding: a pooled lower bound above a move's own top would squash it to one value)."""
    out = np.full(len(hi), np.nan)
    for c in candidates:
        c = np.broadcast_to(np.asarray(c, dtype=float), out.shape)
        take = np.isnan(out) & ~np.isnan(c) & (c <= hi)
        out[take] = c[take]
    return np.nan_to_num(out, nan=0.0)
