"""Record-level disclosure checks: can a synthetic child be traced back to a real one?

- Real children in the release (`real_children_check`, `verbatim_copies_check`): every synthetic child
  is matched against every real child, training and held-out alike, exactly and under the tolerance a
  motivated intruder would use, and the matches are set against what chance explains
  (`synth.disclosure.matching`).
- Membership inference (`membership_check`): a density attack (DOMIAS) telling training children from
  held-out ones, reported as the true-positive rate at low false-positive rates
  (`synth.disclosure.membership`). Distance to closest record stays as a sanity check only.
- Anonymeter's singling-out, linkability and inference risks, against held-out children as control.

Children are compared as one row each: attributes (sex, ethnicity group, age, disability, UASC),
their journeys (all episodes' paths), counts, and when things happened (day offsets, start date).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synth.disclosure import matching, membership
from synth.disclosure.guidance import guidance_for
from synth.disclosure.matching import CloseCopies
from synth.disclosure.profiles import Profile

QUASI_IDENTIFIERS = ("sex", "ethnicity_group", "age_at_first_contact", "disability", "uasc")
MAX_DISTANCE_ROWS = 5_000
MAX_ANONYMETER_ROWS = 5_000
MAX_EXPOSURE_ROWS = 30_000
ANONYMETER_ATTACKS = 1_000


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
    public_explanation: str | None = None  # for developers: no figure computed from real data (None: generic)
    # What the check protects against and what a reviewer looks for (synth.disclosure.guidance, by name).
    guidance: dict | None = None

    def __post_init__(self) -> None:
        if self.guidance is None:
            self.guidance = guidance_for(self.name)

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "group": self.group, "status": self.status,
                "metric": None if self.metric is None or (isinstance(self.metric, float) and math.isnan(self.metric))
                else round(float(self.metric), 6),
                "threshold": self.threshold, "explanation": self.explanation, "details": self.details,
                "guidance": self.guidance}


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


def real_children_check(copies: CloseCopies, profile: Profile) -> Check:
    """Real children in the release, exact or lightly disguised, beyond what chance explains."""
    share, z = copies.real_share, copies.real_share_z
    passed = profile.real_share
    significant = z >= profile.significance_z
    status = "pass" if share < passed else "fail" if significant else "review"
    edge = copies.edge_share
    edge_review, edge_fail = profile.edge_real_share
    if edge >= edge_fail:
        status = "fail"
    elif edge >= edge_review and status == "pass":
        status = "review"
    tol = matching.Tolerance()
    return Check(
        "real_children", "Real children in the release", "record", status, share,
        f"estimated share of synthetic children that are real < {passed:.1%} (at or above it: fail when "
        f"{profile.significance_z:g}+ standard errors above chance, else review)",
        f"{copies.near:,} synthetic children match a real child (training or held-out) to within age +/-"
        f"{tol.age_years}, every date +/-{tol.date_days} days and every duration +/-{tol.duration_share:.0%}, with "
        f"the same attributes and journey; the same real children moved by whole weeks are matched "
        f"{copies.near_chance:,.1f} times by chance. Stratum by stratum (by how many real children share the "
        f"journey), that puts the share of the synthetic children that are real at {share:.2%} "
        f"(standard error {copies.real_share_se:.2%}). The {copies.edge_synthetic:,} synthetic children with an "
        f"event within a month of the window's start or end are judged apart, as chance is understated there: "
        f"{edge:.2%} estimated (review from {edge_review:.0%}, fail from {edge_fail:.0%}).",
        {"near_matches": copies.near, "near_matches_by_chance": round(copies.near_chance, 1),
         "edge_synthetic_children": copies.edge_synthetic, "edge_real_share": round(edge, 5),
         "standard_error": round(copies.real_share_se, 5), "z": round(z, 2),
         "strata": [{"real_children_sharing_key_from": st.from_children, "synthetic": st.synthetic,
                     "near": st.near, "near_chance": round(st.near_chance, 1), "exact": st.exact,
                     "exact_chance": round(st.exact_chance, 1)} for st in copies.strata],
         "training_children_reproduced": copies.training_reproduced,
         "holdout_children_reproduced": copies.holdout_reproduced,
         "reproduced_training_vs_holdout_z": round(copies.membership_z, 2)},
        public_explanation="No more synthetic children match a real child (same attributes and journey, age within a "
                           "year, dates within days) than chance explains." if status == "pass" else None)


def verbatim_copies_check(copies: CloseCopies, profile: Profile) -> Check:
    """Synthetic children identical to a real child (age and every date), beyond chance."""
    p = copies.exact_p
    status = "fail" if p < profile.verbatim_p[1] else "review" if p < profile.verbatim_p[0] else "pass"
    return Check(
        "verbatim_copies", "Exact copies of real children", "record", status, p,
        f"p-value of the exact matches under chance >= {profile.verbatim_p[0]} (fail below {profile.verbatim_p[1]})",
        f"{copies.exact:,} synthetic children are identical to a real child (attributes, age, journey and every "
        f"date), against {copies.exact_chance:,.1f} expected by chance; the least likely stratum has a chance "
        f"probability of {p:.2g} (corrected for the {len(matching.STRATA)} strata).",
        {"exact_matches": copies.exact, "exact_matches_by_chance": round(copies.exact_chance, 1),
         "p_value": float(f"{p:.3g}")},
        public_explanation="No more synthetic children are identical to a real child than chance explains."
        if status == "pass" else None)


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
    """A membership-inference attack (DOMIAS, at low false-positive rates) and, as a sanity check
    only, distance to closest record (known to miss real leakage: it never fails a release)."""
    n_ref = min(len(train), len(hold), MAX_DISTANCE_ROWS)
    t = train.iloc[rng.choice(len(train), n_ref, replace=False)]
    h = hold.iloc[rng.choice(len(hold), n_ref, replace=False)]
    s = syn.iloc[rng.choice(len(syn), min(len(syn), MAX_DISTANCE_ROWS), replace=False)]
    ft, fh, fs = feature_matrix([t, h, s])
    d_t, d_h = _nearest(fs, ft), _nearest(fs, fh)
    share = float(np.mean(d_t < d_h) + 0.5 * np.mean(d_t == d_h))
    dcr_status = "pass" if share <= profile.dcr_share else "review"
    dcr = Check(
        "distance_to_closest_record", "Closer to training than to unseen children (sanity check)", "record",
        dcr_status, share,
        f"share <= {profile.dcr_share}, else review; 0.5 is ideal. A sanity check only: it never fails a release",
        f"{share:.1%} of synthetic children are closer to a child the generator trained on than to a child it never "
        "saw; a generator that copies its training children would be near 100%. Distance to the closest record "
        "can miss real leakage, so the membership attack and the near-match checks decide.",
        {"synthetic_sampled": int(len(s)), "reference_rows": int(n_ref)})
    return [dcr, membership_check(syn, train, hold, profile, rng)]


def membership_check(syn: pd.DataFrame, train: pd.DataFrame, hold: pd.DataFrame, profile: Profile,
                     rng: np.random.Generator) -> Check:
    """DOMIAS density-ratio attack: training children (members) against held-out children (non-members),
    half the held-out children kept apart as the attacker's reference."""
    half = len(hold) // 2
    order = rng.permutation(len(hold))
    ref, non = hold.iloc[order[:half]], hold.iloc[order[half:]]
    n = min(len(non), membership.MAX_ATTACK_ROWS)
    non = non.iloc[:n]
    mem = train.iloc[rng.choice(len(train), min(n, len(train)), replace=False)]
    ref = ref.iloc[:membership.MAX_ATTACK_ROWS]
    s = syn.iloc[rng.choice(len(syn), min(len(syn), membership.MAX_SYNTHETIC_ROWS), replace=False)]
    # The most exposed children: those of the attacked training children farthest from any other real
    # child (among up to MAX_EXPOSURE_ROWS real children, the attacked ones included).
    others = pd.concat([train.drop(mem.index), hold])
    others = others.iloc[rng.choice(len(others), min(len(others), MAX_EXPOSURE_ROWS - len(mem)), replace=False)]
    f_mem, f_non, f_ref, f_syn, f_others = feature_matrix([mem, non, ref, s, others])
    exposed = membership.most_exposed(f_mem, np.vstack([f_mem, f_others]))
    r = membership.domias_attack(f_mem, f_non, f_ref, f_syn, exposed)
    limit = profile.mia_tpr_at_1pct
    if r.tpr_at_1 > limit and r.ci_1[0] > 0.01:
        status = "fail"
    elif r.tpr_at_1 > limit or r.exposed_flagged >= profile.exposed_flagged_review:
        status = "review"
    else:
        status = "pass"
    return Check(
        "membership_inference", "Telling who was in the training data", "record", status, r.tpr_at_1,
        f"true-positive rate at 1% false positives <= {limit:.0%} (fail when its 95% interval lies above 1%, "
        f"the rate of guessing); review when {profile.exposed_flagged_review}+ of the {r.exposed} most exposed "
        "children are flagged",
        f"A density attack (DOMIAS, synthetic over reference density, k={r.k} nearest neighbours) finds "
        f"{r.tpr_at_1:.1%} of training children at a 1% false-positive rate (95% interval {r.ci_1[0]:.1%} to "
        f"{r.ci_1[1]:.1%}; guessing finds 1%) and {r.tpr_at_10:.1%} at 10% (guessing: 10%); AUC {r.auc:.2f}. Of the "
        f"{r.exposed} training children farthest from any other real child, {r.exposed_flagged} are flagged at 1%.",
        {"attack": "DOMIAS density ratio, k-nearest-neighbour densities", "k": r.k,
         "tpr_at_1pct_fpr": round(r.tpr_at_1, 4), "ci95_at_1pct": [round(x, 4) for x in r.ci_1],
         "tpr_at_10pct_fpr": round(r.tpr_at_10, 4), "ci95_at_10pct": [round(x, 4) for x in r.ci_10],
         "auc": round(r.auc, 4), "members": r.members, "non_members": r.non_members,
         "most_exposed": r.exposed, "most_exposed_flagged": r.exposed_flagged},
        public_explanation="A membership attack cannot tell which real children the generator learnt from better "
                           "than the threshold allows." if status == "pass" else None)


def anonymeter_checks(syn: pd.DataFrame, train: pd.DataFrame, hold: pd.DataFrame, profile: Profile,
                      rng: np.random.Generator) -> list[Check]:
    """Singling-out, linkability and attribute-inference risks (anonymeter), with 95% intervals."""
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    cols = ["sex", "ethnicity_group", "age_at_first_contact", "disability", "uasc", "first_path", "n_episodes",
            "deepest"]

    size = min(len(train), len(syn), len(hold), MAX_ANONYMETER_ROWS)  # equal-sized sets, as anonymeter assumes

    def sample(df: pd.DataFrame) -> pd.DataFrame:
        take = rng.choice(len(df), size, replace=False)
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
            ("singling_out_multivariate", "Singling out one child by a combination", SinglingOutEvaluator(
                ori=ori, syn=syn_s, control=ctl, n_attacks=n_attacks, n_cols=3, seed=seed), {"mode": "multivariate"},
             "whether combinations of three attributes seen in the synthetic data fit exactly one real child"),
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
                # An interval wider than the gap between the pass and fail thresholds cannot tell a
                # safe release from an unsafe one: undetermined, so a person decides.
                low_pass, high_fail = profile.anonymeter_risk
                undetermined = ci[1] - ci[0] > high_fail - low_pass
                status = ("fail" if ci[0] > high_fail else "review" if undetermined or value > low_pass
                          else "pass")
                text = (f"Anonymeter measures {what}, beyond what unseen children allow: risk {value:.3f} "
                        f"(95% interval {ci[0]:.3f} to {ci[1]:.3f})."
                        + (f" Undetermined: with {n_attacks} attacks the interval is wider than "
                           f"{high_fail - low_pass:.2f}, too wide to decide; a reviewer should judge."
                           if undetermined and status != "fail" else ""))
            except Exception as exc:  # anonymeter refuses some degenerate inputs; a human must look
                value, ci, status = float("nan"), [None, None], "review"
                text = f"Anonymeter could not evaluate {what} ({type(exc).__name__}); a reviewer should look."
            results.append(Check(name, title, "record", status, value,
                                 f"risk <= {profile.anonymeter_risk[0]} (fail when the 95% interval lies above "
                                 f"{profile.anonymeter_risk[1]})",
                                 text, {"ci95": ci, "attacks": n_attacks, "rows_per_set": size,
                                        "library": "anonymeter"}))
    return results
