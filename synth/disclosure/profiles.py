"""Threshold sets for the release gate, named and versioned (DOMAIN.md section 5).

| profile | who uses it | cells | rounding | zeros | medians | dominance |
|---|---|---|---|---|---|---|
| default | Frontdoor | fewer than 10 children suppressed | counts to 5, totals to 10 | suppressed in views under 50 children | 10+ children | n=2, k=90% |
| dfe | DfE children's social care statistics | 1-5 suppressed (shown as c) | totals to 10 | kept | 10+ children | n=2, k=90% |
| opensafely | OpenSAFELY output checking | 7 or fewer redacted | everything to 5 | kept | 10+ children | n=2, k=90% |
| acro | ACRO/SACRO output checking in TREs | fewer than 10 contributors | counts to 5, totals to 10 | always suppressed | 10+ children | n=2, k=90%; p-ratio 10% |

Record-level thresholds are the same in every profile: they concern the synthetic children, not
the tables. A check is `review` between its pass and fail thresholds. Real children in the release
(exact or near copies, against every real child): from an estimated 0.1% of the synthetic children, fail when
that is 2.5+ standard errors above chance, else review; exact copies beyond chance fail at p < 0.001. Membership
inference fails above 3% true positives at 1% false positives (when significant). Anonymeter's risks
fail only when their whole 95% interval lies above the fail threshold. Version 2.0 of every profile
brought the near-match, exact-copy and membership rules (issue 11); 2.1 fails a significant excess of real
children from 0.1% rather than from 0.5% (a 0.5% leak estimated just under 0.5% went to review).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from synth.errors import DisclosureError


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    description: str
    min_cell: int  # publish a count only if at least this many children
    round_counts: int  # round published counts to a multiple of this (1: no rounding)
    round_totals: int  # round totals (node children, split totals) to this
    zero_view_size: int | None  # suppress zeros in views (filtered splits) with fewer children; None: keep zeros
    zeros_always_disclosive: bool
    min_children_for_median: int = 10
    dominance_n: int = 2
    dominance_k: float = 0.90
    p_ratio: float | None = None
    # Record-level. Estimated share of the synthetic children that are real: below it, pass; at or above it,
    # fail when the excess over chance is significant (`significance_z`), else review. (Until profile 2.1 a
    # release failed only from 0.5% *and* significant: a 0.5% leak, estimated at 0.48% +/- 0.16%, z 3.0, was
    # sent to review on one pseudonym key and failed on another.)
    real_share: float = 0.001
    # Children near the window's edges, where chance is understated (the gate benchmark reports a
    # genuine 150,000-children sample's edge share): (review, fail) on their own estimate.
    edge_real_share: tuple[float, float] = (0.02, 0.05)
    significance_z: float = 2.5  # a share above the pass threshold fails when this many standard errors above chance
    verbatim_p: tuple[float, float] = (0.01, 0.001)  # exact copies: review below the first p-value, fail below the second
    mia_tpr_at_1pct: float = 0.03  # membership attack: true-positive rate at 1% false positives
    exposed_flagged_review: int = 2  # of the 10 most exposed training children flagged at 1% FPR
    dcr_share: float = 0.55  # distance to closest record, a sanity check only: review above it, never fail
    anonymeter_risk: tuple[float, float] = (0.05, 0.15)

    def to_dict(self) -> dict:
        return asdict(self)


PROFILES: dict[str, Profile] = {
    "default": Profile("default", "2.1", "Frontdoor's own rules: rule of 10, rounding to 5 and 10, zeros in small views "
                       "suppressed.", min_cell=10, round_counts=5, round_totals=10, zero_view_size=50,
                       zeros_always_disclosive=False),
    "dfe": Profile("dfe", "2.1", "DfE children's social care statistics: counts of 1 to 5 shown as c, with secondary "
                   "suppression; totals rounded to the nearest 10.", min_cell=6, round_counts=1, round_totals=10,
                   zero_view_size=None, zeros_always_disclosive=False),
    "opensafely": Profile("opensafely", "2.1", "OpenSAFELY: counts of 7 or fewer redacted, everything else rounded "
                          "to the nearest 5.", min_cell=8, round_counts=5, round_totals=5, zero_view_size=None,
                          zeros_always_disclosive=False),
    "acro": Profile("acro", "2.1", "ACRO/SACRO output checking: at least 10 contributors per cell, zeros treated as "
                    "disclosive, dominance n=2 k=90%, p-ratio 10%.", min_cell=10, round_counts=5, round_totals=10,
                    zero_view_size=None, zeros_always_disclosive=True, p_ratio=0.10),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise DisclosureError(f"unknown disclosure profile '{name}'; choose one of: {', '.join(PROFILES)}.") from None
