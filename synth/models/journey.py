"""The journey generator: child attributes by an attribute synthesizer, journeys by a model that
keeps the front door's process structure.

What it learns (all as tables of counts, saved as Parquet, no pickles):
- next-stage counts given the context (previous stage, stage, the episode's history and a few
  child attributes), at several levels of detail; a context is used only when it holds at least
  `min_children` children, otherwise the model backs off to less context;
- day histograms per move (and per previous stage where data allows), over fixed bins;
- when first episodes start, how many were already open when the window began, the chance of
  another episode after one ends (corrected for the window's end) and the gaps between them;
- no rare value: move durations, gaps between episodes and how long before the window an open
  episode began are top-coded (durations also bottom-coded) at the 10th most extreme child's
  value, every day bin kept holds at least 10 children (fewer: merged with the bins below), a
  sampled value never passes its bound, and an episode is cut (left open) before it would outlast
  the 10th longest child's (see `_durations`; the release gate checks the same, in
  synth.disclosure.extremes);
- factors by (stage, source group, next stage) on the levels that back off past the source, so a
  referral source's effect on what follows is kept where contexts are too small to hold it;
- details: sources per episode (by age band and history), a home team per child and how each
  stage's team relates to it, need codes, categories of abuse, closure reasons, list numbers and
  derived flags.

Sampling walks every synthetic episode through the stages at once (vectorised over episodes).
Only moves the grammar allows have counts, an episode ends (END) only at an exit stage and days
are never negative, so every sampled journey follows the grammar with non-decreasing dates.
With a privacy budget the tables are measured instead by synth.models.private_journey (public
domains, bounded contributions, OpenDP noise), child attributes and journey summaries come from an
MST model (synth.models.mst), and each synthetic child takes a sampled journey whose summary
matches its record (`_match_journeys`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.errors import ModelError
from synth.journeys import age_band as to_age_band
from synth.journeys import episodes_from_events, source_group
from synth.models import prepare
from synth.models.attributes import COLUMNS as ATTRIBUTE_COLUMNS
from synth.models.attributes import RecordedAttributes, SDVAttributes
from synth.models.base import Generator, SyntheticTables, Window, frame_bytes, frame_from_bytes
from synth.models.privacy import PrivacyBudget
from synth.schema import AGE_BANDS, SOURCE_GROUP_LABELS
from synth.stages import EXIT_STAGES, GRAMMAR, HARD_EXITS, STAGES, START_STAGES

START, LC_START, END = "START", "LC_START", "END"
TOKENS = (*STAGES, START, LC_START, END)
TOK = {t: i for i, t in enumerate(TOKENS)}
LC_STAGES = tuple(s for s in STAGES if s not in START_STAGES and s not in HARD_EXITS)
HOLD = -1  # a sampled "next" that keeps the episode open where it is (no training child left that context)
MAX_CHAIN = 40  # moves per sampled episode before it is cut off (as if still open)
MAX_WEIGHT = 20.0  # cap on the inverse-probability weight of a long completed stay
MIN_REPEAT_EPISODES = 20  # exited episodes needed before a repeat chance is kept per intensity
# Raking (see `_rake`): the margins whose next-stage rates the sampler is raked to, rounds, and
# training children's contexts walked per round.
RAKE_MARGINS = (("cur",), ("cur", "age_band"), ("cur", "source"), ("cur", "history"), ("cur", "disability"))
RAKE_ROUNDS = 4
RAKE_CHILDREN = 60_000
RAKE_MIN_MOVES = 50  # real moves out of a margin cell before it is raked to

VOCAB = {
    "prev": TOKENS,
    "cur": TOKENS,
    "history": ("1", "20", "21", "30", "31", "32", "40", "41", "42", "2y", "2n"),
    "age_band": (*AGE_BANDS, "Not known"),
    "intensity": ("0", "1", "2", "3"),
    "source": (*SOURCE_GROUP_LABELS.values(), "Not recorded"),  # the episode's referral source group
    "disability": ("yes", "no", "unknown"),  # a context only once a journey reached the lists recording it
    "next": TOKENS,
}
# Contexts, finest first. Child attributes: the age band, and disability only where a journey has
# reached the lists that record it (assessment on: DISABILITY_STAGES); below them it is "*", since a
# disability is recorded *because* of where a journey went. UASC status and missing episodes are
# drawn after the journey (synth.models.attributes.RecordedAttributes). The episode's source group
# is drawn when it starts, by the child's age band and the episode's history. Each level learns
# from what the finer ones left (`_level_rows`); the levels without the source carry factors by
# (stage, source group, next) fitted on the moves that back off to them (`_source_factors`).
LEVELS = (
    ("prev", "cur", "history", "intensity", "age_band", "source", "disability"),
    ("prev", "cur", "history", "intensity", "age_band", "disability"),
    ("prev", "cur", "history", "intensity", "disability"),
    ("prev", "cur", "source", "disability"),
    ("prev", "cur", "intensity"),
    ("prev", "cur"),
    ("cur",),
)
DISABILITY_STAGES = prepare.ASSESSED_STAGES
DISABILITY_TOKS = np.array([TOK[s] for s in DISABILITY_STAGES])
DURATION_LEVELS = (("prev", "cur", "next"), ("cur", "next"), ("cur",))

# Day bins (public, fixed): single days to two months, then coarser. A value is drawn uniformly
# within its bin, so the tails never repeat a real child's exact number of days.
DAY_BINS = np.array([*range(0, 61), *range(70, 181, 10), *range(210, 366, 30), *range(425, 731, 60),
                     *range(820, 1461, 90), 1826, 2557, 3653], dtype=np.int64)
# Under differential privacy, fewer and wider bins: each bin pays the same noise.
DP_DAY_BINS = np.array([0, 1, 2, 4, 7, 14, 21, 28, 35, 42, 56, 70, 90, 120, 180, 270, 365, 540, 730, 1095, 1460, 3653],
                       dtype=np.int64)
START_BIN_DAYS = 7
INTENSITY_START_BINS = 13  # per-intensity start histograms count quarters (13 weeks)
MIN_INTENSITY_CHILDREN = 20
LC_OFFSET_BINS = np.arange(0, 3653 + 30, 30)
# No rare value is learnt (not private): day values are top- and bottom-coded at the k-th most
# extreme child and every day bin kept holds at least k children. k is the release gate's
# (synth.disclosure.extremes.RARE_K), not rare_threshold: coding both ends at a larger k squashes a
# move of fewer than 2k children below the gate's lower end.
TAIL_CHILDREN = 10


def allowed_next(cur: str) -> tuple[str, ...]:
    """Tokens that may follow `cur` (the grammar, plus END after an exit)."""
    if cur == START:
        return tuple(START_STAGES)
    if cur == LC_START:
        return LC_STAGES
    nxt = tuple(sorted(GRAMMAR[cur]))
    return (*nxt, END) if cur in EXIT_STAGES else nxt


def _codes(values: pd.Series | np.ndarray, var: str) -> np.ndarray:
    vocab = VOCAB[var]
    lookup = {v: i for i, v in enumerate(vocab)}
    return pd.Series(values).map(lookup).fillna(len(vocab)).to_numpy(dtype=np.int64)


def _pack(codes: dict[str, np.ndarray], level: tuple[str, ...]) -> np.ndarray:
    key = np.zeros(len(codes[level[0]]), dtype=np.int64)
    for i, var in enumerate(level):
        key |= codes[var] << (5 * i)
    return key


def _bin_of(days: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(edges, days, side="right") - 1, 0, len(edges) - 2)


def _draw_in_bins(rng: np.random.Generator, bins: np.ndarray, edges: np.ndarray,
                  low: np.ndarray | None = None, high: np.ndarray | None = None) -> np.ndarray:
    """A day drawn uniformly within each bin; with `low` / `high`, within the part of the bin
    between them (both included), so no draw passes a learnt bound."""
    lo, hi = edges[bins], edges[bins + 1]
    if low is not None:
        lo = np.maximum(lo, low)
    if high is not None:
        hi = np.maximum(np.minimum(hi, high + 1), lo + 1)
    days = lo + np.floor(rng.random(len(bins)) * (hi - lo)).astype(np.int64)
    if low is not None or high is not None:
        days = np.clip(days, low if low is not None else days, high if high is not None else days)
    return days


def _with_fallback(out: np.ndarray, fallback) -> np.ndarray:
    """`out` with the rows no level held (-1) set by `fallback(rows)`; without one, an error."""
    if (out < 0).any():
        if fallback is None:
            raise ModelError("the model has no distribution for a context it reached; train it again.")
        miss = np.flatnonzero(out < 0)
        out[miss] = fallback(miss)
    return out


class _Lookup:
    """Backed-off categorical distributions: contexts at several levels -> weights over outcomes."""

    def __init__(self, table: pd.DataFrame, levels: tuple[tuple[str, ...], ...], outcomes: list, outcome_col: str):
        self.levels = levels
        self.outcomes = list(outcomes)
        self.tables = []
        index = {o: i for i, o in enumerate(self.outcomes)}
        for li, level in enumerate(levels):
            t = table[table["level"] == li]
            if t.empty:
                self.tables.append((np.array([], dtype=np.int64), np.zeros((0, len(self.outcomes)))))
                continue
            codes = {v: _codes(t[v], v) if v in VOCAB else t[v].to_numpy(dtype=np.int64) for v in level}
            keys = _pack(codes, level)
            uniq, inv = np.unique(keys, return_inverse=True)
            weights = np.zeros((len(uniq), len(self.outcomes)))
            np.add.at(weights, (inv, t[outcome_col].map(index).to_numpy(dtype=np.int64)), t["count"].to_numpy(float))
            totals = weights.sum(axis=1)
            keep = totals > 0
            cdf = np.cumsum(weights[keep], axis=1) / totals[keep, None]
            self.tables.append((uniq[keep], cdf))
        self.factors: list[tuple[tuple[str, ...], np.ndarray, np.ndarray]] = []
        self.adjust: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def set_adjust(self, factors: pd.DataFrame | None, var: str = "source") -> None:
        """Factors per (cur, `var`, outcome) on the levels that do not hold `var`: see
        `_source_factors`."""
        self.adjust = None
        if factors is None or factors.empty:
            return
        index = {o: i for i, o in enumerate(self.outcomes)}
        level = ("cur", var)
        keys = _pack({v: _codes(factors[v], v) for v in level}, level)
        uniq, inv = np.unique(keys, return_inverse=True)
        matrix = np.ones((len(uniq), len(self.outcomes)))
        matrix[inv, factors["next"].map(index).to_numpy(dtype=np.int64)] = factors["factor"].to_numpy(float)
        without = np.array([var not in lv for lv in self.levels])
        self.adjust = (uniq, matrix, without)

    def set_factors(self, factors: pd.DataFrame | None) -> None:
        """Multiplicative factors on the outcome weights by margin (`margin` "cur|age_band", its
        variables' values, the outcome, `factor`): see JourneyModel._rake."""
        self.factors = []
        if factors is None or factors.empty:
            return
        index = {o: i for i, o in enumerate(self.outcomes)}
        for margin, f in factors.groupby("margin", sort=True):
            level = tuple(margin.split("|"))
            keys = _pack({v: _codes(f[v], v) for v in level}, level)
            uniq, inv = np.unique(keys, return_inverse=True)
            matrix = np.ones((len(uniq), len(self.outcomes)))
            matrix[inv, f["next"].map(index).to_numpy(dtype=np.int64)] = f["factor"].to_numpy(float)
            self.factors.append((level, uniq, matrix))

    def sample(self, rng: np.random.Generator, codes: dict[str, np.ndarray], fallback=None,
               within: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """One outcome per row; with `within` (lowest, highest outcome index per row), drawn from
        the distribution conditioned on lying between them (where it has weight there)."""
        n = len(next(iter(codes.values())))
        if (self.factors or self.adjust is not None) and within is None:
            return self._sample_factored(rng, codes, n, fallback)
        out = np.full(n, -1, dtype=np.int64)
        u = rng.random(n)
        for level, (keys, cdf) in zip(self.levels, self.tables):
            todo = np.flatnonzero(out < 0)
            if not len(todo) or not len(keys):
                continue
            k = _pack({v: codes[v][todo] for v in level}, level)
            pos = np.clip(np.searchsorted(keys, k), 0, len(keys) - 1)
            hit = keys[pos] == k
            rows = todo[hit]
            if len(rows):
                c, uu = cdf[pos[hit]], u[rows]
                if within is not None:
                    r = np.arange(len(rows))
                    first, last = within[0][rows], np.minimum(within[1][rows], c.shape[1] - 1)
                    below = np.where(first > 0, c[r, np.maximum(first - 1, 0)], 0.0)
                    upto = c[r, last]
                    uu = np.where(upto > below, below + uu * (upto - below), uu)
                out[rows] = np.minimum((c <= uu[:, None]).sum(axis=1), len(self.outcomes) - 1)
        return _with_fallback(out, fallback)

    def _sample_factored(self, rng: np.random.Generator, codes: dict[str, np.ndarray], n: int, fallback) -> np.ndarray:
        """As `sample`, with each row's distribution (from its finest level) times its factors (and,
        on a level without the source, its source factor: `set_adjust`)."""
        weights = np.zeros((n, len(self.outcomes)))
        found = np.zeros(n, dtype=bool)
        at = np.full(n, -1, dtype=np.int64)
        u = rng.random(n)
        for li, (level, (keys, cdf)) in enumerate(zip(self.levels, self.tables)):
            todo = np.flatnonzero(~found)
            if not len(todo) or not len(keys):
                continue
            k = _pack({v: codes[v][todo] for v in level}, level)
            pos = np.clip(np.searchsorted(keys, k), 0, len(keys) - 1)
            hit = keys[pos] == k
            weights[todo[hit]] = np.diff(cdf[pos[hit]], axis=1, prepend=0.0)
            found[todo[hit]] = True
            at[todo[hit]] = li
        if self.adjust is not None and "source" in codes:
            keys, matrix, without = self.adjust
            rows = np.flatnonzero(found & without[np.maximum(at, 0)])
            k = _pack({v: codes[v][rows] for v in ("cur", "source")}, ("cur", "source"))
            pos = np.clip(np.searchsorted(keys, k), 0, len(keys) - 1)
            hit = keys[pos] == k
            weights[rows[hit]] *= matrix[pos[hit]]
        for level, keys, matrix in self.factors:
            if not all(v in codes for v in level):
                continue
            k = _pack({v: codes[v] for v in level}, level)
            pos = np.clip(np.searchsorted(keys, k), 0, len(keys) - 1)
            hit = np.flatnonzero(keys[pos] == k)
            weights[hit] *= matrix[pos[hit]]
        total = weights.sum(axis=1)
        ok = np.flatnonzero(found & (total > 0))
        out = np.full(n, -1, dtype=np.int64)
        cdf = np.cumsum(weights[ok], axis=1) / total[ok, None]
        out[ok] = np.minimum((cdf <= u[ok, None]).sum(axis=1), len(self.outcomes) - 1)
        return _with_fallback(out, fallback)


class JourneyModel(Generator):
    name = "journey"

    def __init__(self, params: dict, tables: dict[str, pd.DataFrame], attributes):
        self.params = params
        self.tables = tables
        self.attributes = attributes
        self.window = Window.from_dict(params["window"])
        self.recorded = RecordedAttributes(tables["recorded"])
        self._build()

    # ------------------------------------------------------------------------------------------
    # Fitting.
    @classmethod
    def fit(cls, children: pd.DataFrame, events: pd.DataFrame, episodes: pd.DataFrame, window: Window,
            spec, budget: PrivacyBudget | None = None) -> JourneyModel:
        if budget is not None:  # differentially private: its own measurements (synth.models.private_journey)
            from synth.models.private_journey import fit_private

            return cls(*fit_private(children, events, window, spec, budget))
        tail = TAIL_CHILDREN
        kids = prepare.prepare_children(children, spec.rare_threshold)
        ev = prepare.prepare_events(events, spec.rare_threshold).sort_values(
            ["child_key", "episode_no", "step"], kind="mergesort").reset_index(drop=True)
        eps = episodes.sort_values(["child_key", "episode_no"], kind="mergesort").reset_index(drop=True)
        eps["history"] = prepare.history(eps)
        eps["source_group"] = source_group(eps["source"]).to_numpy()
        kids["intensity"] = prepare.intensity(eps, kids["child_key"])
        ctx = prepare.child_context(kids)
        moves = _moves(ev, eps, ctx.assign(disability=kids["disability"].astype(str).to_numpy()), window)

        tables: dict[str, pd.DataFrame] = {}
        tables["transitions"], source_factors = _transitions(moves, spec.min_children)
        if source_factors is not None:
            tables["source_factors"] = source_factors
        tables["durations"], tables["duration_bounds"] = _durations(moves, spec.min_children, tail)
        starts, lc_share = _starts(eps, window, kids, tail)
        tables["starts"] = starts
        tables["repeats"], tables["gaps"] = _repeats(eps, window, kids, tail)
        eps["age_band"] = eps["child_key"].map(ctx.set_index("child_key")["age_band"]).to_numpy()
        tables["details"] = _details(ev, eps, spec.min_children)
        reached = prepare.reach(ev, kids["child_key"])
        tables["recorded"] = RecordedAttributes.fit(kids, reached, spec.rare_threshold).table
        attributes = SDVAttributes(spec.attributes, columns=(*ATTRIBUTE_COLUMNS, "intensity")).fit(
            kids, epochs=spec.epochs, seed=spec.seed)
        params = {
            "window": window.to_dict(), "min_children": spec.min_children, "lc_share": lc_share,
            "private": False, "attributes": spec.attributes, "context": ["source", "disability"],
            "source_by_age": True,  # episode source groups drawn by age band (see _episode_sources)
            "levels": [list(x) for x in (*LEVELS, LEVELS[-1])],  # the last: every move (see _level_rows)
            "duration_levels": [list(x) for x in DURATION_LEVELS],
            "day_bins": DAY_BINS.tolist(), "privacy": None,
            "dropped_moves": int(moves.attrs.get("dropped", 0)),
            "tail_children": tail,
            # An episode is cut (left open) before it would outlast the tail-th longest child's.
            "max_episode_days": _pooled_bounds(
                eps["duration_days"].to_numpy(dtype=np.int64), eps["child_key"].to_numpy(), tail)[1],
        }
        model = cls(params, tables, attributes)
        model._rake(np.random.default_rng(spec.seed), ctx, moves, spec.min_children)
        return model

    def _rake(self, rng: np.random.Generator, ctx: pd.DataFrame, moves: pd.DataFrame, min_children: int) -> None:
        """Rake the sampler to the training children's next-stage rates on each of RAKE_MARGINS.

        The tables reproduce each context's moves, but a context of few children backs off to a
        coarser one, which loses that context's effect (an ICPC rate that depends on the referral
        source, where the level kept holds age and repeats but not source), and what a sampled
        episode meets is the model's own mix of contexts, not the training children's (its
        repeats, its durations and so the window's cut), so every rate is a mixture over them.
        So the model walks the training children's own contexts, compares the next-stage shares
        with the real ones by stage, by stage and age band, source group, history and disability
        (only cells of `min_children` real children and RAKE_MIN_MOVES real moves), and multiplies the sampler's weights by a
        factor per (margin cell, next stage); a few rounds settle it (iterative proportional
        fitting by simulation, damped since the margins overlap). A factor multiplies the weight
        of a move a context has, so no move the data lacks is ever made; a difference within the
        walk's own noise is left alone (a factor fitted to noise adds as much as it removes)."""
        real = moves[moves["cur"].isin(STAGES) & moves["next"].isin(STAGES)]
        margins = [m for m in RAKE_MARGINS if all(v in real for v in m)]
        targets, real_n = {}, {}
        for m in margins:
            cols = list(m)
            kids = real.groupby(cols, observed=True)["child_key"].nunique()
            big = kids[kids >= min_children].reset_index()[cols]
            sub = real.merge(big, on=cols, how="inner")
            counts = sub.groupby([*cols, "next"], observed=True).size()
            out_of = counts.groupby(level=cols).transform("sum")
            targets[m] = (counts / out_of)[out_of >= RAKE_MIN_MOVES]
            real_n[m] = out_of[out_of >= RAKE_MIN_MOVES]
        walk_ctx = ctx.iloc[rng.integers(0, len(ctx), RAKE_CHILDREN)].reset_index(drop=True)
        walk_ctx["disability"] = self.recorded.draw_disability(walk_ctx["age_band"].to_numpy(), rng)
        factors = {m: pd.Series(1.0, index=targets[m].index) for m in margins}
        for _ in range(RAKE_ROUNDS):
            walked = self._sample_journeys(rng, walk_ctx)
            w = pd.DataFrame({"cur": walked["prev"].to_numpy(), "next": walked["stage"].to_numpy(),
                              "history": walked["history"].to_numpy(),
                              "age_band": walk_ctx["age_band"].to_numpy()[walked["child"].to_numpy()]})
            if "source_group" in walked:
                w["source"] = walked["source_group"].to_numpy()
            dis = walk_ctx["disability"].to_numpy()[walked["child"].to_numpy()]
            w["disability"] = np.where(np.isin(w["cur"], DISABILITY_STAGES), dis, "*")
            w = w[w["cur"].isin(STAGES)]
            for m in margins:
                cols = list(m)
                counts = w.groupby([*cols, "next"], observed=True).size()
                out_of = counts.groupby(level=cols).transform("sum")
                got = (counts / out_of).reindex(targets[m].index)
                n = out_of.reindex(targets[m].index)
                want = targets[m]
                # The real share is a sample too: a factor chasing a small cell's noise would fight the
                # other margins' (and so every rate) for nothing.
                # (Not so for a stage's own rates: those are what the model must reproduce.)
                noise = np.sqrt(want * (1 - want) * (1 / n + (1 / real_n[m] if len(m) > 1 else 0.0)))
                ratio = (want / got).where((want - got).abs() > 2 * noise, 1.0)
                ratio = ratio.replace([np.inf, -np.inf], np.nan).fillna(1.0).clip(1 / 3, 3.0) ** 0.5
                factors[m] = (factors[m] * ratio).clip(0.05, 20.0)
            self.tables["rake"] = _factor_table(factors)
            self._next.set_factors(self.tables["rake"])
        self.params["raked"] = {"margins": ["|".join(m) for m in margins], "rounds": RAKE_ROUNDS}

    # ------------------------------------------------------------------------------------------
    # Persistence.
    def state(self) -> tuple[dict, dict[str, bytes]]:
        files = {f"{name}.parquet": frame_bytes(t) for name, t in self.tables.items()}
        if isinstance(self.attributes, SDVAttributes):
            files["attributes.pkl"] = self.attributes.to_bytes()
        else:
            self.params["mst"] = self.attributes.state
        return self.params, files

    @classmethod
    def from_state(cls, params: dict, files: dict[str, bytes]) -> JourneyModel:
        tables = {name[: -len(".parquet")]: frame_from_bytes(data) for name, data in files.items()
                  if name.endswith(".parquet")}
        if params["attributes"] == "dp_marginals":
            raise ModelError("this model was trained with an earlier differential privacy method whose guarantee did "
                             "not hold (data-dependent preprocessing); train it again.")
        if params["attributes"] == "mst":
            from synth.models.mst import MSTChildren

            attributes = MSTChildren(params["mst"])
        else:
            attributes = SDVAttributes.from_bytes(params["attributes"], files["attributes.pkl"],
                                                  (*ATTRIBUTE_COLUMNS, "intensity"))
        return cls(params, tables, attributes)

    def privacy(self) -> dict | None:
        return self.params.get("privacy")

    # ------------------------------------------------------------------------------------------
    # Sampling.
    def _build(self) -> None:
        levels = tuple(tuple(x) for x in self.params["levels"])
        self._next = _Lookup(self.tables["transitions"], levels, list(TOKENS), "next")
        self._next.set_factors(self.tables.get("rake"))
        self._next.set_adjust(self.tables.get("source_factors"))
        dlevels = tuple(tuple(x) for x in self.params["duration_levels"])
        self.day_bins = np.array(self.params.get("day_bins", DAY_BINS), dtype=np.int64)
        self._days = _Lookup(self.tables["durations"], dlevels, list(range(len(self.day_bins) - 1)), "bin")
        self._day_bounds = None
        if "duration_bounds" in self.tables:  # [cur, next] -> lowest and highest day a move may take
            b = self.tables["duration_bounds"]
            lo = np.zeros((len(TOKENS), len(TOKENS)), dtype=np.int64)
            hi = np.full((len(TOKENS), len(TOKENS)), int(self.day_bins[-1]), dtype=np.int64)
            ci, ni = b["cur"].map(TOK).to_numpy(dtype=np.int64), b["next"].map(TOK).to_numpy(dtype=np.int64)
            lo[ci, ni], hi[ci, ni] = b["lo"].to_numpy(dtype=np.int64), b["hi"].to_numpy(dtype=np.int64)
            self._day_bounds = (lo, hi)
        self._details = {}
        for (field, context), d in self.tables["details"].groupby(["field", "context"]):
            counts = d["count"].to_numpy(float)
            if counts.sum() > 0:
                self._details.setdefault(field, {})[context] = (d["value"].to_numpy(dtype=object), counts / counts.sum())
        starts = self.tables["starts"]
        self._starts = {k: t.sort_values("bin") for k, t in starts.groupby("kind")}
        rep_table = self.tables["repeats"]
        self._repeat_p = dict(zip(rep_table["history"], rep_table["p"]))
        self._in_window = dict(zip(rep_table["history"], rep_table["in_window"].fillna(False).astype(bool)))
        self._gaps = {h: t.sort_values("bin") for h, t in self.tables["gaps"].groupby("history")}

    def sample(self, n_children: int, seed: int) -> SyntheticTables:
        rng = np.random.default_rng(seed)
        attrs = self.attributes.sample(n_children, seed)
        keys = np.char.add(f"syn{seed % 10000:04d}-", np.char.zfill(np.arange(1, n_children + 1).astype(str), 7))
        attrs.insert(0, "child_key", keys.astype(object))
        attrs["age_band"] = to_age_band(attrs["age_at_first_contact"]).astype(str)
        if self.params["private"]:
            # A pool of journeys, three per child; each child takes one whose summary matches its record.
            pool = self._sample_journeys(rng, pd.DataFrame({"age_band": np.full(3 * n_children, "*"),
                                                            "intensity": "*"}))
            events = _match_journeys(rng, attrs, pool)
        else:
            latent = self.recorded.draw_disability(attrs["age_band"].to_numpy(), rng)
            events = self._sample_journeys(rng, prepare.child_context(attrs).assign(disability=latent))
        events = self._with_details(rng, events.reset_index(drop=True), n_children)
        events["child_key"] = keys.astype(object)[events["child"].to_numpy()]
        events["date"] = pd.Timestamp("1970-01-01") + pd.to_timedelta(events["day"], unit="D")
        events = events[["child_key", "episode_no", "step", "stage", "date", "source", "team", "need_code",
                         "abuse_category", "closure_reason", "list_no", "derived"]].reset_index(drop=True)
        episodes = episodes_from_events(events)
        attrs = attrs[attrs["child_key"].isin(events["child_key"])].reset_index(drop=True)
        reached = prepare.reach(events, attrs["child_key"])
        if self.params["private"]:  # the record drew them; a list the journey never reached records nothing
            children = not_recorded(attrs, reached)
        else:
            given = {"disability": latent[pd.Index(keys).get_indexer(attrs["child_key"])]}
            children = self.recorded.fill(attrs, reached, rng, given=given)
        children = children[["child_key", "sex", "ethnicity_group", "age_at_first_contact", "age_band", "disability",
                             "uasc", "missing_episodes", "previous_cp_plans"]]
        return SyntheticTables(children, events, episodes)

    def _sample_journeys(self, rng: np.random.Generator, ctx: pd.DataFrame) -> pd.DataFrame:
        """Episodes walked for each row of `ctx` (age band, intensity): events with `child` (the row),
        episode_no, step, stage, prev, day (days since 1970) and history, sorted."""
        n_children = len(ctx)
        child_codes = {v: _codes(ctx[v], v) for v in ("age_band", "intensity")}
        disability = (_codes(ctx["disability"], "disability")
                      if "disability" in ctx and "disability" in self.params.get("context", ()) else None)
        intensity = ctx["intensity"].to_numpy().astype(str)
        w_start = (self.window.start - pd.Timestamp("1970-01-01")).days
        w_end = (self.window.end - pd.Timestamp("1970-01-01")).days

        # First episodes.
        child = np.arange(n_children)
        lc = rng.random(n_children) < self.params["lc_share"]
        start_day = np.zeros(n_children, dtype=np.int64)
        for level in np.unique(intensity):
            sel = np.flatnonzero(intensity == level)
            start_day[sel] = self._draw_hist(rng, f"first|{level}", len(sel))
        start_day = np.minimum(w_start + start_day, w_end)
        start_day[lc] = w_start - self._draw_offsets(rng, "lc_offset", int(lc.sum()))
        history = np.full(n_children, "1", dtype=object)
        episode_no = np.ones(n_children, dtype=np.int64)
        referred_before = np.zeros(n_children, dtype=np.int64)  # per child: episodes that reached a referral
        dp = self.params["private"]

        ages = ctx["age_band"].to_numpy().astype(str)
        records = []
        while len(child):
            sources = self._episode_sources(rng, history, lc, ages[child])
            ev, exited, end_day, referred = self._walk(rng, child, episode_no, history, lc, start_day,
                                                       child_codes, w_end, w_start, sources, disability)
            records.append(ev)
            # Another episode after an exit, with a gap; only inside the window.
            referred_before[child[referred]] += 1
            if dp:
                nxt_hist = np.where(referred, "2y", "2n").astype(object)
            else:
                nxt_hist = prepare.history_label(episode_no + 1, referred_before[child])
            keyed = np.char.add(np.char.add(nxt_hist.astype(str), "|"), intensity[child])
            known = pd.Series(keyed).isin(self._repeat_p.keys()).to_numpy()
            key = np.where(known, keyed, nxt_hist.astype(str))
            p = pd.Series(key).map(self._repeat_p).fillna(0.0).to_numpy()
            within = pd.Series(key).map(self._in_window).fillna(False).to_numpy(dtype=bool)
            again = exited & (rng.random(len(child)) < p)
            gap = np.zeros(len(child), dtype=np.int64)
            for k in np.unique(key[again]):
                sel = np.flatnonzero(again & (key == k))
                limit = (w_end - end_day[sel]) if within[sel[0]] else None
                gap[sel] = np.maximum(1, self._draw_gap(rng, k, len(sel), limit))
            new_start = end_day + gap
            again &= new_start <= w_end
            child, episode_no, history = child[again], episode_no[again] + 1, nxt_hist[again].astype(object)
            start_day, lc = new_start[again], np.zeros(int(again.sum()), dtype=bool)
        return pd.concat(records, ignore_index=True).sort_values(["child", "episode_no", "step"], kind="mergesort")

    def _episode_sources(self, rng, history: np.ndarray, lc: np.ndarray,
                         ages: np.ndarray | None = None) -> np.ndarray | None:
        """Each starting episode's source group (None for a model that draws sources afterwards):
        given the child's age band and the episode's history where the model learnt them
        (`_details`: contexts of min_children children), else by the age band alone, else by
        history alone. Who refers a child depends on its age (schools refer school-age children),
        and so, through the age effects on every later stage, does what follows: drawn by history
        alone, the sources were spread evenly over the ages (at Moorside 31% of the synthetic
        school-referred S47s were of children under 5, 6% of the real ones), and the synthetic
        S47 -> ICPC gap between sources was about a third of the real one."""
        if "source" not in self.params.get("context", ()) or "source_group" not in self._details:
            return None
        ctx = np.where(lc, "LC", history.astype(str)).astype(object)
        wide = np.full(len(ctx), "*", dtype=object)
        if ages is None or not self.params.get("source_by_age"):
            return self._detail(rng, "source_group", ctx, wide)
        aged = np.char.add(np.char.add("a:", ages.astype(str)), "|")
        out = self._detail(rng, "source_group", np.char.add(aged, ctx.astype(str)).astype(object),
                           np.char.add(aged, "*").astype(object))
        miss = np.flatnonzero(pd.isna(out))
        if len(miss):
            out[miss] = self._detail(rng, "source_group", ctx[miss], wide[miss])
        return out

    def _walk(self, rng, child, episode_no, history, lc, start_day, child_codes, w_end, w_start,
              sources: np.ndarray | None = None, disability: np.ndarray | None = None):
        """Walk a batch of episodes (one per child) from their start to an exit or the window end.

        Under DP, of an episode open before the window only its start is dated before it, as in an
        extract: its first step is drawn from the durations that reach into the window (and, should
        none, on the window's first day). The non-private model learns durations out of open episodes
        in their own context (already those that reached the window), so it draws them as learnt."""
        n = len(child)
        prev = np.full(n, TOK[START])
        cur = np.where(lc, TOK[LC_START], TOK[START])
        day = start_day.astype(np.int64).copy()
        hist_codes = _codes(history, "history")
        src_codes = _codes(sources, "source") if sources is not None else None
        unrecorded = len(VOCAB["disability"])  # the code of "*": below the lists that record it
        step = np.zeros(n, dtype=np.int64)
        exited = np.zeros(n, dtype=bool)
        referred = np.zeros(n, dtype=bool)
        active = np.ones(n, dtype=bool)
        out = []
        first = True
        while active.any():
            idx = np.flatnonzero(active)
            codes = {"prev": prev[idx], "cur": cur[idx], "history": hist_codes[idx],
                     **{v: c[child[idx]] for v, c in child_codes.items()}}
            if src_codes is not None:
                codes["source"] = src_codes[idx]
            if disability is not None:
                codes["disability"] = np.where(np.isin(cur[idx], DISABILITY_TOKS), disability[child[idx]], unrecorded)
            # A stage no training child ever left (say, looked after where care is where the front
            # door's journey ends) is where a sampled episode stays: it is left open, never sent on
            # by a move nobody made.
            nxt = self._next.sample(rng, codes, fallback=lambda miss: np.full(len(miss), HOLD))
            ends = nxt == TOK[END]
            exited[idx[ends]] = True
            keep = ~ends & (nxt != HOLD)
            go = idx[keep]
            nx = nxt[keep]
            if first:
                days = np.zeros(len(go), dtype=np.int64)
            else:
                dcodes = {"prev": prev[go], "cur": cur[go], "next": nx}
                low = high = within = None
                if self._day_bounds is not None:
                    low, high = self._day_bounds[0][cur[go], nx], self._day_bounds[1][cur[go], nx]
                # An episode open before the window was still open when it began: its first step is
                # drawn from the durations that reach into the window.
                before = np.maximum(w_start - day[go], 0) if self.params["private"] else np.zeros(len(go), np.int64)
                if (before > 0).any():
                    low = before if low is None else np.maximum(low, before)
                    high = np.maximum(np.full(len(go), int(self.day_bins[-1])) if high is None else high, low)
                if low is not None:
                    within = (_bin_of(low, self.day_bins), _bin_of(high, self.day_bins))
                bins = self._days.sample(rng, dcodes, fallback=lambda miss: np.zeros(len(miss), dtype=np.int64),
                                         within=within)
                days = _draw_in_bins(rng, bins, self.day_bins, low, high)
            new_day = day[go] + days
            if self.params["private"] and not first:
                new_day = np.maximum(new_day, w_start)
            inside = new_day <= w_end
            if self.params.get("max_episode_days") is not None:
                inside &= new_day - start_day[go] <= self.params["max_episode_days"]
            go, nx, new_day = go[inside], nx[inside], new_day[inside]
            stage_names = np.array(TOKENS, dtype=object)[nx]
            out.append(pd.DataFrame({"child": child[go], "episode_no": episode_no[go], "step": step[go],
                                     "stage": stage_names, "prev": np.array(TOKENS, dtype=object)[cur[go]],
                                     "day": new_day, "history": history[go],
                                     **({"source_group": sources[go]} if sources is not None else {})}))
            referred[go[stage_names == "referral"]] = True
            prev[go], cur[go], day[go] = cur[go], nx, new_day
            step[go] += 1
            active[:] = False
            active[go] = True
            active &= step < MAX_CHAIN
            first = False
        ev = pd.concat(out, ignore_index=True) if out else pd.DataFrame(
            columns=["child", "episode_no", "step", "stage", "prev", "day", "history"])
        last_day = ev.groupby("child")["day"].max().reindex(child).to_numpy() if len(ev) else start_day
        return ev, exited, np.where(np.isnan(last_day.astype(float)), start_day, last_day).astype(np.int64), referred

    def _draw_hist(self, rng, kind: str, n: int) -> np.ndarray:
        t = self._starts.get(kind)
        base, _, level = kind.partition("|")
        if level.isdigit():  # back off to "this intensity or more", then less and less
            for k in range(int(level), 0, -1):
                if t is None or t["count"].sum() <= 0:
                    t = self._starts.get(f"{base}|ge{k}")
        if t is None or t["count"].sum() <= 0:
            t = self._starts.get(base)
        if t is None or t["count"].sum() <= 0 or n == 0:
            return np.zeros(n, dtype=np.int64)
        width = int(t["width"].iloc[0]) if "width" in t else START_BIN_DAYS
        p = t["count"].to_numpy(float)
        b = rng.choice(t["bin"].to_numpy(), size=n, p=p / p.sum())
        return b * width + rng.integers(0, width, n)

    def _draw_offsets(self, rng, kind: str, n: int) -> np.ndarray:
        t = self._starts.get(kind)
        if t is None or t["count"].sum() <= 0 or n == 0:
            return np.ones(n, dtype=np.int64)
        p = t["count"].to_numpy(float)
        bins = rng.choice(t["bin"].to_numpy(), size=n, p=p / p.sum())
        top = t["hi"].iloc[0] if "hi" in t else np.nan
        high = None if pd.isna(top) else np.full(n, int(top), dtype=np.int64)
        return np.maximum(1, _draw_in_bins(rng, bins, LC_OFFSET_BINS, high=high))

    def _draw_gap(self, rng, history: str, n: int, limit: np.ndarray | None = None) -> np.ndarray:
        """Days between episodes; with `limit`, drawn from the gaps that fit in that many days."""
        t = self._gaps.get(history)
        if t is None or t["count"].sum() <= 0:
            t = self._gaps.get(history.split("|")[0])
        if t is None or t["count"].sum() <= 0:
            t = self.tables["gaps"].groupby("bin", as_index=False)["count"].sum()
            if "hi" in self.tables["gaps"]:
                t["hi"] = self.tables["gaps"]["hi"].max()
        top = t["hi"].iloc[0] if "hi" in t and len(t) else np.nan
        high = None if pd.isna(top) else np.full(n, int(top), dtype=np.int64)
        p = t["count"].to_numpy(float)
        if p.sum() <= 0:
            return np.full(n, 180, dtype=np.int64)
        edges = DP_DAY_BINS if self.params["private"] else DAY_BINS
        cdf = np.cumsum(p) / p.sum()
        fits = np.ones(n) if limit is None else cdf[_bin_of(np.maximum(limit, 1), edges)]
        bins = t["bin"].to_numpy()[np.minimum(np.searchsorted(cdf, rng.random(n) * fits, side="right"), len(cdf) - 1)]
        days = _draw_in_bins(rng, bins, edges, high=high)
        return days if limit is None else np.minimum(days, np.maximum(limit, 1))

    def _detail(self, rng, field: str, contexts: np.ndarray, fallbacks: np.ndarray | None = None) -> np.ndarray:
        """Draw one detail value per row given its context (falling back to the wider context)."""
        out = np.full(len(contexts), None, dtype=object)
        dist = self._details.get(field)
        if not dist or not len(contexts):
            return out
        inv, uniq = pd.factorize(pd.Series(contexts).astype(str))  # hashing, not sorting, the text
        first = np.unique(inv, return_index=True)[1]
        order = np.argsort(inv, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(inv, minlength=len(uniq)))])
        for i, c in enumerate(uniq):
            d = dist.get(c)
            if d is None and fallbacks is not None:
                d = dist.get(str(fallbacks[first[i]]))
            if d is None:
                continue
            values, p = d
            sel = order[bounds[i]:bounds[i + 1]]
            out[sel] = values[rng.choice(len(values), size=len(sel), p=p)]
        return out

    def _with_details(self, rng, ev: pd.DataFrame, n_children: int) -> pd.DataFrame:
        move = (ev["prev"].astype(str) + ">" + ev["stage"].astype(str)).to_numpy()
        wide = ("*>" + ev["stage"].astype(str)).to_numpy()

        def clean(values: np.ndarray) -> np.ndarray:
            return np.where(np.isin(values.astype(str), ["=none", "None"]), None, values)

        # Source: one per episode, on its contacts and referrals.
        first = (ev["step"] == 0).to_numpy()
        ep_ctx = (ev.loc[first, "stage"].astype(str) + "|" + ev.loc[first, "history"].astype(str)).to_numpy()
        ep_wide = (ev.loc[first, "stage"].astype(str) + "|*").to_numpy()
        if "source_group" in ev:  # walked with: its code within the group
            group_ctx = ("g:" + ev.loc[first, "source_group"].astype(str)).to_numpy()
            ep_source = clean(self._detail(rng, "source", group_ctx, ep_ctx))
        else:
            ep_source = clean(self._detail(rng, "source", ep_ctx, ep_wide))
        src = ep_source[np.cumsum(first) - 1]
        ev["source"] = np.where(ev["stage"].isin(["contact", "referral"]), src, None)
        # Teams: a home team per child, and per stage whether the event is with it.
        home = clean(self._detail(rng, "home_team", np.full(n_children, "*", dtype=object)))
        label = self._detail(rng, "team_label", move, wide).astype(object)
        team = np.where(label == "=home", home[ev["child"].to_numpy()], label)
        ev["team"] = clean(np.where(pd.isna(team), "=none", team).astype(object))
        for field in ("need_code", "abuse_category", "closure_reason"):
            ev[field] = clean(self._detail(rng, field, move, wide))
        lists = self._detail(rng, "list_no", move, wide)
        ev["list_no"] = pd.to_numeric(pd.Series(lists), errors="coerce").fillna(0).astype(np.int8).to_numpy()
        ev["derived"] = pd.Series(self._detail(rng, "derived", move, wide)).eq("1").to_numpy()
        return ev


# ----------------------------------------------------------------------------------------------
# What the model learns, as tables of counts.
def observed_chance(remaining: np.ndarray, days: np.ndarray) -> np.ndarray:
    """P(a stay of `days` would have ended inside the window), from the days left at each entry."""
    r = np.sort(remaining)
    return 1.0 - np.searchsorted(r, days, side="left") / max(len(r), 1)


def _moves(ev: pd.DataFrame, eps: pd.DataFrame, ctx: pd.DataFrame, window: Window,
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


def _factor_table(factors: dict[tuple[str, ...], pd.Series]) -> pd.DataFrame:
    """Raking factors as one table: margin, its variables' values ("*" where unused), next, factor."""
    parts = []
    for m, f in factors.items():
        f = f[f != 1.0]
        if len(f):
            parts.append(f.rename("factor").reset_index().assign(margin="|".join(m)))
    cols = ["margin", *sorted({v for m in factors for v in m}), "next", "factor"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    for c in cols:
        if c not in out:
            out[c] = "*"
    out[cols[1:-2]] = out[cols[1:-2]].fillna("*").astype(str)
    return out[cols]


def _level_table(parts: list[pd.DataFrame], noisy: bool = False) -> pd.DataFrame:
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


def _level_rows(moves: pd.DataFrame, levels, outcome: str, min_children: int, value: str = "count",
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
    return _level_table(parts)


def _transitions(moves: pd.DataFrame, min_children: int) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The next-stage count rows of every level (`_level_rows`), and the source factors of the
    levels that do not hold the source (`_source_factors`; None without sources)."""
    level_of = np.full(len(moves), -1, dtype=np.int64)
    table = _level_rows(moves, LEVELS, "next", min_children, level_of=level_of)
    if "source" not in moves:
        return table, None
    return _source_factors(moves, level_of, table, min_children)


SOURCE_IPF_ROUNDS = 30
SOURCE_PRIOR_MOVES = 50.0  # pseudo-moves without a source effect added to each (stage, source) cell


def _source_factors(moves: pd.DataFrame, level_of: np.ndarray, table: pd.DataFrame,
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
            key[sel] = _pack({v: _codes(frame[v].to_numpy()[sel], v) for v in level}, level) | (int(li) << 40)
        return key

    ctx_key = context_keys(m, at)
    ctx_names, ctx_id = np.unique(ctx_key, return_inverse=True)
    cur_c, src_c = _codes(m["cur"].to_numpy(), "cur"), _codes(m["source"].to_numpy(), "source")
    cell_key = cur_c * 64 + src_c
    cell_names, cell_id = np.unique(cell_key, return_inverse=True)
    nxt = m["next"].map(TOK).to_numpy(dtype=np.int64)
    w = m["w"].to_numpy(float)
    # A backed-off context's counts: its residual moves' (as `_level_rows` counts them).
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


def _tail_bounds(values: pd.DataFrame, by: list[str], k: int) -> pd.DataFrame:
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


def _pooled_bounds(days: np.ndarray, children: np.ndarray, k: int) -> tuple[int, int]:
    """`_tail_bounds` of one pool of values (every move, every gap); with fewer than k children
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


def _merge_bins(values: pd.DataFrame, cols: list[str], k: int, edges: np.ndarray,
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


def _duration_bounds(m: pd.DataFrame, k: int) -> tuple[pd.DataFrame, pd.DataFrame, tuple[int, int]]:
    """The bounds each move's days are clamped to: the move's own (k-th most extreme child), or
    when fewer than k children made it, those of all moves out of the same stage, then of all moves
    (each side on its own: a lower bound also backs off where it would pass the upper one).
    Returns (per move of the grammar, per stage, pooled)."""
    pooled = _pooled_bounds(m["days"].to_numpy(), m["child_key"].to_numpy(), k)
    per_cur = _tail_bounds(m, ["cur"], k).set_index("cur")
    per_move = _tail_bounds(m, ["cur", "next"], k).set_index(["cur", "next"])
    domain = _transition_domain()
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


def _durations(moves: pd.DataFrame, min_children: int, k: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Day histograms per move context (see DURATION_LEVELS), and the bounds sampling keeps to.

    No rare value is learnt: each move's days are top- and bottom-coded at its k-th most extreme
    child (`_duration_bounds`), every bin kept holds k children (`_merge_bins`), and a context of
    fewer than k children is not kept (the one-stage level, which is always kept, pools all moves
    there instead: all moves out of the stage, or all moves, each coded at its own bounds)."""
    m = moves[moves["days"].notna() & (moves["next"] != END) & ~moves["cur"].isin([START, LC_START])].copy()
    m["days"] = m["days"].to_numpy(dtype=np.int64)
    bounds, per_cur, pooled = _duration_bounds(m, k)
    b = m[["cur", "next"]].merge(bounds, on=["cur", "next"], how="left")
    by_move = np.clip(m["days"].to_numpy(), b["lo"].to_numpy(), b["hi"].to_numpy())
    c = per_cur.reindex(m["cur"].to_numpy())
    by_cur = np.clip(m["days"].to_numpy(), c["lo"].to_numpy(), c["hi"].to_numpy())
    parts = []
    need = max(min_children, k)
    last = len(DURATION_LEVELS) - 1
    for li, level in enumerate(DURATION_LEVELS):
        cols = list(level)
        sub = m.assign(bin=_bin_of(by_cur if li == last else by_move, DAY_BINS))
        kids = sub.groupby(cols, observed=True)["child_key"].transform("nunique")
        sub = sub[kids.to_numpy() >= (k if li == last else need)]
        parts.append(_merge_bins(sub, cols, k, DAY_BINS).assign(level=li))
    # Stages left by fewer than k children: all moves, each coded at the pooled bounds.
    few = sorted(set(m["cur"]) - set(parts[last]["cur"]))
    if few:
        everything = m.assign(bin=_bin_of(np.clip(m["days"].to_numpy(), *pooled), DAY_BINS), cur="*")
        hist = _merge_bins(everything, ["cur"], k, DAY_BINS).drop(columns="cur")
        parts.append(pd.concat([hist.assign(cur=s) for s in few], ignore_index=True).assign(level=last))
    return _level_table(parts), bounds


def _transition_domain() -> pd.DataFrame:
    """Every (prev, cur, next) the grammar allows: the fixed domain of the private histograms."""
    rows = []
    for cur in (*STAGES, START, LC_START):
        if cur in (START, LC_START):
            prevs = [START]
        else:
            prevs = [p for p in STAGES if cur in GRAMMAR[p]]
            if cur in START_STAGES:
                prevs.append(START)
            if cur in LC_STAGES:
                prevs.append(LC_START)
        for p in prevs:
            for nxt in allowed_next(cur):
                rows.append((p, cur, nxt))
    return pd.DataFrame(rows, columns=["prev", "cur", "next"])


def _hist(values: np.ndarray, n_bins: int) -> np.ndarray:
    return np.bincount(np.clip(values, 0, n_bins - 1), minlength=n_bins)


def _starts(eps: pd.DataFrame, window: Window, kids: pd.DataFrame, k: int = TAIL_CHILDREN) -> tuple[pd.DataFrame, float]:
    """When first episodes start (7-day bins; per intensity too), and those open before the window
    (30-day bins, top-coded at the k-th longest and merged into bins of k children, `hi` holding the
    top)."""
    first = eps[eps["episode_no"] == 1]
    n_bins = max(1, (window.end - window.start).days // START_BIN_DAYS + 1)
    fresh = first[~first["left_censored"]]
    offsets = ((fresh["start_date"] - window.start).dt.days.clip(lower=0) // START_BIN_DAYS).to_numpy(dtype=np.int64)
    first_counts = _hist(offsets, n_bins).astype(float)
    lc = first[first["left_censored"]]
    lc_days = (window.start - lc["start_date"]).dt.days.clip(lower=1).to_numpy(dtype=np.int64)
    lc_top = np.nan
    if len(lc_days):
        lc_top = float(_pooled_bounds(lc_days, lc["child_key"].to_numpy(), k)[1])
        lc_days = np.minimum(lc_days, int(lc_top))
    lc_off = _bin_of(lc_days, LC_OFFSET_BINS)
    lc_counts = _hist(lc_off, len(LC_OFFSET_BINS) - 1).astype(float)
    if len(lc_days):
        merged = _merge_bins(pd.DataFrame({"all": 0, "bin": lc_off, "child_key": lc["child_key"].to_numpy(), "w": 1.0}),
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
                q = _hist(quarter[mine], n_bins // INTENSITY_START_BINS + 1).astype(float)
                parts.append(pd.DataFrame({"kind": f"first|ge{value}", "bin": np.arange(len(q)), "count": q,
                                           "width": per}))
            mine = level == value
            if mine.sum() >= MIN_INTENSITY_CHILDREN:
                q = _hist(quarter[mine], n_bins // INTENSITY_START_BINS + 1).astype(float)
                parts.append(pd.DataFrame({"kind": f"first|{value}", "bin": np.arange(len(q)), "count": q,
                                           "width": per}))
    return pd.concat(parts, ignore_index=True), float(n_lc / n_all) if n_all > 0 else 0.0


def _repeats(eps: pd.DataFrame, window: Window, kids: pd.DataFrame, k: int = TAIL_CHILDREN) -> tuple[pd.DataFrame, pd.DataFrame]:
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
    all_top = _pooled_bounds(seen["gap"].clip(lower=0).to_numpy(dtype=np.int64), seen["child_key"].to_numpy(), k)[1]

    def coded(gaps: np.ndarray, owners: np.ndarray, weights: np.ndarray, fallback_top: int) -> tuple[np.ndarray, int]:
        """A gap histogram top-coded at the k-th longest child's gap, in bins of k children."""
        top = _pooled_bounds(gaps, owners, k)[1] if len(np.unique(owners)) >= k else fallback_top
        frame = pd.DataFrame({"all": 0, "bin": _bin_of(np.minimum(gaps, top), bins_edges), "child_key": owners,
                              "w": weights})
        merged = _merge_bins(frame, ["all"], k, bins_edges)
        out = np.zeros(n_bins)
        out[merged["bin"].to_numpy(dtype=np.int64)] = merged["count"].to_numpy(float)
        return out, int(top)

    for h in histories:
        sub = exited[exited["next_history"] == h]
        gaps = sub.loc[sub["followed"], "gap"].clip(lower=0).to_numpy(dtype=np.int64)
        # Long gaps are seen less often before the window closes (as in _moves).
        weights = 1.0 / np.maximum(observed_chance(sub["left"].to_numpy(), gaps), 1.0 / MAX_WEIGHT)
        counts, top = coded(gaps, sub.loc[sub["followed"], "child_key"].to_numpy(), weights, all_top)
        followed = float(sub["followed"].sum())
        cdf = np.cumsum(counts) / counts.sum() if counts.sum() > 0 else np.ones(n_bins)
        chance = cdf[_bin_of(sub["left"].to_numpy(dtype=np.int64), bins_edges)]
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


DETAIL_FIELDS = ("team_label", "need_code", "abuse_category", "closure_reason", "list_no", "derived")
PUBLIC_DOMAINS = {
    "need_code": ("N0", "N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9", "=none"),
    "abuse_category": ("NEG", "PHY", "SAB", "EMO", "MUL", "=none"),
    "closure_reason": ("RC1", "RC2", "RC3", "RC4", "RC5", "RC6", "RC7", "RC8", "RC9", "=none"),
    "list_no": tuple(str(i) for i in range(1, 9)),
    "derived": ("0", "1"),
}


def detail_frames(ev: pd.DataFrame, eps: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """The events with the detail fields the model counts (move, wide, team_label, codes as text),
    each episode's first event with its history and source, and each child's home team (the team
    most of its events are with). Child by child: the private model uses it too."""
    ev = ev.copy()
    prev = ev["stage"].shift(1).where(ev["step"] > 0)
    lc = ev.merge(eps[["child_key", "episode_no", "left_censored"]], on=["child_key", "episode_no"],
                  how="left")["left_censored"].fillna(False).to_numpy()
    prev = prev.fillna(pd.Series(np.where(lc, LC_START, START), index=ev.index))
    ev["move"] = prev + ">" + ev["stage"]
    ev["wide"] = "*>" + ev["stage"]
    per_team = ev.dropna(subset=["team"]).groupby(["child_key", "team"]).size().rename("n").reset_index()
    per_team = per_team.sort_values(["child_key", "n", "team"], ascending=[True, False, True], kind="mergesort")
    home = per_team.drop_duplicates("child_key").set_index("child_key")["team"]
    home_of = ev["child_key"].map(home)
    ev["team_label"] = np.where(ev["team"].isna(), "=none", np.where(ev["team"] == home_of, "=home", ev["team"]))
    ev["list_no"] = ev["list_no"].astype(int).astype(str)
    ev["derived"] = ev["derived"].astype(int).astype(str)
    for col in ("need_code", "abuse_category", "closure_reason"):
        ev[col] = ev[col].fillna("=none")
    extra = [c for c in ("source_group", "left_censored", "age_band") if c in eps]
    ep_first = ev[ev["step"] == 0].merge(eps[["child_key", "episode_no", "history", "source", *extra]],
                                         on=["child_key", "episode_no"], how="left", suffixes=("_ev", ""))
    ep_first["source"] = ep_first["source"].fillna("=none")

    return ev, ep_first, home


def _details(ev: pd.DataFrame, eps: pd.DataFrame, min_children: int | None = None) -> pd.DataFrame:
    """Value counts of event details by move (prev>stage, and *>stage), sources by episode start,
    and home teams by child. With `eps["age_band"]` and `min_children`, source groups also by age
    band and history ("a:<band>|<history>", and "a:<band>|*"), in contexts of min_children children."""
    ev, ep_first, home = detail_frames(ev, eps)
    parts = []
    for field in DETAIL_FIELDS:
        for ctx_col in ("move", "wide"):
            c = ev.groupby([ctx_col, field]).size().rename("count").reset_index()
            parts.append(c.rename(columns={ctx_col: "context", field: "value"}).assign(field=field))
    for ctx in ("narrow", "wide"):
        key = ep_first["stage"] + "|" + (ep_first["history"] if ctx == "narrow" else "*")
        c = ep_first.assign(context=key).groupby(["context", "source"]).size().rename("count").reset_index()
        parts.append(c.rename(columns={"source": "value"}).assign(field="source"))
    if "source_group" in ep_first:
        # The source group an episode starts with (walked with: synth.models.journey LEVELS), by its
        # history ("LC": open when the window began), and each group's source codes.
        start = pd.Series(np.where(ep_first["left_censored"] & (ep_first["episode_no"] == 1), "LC",
                                   ep_first["history"]), index=ep_first.index)
        keys = [start, pd.Series("*", index=ep_first.index)]
        aged = []
        if "age_band" in ep_first and min_children is not None:
            band = "a:" + ep_first["age_band"].fillna("Not known").astype(str) + "|"
            aged = [band + start, band + "*"]
        for key in (*keys, *aged):
            c = ep_first.assign(context=key).groupby(["context", "source_group"]).size().rename("count").reset_index()
            if key is not keys[0] and key is not keys[1]:  # an age context only of min_children children
                kids = ep_first.assign(context=key).groupby("context")["child_key"].nunique()
                c = c[c["context"].map(kids).to_numpy() >= min_children]
            parts.append(c.rename(columns={"source_group": "value"}).assign(field="source_group"))
        c = ep_first.assign(context="g:" + ep_first["source_group"]).groupby(["context", "source"]).size()
        parts.append(c.rename("count").reset_index().rename(columns={"source": "value"}).assign(field="source"))
    h = home.value_counts().rename("count").reset_index()
    parts.append(pd.DataFrame({"field": "home_team", "context": "*", "value": h.iloc[:, 0], "count": h["count"]}))
    out = pd.concat(parts, ignore_index=True)
    out["value"] = out["value"].astype(str)
    return out[["field", "context", "value", "count"]]


# ----------------------------------------------------------------------------------------------
# Under differential privacy: children and journeys drawn jointly.
# A child's record (synth.models.mst) says how many episodes it has, how many reached a referral,
# which lists its journeys reached and the first episode's route; it takes a
# journey from the pool with the same summary, or, where the pool has none, the same on fewer fields.
MATCH_LEVELS = (
    ("episodes", "referred", "rereferred", "assessed", "s47", "cp", "cla", "first_route"),
    ("episodes", "referred", "rereferred", "assessed", "s47", "cp", "first_route"),
    ("episodes", "referred", "rereferred", "assessed", "s47", "cp"),
    ("episodes", "referred", "rereferred", "s47"),
    ("episodes", "referred", "rereferred"),
    ("episodes", "referred"),
    ("episodes",),
    (),
)


def journey_summary(events: pd.DataFrame) -> pd.DataFrame:
    """Per sampled child (`child`): the journey fields of its record, as the record writes them."""
    g = events.groupby("child")
    yes = np.array(["no", "yes"], dtype=object)

    def reached(stages) -> np.ndarray:
        return yes[events["stage"].isin(stages).groupby(events["child"]).any().to_numpy().astype(int)]

    referred = events.loc[events["stage"] == "referral"].groupby("child")["episode_no"].nunique()
    firsts = events[events["episode_no"] == 1]
    step0 = firsts[firsts["step"] == 0].set_index("child")
    step1 = firsts[firsts["step"] == 1].set_index("child")["stage"]
    out = pd.DataFrame(index=g.size().index)
    out["episodes"] = g["episode_no"].nunique().clip(upper=4).astype(str)
    out["referred"] = referred.reindex(out.index).fillna(0).astype(int).clip(upper=3).astype(str)
    again = prepare.rereferred_children(events["child"], events["stage"], events["day"])
    out["rereferred"] = yes[out.index.isin(again).astype(int)]
    out["assessed"] = reached(prepare.ASSESSED_STAGES)
    out["s47"] = reached(["s47"])
    out["cp"] = reached(["cp_plan"])
    out["cla"] = reached(["cla"])
    step0 = step0.reindex(out.index)
    out["first_route"] = prepare.first_route(step0["stage"].to_numpy(), step1.reindex(out.index).to_numpy(),
                                     (step0["prev"] == LC_START).to_numpy())
    return out


def _match_journeys(rng: np.random.Generator, records: pd.DataFrame, pool: pd.DataFrame) -> pd.DataFrame:
    """For each record, the events of a pool child whose journey summary matches it (`child` set to
    the record's row). Pool children are used once each while they last, then again."""
    summary = journey_summary(pool)
    summary = summary.iloc[rng.permutation(len(summary))]
    assigned = np.full(len(records), -1, dtype=np.int64)
    for level in MATCH_LEVELS:
        todo = np.flatnonzero(assigned < 0)
        if not len(todo):
            break
        cols = list(level)
        want = records.iloc[todo][cols].astype(str).agg("|".join, axis=1).to_numpy() if cols else np.full(len(todo), "")
        have = summary[cols].astype(str).agg("|".join, axis=1).to_numpy() if cols else np.full(len(summary), "")
        have_s = pd.DataFrame({"key": have, "child": summary.index.to_numpy()})
        have_s["rank"] = have_s.groupby("key").cumcount()
        size = have_s.groupby("key").size()
        order = rng.permutation(len(todo))
        w = pd.DataFrame({"key": want[order], "row": todo[order]})
        w["size"] = w["key"].map(size).fillna(0).to_numpy(dtype=np.int64)
        w = w[w["size"] > 0].copy()
        w["rank"] = w.groupby("key").cumcount() % w["size"]
        hit = w.merge(have_s, on=["key", "rank"], how="inner")
        assigned[hit["row"].to_numpy()] = hit["child"].to_numpy()
    mapping = pd.DataFrame({"row": np.arange(len(records)), "child": assigned})
    out = mapping[mapping["child"] >= 0].merge(pool, on="child", how="inner")
    out["child"] = out["row"]
    return out.drop(columns="row").sort_values(["child", "episode_no", "step"], kind="mergesort")


def not_recorded(children: pd.DataFrame, reached: pd.DataFrame) -> pd.DataFrame:
    """Attributes of a list the child's journeys never reached set to what Annex A then holds."""
    from synth.models.attributes import NOT_RECORDED, RECORDED

    out = children.copy()
    r = reached.set_index("child_key").reindex(out["child_key"])
    flags = {"disability": "assessed", "uasc": "cla", "missing_episodes": "cla", "previous_cp_plans": "cp"}
    assert set(flags) == set(NOT_RECORDED) and {f for f, _ in RECORDED.values()} == set(flags.values())
    for col, flag in flags.items():
        out.loc[~r[flag].fillna(False).to_numpy(dtype=bool), col] = NOT_RECORDED[col]
    out["missing_episodes"] = out["missing_episodes"].astype(int)
    out["previous_cp_plans"] = out["previous_cp_plans"].astype(int)
    return out
