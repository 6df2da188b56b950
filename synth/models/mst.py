"""Who a child is and what happens to them, modelled jointly with MST (McKenna, Miklau, Sheldon 2021).

One record per child over public domains: the attributes Annex A records (sex, ethnicity group,
age, disability, UASC status, missing episodes, previous CP plans) and a summary of the child's
journeys (how many episodes, how many reached a referral, whether any reached an assessment, a
Section 47 enquiry, a CP plan, care, whether the first was already open when the window began, the
first source's group). MST measures every 1-way marginal, picks the pairs of a maximum spanning tree
with the exponential mechanism (score: how far the pair's real 2-way marginal is from what the
1-way marginals predict), measures those 2-way marginals, and fits the graphical model that agrees
best with all the noisy measurements (private-pgm, `mbi`, by mirror descent): post-processing.

The model keeps the tree's 2-way marginals (probabilities, no count) and samples forward along the
tree, so sampling needs neither jax nor mbi. One child changes each marginal by 1 and each pair's
score by at most 1: the sensitivities used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.errors import ModelError
from synth.models.attributes import DP_DOMAINS
from synth.models.privacy import PrivacyBudget
from synth.schema import SOURCE_GROUP_LABELS

YES_NO = ("no", "yes")
JOURNEY_DOMAINS = {
    "episodes": ("1", "2", "3", "4"),  # 4: four or more
    "referred": ("0", "1", "2", "3"),  # episodes that reached a referral; 3: three or more
    "assessed": YES_NO, "s47": YES_NO, "cp": YES_NO, "cla": YES_NO, "open_at_start": YES_NO,
    "source_group": (*SOURCE_GROUP_LABELS.values(), "Not recorded"),
}
CHILD_DOMAINS = {**{k: DP_DOMAINS[k] for k in ("sex", "ethnicity_group", "age_at_first_contact", "disability",
                                               "uasc", "missing_episodes", "previous_cp_plans")},
                 **JOURNEY_DOMAINS}
COLUMNS = tuple(CHILD_DOMAINS)
SHARES = {"one_way": 0.25, "select": 0.15, "two_way": 0.60}  # of the budget's "children" part
MIRROR_DESCENT_ITERS = 1500


def encode(records: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each column as codes into its public domain; a value outside it is refused (the caller maps
    values to the domains first, child by child)."""
    codes = {}
    for col, domain in CHILD_DOMAINS.items():
        lookup = {v: i for i, v in enumerate(domain)}
        c = records[col].map(lookup)
        if c.isna().any():
            bad = records.loc[c.isna(), col].iloc[0]
            raise ModelError(f"internal error: {col} value {bad!r} is outside its public domain.")
        codes[col] = c.to_numpy(dtype=np.int64)
    return codes


def _two_way(codes: dict[str, np.ndarray], a: str, b: str) -> np.ndarray:
    nb = len(CHILD_DOMAINS[b])
    return np.bincount(codes[a] * nb + codes[b], minlength=len(CHILD_DOMAINS[a]) * nb).astype(float)


class _Components:
    def __init__(self, items):
        self.parent = {i: i for i in items}

    def find(self, i):
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a, b) -> None:
        self.parent[self.find(a)] = self.find(b)


class MSTChildren:
    """A tree-shaped graphical model over child records (see the module docstring)."""

    def __init__(self, state: dict):
        self.state = state

    @classmethod
    def fit(cls, records: pd.DataFrame, budget: PrivacyBudget, part: str = "children",
            estimate: bool = True) -> MSTChildren:
        """Measure and fit. `estimate=False` stops after the measurements (for the empirical audit:
        what follows is post-processing), leaving the model without marginals."""
        codes = encode(records)
        cols = list(COLUMNS)
        n_pairs = len(cols) - 1
        one_way = {}
        for col in cols:
            counts = np.bincount(codes[col], minlength=len(CHILD_DOMAINS[col])).astype(float)
            one_way[col] = budget.noisy_counts(counts, part, 1, SHARES["one_way"] / len(cols),
                                               what=f"children 1-way {col}", clip=False)
        total = noisy_total(one_way)
        probs = {c: np.maximum(v, 0) / max(np.maximum(v, 0).sum(), 1e-9) for c, v in one_way.items()}
        pairs = [(a, b) for i, a in enumerate(cols) for b in cols[i + 1:]]
        scores = np.array([np.abs(_two_way(codes, a, b) - total * np.outer(probs[a], probs[b]).ravel()).sum()
                           for a, b in pairs])
        comps, edges = _Components(cols), []
        for r in range(n_pairs):
            open_pairs = [i for i, (a, b) in enumerate(pairs) if comps.find(a) != comps.find(b)]
            pick = open_pairs[budget.noisy_argmax(scores[open_pairs], part, 1, SHARES["select"] / n_pairs,
                                                  what=f"children tree pair {r + 1}")]
            a, b = pairs[pick]
            comps.join(a, b)
            edges.append((a, b))
        two_way = {e: budget.noisy_counts(_two_way(codes, *e), part, 1, SHARES["two_way"] / n_pairs,
                                          what=f"children 2-way {e[0]} x {e[1]}", clip=False) for e in edges}
        scales = {"one": budget.scale(part, 1, SHARES["one_way"] / len(cols)),
                  "two": budget.scale(part, 1, SHARES["two_way"] / n_pairs)}
        marginals = _estimate(one_way, two_way, scales, total) if estimate else {}
        sd = scales["one"] * np.sqrt(2 / sum(1 / len(v) for v in one_way.values()))
        return cls({"columns": cols, "noisy_children": int(round(total)), "noisy_children_bound95": 1.96 * float(sd), "domains": {c: [_plain(v) for v in CHILD_DOMAINS[c]] for c in cols},
                    "edges": [list(e) for e in edges], "marginals": {f"{a}|{b}": m.tolist()
                                                                   for (a, b), m in marginals.items()}})

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        """`n` child records, drawn forward along the tree from its first column."""
        rng = np.random.default_rng(seed)
        cols, edges = self.state["columns"], [tuple(e) for e in self.state["edges"]]
        tables = {tuple(k.split("|")): np.asarray(v, dtype=float) for k, v in self.state["marginals"].items()}
        codes: dict[str, np.ndarray] = {}
        root = cols[0]
        first = next(e for e in edges if root in e)
        t = tables[first] if first[0] == root else tables[first].T
        codes[root] = _draw(rng, np.tile(t.sum(axis=1), (n, 1)))
        todo = list(edges)
        while todo:
            for e in list(todo):
                a, b = e
                if a in codes or b in codes:
                    parent, child = (a, b) if a in codes else (b, a)
                    joint = tables[e] if parent == a else tables[e].T  # [parent, child]
                    cond = joint / np.maximum(joint.sum(axis=1, keepdims=True), 1e-12)
                    empty = joint.sum(axis=1) <= 0
                    cond[empty] = joint.sum(axis=0) / max(joint.sum(), 1e-12)
                    codes[child] = _draw(rng, cond[codes[parent]])
                    todo.remove(e)
        out = pd.DataFrame({c: np.asarray(self.state["domains"][c], dtype=object)[codes[c]] for c in cols})
        for c in ("age_at_first_contact", "missing_episodes", "previous_cp_plans"):
            out[c] = out[c].astype(np.int64)
        return out


def _plain(v):
    return v if isinstance(v, str) else int(v)


def _draw(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(np.maximum(p, 0), axis=1)
    cdf /= np.maximum(cdf[:, -1:], 1e-12)
    return np.minimum((cdf < rng.random(len(p))[:, None]).sum(axis=1), p.shape[1] - 1)


def noisy_total(one_way: dict[str, np.ndarray]) -> float:
    """How many children, from the noisy 1-way marginals: each one's sum, weighted by the inverse of
    its noise variance (which grows with its number of cells). Post-processing."""
    weights = np.array([1 / len(v) for v in one_way.values()])
    sums = np.array([float(v.sum()) for v in one_way.values()])
    return max(1.0, float((weights * sums).sum() / weights.sum()))


def _estimate(one_way: dict[str, np.ndarray], two_way: dict[tuple[str, str], np.ndarray],
              scales: dict[str, float], total: float) -> dict[tuple[str, str], np.ndarray]:
    """The tree's 2-way marginals (probabilities) of the graphical model that best fits every noisy
    measurement (private-pgm's mirror descent, weighted by each measurement's noise)."""
    import jax

    jax.config.update("jax_platforms", "cpu")
    from mbi import Domain, LinearMeasurement, estimation

    domain = Domain(list(CHILD_DOMAINS), [len(v) for v in CHILD_DOMAINS.values()])
    sd_one, sd_two = np.sqrt(2) * scales["one"], np.sqrt(2) * scales["two"]
    measurements = [LinearMeasurement(np.asarray(v), (c,), stddev=sd_one) for c, v in one_way.items()]
    measurements += [LinearMeasurement(np.asarray(v), e, stddev=sd_two) for e, v in two_way.items()]
    model = estimation.mirror_descent(domain, measurements, known_total=total, iters=MIRROR_DESCENT_ITERS)
    out = {}
    for a, b in two_way:
        m = np.asarray(model.project((a, b)).datavector(flatten=False), dtype=float)
        out[(a, b)] = m / max(m.sum(), 1e-12)
    return out
