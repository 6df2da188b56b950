"""Each dot's value under each classification, from the bundle's public columns.

Dots are children; classifications that belong to journeys (team, referral source) take the
child's first journey; repeat number is how many journeys the child made in the window.
The labels match the map's views (map.json), which Frontdoor computed the same way per journey.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SOURCE_GROUPS = {  # CIN census source code -> group label (as in the map's referral_source views)
    "1A": "Individuals", "1B": "Individuals", "1C": "Individuals", "1D": "Individuals", "2A": "Schools",
    "2B": "Education services", "3A": "Health services", "3B": "Health services", "3C": "Health services",
    "3D": "Health services", "3E": "Health services", "3F": "Health services", "4": "Housing",
    "5A": "LA services", "5B": "LA services", "5C": "LA services", "5D": "LA services", "6": "Police",
    "7": "Other legal agency", "8": "Other", "9": "Anonymous", "10": "Unknown",
}
MISSING_BANDS = ((0, "None recorded"), (1, "1"), (2, "2-5"), (6, "6+"))


def _missing_band(n: pd.Series) -> pd.Series:
    n = pd.to_numeric(n, errors="coerce").fillna(0)
    out = pd.Series(MISSING_BANDS[0][1], index=n.index, dtype=object)
    for low, label in MISSING_BANDS[1:]:
        out[n >= low] = label
    return out


def child_values(children: pd.DataFrame, episodes: pd.DataFrame, classifications: list[str]) -> pd.DataFrame:
    first = episodes.sort_values(["child_key", "episode_no"]).drop_duplicates("child_key").set_index("child_key")
    n_eps = episodes.groupby("child_key").size()
    ch = children.set_index("child_key")
    values = {
        "repeat": n_eps.reindex(ch.index).fillna(1).clip(upper=5).astype(int).astype(str).replace("5", "5+"),
        "age_band": ch["age_band"].astype(str),
        "sex": ch["sex"].fillna("not_stated").astype(str),
        "ethnicity_group": ch["ethnicity_group"].fillna("Not known").astype(str),
        "disability": ch["disability"].fillna("unknown").astype(str),
        "uasc": ch["uasc"].fillna("no").astype(str),
        "referral_source": first["source"].reindex(ch.index).astype(str).map(SOURCE_GROUPS).fillna("Not recorded"),
        "team": first["team"].reindex(ch.index).fillna("Not recorded").astype(str),
        "missing": _missing_band(ch["missing_episodes"]),
    }
    out = pd.DataFrame({"child_key": ch.index.to_numpy()})
    for name in classifications:
        if name in values:
            out[name] = np.asarray(values[name])
    return out
