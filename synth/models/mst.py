"""Who a child is and what happens to them, modelled jointly with MST (McKenna, Miklau, Sheldon 2021).

One record per child over public domains: the attributes Annex A records (sex, ethnicity group,
age, disability, UASC status, missing episodes, previous CP plans) and a summary of the child's
journeys (how many episodes, how many reached a referral, whether one came within 12 months of another, whether any reached an assessment, a
Section 47 enquiry, a CP plan, care, the first episode's route (open when the window began, the contact's outcome, or a referral), the
first source's group). MST measures every 1-way marginal, picks the pairs of a maximum spanning tree
with the exponential mechanism (score: how far the pair's real 2-way marginal is from what the
1-way marginals predict), measures those 2-way marginals, and fits the graphical model that agrees
best with all the noisy measurements (private-pgm, `mbi`, by mirror descent): post-processing.

Some pairs are fixed in advance (`BACKBONE`, public); cells no child can hold are zeroed after the
estimate (`impossible`, public rules). The model keeps the tree's 2-way marginals (probabilities, no count) and samples forward along the
tree, so sampling needs neither jax nor mbi. One child changes each marginal by 1 and each pair's
score by at most 1: the sensitivities used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.errors import ModelError
from synth.models.attributes import DP_DOMAINS
from synth.models.prepare import FIRST_ROUTES
from synth.models.privacy import PrivacyBudget
from synth.schema import SOURCE_GROUP_LABELS

YES_NO = ("no", "yes")
JOURNEY_DOMAINS = {
    "episodes": ("1", "2", "3", "4"),  # 4: four or more
    "referred": ("0", "1", "2", "3"),  # episodes that reached a referral; 3: three or more
    "rereferred": YES_NO,  # a referral within 12 months of the child's previous one
    "assessed": YES_NO, "s47": YES_NO, "cp": YES_NO, "cla": YES_NO,
    "first_route": FIRST_ROUTES,  # open at the window start, the contact's outcome, or straight to referral
    "source_group": (*SOURCE_GROUP_LABELS.values(), "Not recorded"),
}
CHILD_DOMAINS = {**{k: DP_DOMAINS[k] for k in ("sex", "ethnicity_group", "age_at_first_contact", "disability",
                                               "uasc", "missing_episodes", "previous_cp_plans")},
                 **JOURNEY_DOMAINS}
COLUMNS = tuple(CHILD_DOMAINS)
SHARES = {"one_way": 0.05, "select": 0.10, "two_way": 0.85}  # of the budget's "children" part
# Pairs every tree has, from how Annex A and the front door work (public, chosen without data): the
# journey summary follows the process (episodes, their referrals, re-referral, assessment, S47, CP plan,
# care), and the attributes recorded only by a list hang from the stage that reaches it (disability from
# assessment, UASC status and missing episodes from care, previous CP plans from a CP plan). MST picks
# the rest with the exponential mechanism, continuing Kruskal's algorithm from this forest. At a small
# epsilon the pair scores are dominated by the noise of many-valued 1-way marginals (age), so a tree
# chosen from the data alone loses the structure the journeys need.
BACKBONE = (("episodes", "referred"), ("referred", "rereferred"), ("referred", "assessed"), ("assessed", "s47"),
            ("s47", "cp"), ("assessed", "cla"), ("referred", "first_route"), ("assessed", "disability"),
            ("cla", "uasc"), ("cla", "missing_episodes"), ("cp", "previous_cp_plans"))


# The journey summary's own pairs get twice an attribute pair's share of the 2-way budget: the map and
# its rates (conversions, re-referral) are what a release is for.
JOURNEY_EDGES = BACKBONE[:7]
JOURNEY_EDGE_WEIGHT = 2.0
ROOT = "referred"


def impossible(a: str, b: str) -> np.ndarray:
    """Cells of the (a, b) marginal that no child can hold (public rules of the data): a referral count
    above the episode count, re-referral without two referrals, an S47 enquiry without assessment, a CP
    plan without S47, care without assessment, and values recorded only by lists never reached."""
    da, db = CHILD_DOMAINS[a], CHILD_DOMAINS[b]
    va, vb = np.meshgrid(np.arange(len(da)), np.arange(len(db)), indexing="ij")
    x, y = np.asarray(da, dtype=object)[va], np.asarray(db, dtype=object)[vb]
    rules = {
        ("episodes", "referred"): lambda x, y: y.astype(int) > x.astype(int),
        ("referred", "rereferred"): lambda x, y: (y == "yes") & (x.astype(int) < 2),
        ("referred", "assessed"): lambda x, y: (y == "yes") & (x == "0"),
        ("assessed", "s47"): lambda x, y: (y == "yes") & (x == "no"),
        ("s47", "cp"): lambda x, y: (y == "yes") & (x == "no"),
        ("assessed", "cla"): lambda x, y: (y == "yes") & (x == "no"),
        ("assessed", "disability"): lambda x, y: (y != "unknown") & (x == "no"),
        ("cla", "uasc"): lambda x, y: (y == "yes") & (x == "no"),
        ("cla", "missing_episodes"): lambda x, y: (y.astype(int) > 0) & (x == "no"),
        ("cp", "previous_cp_plans"): lambda x, y: (y.astype(int) > 0) & (x == "no"),
        ("referred", "first_route"): lambda x, y: np.isin(y, ["contact>referral", "referral"]) & (x == "0"),
    }
    if (a, b) in rules:
        return rules[(a, b)](x, y).astype(bool)
    if (b, a) in rules:
        return rules[(b, a)](y, x).astype(bool)
    return np.zeros((len(da), len(db)), dtype=bool)
MIRROR_DESCENT_ITERS = 1000
STRUCTURAL_SD = 0.5  # the exact zeros' "noise", as a share of the least noisy real measurement's


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


def _cells_query(idx: np.ndarray):
    """The measurement's query: the marginal's cells at `idx` (the possible ones)."""
    return lambda factor: factor.datavector(flatten=True)[idx]


def _possible(a: str, b: str) -> np.ndarray:
    """Indices (in the flattened a x b marginal) of the cells a child can hold."""
    return np.flatnonzero(~impossible(a, b).ravel())


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
        comps, edges = _Components(cols), list(BACKBONE)
        for a, b in BACKBONE:
            comps.join(a, b)
        for r in range(n_pairs - len(BACKBONE)):
            open_pairs = [i for i, (a, b) in enumerate(pairs) if comps.find(a) != comps.find(b)]
            pick = open_pairs[budget.noisy_argmax(scores[open_pairs], part, 1,
                                                  SHARES["select"] / (n_pairs - len(BACKBONE)),
                                                  what=f"children tree pair {r + 1}")]
            a, b = pairs[pick]
            comps.join(a, b)
            edges.append((a, b))
        # Only the cells a child can hold are measured: no noise is spent on structural zeros.
        weights = {e: JOURNEY_EDGE_WEIGHT if e in JOURNEY_EDGES else 1.0 for e in edges}
        unit = SHARES["two_way"] / sum(weights.values())
        two_way = {e: budget.noisy_counts(_two_way(codes, *e)[_possible(*e)], part, 1, unit * weights[e],
                                          what=f"children 2-way {e[0]} x {e[1]}", clip=False) for e in edges}
        scales = {"one": budget.scale(part, 1, SHARES["one_way"] / len(cols)),
                  **{e: budget.scale(part, 1, unit * weights[e]) for e in edges}}
        # Every measurement's sum estimates the number of children: combined by inverse variance.
        sums = [(float(v.sum()), len(v) * 2 * scales["one"] ** 2) for v in one_way.values()]
        sums += [(float(v.sum()), len(v) * 2 * scales[e] ** 2) for e, v in two_way.items()]
        precision = sum(1 / var for _, var in sums)
        total = max(1.0, sum(x / var for x, var in sums) / precision)
        marginals = _estimate(one_way, two_way, scales, total) if estimate else {}
        return cls({"columns": cols, "noisy_children": int(round(total)),
                    "noisy_children_bound95": 1.96 / float(np.sqrt(precision)),
                    "domains": {c: [_plain(v) for v in CHILD_DOMAINS[c]] for c in cols},
                    "edges": [list(e) for e in edges],
                    "marginals": {f"{a}|{b}": m.tolist() for (a, b), m in marginals.items()}})

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        """`n` child records, drawn forward along the tree from `ROOT`.

        From the referral count outwards, each rule-bound pair (`impossible`) is crossed from the stage
        to what it gates (assessment to care, care to missing episodes), so a value drawn from a pair
        without the rule never forces a value the rule forbids."""
        rng = np.random.default_rng(seed)
        cols, edges = self.state["columns"], [tuple(e) for e in self.state["edges"]]
        tables = {tuple(k.split("|")): np.asarray(v, dtype=float) for k, v in self.state["marginals"].items()}
        codes: dict[str, np.ndarray] = {}
        root = ROOT
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
    sd_one = np.sqrt(2) * scales["one"]
    measurements = [LinearMeasurement(np.asarray(v), (c,), stddev=sd_one) for c, v in one_way.items()]
    measurements += [LinearMeasurement(np.asarray(v), e, stddev=np.sqrt(2) * scales[e], query=_cells_query(_possible(*e)))
                     for e, v in two_way.items()]
    # The structural zeros are public and exact: told to the estimate as near-certain measurements of 0.
    zero_sd = STRUCTURAL_SD * np.sqrt(2) * min(scales[e] for e in two_way)  # firm, yet not ill-conditioned
    measurements += [LinearMeasurement(np.zeros(int(impossible(*e).sum())), e, stddev=zero_sd,
                                       query=_cells_query(np.flatnonzero(impossible(*e).ravel())))
                     for e in two_way if impossible(*e).any()]
    model = estimation.mirror_descent(domain, measurements, known_total=total, iters=MIRROR_DESCENT_ITERS)
    out = {}
    for a, b in two_way:
        m = np.array(model.project((a, b)).datavector(flatten=False), dtype=float)
        m[impossible(a, b)] = 0.0
        out[(a, b)] = m / max(m.sum(), 1e-12)
    return out
