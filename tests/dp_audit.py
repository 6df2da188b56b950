"""Checks of the private journey model's differential privacy, shared by the tests and the benchmark.

Two checks, of two different things:

- `sensitivity_violations` (tests/unit/test_dp_sensitivity.py): with noise off, removing any one
  child must move every measurement by at most the sensitivity it claims. The claim sets the noise,
  so a table that moves by more (a preprocessing rule that looks at other children, a contribution
  that is not bounded) is under-noised, whatever the noise library does.
- `audit` (tests/integration/test_dp_audit.py, tests/bench/dp_bench.py): an empirical lower bound on
  epsilon from neighbouring councils D and D' = D + one worst-case canary child. The model's
  measurements are taken many times with fresh noise on each; the best test there is for Laplace noise
  (the likelihood ratio, from the noise-off values of D and D') says which council each run came from;
  its error rates, with Clopper-Pearson bounds, give the bound of Jagielski et al. (2020) and Nasr et al.
  (2021). A bound above the claimed epsilon proves the claim false; one below it proves nothing more
  than that this test on this canary could not break it.

Two kinds of measurement are *adaptive*: their input depends on earlier noisy outputs (the MST tree's
pair scores use the noisy 1-way marginals; the exposure of exited episodes uses the noisy gaps). That is
fine for privacy (adaptive composition: the sensitivity holds given the earlier outputs), but with noise
off their true values move with the data by more than one child's own contribution. The sensitivity
check therefore replays the whole council's outputs into each run without a child (`ReplayBudget`),
which checks them too and makes the tree pick the same pairs; the audit leaves them out of its
statistic, and scores the tree's 2-way marginals (not adaptive given the pairs) whichever pairs a run
picked.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from synth.models.base import TrainingSpec, Window
from synth.models.privacy import DEFAULT_DELTA, MAX_STEPS, PrivacyBudget

WINDOW_START, WINDOW_END = "2021-04-01", "2025-03-31"  # the fake councils' declared window (fixtures/council.py)
WINDOW = Window(pd.Timestamp(WINDOW_START), pd.Timestamp(WINDOW_END))
ADAPTIVE = ("children tree pair", "exited episodes' exposure")
TWO_WAY = "children 2-way "
# The home-team histogram's domain is the team names present (a stability histogram, paid for by
# delta): its vector is sorted by count, so it is compared as sorted counts, and the audit leaves it
# out (what it releases is the names that clear the threshold, none in a small council).
DATA_DEPENDENT_DOMAIN = ("home teams",)
AUDIT_KEY = b"dp-audit-pseudonym-key-0123456789abcdef"
CANARY_KEY = "canary0000000000"
CANARY_TEAM = "Canary Unit (never seen elsewhere)"
TOLERANCE = 1e-9


# ----------------------------------------------------------------------------------------------
# Running the measurements.
def spec(epsilon: float, seed: int = 0) -> TrainingSpec:
    return TrainingSpec(epsilon=epsilon, window_start=WINDOW_START, window_end=WINDOW_END, seed=seed)


def measure(children: pd.DataFrame, events: pd.DataFrame, epsilon: float = 1.0) -> PrivacyBudget:
    """Every measurement of the private fit with fresh noise, outputs kept (no graphical model: what
    follows the measurements is post-processing)."""
    from synth.models.private_journey import fit_private

    budget = PrivacyBudget(epsilon, keep_outputs=True)
    fit_private(children, events, WINDOW, spec(epsilon), budget, estimate=False)
    return budget


def true_measurements(children: pd.DataFrame, events: pd.DataFrame, epsilon: float = 1.0,
                      replay: PrivacyBudget | None = None) -> PrivacyBudget:
    """Every measurement's true values (noise off). With `replay`, each measurement returns that run's
    output instead of its own, so that the measurements that depend on earlier outputs see the same ones."""
    from synth.models.private_journey import fit_private

    budget = ReplayBudget(epsilon, noise=False, keep_outputs=True, replay=replay.outputs if replay else {})
    fit_private(children, events, WINDOW, spec(epsilon), budget, estimate=False)
    return budget


@dataclass
class ReplayBudget(PrivacyBudget):
    """Noise off, every output kept (the picks of the exponential mechanism too), and the outputs of
    `replay` (an earlier run's `outputs`) returned in place of this run's own.

    Adaptive composition holds a measurement's sensitivity fixed given the earlier outputs: comparing
    two councils' true values with the same earlier outputs replayed checks the adaptive measurements
    (the tree's pair scores, the exposure), and makes the tree pick the same pairs in both."""

    replay: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def noisy_counts(self, counts, part, sensitivity, share=1.0, what="", clip=True, **kind):
        own = super().noisy_counts(counts, part, sensitivity, share, what, clip=False, **kind)
        out = self.replay.get(what, own)
        out = own if np.shape(out) != np.shape(own) else np.asarray(out, dtype=float).copy()
        self.outputs[what] = out.copy()
        return np.maximum(np.round(out), 0.0) if clip else out

    def noisy_argmax(self, scores, part, sensitivity, share, what):
        own = super().noisy_argmax(scores, part, sensitivity, share, what)
        pick = int(self.replay[what][0]) if what in self.replay else own
        self.outputs[what] = np.array([pick], dtype=float)
        return pick


def is_adaptive(what: str) -> bool:
    return what.startswith(ADAPTIVE)


def without_child(children: pd.DataFrame, events: pd.DataFrame, key: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The council with one child removed: its children row and all its events."""
    return (children[children["child_key"] != key].reset_index(drop=True),
            events[events["child_key"] != key].reset_index(drop=True))


# ----------------------------------------------------------------------------------------------
# Sensitivity: one child removed, noise off.
def distance(a: np.ndarray, b: np.ndarray, what: str, mechanism: str) -> float:
    """How far one measurement's true vector moved, in the metric its sensitivity is stated in: L1 for
    Laplace histograms, the largest change of any score for the exponential mechanism. Infinite when
    the domain itself changed (a data-dependent domain leaks on its own), except for the home-team
    histogram (compared as sorted counts)."""
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if what in DATA_DEPENDENT_DOMAIN:
        n = max(a.size, b.size)
        a, b = (np.sort(np.pad(v, (0, n - v.size)))[::-1] for v in (a, b))
    elif a.shape != b.shape:
        return math.inf
    if a.size == 0:
        return 0.0
    return float(np.abs(a - b).max() if mechanism == "exponential" else np.abs(a - b).sum())


def changes(full: PrivacyBudget, reduced: PrivacyBudget, child: str = "", adaptive: bool = True) -> list[dict]:
    """How far each measurement moved between two runs (with `adaptive=False`, the adaptive ones left
    out: they compare only when `reduced` replayed `full`). A measurement made in one run only counts as
    an infinite move: the choice to measure must not depend on the data (the tree's 2-way marginals
    follow its noisy picks: without replay they are compared where both runs made them)."""
    spent = {s["what"]: s for s in full.spent + reduced.spent}
    out = []
    for what in sorted(set(full.true_values) | set(reduced.true_values)):
        if is_adaptive(what) and not adaptive:
            continue
        both = what in full.true_values and what in reduced.true_values
        if not both and what.startswith(TWO_WAY) and not adaptive:
            continue
        s = spent[what]
        moved = distance(full.true_values[what], reduced.true_values[what], what, s["mechanism"]) if both else math.inf
        out.append({"child": child, "what": what, "change": moved, "sensitivity": s["sensitivity"],
                    "mechanism": s["mechanism"]})
    return out


def removal_changes(children: pd.DataFrame, events: pd.DataFrame, keys=None, epsilon: float = 1.0) -> pd.DataFrame:
    """Remove each child of `keys` (default: every child) in turn and measure, noise off and the whole
    council's outputs replayed, how far every measurement moved: one row per (child, measurement)."""
    full = true_measurements(children, events, epsilon)
    keys = children["child_key"].tolist() if keys is None else list(keys)
    rows = []
    for key in keys:
        rows += changes(full, true_measurements(*without_child(children, events, key), epsilon, replay=full), key)
    return pd.DataFrame(rows, columns=["child", "what", "change", "sensitivity", "mechanism"])


def violations(moves: pd.DataFrame) -> list[dict]:
    """The rows of `removal_changes` where a measurement moved by more than its sensitivity."""
    return moves[moves["change"] > moves["sensitivity"] + TOLERANCE].to_dict("records")


def sensitivity_violations(children: pd.DataFrame, events: pd.DataFrame, keys=None,
                           epsilon: float = 1.0) -> list[dict]:
    """The check: every (child, measurement) whose removal moves the measurement by more than the
    sensitivity it claims (empty: the claims hold on this council)."""
    return violations(removal_changes(children, events, keys, epsilon))


def epsilon_spent(budget: PrivacyBudget) -> float:
    return float(sum(s["epsilon"] for s in budget.spent))


# ----------------------------------------------------------------------------------------------
# Councils and the canary.
@lru_cache(maxsize=4)
def fixture_council(n_children: int = 200, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fake council (fixtures/council.py), written as Annex A CSVs and ingested, as the CLI would."""
    from fixtures.annex_a import write_council
    from fixtures.council import CouncilSpec, simulate
    from synth.ingest import ingest

    with tempfile.TemporaryDirectory() as tmp:
        paths = write_council(simulate(CouncilSpec(children=n_children, seed=seed)), Path(tmp), fmt="csv")
        result = ingest(sorted(paths), AUDIT_KEY)
    return result.children, result.events


def small_council(n_children: int = 40, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`n_children` children of a fixture council (the first by pseudonym: a fixed, arbitrary pick)."""
    children, events = fixture_council(max(200, 5 * n_children), seed)
    keys = sorted(children["child_key"])[:n_children]
    return (children[children["child_key"].isin(keys)].reset_index(drop=True),
            events[events["child_key"].isin(keys)].reset_index(drop=True))


# The first two episodes are the ones the journey tables read (MAX_EPISODES). They put one child's
# counts in as few cells as the grammar allows (repeated contacts, 3 days apart, then advice): the
# likelihood-ratio test is strongest when a shift piles up in one cell, not spread one count per cell
# (simulated: the leaky audit's bound at 50 scored runs per side is 0.8 with deep one-of-each paths,
# 1.6 with these). Their MAX_STEPS + 1 events are all kept and end in an exit, whose END counts too: the
# most one episode can add. The next episodes reach S47, an ICPC, a CP plan and care, 10 events (cut at
# MAX_STEPS); the last is still open, its closure coming after the window's end.
DEEP_GAPS = (0, 1, 3, 6, 13, 20, 29, 45, 100)  # days between consecutive events (several day bins)
CANARY_EPISODES = (  # (start, stages, days between consecutive events)
    ("2021-04-06", ["contact"] * MAX_STEPS + ["iag"], (3,) * MAX_STEPS),
    ("2021-12-01", ["contact"] * MAX_STEPS + ["iag"], (3,) * MAX_STEPS),
    ("2022-09-01", ["contact", "contact", "referral", "assessment", "strategy", "s47", "icpc", "cp_plan", "cla",
                    "nfa"], DEEP_GAPS),
    ("2023-06-01", ["contact", "referral", "assessment", "strategy", "s47", "cin_plan", "strategy", "s47", "cla",
                    "other"], DEEP_GAPS),
    ("2024-12-15", ["contact", "referral", "assessment", "strategy", "s47", "icpc", "cp_plan", "cla", "nfa"],
     DEEP_GAPS),
)
LIST_OF = {"contact": 1, "early_help": 2, "referral": 3, "assessment": 4, "strategy": 5, "s47": 5, "icpc": 5,
           "cin_plan": 6, "cp_plan": 7, "cla": 8, "nfa": 6, "other": 8, "iag": 1}


def _canary_event(episode_no: int, step: int, stage: str, date: pd.Timestamp) -> dict:
    return {"child_key": CANARY_KEY, "episode_no": episode_no, "step": step, "stage": stage, "date": date,
            "source": "4" if stage in ("contact", "referral") else None, "team": CANARY_TEAM,
            "need_code": "N7" if stage in ("cin_plan", "cla") else None,
            "abuse_category": "MUL" if stage == "cp_plan" else None,
            "closure_reason": "RC5" if stage in ("nfa", "other") else None,
            "list_no": LIST_OF[stage], "derived": stage in ("nfa", "other")}


def canary(like_children: pd.DataFrame, like_events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A worst-case child, in the tables' own columns and types: five episodes (`CANARY_EPISODES`), and
    rare values everywhere (UASC, 17 years old, ethnicity "Other", sex "neither", a disability,
    10 missing episodes, 5 previous CP plans, a rare source, need, abuse and closure codes, its own team)."""
    rows = []
    for no, (start, stages, gaps) in enumerate(CANARY_EPISODES, start=1):
        dates = pd.Timestamp(start) + pd.to_timedelta(np.cumsum([0, *gaps])[:len(stages)], unit="D")
        rows += [_canary_event(no, step, s, d) for step, (s, d) in enumerate(zip(stages, dates))]
    events = pd.DataFrame(rows)[list(like_events.columns)].astype(like_events.dtypes.to_dict())
    child = pd.DataFrame([{"child_key": CANARY_KEY, "sex": "neither", "ethnicity_group": "Other",
                           "age_at_first_contact": 17, "age_band": "16+", "disability": "yes", "uasc": "yes",
                           "missing_episodes": 10, "previous_cp_plans": 5}])
    child = child[list(like_children.columns)].astype(like_children.dtypes.to_dict())
    return child, events


def with_canary(children: pd.DataFrame, events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    child, ev = canary(children, events)
    return pd.concat([children, child], ignore_index=True), pd.concat([events, ev], ignore_index=True)


# ----------------------------------------------------------------------------------------------
# The empirical audit.
def all_two_way(children: pd.DataFrame, events: pd.DataFrame) -> dict[str, np.ndarray]:
    """The true 2-way marginal of every ordered pair of child-record columns, under the names the
    MST fit gives them, so that a run is scored whichever pairs its noisy tree chose."""
    from synth.models import mst, prepare
    from synth.models.private_journey import child_records, public_inputs

    kids, ev, eps = public_inputs(children, events, WINDOW)
    eps["history"] = prepare.history_dp(eps)
    codes = mst.encode(child_records(kids, ev, eps))
    return {f"{TWO_WAY}{a} x {b}": mst._two_way(codes, a, b) for a in mst.COLUMNS for b in mst.COLUMNS if a != b}


def truths(children: pd.DataFrame, events: pd.DataFrame, epsilon: float) -> dict[str, np.ndarray]:
    """Every non-adaptive measurement's true vector (noise off, the same pipeline)."""
    out = {k: v for k, v in true_measurements(children, events, epsilon).true_values.items()
           if not is_adaptive(k) and not k.startswith(TWO_WAY) and k not in DATA_DEPENDENT_DOMAIN}
    return {**out, **all_two_way(children, events)}


def log_likelihood_ratio(budget: PrivacyBudget, truth_d: dict, truth_d1: dict) -> float:
    """log p(outputs | D') - log p(outputs | D) under Laplace noise of each measurement's scale:
    the sum over cells of (|y - x_D| - |y - x_D'|) / scale. Discrete Laplace has the same ratio."""
    total = 0.0
    for s in budget.spent:
        what, y = s["what"], budget.outputs.get(s["what"])
        if y is None or s["mechanism"] != "laplace" or what not in truth_d or what not in truth_d1:
            continue
        x0, x1 = np.ravel(truth_d[what]), np.ravel(truth_d1[what])
        if not (y.size == x0.size == x1.size):
            continue  # the domain followed a noisy choice (a team name released): not scored
        total += float((np.abs(y.ravel() - x0) - np.abs(y.ravel() - x1)).sum()) / s["scale"]
    return total


def scores(children: pd.DataFrame, events: pd.DataFrame, n_runs: int, epsilon: float, truth_d: dict,
           truth_d1: dict) -> np.ndarray:
    """The statistic of `n_runs` fits with fresh noise."""
    return np.array([log_likelihood_ratio(measure(children, events, epsilon), truth_d, truth_d1)
                     for _ in range(n_runs)])


def clopper_pearson_upper(k: int, n: int, alpha: float = 0.05) -> float:
    """Upper end of the two-sided (1 - alpha) Clopper-Pearson interval of a proportion k / n."""
    from scipy.stats import beta

    return 1.0 if k >= n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))


def rates(neg: np.ndarray, pos: np.ndarray, threshold: float) -> tuple[int, int]:
    """Errors of "D' when the statistic exceeds the threshold": (false positives, false negatives)."""
    return int((neg > threshold).sum()), int((pos <= threshold).sum())


def epsilon_bounds(fp: int, fn: int, n_neg: int, n_pos: int, delta: float) -> tuple[float, float]:
    """The two bounds of Jagielski et al. (2020): log((1 - delta - FNR) / FPR) and log((1 - delta - FPR)
    / FNR), with the rates' Clopper-Pearson upper bounds (0 where the numerator is not positive). Each
    rate's bound is one-sided 97.5%, so both hold together, and then both bounds, with 95% confidence."""
    fpr, fnr = clopper_pearson_upper(fp, n_neg), clopper_pearson_upper(fn, n_pos)

    def bound(num: float, den: float) -> float:
        return math.log(num / den) if num > 0 and den > 0 else 0.0

    return bound(1 - delta - fnr, fpr), bound(1 - delta - fpr, fnr)


def choose_threshold(neg: np.ndarray, pos: np.ndarray, delta: float) -> float:
    """The threshold that gives the highest bound on these runs (the selection half); among equal
    bounds (0 when nothing separates), the one with the fewest errors."""
    def merit(t: float) -> tuple[float, int]:
        fp, fn = rates(neg, pos, t)
        return max(epsilon_bounds(fp, fn, len(neg), len(pos), delta)), -(fp + fn)

    return float(max(np.unique(np.concatenate([neg, pos])), key=merit))


def lower_bound(neg: np.ndarray, pos: np.ndarray, delta: float) -> dict:
    """Choose the threshold on the first half of each side's runs and bound epsilon on the second half
    (choosing and scoring on the same runs would overstate the bound)."""
    h0, h1 = len(neg) // 2, len(pos) // 2
    t = choose_threshold(neg[:h0], pos[:h1], delta)
    test_neg, test_pos = neg[h0:], pos[h1:]
    fp, fn = rates(test_neg, test_pos, t)
    eps_lb = max(0.0, *epsilon_bounds(fp, fn, len(test_neg), len(test_pos), delta))
    return {"eps_lb": eps_lb, "threshold": t, "fpr": fp / len(test_neg), "fnr": fn / len(test_pos),
            "scored_runs": len(test_neg)}


def audit(n_runs: int = 200, epsilon: float = 1.0, n_children: int = 40, delta: float = DEFAULT_DELTA,
          seed: int = 7) -> dict:
    """The empirical lower bound on epsilon of the private fit, D (`n_children` children of a fixture
    council) against D + the canary, `n_runs` fits with fresh noise on each."""
    d = small_council(n_children, seed)
    d1 = with_canary(*d)
    truth_d, truth_d1 = truths(*d, epsilon), truths(*d1, epsilon)
    neg = scores(*d, n_runs, epsilon, truth_d, truth_d1)
    pos = scores(*d1, n_runs, epsilon, truth_d, truth_d1)
    bound = lower_bound(neg, pos, delta)
    return {**bound, "claimed": epsilon, "delta": delta, "runs": n_runs, "children": n_children,
            "statistic_mean": {"D": float(neg.mean()), "D+canary": float(pos.mean())}}


def shrunk_noise(factor: float):
    """A leaky `PrivacyBudget.noisy_counts` for testing the audit: the noise it adds is 1/`factor` of
    what it claims (and records), so the mechanism is about `factor` times less private than said."""
    original = PrivacyBudget.noisy_counts

    def noisy_counts(self, counts, part, sensitivity, share=1.0, what="", clip=True, **kind):
        true = np.asarray(counts, dtype=float)
        noisy = true + (original(self, counts, part, sensitivity, share, what, clip=False, **kind) - true) / factor
        if self.keep_outputs:
            self.outputs[what] = noisy.copy()
        return np.maximum(np.round(noisy), 0.0) if clip else noisy

    return noisy_counts
