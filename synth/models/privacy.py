"""Differential privacy for the journey model: the budget, its split, and the noise.

With `epsilon`, the model is epsilon-differentially private at the child level (add or remove one
child, delta aside): everything it learns from the real children is a measurement, over a domain
fixed in advance (stages and the grammar, code lists, calendar bins of the declared window), of
per-child records transformed each on its own (synth.models.private_journey: no threshold, merge
or clip that looks at other children), with noise from OpenDP added once; everything after that
(clipping, rounding, the graphical model's estimation, sampling) is post-processing.

The budget is split by sequential composition (the shares add up to 1):

| part | share | what it pays for |
|---|---|---|
| children | 0.32 | MST over one record per child (attributes and journey summary): 1-way marginals, the choice of the tree's pairs (exponential mechanism), the chosen 2-way marginals |
| starts | 0.05 | first-episode start weeks, left-censored share and offsets |
| repeats | 0.08 | the chance of another episode after one (by history) and the gaps between episodes |
| transitions | 0.38 | next-stage counts by (stage, history) over one episode per child |
| durations | 0.12 | day histograms per move (coarse day bins) over the same episode |
| details | 0.05 | sources, team labels, codes, derived flags (split equally) |

`delta` is spent only on releasing team names (which are not a public code list): a name is kept
only if its noisy count clears the threshold of the stability-based histogram, so a team of very
few children is never named. Without `epsilon` nothing here is used and the model is not private.

Noise: OpenDP's samplers (`opendp` on PyPI), which draw exact discrete Laplace noise for counts and
exactly rounded Laplace noise for the few real-valued sums, from the operating system's secure
generator, so they resist the floating-point attacks of Mironov (2012) that numpy's sampler does
not; OpenDP's own privacy map checks each measurement's epsilon. The exponential mechanism (report
noisy max) is OpenDP's too. Every measurement is recorded with its sensitivity, noise scale and 95%
error bound (`accounting()["measurements"]`): the bundle publishes them beside the counts.

What the guarantee covers: the training children (two thirds of the dataset, chosen by a keyed hash
whose key is the installation's secret; the held-out third never reaches the model). The extract
window is the council's declaration, public by construction. Whether a release is published at all
(the disclosure gate and the reviewers' decision) is a choice made with the real data outside this
accounting, as in any governed release: it says "approved", and no figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from synth.errors import ModelError

MAX_EPISODES = 2
MAX_STEPS = 8  # moves kept per episode (public): a longer episode is cut there and left open
DEFAULT_DELTA = 1e-6
BUDGET_SPLIT = {"children": 0.32, "starts": 0.05, "repeats": 0.08, "transitions": 0.38, "durations": 0.12,
                "details": 0.05}
BOUND_LEVEL = 0.95  # the error bound published with each measurement holds with this chance per cell


def _opendp():
    import opendp.prelude as dp

    dp.enable_features("contrib")
    return dp


@lru_cache(maxsize=256)
def _laplace(scale: float, integer: bool):
    dp = _opendp()
    atom = dp.atom_domain(T=int) if integer else dp.atom_domain(T=float, nan=False)
    metric = dp.l1_distance(T=int) if integer else dp.l1_distance(T=float)
    return dp.m.make_laplace(dp.vector_domain(atom), metric, scale=scale)


@lru_cache(maxsize=64)
def _noisy_max(scale: float):
    dp = _opendp()
    return dp.m.make_noisy_max(dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.linf_distance(T=float),
                               dp.max_divergence(), scale=scale)


def norm_sub(noisy: np.ndarray) -> np.ndarray:
    """A noisy histogram made non-negative without inflating it (Norm-Sub, Wang et al. 2020): subtract
    the one amount from every cell that leaves the positive cells summing to the noisy total. Clipping
    at zero alone turns the noise of every empty cell into mass (a long day histogram gains a tail
    nobody had). Post-processing: it reads nothing but the noisy counts."""
    x = np.asarray(noisy, dtype=float)
    total = float(x.sum())
    if total <= 0 or x.size == 0:
        return np.zeros_like(x)
    v = np.sort(x)[::-1]
    cum = np.cumsum(v)
    k = np.arange(1, len(v) + 1)
    delta = (cum - total) / k
    fits = v - delta > 0
    j = int(np.flatnonzero(fits)[-1]) if fits.any() else 0
    return np.maximum(x - delta[j], 0.0)


def laplace_bound(scale: float, level: float = BOUND_LEVEL) -> float:
    """|noise| stays below this with chance `level` (Laplace: P(|X| > t) = exp(-t / scale))."""
    return scale * math.log(1 / (1 - level))


@dataclass
class PrivacyBudget:
    """The budget of one training, and the only way the model reads the real children.

    For the tests only (fit_model makes neither): `noise=False` adds no noise and keeps every
    measurement's true values (`true_values`); `keep_outputs=True` keeps every noisy output
    (`outputs`), for the empirical audit."""

    epsilon: float
    delta: float = DEFAULT_DELTA
    noise: bool = True
    keep_outputs: bool = False
    spent: list[dict] = field(default_factory=list)
    true_values: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    outputs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.epsilon, int | float) and math.isfinite(self.epsilon) and self.epsilon > 0):
            raise ModelError(f"epsilon must be a positive number, not {self.epsilon!r}.")
        if not (0 < self.delta < 1e-3):
            raise ModelError(f"delta must be between 0 and 0.001, not {self.delta!r}.")

    def part(self, name: str) -> float:
        return self.epsilon * BUDGET_SPLIT[name]

    def scale(self, part: str, sensitivity: float, share: float = 1.0) -> float:
        """The Laplace scale used for a histogram with this sensitivity and share of the budget."""
        return sensitivity / (self.part(part) * share)

    def _record(self, part: str, what: str, eps: float, sensitivity: float, cells: int | None, scale: float,
                mechanism: str, values: np.ndarray) -> None:
        if what in self.true_values:
            raise ModelError(f"internal error: two measurements named '{what}'.")
        self.spent.append({"part": part, "what": what, "epsilon": eps, "sensitivity": sensitivity, "cells": cells,
                           "scale": scale, "bound95": laplace_bound(scale) if mechanism == "laplace" else None,
                           "mechanism": mechanism})
        if not self.noise:
            self.true_values[what] = np.asarray(values, dtype=float).copy()

    def noisy_counts(self, counts: np.ndarray, part: str, sensitivity: float, share: float = 1.0,
                     what: str = "", clip: bool = True, integer: bool = True,
                     domain_public: bool = True) -> np.ndarray:
        """Laplace noise (OpenDP) on a histogram over a fixed domain, whose L1 sensitivity (one child
        added or removed) is `sensitivity`. Counts (`integer`) get discrete Laplace noise, real-valued
        sums continuous Laplace noise: the caller says which, since choosing by whether the values
        happen to be whole would let the kind of noise reveal the data. With `clip`, results are
        rounded and negative ones become 0; without, they stay unbiased so that sums of them (coarser
        contexts) are too. `domain_public=False` (a stability histogram's keys) keeps its number of cells
        out of the published accounting."""
        counts = np.asarray(counts, dtype=float)
        eps = self.part(part) * share
        scale = sensitivity / eps
        if integer and not np.all(counts == np.round(counts)):
            raise ModelError(f"internal error: '{what}' is measured as counts but holds fractions.")
        self._record(part, what, eps, sensitivity, int(counts.size) if domain_public else None, scale, "laplace",
                     counts)
        if not self.noise or counts.size == 0:
            noisy = counts.copy()
        else:
            meas = _laplace(float(scale), integer)
            d_in = int(math.ceil(sensitivity)) if integer else float(sensitivity)
            if meas.map(d_in) > eps * (1 + 1e-9):
                raise ModelError(f"internal error: OpenDP's privacy map refuses the noise for '{what}'.")
            flat = counts.ravel()
            raw = meas([int(v) for v in flat] if integer else [float(v) for v in flat])
            noisy = np.asarray(raw, dtype=float).reshape(counts.shape)
        if self.keep_outputs:
            self.outputs[what] = noisy.copy()
        return np.maximum(np.round(noisy), 0.0) if clip else noisy

    def noisy_argmax(self, scores: np.ndarray, part: str, sensitivity: float, share: float, what: str) -> int:
        """The exponential mechanism (OpenDP's report noisy max): the index of a high score, where one
        child changes each score by at most `sensitivity`."""
        scores = np.asarray(scores, dtype=float)
        eps = self.part(part) * share
        scale = 2 * sensitivity / eps
        self._record(part, what, eps, sensitivity, int(scores.size), scale, "exponential", scores)
        if not self.noise:
            return int(np.argmax(scores))
        meas = _noisy_max(float(scale))
        if meas.map(float(sensitivity)) > eps * (1 + 1e-9):
            raise ModelError(f"internal error: OpenDP's privacy map refuses the selection '{what}'.")
        pick = int(meas([float(v) for v in scores]))
        if self.keep_outputs:
            self.outputs[what] = np.array([pick], dtype=float)
        return pick

    def stable_threshold(self, part: str, sensitivity: float, share: float = 1.0) -> float:
        """Noisy counts above this may be released with a data-dependent key (e.g. a team name): a key only
        one child holds clears it with chance at most delta. ln(1 / delta), not ln(1 / (2 delta)): the
        noise is discrete Laplace, whose tail is up to twice the continuous one's at a large epsilon."""
        eps = self.part(part) * share
        return sensitivity + sensitivity * math.log(1 / self.delta) / eps

    def accounting(self) -> dict:
        total = sum(s["epsilon"] for s in self.spent)
        by_part: dict[str, float] = {}
        for s in self.spent:
            by_part[s["part"]] = by_part.get(s["part"], 0.0) + s["epsilon"]
        return {
            "epsilon": self.epsilon, "delta": self.delta, "epsilon_spent": round(total, 12),
            "by_part": {k: round(v, 12) for k, v in by_part.items()}, "split": BUDGET_SPLIT,
            "contribution_bound": {"episodes_per_child": MAX_EPISODES, "moves_per_episode": MAX_STEPS},
            "mechanism": "OpenDP discrete Laplace on fixed-domain histograms; OpenDP report noisy max for the "
                         "MST tree; stability threshold for team names",
            "noise_library": "opendp",
            "measurements": [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in s.items()}
                             for s in self.spent],
        }
