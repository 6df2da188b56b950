"""Record-level disclosure checks: can a synthetic child be traced back to a real one?

Every check compares synthetic children with the real *training* children (what the generator
saw) against the same comparison with the *holdout* children (real, never seen): a generator that
merely learnt the population is as close to unseen children as to its own training children; one
that memorised its training children is closer to them.

Children are compared as one row each: attributes (sex, ethnicity group, age, disability, UASC),
their journeys (all episodes' paths), counts, and when things happened (day offsets, start date).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synth.disclosure.profiles import Profile

QUASI_IDENTIFIERS = ("sex", "ethnicity_group", "age_at_first_contact", "disability", "uasc")
MAX_DISTANCE_ROWS = 5_000
MAX_ANONYMETER_ROWS = 5_000
ANONYMETER_ATTACKS = 500


@dataclass
class Check:
    """One gate check: pass, fail or review, with its metric and thresholds in plain words."""

    name: str
    title: str
    group: str  # "record" or "aggregate"
    status: str  # pass | fail | review
    metric: float | None
    threshold: str
    explanation: str
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "group": self.group, "status": self.status,
                "metric": None if self.metric is None or (isinstance(self.metric, float) and math.isnan(self.metric))
                else round(float(self.metric), 6),
                "threshold": self.threshold, "explanation": self.explanation, "details": self.details}


def status_of(value: float, thresholds: tuple[float, float], higher_is_worse: bool = True) -> str:
    passed, failed = thresholds
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "review"
    if higher_is_worse:
        return "pass" if value <= passed else "fail" if value > failed else "review"
    return "pass" if value >= passed else "fail" if value < failed else "review"


# How far into the system a stage is (exits count as the front door): the "deepest" stage reached.
DEPTH = {"contact": 0, "iag": 0, "nfa": 0, "other": 0, "early_help": 1, "referral": 2, "assessment": 3,
         "strategy": 4, "s47": 4, "icpc": 5, "cin_plan": 6, "cp_plan": 7, "cla": 8}


def child_rows(children: pd.DataFrame, events: pd.DataFrame, episodes: pd.DataFrame,
               window_start: pd.Timestamp) -> pd.DataFrame:
    """One row per child: attributes, journeys, counts and timing."""
    eps = episodes.sort_values(["child_key", "episode_no"])
    g = eps.groupby("child_key", sort=False)
    per = pd.DataFrame({
        "journey": g["path"].agg("|".join),
        "days": g["days"].agg("|".join),
        "n_episodes": g.size(),
        "n_events": g["n_steps"].sum(),
        "first_path": g["path"].first(),
        "first_start": g["start_date"].first(),
        "total_days": g["duration_days"].sum(),
    })
    rows = children.set_index("child_key")[list(QUASI_IDENTIFIERS)].join(per, how="inner")
    rows["start_day"] = (rows["first_start"] - window_start).dt.days
    depth = events[["child_key", "stage"]].assign(d=events["stage"].map(DEPTH))
    deepest = depth.sort_values("d", kind="mergesort").drop_duplicates("child_key", keep="last")
    rows["deepest"] = deepest.set_index("child_key")["stage"].reindex(rows.index).fillna("contact")
    for col in QUASI_IDENTIFIERS:
        rows[col] = rows[col].astype(str)
    return rows.reset_index()


def _key(rows: pd.DataFrame, cols: list[str]) -> pd.Series:
    return pd.util.hash_pandas_object(rows[cols].astype(str), index=False)


FULL_KEY = [*QUASI_IDENTIFIERS, "journey", "days", "start_day"]
UNIQUE_KEY = [*QUASI_IDENTIFIERS, "journey"]


def same_size(train: pd.DataFrame, hold: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Training children cut to the holdout's size: being unique depends on how many others there are."""
    if len(train) <= len(hold):
        return train
    return train.iloc[np.sort(rng.choice(len(train), len(hold), replace=False))]


def exact_copies(syn: pd.DataFrame, train: pd.DataFrame, hold: pd.DataFrame, profile: Profile) -> Check:
    """Synthetic children identical (attributes, journeys, day offsets, start day) to a real child
    who is unique among the training children, against the same count for unique holdout children
    (`train` and `hold` of the same size)."""
    syn_keys = set(_key(syn, FULL_KEY))
    t_key, h_key = _key(train, FULL_KEY), _key(hold, FULL_KEY)
    t_unique = t_key[~t_key.duplicated(keep=False)]
    h_unique = h_key[~h_key.duplicated(keep=False)]
    copies = int(t_unique.isin(syn_keys).sum())
    baseline = h_unique.isin(syn_keys).sum() * (len(train) / max(len(hold), 1))
    excess = (copies - baseline) / math.sqrt(baseline + 1)
    return Check(
        "exact_copies", "Copies of real children", "record", status_of(excess, profile.copy_excess), excess,
        f"excess over the holdout baseline <= {profile.copy_excess[0]} standard deviations (fail above "
        f"{profile.copy_excess[1]})",
        f"{copies} real children with a unique record (attributes, whole journey and its dates) appear exactly in the "
        f"synthetic data, against {baseline:.1f} expected by chance (judged on children the generator never saw).",
        {"copies": copies, "baseline": round(float(baseline), 2), "unique_training_children": int(len(t_unique))})


def replicated_uniques(syn: pd.DataFrame, train: pd.DataFrame, hold: pd.DataFrame, profile: Profile) -> Check:
    """Combinations (attributes + journeys) unique among real children that are unique in the
    synthetic data too, against the holdout baseline."""
    s_key = _key(syn, UNIQUE_KEY)
    s_counts = s_key.value_counts()
    s_unique = set(s_counts.index[s_counts == 1])

    def rate(real: pd.DataFrame) -> tuple[int, int]:
        k = _key(real, UNIQUE_KEY)
        uniq = k[~k.duplicated(keep=False)]
        return int(uniq.isin(s_unique).sum()), int(len(uniq))

    hit_t, n_t = rate(train)
    hit_h, n_h = rate(hold)
    r_t, r_h = hit_t / max(n_t, 1), hit_h / max(n_h, 1)
    expected = r_h * n_t
    excess = (hit_t - expected) / math.sqrt(expected + 1)
    return Check(
        "replicated_uniques", "Unique children replicated", "record", status_of(excess, profile.copy_excess), excess,
        f"excess over the holdout baseline <= {profile.copy_excess[0]} standard deviations",
        f"{r_t:.2%} of combinations unique among training children are also unique in the synthetic data, against "
        f"{r_h:.2%} for children the generator never saw.",
        {"training_rate": round(r_t, 5), "holdout_rate": round(r_h, 5), "training_hits": hit_t})


def feature_matrix(rows: list[pd.DataFrame]) -> list[np.ndarray]:
    """Numeric features (one-hot attributes and stages, scaled counts and timing), fitted on the first."""
    base = rows[0]
    cats = ["sex", "ethnicity_group", "disability", "uasc", "deepest"]
    top_paths = base["first_path"].value_counts().index[:30]
    out = []
    for r in rows:
        r = r.reset_index(drop=True)
        parts = [pd.get_dummies(r[c].astype(pd.CategoricalDtype(sorted(base[c].astype(str).unique()))),
                                prefix=c, dtype=float) for c in cats]
        parts.append(pd.get_dummies(r["first_path"].where(r["first_path"].isin(top_paths), "other")
                                    .astype(pd.CategoricalDtype([*top_paths, "other"])), dtype=float))
        num = pd.DataFrame({
            "age": pd.to_numeric(r["age_at_first_contact"], errors="coerce").fillna(-2) / 18,
            "episodes": np.log1p(r["n_episodes"]), "events": np.log1p(r["n_events"]),
            "days": np.log1p(r["total_days"].clip(lower=0)) / 4, "start": r["start_day"] / 365,
        })
        out.append(pd.concat([*parts, num], axis=1).fillna(0).to_numpy(dtype=np.float32))
    return out


def _nearest(query: np.ndarray, ref: np.ndarray) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=1).fit(ref).kneighbors(query)[0][:, 0]


def distance_checks(syn: pd.DataFrame, train: pd.DataFrame, hold: pd.DataFrame, profile: Profile,
                    rng: np.random.Generator) -> list[Check]:
    """Distance to closest record (synthetic -> training vs holdout) and a membership-inference attack."""
    n_ref = min(len(train), len(hold), MAX_DISTANCE_ROWS)
    t = train.iloc[rng.choice(len(train), n_ref, replace=False)]
    h = hold.iloc[rng.choice(len(hold), n_ref, replace=False)]
    s = syn.iloc[rng.choice(len(syn), min(len(syn), MAX_DISTANCE_ROWS), replace=False)]
    ft, fh, fs = feature_matrix([t, h, s])
    d_t, d_h = _nearest(fs, ft), _nearest(fs, fh)
    share = float(np.mean(d_t < d_h) + 0.5 * np.mean(d_t == d_h))
    dcr = Check(
        "distance_to_closest_record", "Closer to training than to unseen children", "record",
        status_of(share, profile.dcr_share), share,
        f"share <= {profile.dcr_share[0]} (fail above {profile.dcr_share[1]}); 0.5 is ideal",
        f"{share:.1%} of synthetic children are closer to a child the generator trained on than to a child it never "
        "saw; a generator that copies its training children would be near 100%.",
        {"median_distance_training": float(np.median(d_t)), "median_distance_holdout": float(np.median(d_h)),
         "synthetic_sampled": int(len(s)), "reference_rows": int(n_ref)})
    # Membership inference: members (training) should not be closer to the synthetic data than non-members.
    from sklearn.metrics import roc_auc_score

    to_syn_t, to_syn_h = _nearest(ft, fs), _nearest(fh, fs)
    scores = -np.concatenate([to_syn_t, to_syn_h])
    labels = np.concatenate([np.ones(len(to_syn_t)), np.zeros(len(to_syn_h))])
    auc = float(roc_auc_score(labels, scores))
    mia = Check(
        "membership_inference", "Telling who was in the training data", "record", status_of(auc, profile.mia_auc), auc,
        f"AUC <= {profile.mia_auc[0]} (fail above {profile.mia_auc[1]}); 0.5 is guessing",
        f"An attacker who guesses that real children close to a synthetic child were in the training data is right "
        f"with AUC {auc:.2f}, where 0.5 is no better than a coin toss.", {"attack": "distance to closest synthetic child"})
    return [dcr, mia]


def anonymeter_checks(syn: pd.DataFrame, train: pd.DataFrame, hold: pd.DataFrame, profile: Profile,
                      rng: np.random.Generator) -> list[Check]:
    """Singling-out, linkability and attribute-inference risks (anonymeter), with 95% intervals."""
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    cols = ["sex", "ethnicity_group", "age_at_first_contact", "disability", "uasc", "first_path", "n_episodes",
            "deepest"]

    def sample(df: pd.DataFrame) -> pd.DataFrame:
        take = rng.choice(len(df), min(len(df), MAX_ANONYMETER_ROWS), replace=False)
        out = df.iloc[take][cols].reset_index(drop=True).copy()
        out["n_episodes"] = out["n_episodes"].clip(upper=5).astype(int)
        return out.astype({c: str for c in cols if c != "n_episodes"})

    ori, syn_s, ctl = sample(train), sample(syn), sample(hold)
    n_attacks = min(ANONYMETER_ATTACKS, len(ctl))  # every unseen child attacked on small councils
    seed = int(rng.integers(0, 2**31))
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attacks = [
            ("singling_out", "Singling out one child", SinglingOutEvaluator(
                ori=ori, syn=syn_s, control=ctl, n_attacks=n_attacks, seed=seed), {"mode": "univariate"},
             "whether the synthetic data lets an attacker write a description that fits exactly one real child"),
            ("linkability", "Linking records about one child", LinkabilityEvaluator(
                ori=ori, syn=syn_s, control=ctl, n_attacks=n_attacks, n_neighbors=10,
                aux_cols=(["sex", "ethnicity_group", "age_at_first_contact", "disability"],
                          ["uasc", "first_path", "n_episodes", "deepest"])), {},
             "whether the synthetic data helps join two partial records of the same real child"),
            ("attribute_inference", "Learning something new about a child", InferenceEvaluator(
                ori=ori, syn=syn_s, control=ctl, n_attacks=n_attacks,
                aux_cols=["sex", "ethnicity_group", "age_at_first_contact", "first_path", "n_episodes"],
                secret="deepest"), {},
             "whether knowing a child's details and first contact lets an attacker infer how far their journey went"),
        ]
        for name, title, evaluator, kwargs, what in attacks:
            try:
                evaluator.evaluate(**kwargs)
                risk = evaluator.risk(confidence_level=0.95)
                value, ci = float(risk.value), [float(risk.ci[0]), float(risk.ci[1])]
                # Fail only when even the interval's lower end is above the fail threshold: with few
                # attacks the estimate is rough, and an uncertain result goes to a person.
                low_pass, high_fail = profile.anonymeter_risk
                status = "pass" if value <= low_pass else "fail" if ci[0] > high_fail else "review"
                text = (f"Anonymeter measures {what}, beyond what unseen children allow: risk {value:.3f} "
                        f"(95% interval {ci[0]:.3f} to {ci[1]:.3f}).")
            except Exception as exc:  # anonymeter refuses some degenerate inputs; a human must look
                value, ci, status = float("nan"), [None, None], "review"
                text = f"Anonymeter could not evaluate {what} ({type(exc).__name__}); a reviewer should look."
            results.append(Check(name, title, "record", status, value,
                                 f"risk <= {profile.anonymeter_risk[0]} (fail when the 95% interval lies above "
                                 f"{profile.anonymeter_risk[1]})",
                                 text, {"ci95": ci, "attacks": n_attacks, "library": "anonymeter"}))
    return results
