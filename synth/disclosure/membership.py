"""Membership inference: can an attacker tell which real children the generator trained on?

The attack is DOMIAS's (van Breugel et al., AISTATS 2023): a generator that overfits puts more
synthetic density near its training children than the population has there, so the attacker scores a
child by the density of the synthetic data at the child over the density of real reference children
at the child, p_syn(x) / p_ref(x). Densities here are k-nearest-neighbour estimates in the gate's
feature space (one row per child: attributes, journey, timing), for k = 1 (the GAN-leaks calibrated
attack is this ratio's k = 1 case) and k = 5, and the stronger of the two is reported. The `domias`
package's own estimators (a BNAF flow or Gaussian KDE, trained inside its CTGAN benchmark loop)
need continuous features and minutes of training; the nearest-neighbour estimate handles the
one-hot journey features and runs in seconds.

Reference and targets are disjoint: half of the held-out children are the reference p_ref, the
other half are the non-members the attack is scored on, against as many training children (members).
Reported as the field reports it: the true-positive rate at 1% and 10% false-positive rate (Carlini
et al., "Membership inference attacks from first principles"), with 95% Clopper-Pearson intervals,
and the AUC. The most exposed children (the training children farthest from any other real child,
the ones an attacker would target) are scored too: how many of them the attack flags at 1% FPR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KS = (1, 5)
MAX_ATTACK_ROWS = 5_000
MAX_SYNTHETIC_ROWS = 20_000
EXPOSED = 10


@dataclass
class AttackResult:
    tpr_at_1: float
    tpr_at_10: float
    ci_1: tuple[float, float]
    ci_10: tuple[float, float]
    auc: float
    k: int
    members: int
    non_members: int
    exposed_flagged: int  # of the most exposed training children, how many the attack flags at 1% FPR
    exposed: int


def clopper_pearson(hits: int, n: int, level: float = 0.95) -> tuple[float, float]:
    from scipy.stats import beta

    if n == 0:
        return 0.0, 1.0
    a = (1 - level) / 2
    lo = 0.0 if hits == 0 else float(beta.ppf(a, hits, n - hits + 1))
    hi = 1.0 if hits == n else float(beta.ppf(1 - a, hits + 1, n - hits))
    return lo, hi


def _kth_distance(query: np.ndarray, ref: np.ndarray, k: int, exclude_self: bool = False) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    k_eff = min(k + exclude_self, len(ref))
    d = NearestNeighbors(n_neighbors=k_eff).fit(ref).kneighbors(query)[0]
    return d[:, -1]


def tpr_at(scores_members: np.ndarray, scores_non: np.ndarray, fpr: float) -> tuple[float, int, float]:
    """TPR at a false-positive rate: the threshold is the non-members' (1 - fpr) quantile, and only
    scores strictly above it count (ties never help the attacker)."""
    threshold = float(np.quantile(scores_non, 1 - fpr, method="higher"))
    hits = int(np.sum(scores_members > threshold))
    return hits / max(len(scores_members), 1), hits, threshold


def domias_attack(members: np.ndarray, non_members: np.ndarray, reference: np.ndarray, synthetic: np.ndarray,
                  exposed: np.ndarray | None = None) -> AttackResult:
    """The density-ratio attack on feature rows (members: training; non-members and reference:
    disjoint halves of the held-out children). `exposed`: indices of the members to report apart."""
    from sklearn.metrics import roc_auc_score

    best = None
    dims = members.shape[1]

    def score(x: np.ndarray, k: int) -> np.ndarray:
        # log p_syn - log p_ref for k-NN densities: dims * (log r_ref - log r_syn) + constants.
        r_syn = _kth_distance(x, synthetic, k)
        r_ref = _kth_distance(x, reference, k)
        return dims * (np.log(r_ref + 1e-3) - np.log(r_syn + 1e-3)) + np.log(len(synthetic) / len(reference))

    for k in KS:
        s_m, s_n = score(members, k), score(non_members, k)
        t1, h1, thr1 = tpr_at(s_m, s_n, 0.01)
        t10, h10, _ = tpr_at(s_m, s_n, 0.10)
        auc = float(roc_auc_score(np.r_[np.ones(len(s_m)), np.zeros(len(s_n))], np.r_[s_m, s_n]))
        flagged = int(np.sum(s_m[exposed] > thr1)) if exposed is not None else 0
        result = AttackResult(t1, t10, clopper_pearson(h1, len(s_m)), clopper_pearson(h10, len(s_m)), auc, k,
                              len(s_m), len(s_n), flagged, 0 if exposed is None else len(exposed))
        if best is None or (result.tpr_at_1, result.tpr_at_10) > (best.tpr_at_1, best.tpr_at_10):
            best = result
    return best


def most_exposed(train_features: np.ndarray, all_real_features: np.ndarray, n: int = EXPOSED) -> np.ndarray:
    """Indices of the training children farthest from their nearest other real child."""
    d = _kth_distance(train_features, all_real_features, 1, exclude_self=True)
    return np.argsort(-d, kind="mergesort")[:n]
