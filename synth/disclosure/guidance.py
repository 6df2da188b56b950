"""How a person judges each gate check: what it protects against and what to look for.

Every check the gate makes carries its entry here as `guidance` in the full report (`Check.to_dict`), so
that a reviewer meeting a "review" verdict reads, next to the finding, what harm the check guards against
and which figures of the finding decide whether the release is safe enough. Texts hold no figure of any
release (they are the same for every report); the finding's own explanation gives the figures.
"""

from __future__ import annotations

GUIDANCE: dict[str, dict[str, str]] = {
    # -- record checks (synthetic releases) ------------------------------------------------------
    "real_children": {
        "protects_against": "A synthetic child who is in fact a real child, copied or lightly disguised: someone "
                            "who knows a few facts about a child (age, when they were referred) could recognise "
                            "them and read the rest of their journey.",
        "look_for": "Compare the near matches with the number chance explains: a small excess is noise, an excess "
                    "several standard errors above chance is copying. Look at which strata hold the matches (journeys "
                    "few real children share are the ones that identify), whether training children are reproduced "
                    "more than held-out ones, and the share near the window's edges. Return the release (fewer "
                    "children, or a differentially private model) when the excess sits in the rare strata.",
    },
    "verbatim_copies": {
        "protects_against": "Exact copies of real children (attributes, age, journey and every date), above all of "
                            "children with a unique record, who can be identified from the copy alone.",
        "look_for": "The exact matches against those expected by chance, stratum by stratum: matches among children "
                    "whose record is unique, beyond chance, are the strongest sign of copying. A p-value just under "
                    "the pass threshold with matches only in common strata is usually chance; an excess among unique "
                    "records is a reason to return the release.",
    },
    "distance_to_closest_record": {
        "protects_against": "A generator that memorised its training children (a sanity check only: it can miss real "
                            "leakage and never fails a release on its own).",
        "look_for": "A share near one half is ideal. Above the threshold, read the membership and real-children "
                    "checks: if both pass, synthetic children sitting slightly closer to training children is expected "
                    "of any generator and is not by itself a reason to refuse.",
    },
    "membership_inference": {
        "protects_against": "Learning that a particular child was in the council's records (being known to children's "
                            "social care is itself sensitive), by telling training children from unseen ones.",
        "look_for": "The share of training children the attack finds at the low false-positive rate, against the "
                    "share guessing finds, and its interval: an interval reaching down to guessing means the attack "
                    "may be no better than chance. If only the most "
                    "exposed children are flagged, those are outliers (unusual attributes or journeys): consider "
                    "whether they could be recognised, and return the release if so.",
    },
    "singling_out": {
        "protects_against": "Using the synthetic data to write a description (one attribute value) that fits exactly "
                            "one real child, who is then singled out.",
        "look_for": "The risk and its interval. 'Undetermined' means too few attacks for the interval to decide "
                    "(small councils): judge with the record checks, which see every child. A risk above the pass "
                    "threshold with a narrow interval is a reason to return the release.",
    },
    "singling_out_multivariate": {
        "protects_against": "Singling out one real child by a combination of three attributes seen in the synthetic "
                            "data (for example sex, age and the first step of the journey).",
        "look_for": "As for singling out: the risk, its interval, and whether it is undetermined for want of attacks. "
                    "Combinations are riskier for small groups (disabled or asylum-seeking children): weigh that "
                    "against the release's recipients and purpose.",
    },
    "linkability": {
        "protects_against": "Joining two partial records of the same real child (one with their details, one with "
                            "their journey) with the synthetic data's help.",
        "look_for": "The risk and its interval against the pass threshold; an undetermined result on a small council "
                    "is decided by the real-children and exact-copies checks. A clear risk matters most when the "
                    "recipients could hold other records about the same children.",
    },
    "attribute_inference": {
        "protects_against": "Learning something new about a child (how far their journey went, for example to a "
                            "child protection plan) from details an attacker already knows.",
        "look_for": "The risk and its interval. Some inference is the point of a faithful release (patterns across "
                    "children); what matters is inference about one child beyond what unseen children allow, which is "
                    "what the risk measures. Return the release when the interval lies clearly above the pass threshold.",
    },
    "rare_values": {
        "protects_against": "An unusual number of days (a very long plan, a very short assessment) that only a few real "
                            "children have, repeated in the synthetic data, which can identify them.",
        "look_for": "Reviewed only for differentially private generators, whose tails are noise: how many values lie "
                    "beyond the bounds and for which moves. Values spread beyond the bound are noise; values that "
                    "repeat a real child's exact figure for a rare move are not, and are a reason to return.",
    },
    # -- aggregate checks (every release's map; aggregate releases) -------------------------------
    "synthetic_map": {
        "protects_against": "A synthetic release's map carrying figures from the real records rather than from its "
                            "own synthetic children.",
        "look_for": "Pass or fail only: the map is recomputed from the release's synthetic tables and must match.",
    },
    "small_cells": {
        "protects_against": "Published counts of very few children, who could be recognised from them.",
        "look_for": "Pass or fail only: every published count is zero or at least the threshold; small ones are "
                    "withheld.",
    },
    "zeros": {
        "protects_against": "A zero that tells that none of a small group took a route (and so what every child of "
                            "that group did).",
        "look_for": "Pass or fail only: zeros in small views are withheld.",
    },
    "secondary_suppression": {
        "protects_against": "Working out a withheld count by subtracting the published ones from a published total.",
        "look_for": "Pass or fail only: every total with withheld parts has at least two of them withheld.",
    },
    "rounding": {
        "protects_against": "Small differences between published figures revealing individual children.",
        "look_for": "Pass or fail only: counts and totals are multiples of the profile's rounding bases.",
    },
    "durations": {
        "protects_against": "A median or mean number of days that rests on so few children that it is one child's "
                            "figure.",
        "look_for": "Pass or fail only: medians and quartiles over enough children, means under the dominance rule.",
    },
    "differencing": {
        "protects_against": "Recovering a withheld count by comparing this release with earlier published releases "
                            "of the same data.",
        "look_for": "Pass or fail only: no count withheld in one release is published in another or recoverable by "
                    "subtraction across them.",
    },
}
UNKNOWN = {"protects_against": "This check has no guidance yet.",
           "look_for": "Read its finding and threshold, and ask the data owner what it measures."}


def guidance_for(name: str) -> dict[str, str]:
    """The guidance of a check by its name (a report written before a check had guidance gets it here)."""
    return dict(GUIDANCE.get(name, UNKNOWN))


def markdown_table() -> str:
    """Every check's guidance as a Markdown table (docs/reviewers.md holds it; a test keeps the two the same)."""
    rows = ["| check | what it protects against | what to look for |", "|---|---|---|"]
    rows += [f"| `{name}` | {g['protects_against']} | {g['look_for']} |" for name, g in GUIDANCE.items()]
    return "\n".join(rows) + "\n"
