"""Differential privacy for the journey model: the budget, its split, and the noise.

With `epsilon`, everything the journey model learns from the real children is a histogram of
counts over a domain fixed in advance (stages and the grammar, code lists, calendar bins), to
which Laplace noise is added once; everything after that is post-processing. Each child's
contribution is bounded first: at most `MAX_EPISODES` episodes and `MAX_STEPS` moves per
episode (next-stage and duration counts: one of those episodes per child, chosen at random), so one
child changes any one table by at most the sensitivity given with it.

The budget is split by sequential composition (the shares add up to 1):

| part | share | what it pays for |
|---|---|---|
| attributes | 0.20 | noisy 1-way marginals of sex, ethnicity group, age; disability, care details and previous CP plans among children whose journeys reached the lists recording them (split equally) |
| starts | 0.10 | first-episode start dates, left-censored share and offsets |
| repeats | 0.15 | repeat counts, exposure and the gaps between episodes (coarse day bins) |
| transitions | 0.30 | next-stage counts by stage (0.4 of it), by (previous stage, stage) (0.3) and by (stage, whether the previous episode reached a referral) (0.3) |
| durations | 0.15 | day histograms per move (coarse day bins) |
| details | 0.10 | sources, team labels, codes, derived flags (split equally) |

`delta` is spent only on releasing team names (which are not a public code list): a name is kept
only if its noisy count clears the threshold of the stability-based histogram, so a team of very
few children is never named. Without `epsilon` nothing here is used and the model is not private.

Known limits: numpy's floating-point Laplace sampler is not hardened against the precision
attacks described by Mironov (2012); counts are rounded after noise, which is post-processing.
Window dates (the extract's first and last day) are treated as public.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field

import numpy as np

from synth.errors import ModelError

MAX_EPISODES = 2
MAX_STEPS = 10
DEFAULT_DELTA = 1e-6
BUDGET_SPLIT = {"attributes": 0.20, "starts": 0.10, "repeats": 0.15, "transitions": 0.30, "durations": 0.15,
                "details": 0.10}


@dataclass
class PrivacyBudget:
    epsilon: float
    delta: float = DEFAULT_DELTA
    spent: list[dict] = field(default_factory=list)
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(secrets.randbits(128)),
                                     repr=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.epsilon, int | float) and math.isfinite(self.epsilon) and self.epsilon > 0):
            raise ModelError(f"epsilon must be a positive number, not {self.epsilon!r}.")
        if not (0 < self.delta < 1e-3):
            raise ModelError(f"delta must be between 0 and 0.001, not {self.delta!r}.")

    def part(self, name: str) -> float:
        return self.epsilon * BUDGET_SPLIT[name]

    def noisy_counts(self, counts: np.ndarray, part: str, sensitivity: float, share: float = 1.0,
                     what: str = "", clip: bool = True) -> np.ndarray:
        """Laplace noise on a histogram over a fixed domain. With `clip`, negative results become
        0; without, the noisy counts stay unbiased so that sums of them (coarser contexts) are too."""
        eps = self.part(part) * share
        noisy = np.asarray(counts, dtype=float) + self.rng.laplace(0.0, sensitivity / eps, size=np.shape(counts))
        self.spent.append({"part": part, "what": what, "epsilon": eps, "sensitivity": sensitivity,
                           "cells": int(np.size(counts))})
        return np.maximum(np.round(noisy), 0.0) if clip else noisy

    def scale(self, part: str, sensitivity: float, share: float = 1.0) -> float:
        """The Laplace scale used for a histogram with this sensitivity and share of the budget."""
        return sensitivity / (self.part(part) * share)

    def stable_threshold(self, part: str, sensitivity: float, share: float = 1.0) -> float:
        """Noisy counts above this may be released with a data-dependent key (e.g. a team name)."""
        eps = self.part(part) * share
        return sensitivity + sensitivity * math.log(1 / (2 * self.delta)) / eps

    def accounting(self) -> dict:
        total = sum(s["epsilon"] for s in self.spent)
        by_part: dict[str, float] = {}
        for s in self.spent:
            by_part[s["part"]] = by_part.get(s["part"], 0.0) + s["epsilon"]
        return {
            "epsilon": self.epsilon, "delta": self.delta, "epsilon_spent": round(total, 12),
            "by_part": {k: round(v, 12) for k, v in by_part.items()}, "split": BUDGET_SPLIT,
            "contribution_bound": {"episodes_per_child": MAX_EPISODES, "moves_per_episode": MAX_STEPS},
            "mechanism": "Laplace on fixed-domain histograms; stability threshold for team names",
        }
