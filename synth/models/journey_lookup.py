"""Backed-off categorical distributions for the journey sampler: a table of counts by context at
several levels of detail becomes, per level, sorted context keys and cumulative weights, so a batch
of rows draws its outcomes in a few array operations; a row whose context no level holds falls back
(or is an error)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.errors import ModelError
from synth.models.journey_vocab import VOCAB, encode, pack


def _with_fallback(out: np.ndarray, fallback) -> np.ndarray:
    """`out` with the rows no level held (-1) set by `fallback(rows)`; without one, an error."""
    if (out < 0).any():
        if fallback is None:
            raise ModelError("the model has no distribution for a context it reached; train it again.")
        miss = np.flatnonzero(out < 0)
        out[miss] = fallback(miss)
    return out


class Lookup:
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
            codes = {v: encode(t[v], v) if v in VOCAB else t[v].to_numpy(dtype=np.int64) for v in level}
            keys = pack(codes, level)
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
        synth.models.journey_tables.source_factors."""
        self.adjust = None
        if factors is None or factors.empty:
            return
        index = {o: i for i, o in enumerate(self.outcomes)}
        level = ("cur", var)
        keys = pack({v: encode(factors[v], v) for v in level}, level)
        uniq, inv = np.unique(keys, return_inverse=True)
        matrix = np.ones((len(uniq), len(self.outcomes)))
        matrix[inv, factors["next"].map(index).to_numpy(dtype=np.int64)] = factors["factor"].to_numpy(float)
        without = np.array([var not in lv for lv in self.levels])
        self.adjust = (uniq, matrix, without)

    def set_factors(self, factors: pd.DataFrame | None) -> None:
        """Multiplicative factors on the outcome weights by margin (`margin` "cur|age_band", its
        variables' values, the outcome, `factor`): see synth.models.journey_rake."""
        self.factors = []
        if factors is None or factors.empty:
            return
        index = {o: i for i, o in enumerate(self.outcomes)}
        for margin, f in factors.groupby("margin", sort=True):
            level = tuple(margin.split("|"))
            keys = pack({v: encode(f[v], v) for v in level}, level)
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
            k = pack({v: codes[v][todo] for v in level}, level)
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
            k = pack({v: codes[v][todo] for v in level}, level)
            pos = np.clip(np.searchsorted(keys, k), 0, len(keys) - 1)
            hit = keys[pos] == k
            weights[todo[hit]] = np.diff(cdf[pos[hit]], axis=1, prepend=0.0)
            found[todo[hit]] = True
            at[todo[hit]] = li
        if self.adjust is not None and "source" in codes:
            keys, matrix, without = self.adjust
            rows = np.flatnonzero(found & without[np.maximum(at, 0)])
            k = pack({v: codes[v][rows] for v in ("cur", "source")}, ("cur", "source"))
            pos = np.clip(np.searchsorted(keys, k), 0, len(keys) - 1)
            hit = keys[pos] == k
            weights[rows[hit]] *= matrix[pos[hit]]
        for level, keys, matrix in self.factors:
            if not all(v in codes for v in level):
                continue
            k = pack({v: codes[v] for v in level}, level)
            pos = np.clip(np.searchsorted(keys, k), 0, len(keys) - 1)
            hit = np.flatnonzero(keys[pos] == k)
            weights[hit] *= matrix[pos[hit]]
        total = weights.sum(axis=1)
        ok = np.flatnonzero(found & (total > 0))
        out = np.full(n, -1, dtype=np.int64)
        cdf = np.cumsum(weights[ok], axis=1) / total[ok, None]
        out[ok] = np.minimum((cdf <= u[ok, None]).sum(axis=1), len(self.outcomes) - 1)
        return _with_fallback(out, fallback)
