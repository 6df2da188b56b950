"""What the journey model learns (not private), as tables of counts: every training move with its
context (weighted for the window's cut), next-stage counts at each level of context with source
factors where back-off drops the source, day histograms per move, when first episodes start, the
chance of another episode and the gaps between them. Every day value is coded so no rare value is
learnt (synth.models.journey_tails); event details are counted in synth.models.journey_details.
Under differential privacy the tables are measured instead (synth.models.private_journey)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.models import prepare
from synth.models.base import Window
from synth.models.journey_tails import duration_bounds, merge_bins, pooled_bounds
from synth.models.journey_vocab import (
    DAY_BINS,
    DISABILITY_STAGES,
    DURATION_LEVELS,
    END,
    INTENSITY_START_BINS,
    LC_OFFSET_BINS,
    LC_START,
    LEVELS,
    MIN_INTENSITY_CHILDREN,
    START,
    START_BIN_DAYS,
    TAIL_CHILDREN,
    TOK,
    TOKENS,
    VOCAB,
    allowed_next,
    bin_of,
    encode,
    pack,
)
from synth.stages import STAGES

MAX_WEIGHT = 20.0  # cap on the inverse-probability weight of a long completed stay
MIN_REPEAT_EPISODES = 20  # exited episodes needed before a repeat chance is kept per intensity


def observed_chance(remaining: np.ndarray, days: np.ndarray) -> np.ndarray:
    """P(a stay of `days` would have ended inside the window), from the days left at each entry."""
    r = np.sort(remaining)
    return 1.0 - np.searchsorted(r, days, side="left") / max(len(r), 1)


def training_moves(ev: pd.DataFrame, eps: pd.DataFrame, ctx: pd.DataFrame, window: Window,
           weighted: bool = True) -> pd.DataFrame:
    """Every move of every episode, with its context: (prev, cur) -> next and the days it took.

    Each episode contributes START -> first stage (LC_START for episodes already open when the
    window began), its moves, and -> END after its exit. Moves the grammar does not allow are
    dropped (real data can hold them; synthetic data never will).

    Long stays are under-represented among completed ones: a CP plan that started a year before
    the window closed is seen to end only if it lasted less than a year. Each completed move is
    weighted by the inverse of its chance of being seen (`w`, capped at MAX_WEIGHT), so the model
    learns the untruncated process; sampling inside the same window truncates it again.
    """
    e = ev[["child_key", "episode_no", "step", "stage", "date"]]
    info = eps[["child_key", "episode_no", "history", "left_censored", "censored",
                *(["source_group"] if "source_group" in eps else [])]]
    e = e.merge(info, on=["child_key", "episode_no"], how="inner")
    same_next = e[["child_key", "episode_no"]].shift(-1).eq(e[["child_key", "episode_no"]]).all(axis=1)
    starter = np.where(e["left_censored"], LC_START, START)
    prev = e["stage"].shift(1).where(e["step"] > 0, pd.Series(starter, index=e.index))
    nxt = e["stage"].shift(-1).where(same_next)
    nxt = nxt.where(same_next | e["censored"], END)  # after the last stage: END unless still open
    days = (e["date"].shift(-1) - e["date"]).dt.days.where(same_next)
    moves = pd.DataFrame({"child_key": e["child_key"], "episode_no": e["episode_no"], "history": e["history"],
                          "prev": prev, "cur": e["stage"], "next": nxt, "days": days})
    firsts = e[e["step"] == 0]
    opening = pd.DataFrame({"child_key": firsts["child_key"], "episode_no": firsts["episode_no"],
                            "history": firsts["history"], "prev": START,
                            "cur": np.where(firsts["left_censored"], LC_START, START), "next": firsts["stage"],
                            "days": np.nan})
    if "source_group" in e:
        moves["source"], opening["source"] = e["source_group"].to_numpy(), firsts["source_group"].to_numpy()
    remaining = (window.end - e["date"]).dt.days.to_numpy()
    moves["w"] = 1.0
    if weighted:
        for idx in moves.groupby("cur").indices.values():
            done = idx[moves["days"].to_numpy()[idx] >= 0]
            chance = observed_chance(remaining[idx], moves["days"].to_numpy()[done])
            moves.loc[moves.index[done], "w"] = 1.0 / np.maximum(chance, 1.0 / MAX_WEIGHT)
    opening["w"] = 1.0
    moves = pd.concat([opening, moves.dropna(subset=["next"])], ignore_index=True)
    allowed = {f"{c}>{n}" for c in (*STAGES, START, LC_START) for n in allowed_next(c)}
    ok = (moves["cur"].astype(str) + ">" + moves["next"].astype(str)).isin(allowed).to_numpy()
    moves = moves[ok].merge(ctx, on="child_key", how="left")
    if "disability" in moves:
        moves["disability"] = moves["disability"].where(moves["cur"].isin(DISABILITY_STAGES), "*")
    moves.attrs["dropped"] = int((~ok).sum())
    return moves.reset_index(drop=True)


def level_table(parts: list[pd.DataFrame], noisy: bool = False) -> pd.DataFrame:
    """Count rows of all levels in one table; context variables a level does not use hold "*".
    Noisy counts are clipped at zero and rounded only now, after any summing into coarser levels."""
    out = pd.concat(parts, ignore_index=True)
    if noisy:
        out["count"] = out["count"].clip(lower=0).round()
    for var in VOCAB:
        if var not in out:
            out[var] = "*"
        out[var] = out[var].fillna("*")
    return out


def level_rows(moves: pd.DataFrame, levels, outcome: str, min_children: int, value: str = "count",
                level_of: np.ndarray | None = None) -> pd.DataFrame:
    """Count rows of every level, each learnt from its residual: the moves whose context no finer
    level kept (a context is kept when it holds `min_children` children; the coarsest level keeps
    all it has). A context that backs off then takes the distribution of the contexts that back off
    with it, not of all of them, so the mixture of levels reproduces every coarser context's
    distribution (pooling all moves at each level made a stage's mixed rate drift from its real
    one by as much as the context effects are big). One more level, every move by `levels[-1]`,
    catches a sampled context that no level holds. With `level_of` (one slot per move), each
    move's level is written into it."""
    parts, rest = [], moves
    rest_at = np.arange(len(moves))
    for li, level in enumerate(levels):
        cols = list(level)
        if li < len(levels) - 1:
            kids = rest.groupby(cols, observed=True)["child_key"].nunique()
            kept = kids[kids >= min_children].reset_index()[cols]
            covered = rest[cols].merge(kept, on=cols, how="left", indicator=True)["_merge"].eq("both").to_numpy()
        else:
            covered = np.ones(len(rest), dtype=bool)
        counts = rest[covered].groupby([*cols, outcome], observed=True)["w"].sum().rename(value).reset_index()
        parts.append(counts.assign(level=li))
        if level_of is not None:
            level_of[rest_at[covered]] = li
        rest, rest_at = rest[~covered], rest_at[~covered]
    pooled = moves.groupby([*levels[-1], outcome], observed=True)["w"].sum().rename(value).reset_index()
    parts.append(pooled.assign(level=len(levels)))
    return level_table(parts)


def transition_counts(moves: pd.DataFrame, min_children: int) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The next-stage count rows of every level (`level_rows`), and the source factors of the
    levels that do not hold the source (`source_factors`; None without sources)."""
    level_of = np.full(len(moves), -1, dtype=np.int64)
    table = level_rows(moves, LEVELS, "next", min_children, level_of=level_of)
    if "source" not in moves:
        return table, None
    return source_factors(moves, level_of, table, min_children)


SOURCE_IPF_ROUNDS = 30
SOURCE_PRIOR_MOVES = 50.0  # pseudo-moves without a source effect added to each (stage, source) cell


def source_factors(moves: pd.DataFrame, level_of: np.ndarray, table: pd.DataFrame,
                    min_children: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Factors per (stage, source group, next) on the levels that back off past the source, fitted
    on the training moves that back off to them, and those levels' counts refitted with them.

    Only the finest level and (prev, cur, source, disability) hold the episode's source group; a
    move whose context holds fewer children backs off to a level without it, and so took its
    context's mixed rate whoever referred the child. Most moves of a small council back off so
    (at Moorside's S47s more than half, and three in four of the school-referred), so a referral
    source's effect on what follows was lost but for what the age band carries of it (with sources
    drawn by age, a synthetic S47 -> ICPC gap between sources of about 0.8 of the real one; with
    these factors, about 0.9 to 1.0, in expectation over fits). A log-linear
    fit of the backed-off moves, p(next) ~ count(level context, next) x factor(stage, source, next)
    (iterative proportional fitting over both margins), keeps each backed-off context's own rates
    and each stage's rates by source: with the levels that hold the source, the model then
    reproduces every stage x source rate of the training moves, as it does every context's. A
    factor is fitted only for a (stage, source) of `min_children` children (else 1), and to its
    rates shrunk towards no source effect by SOURCE_PRIOR_MOVES pseudo-moves (unshrunk, the
    factors of small cells, such as the few step-ups from early help per source, chased noise and
    put Moorside's early help -> contact 0.06 off, 1.3 times its noise floor); a move the data
    lacks keeps weight 0."""
    nosrc = [li for li, level in enumerate(LEVELS) if "source" not in level]
    pick = np.isin(level_of, nosrc)
    empty = pd.DataFrame(columns=["cur", "source", "next", "factor"])
    if not pick.any():
        return table, empty
    m = moves[pick]
    at = level_of[pick]
    n_out = len(TOKENS)

    def context_keys(frame: pd.DataFrame, levels: np.ndarray) -> np.ndarray:
        """One integer per (level, its context)."""
        key = np.full(len(frame), -1, dtype=np.int64)
        for li in np.unique(levels):
            sel = np.flatnonzero(levels == li)
            level = LEVELS[li]
            key[sel] = pack({v: encode(frame[v].to_numpy()[sel], v) for v in level}, level) | (int(li) << 40)
        return key

    ctx_key = context_keys(m, at)
    ctx_names, ctx_id = np.unique(ctx_key, return_inverse=True)
    cur_c, src_c = encode(m["cur"].to_numpy(), "cur"), encode(m["source"].to_numpy(), "source")
    cell_key = cur_c * 64 + src_c
    cell_names, cell_id = np.unique(cell_key, return_inverse=True)
    nxt = m["next"].map(TOK).to_numpy(dtype=np.int64)
    w = m["w"].to_numpy(float)
    # A backed-off context's counts: its residual moves' (as `level_rows` counts them).
    base = np.zeros((len(ctx_names), n_out))
    np.add.at(base, (ctx_id, nxt), w)
    unit_names, unit_id = np.unique(ctx_id * len(cell_names) + cell_id, return_inverse=True)
    u_ctx, u_cell = unit_names // len(cell_names), unit_names % len(cell_names)
    obs = np.zeros((len(unit_names), n_out))
    np.add.at(obs, (unit_id, nxt), w)
    u_tot = obs.sum(axis=1)
    cell_obs = np.zeros((len(cell_names), n_out))
    np.add.at(cell_obs, u_cell, obs)
    kids = pd.Series(m["child_key"].to_numpy()).groupby(cell_id).nunique().reindex(range(len(cell_names))).to_numpy()
    fit_cell = kids >= min_children
    g = np.ones((len(cell_names), n_out))
    h = np.ones((len(ctx_names), n_out))
    p_base = base / np.maximum(base.sum(axis=1, keepdims=True), 1e-300)

    def expected(by: np.ndarray, size: int) -> np.ndarray:
        q = p_base[u_ctx] * h[u_ctx] * g[u_cell]
        q = q / np.maximum(q.sum(axis=1, keepdims=True), 1e-300) * u_tot[:, None]
        out = np.zeros((size, n_out))
        np.add.at(out, by, q)
        return out

    # Shrunk towards no source effect: a cell of n moves is fitted to n / (n + SOURCE_PRIOR_MOVES) of
    # its own rates, the rest from what its contexts give without the source.
    n_cell = cell_obs.sum(axis=1, keepdims=True)
    cell_obs = (n_cell * cell_obs + SOURCE_PRIOR_MOVES * expected(u_cell, len(cell_names))) / (n_cell + SOURCE_PRIOR_MOVES)
    for _ in range(SOURCE_IPF_ROUNDS):
        exp = expected(u_cell, len(cell_names))
        g = np.where(fit_cell[:, None], np.clip(g * np.where(exp > 0, cell_obs / np.maximum(exp, 1e-300), 1.0),
                                                0.05, 20.0), 1.0)
        exp = expected(u_ctx, len(ctx_names))
        h = np.where(exp > 0, h * base / np.maximum(exp, 1e-300), h)
    # Each backed-off context's counts refitted (same total): count x h.
    fitted = p_base * h
    fitted = fitted / np.maximum(fitted.sum(axis=1, keepdims=True), 1e-300) * base.sum(axis=1, keepdims=True)
    table = table.copy()
    rows = np.flatnonzero(np.isin(table["level"].to_numpy(), nosrc))
    t = table.iloc[rows]
    pos = np.clip(np.searchsorted(ctx_names, context_keys(t, t["level"].to_numpy())), 0, len(ctx_names) - 1)
    ok = ctx_names[pos] == context_keys(t, t["level"].to_numpy())
    counts = table["count"].to_numpy(float).copy()
    counts[rows[ok]] = fitted[pos[ok], t["next"].map(TOK).to_numpy(dtype=np.int64)[ok]]
    table["count"] = counts
    r, c = np.nonzero(fit_cell[:, None] & (np.abs(g - 1.0) > 1e-9))
    cur_names = np.array(VOCAB["cur"], dtype=object)[cell_names[r] // 64]
    src_names = np.array(VOCAB["source"], dtype=object)[cell_names[r] % 64]
    out = pd.DataFrame({"cur": cur_names, "source": src_names, "next": np.array(TOKENS, dtype=object)[c],
                        "factor": g[r, c]})
    return table, out if len(out) else empty


def duration_counts(moves: pd.DataFrame, min_children: int, k: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Day histograms per move context (see DURATION_LEVELS), and the bounds sampling keeps to.

    No rare value is learnt: each move's days are top- and bottom-coded at its k-th most extreme
    child (`duration_bounds`), every bin kept holds k children (`merge_bins`), and a context of
    fewer than k children is not kept (the one-stage level, which is always kept, pools all moves
    there instead: all moves out of the stage, or all moves, each coded at its own bounds)."""
    m = moves[moves["days"].notna() & (moves["next"] != END) & ~moves["cur"].isin([START, LC_START])].copy()
    m["days"] = m["days"].to_numpy(dtype=np.int64)
    bounds, per_cur, pooled = duration_bounds(m, k)
    b = m[["cur", "next"]].merge(bounds, on=["cur", "next"], how="left")
    by_move = np.clip(m["days"].to_numpy(), b["lo"].to_numpy(), b["hi"].to_numpy())
    c = per_cur.reindex(m["cur"].to_numpy())
    by_cur = np.clip(m["days"].to_numpy(), c["lo"].to_numpy(), c["hi"].to_numpy())
    parts = []
    need = max(min_children, k)
    last = len(DURATION_LEVELS) - 1
    for li, level in enumerate(DURATION_LEVELS):
        cols = list(level)
        sub = m.assign(bin=bin_of(by_cur if li == last else by_move, DAY_BINS))
        kids = sub.groupby(cols, observed=True)["child_key"].transform("nunique")
        sub = sub[kids.to_numpy() >= (k if li == last else need)]
        parts.append(merge_bins(sub, cols, k, DAY_BINS).assign(level=li))
    # Stages left by fewer than k children: all moves, each coded at the pooled bounds.
    few = sorted(set(m["cur"]) - set(parts[last]["cur"]))
    if few:
        everything = m.assign(bin=bin_of(np.clip(m["days"].to_numpy(), *pooled), DAY_BINS), cur="*")
        hist = merge_bins(everything, ["cur"], k, DAY_BINS).drop(columns="cur")
        parts.append(pd.concat([hist.assign(cur=s) for s in few], ignore_index=True).assign(level=last))
    return level_table(parts), bounds


def bin_counts(values: np.ndarray, n_bins: int) -> np.ndarray:
    return np.bincount(np.clip(values, 0, n_bins - 1), minlength=n_bins)


def start_counts(eps: pd.DataFrame, window: Window, kids: pd.DataFrame, k: int = TAIL_CHILDREN) -> tuple[pd.DataFrame, float]:
    """When first episodes start (7-day bins; per intensity too), and those open before the window
    (30-day bins, top-coded at the k-th longest and merged into bins of k children, `hi` holding the
    top)."""
    first = eps[eps["episode_no"] == 1]
    n_bins = max(1, (window.end - window.start).days // START_BIN_DAYS + 1)
    fresh = first[~first["left_censored"]]
    offsets = ((fresh["start_date"] - window.start).dt.days.clip(lower=0) // START_BIN_DAYS).to_numpy(dtype=np.int64)
    first_counts = bin_counts(offsets, n_bins).astype(float)
    lc = first[first["left_censored"]]
    lc_days = (window.start - lc["start_date"]).dt.days.clip(lower=1).to_numpy(dtype=np.int64)
    lc_top = np.nan
    if len(lc_days):
        lc_top = float(pooled_bounds(lc_days, lc["child_key"].to_numpy(), k)[1])
        lc_days = np.minimum(lc_days, int(lc_top))
    lc_off = bin_of(lc_days, LC_OFFSET_BINS)
    lc_counts = bin_counts(lc_off, len(LC_OFFSET_BINS) - 1).astype(float)
    if len(lc_days):
        merged = merge_bins(pd.DataFrame({"all": 0, "bin": lc_off, "child_key": lc["child_key"].to_numpy(), "w": 1.0}),
                             ["all"], k, LC_OFFSET_BINS)
        lc_counts = np.zeros(len(LC_OFFSET_BINS) - 1)
        lc_counts[merged["bin"].to_numpy(dtype=np.int64)] = merged["count"].to_numpy(float)
    n_lc, n_all = float(len(lc)), float(len(first))
    parts = [pd.DataFrame({"kind": "first", "bin": np.arange(n_bins), "count": first_counts, "width": START_BIN_DAYS}),
             pd.DataFrame({"kind": "lc_offset", "bin": np.arange(len(lc_counts)), "count": lc_counts, "width": 30,
                           "hi": lc_top})]
    if "intensity" in kids:
        # Per intensity only in quarters, and only for classes of many children: a histogram of a few
        # children's start weeks would teach the generator when those children came.
        level = fresh["child_key"].map(kids.set_index("child_key")["intensity"]).to_numpy()
        per = START_BIN_DAYS * INTENSITY_START_BINS
        quarter = offsets // INTENSITY_START_BINS
        level = pd.to_numeric(pd.Series(level), errors="coerce").fillna(0).to_numpy()
        for value in range(4):  # children of this intensity or more ("ge"): wider classes where few
            mine = level >= value
            if mine.sum() >= MIN_INTENSITY_CHILDREN:
                q = bin_counts(quarter[mine], n_bins // INTENSITY_START_BINS + 1).astype(float)
                parts.append(pd.DataFrame({"kind": f"first|ge{value}", "bin": np.arange(len(q)), "count": q,
                                           "width": per}))
            mine = level == value
            if mine.sum() >= MIN_INTENSITY_CHILDREN:
                q = bin_counts(quarter[mine], n_bins // INTENSITY_START_BINS + 1).astype(float)
                parts.append(pd.DataFrame({"kind": f"first|{value}", "bin": np.arange(len(q)), "count": q,
                                           "width": per}))
    return pd.concat(parts, ignore_index=True), float(n_lc / n_all) if n_all > 0 else 0.0


def repeat_counts(eps: pd.DataFrame, window: Window, kids: pd.DataFrame, k: int = TAIL_CHILDREN) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Chance of another episode after an exit, by history, corrected for the window's end.

    p = (episodes followed by another) / sum over exited episodes of G(days left in the window),
    where G is the distribution of gaps: an episode that ended a week before the window closed
    had little chance to be seen followed.

    When not private, gaps are top-coded at the k-th longest child's (per history when it has k
    children, else over all histories; `hi` holds it) and kept in bins of at least k children.
    """
    e = eps.sort_values(["child_key", "episode_no"])
    nxt_start = e.groupby("child_key")["start_date"].shift(-1)
    exited = e[~e["censored"]].copy()
    exited["followed"] = nxt_start.loc[exited.index].notna()
    exited["gap"] = (nxt_start.loc[exited.index] - exited["end_date"]).dt.days
    referred = e["path"].str.contains("referral", regex=False).astype(int)
    so_far = referred.groupby(e["child_key"]).cumsum().loc[exited.index]
    exited["next_history"] = prepare.history_label(exited["episode_no"].to_numpy() + 1, so_far.to_numpy())
    exited["left"] = (window.end - exited["end_date"]).dt.days.clip(lower=0)
    histories = sorted(exited["next_history"].unique())
    bins_edges = DAY_BINS
    n_bins = len(bins_edges) - 1
    gap_rows, rep_rows = [], []
    seen = exited[exited["followed"]]
    all_top = pooled_bounds(seen["gap"].clip(lower=0).to_numpy(dtype=np.int64), seen["child_key"].to_numpy(), k)[1]

    def coded(gaps: np.ndarray, owners: np.ndarray, weights: np.ndarray, fallback_top: int) -> tuple[np.ndarray, int]:
        """A gap histogram top-coded at the k-th longest child's gap, in bins of k children."""
        top = pooled_bounds(gaps, owners, k)[1] if len(np.unique(owners)) >= k else fallback_top
        frame = pd.DataFrame({"all": 0, "bin": bin_of(np.minimum(gaps, top), bins_edges), "child_key": owners,
                              "w": weights})
        merged = merge_bins(frame, ["all"], k, bins_edges)
        out = np.zeros(n_bins)
        out[merged["bin"].to_numpy(dtype=np.int64)] = merged["count"].to_numpy(float)
        return out, int(top)

    for h in histories:
        sub = exited[exited["next_history"] == h]
        gaps = sub.loc[sub["followed"], "gap"].clip(lower=0).to_numpy(dtype=np.int64)
        # Long gaps are seen less often before the window closes (as in training_moves).
        weights = 1.0 / np.maximum(observed_chance(sub["left"].to_numpy(), gaps), 1.0 / MAX_WEIGHT)
        counts, top = coded(gaps, sub.loc[sub["followed"], "child_key"].to_numpy(), weights, all_top)
        followed = float(sub["followed"].sum())
        cdf = np.cumsum(counts) / counts.sum() if counts.sum() > 0 else np.ones(n_bins)
        chance = cdf[bin_of(sub["left"].to_numpy(dtype=np.int64), bins_edges)]
        denom = float(chance.sum())
        p = min(1.0, followed / denom) if denom > 0 else 0.0
        rep_rows.append({"history": h, "p": p, "in_window": False, "bins": "fine"})
        if "intensity" in kids:  # and per intensity, where there are enough episodes
            level = sub["child_key"].map(kids.set_index("child_key")["intensity"]).to_numpy()
            for value in np.unique(level):
                mine = level == value
                if mine.sum() >= MIN_REPEAT_EPISODES:
                    # A child's intensity is what its journeys came to inside the window, so given
                    # it, the chance is the plain share followed and the gap must fit the window.
                    rep_rows.append({"history": f"{h}|{value}", "p": float(sub["followed"].to_numpy()[mine].mean()),
                                     "in_window": True})
                    picked = sub["followed"].to_numpy() & mine
                    mine_gaps = sub.loc[picked, "gap"].clip(lower=0).to_numpy(dtype=np.int64)
                    owners = sub.loc[picked, "child_key"].to_numpy()
                    if len(mine_gaps) >= MIN_REPEAT_EPISODES and len(np.unique(owners)) >= k:
                        mine_counts, mine_top = coded(mine_gaps, owners, np.ones(len(mine_gaps)), top)
                        gap_rows.append(pd.DataFrame({"history": f"{h}|{value}", "bin": np.arange(n_bins),
                                                      "count": mine_counts, "hi": float(mine_top)}))
        gap_rows.append(pd.DataFrame({"history": h, "bin": np.arange(n_bins), "count": counts, "hi": float(top)}))
    gaps = pd.concat(gap_rows, ignore_index=True) if gap_rows else pd.DataFrame(columns=["history", "bin", "count"])
    return pd.DataFrame(rep_rows, columns=["history", "p", "in_window"]), gaps.assign(edges="fine")
