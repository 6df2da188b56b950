"""Near matches between synthetic and real children: is a synthetic child really a real one?

A motivated intruder who knows a real child (sex, ethnicity, roughly their age, whether disabled or
an unaccompanied asylum seeker) and roughly when things happened to them looks for a synthetic child
who fits. A released real child, or a real child lightly disguised (age moved by a year, every date
moved by a day or two, durations stretched a little), is found that way. So a synthetic child
*near-matches* a real child when:
- sex, ethnicity group, disability and UASC are the same, and so is the whole journey (every episode's
  stages in order);
- the age differs by at most `age_years`;
- the first event is at most `date_days` apart, and every later event's time since that first event
  differs by at most `date_days` or `duration_share` of it, whichever is larger.
An *exact* match has the same age and every date the same.

Chance matches are real: many children take the same short journey, and a good generator makes
children like them on the same days. What chance explains is measured on the same real children
moved in time by whole weeks (`NULL_SHIFTS`): a week keeps the weekday pattern and the season, and is
more than twice the date tolerance, so a copy of a real child never matches its shifted original. The
generator cannot have copied a shifted child, so the matches found there are chance alone, at the
same density of real children, whichever real children (training or held-out) were released.

Matching is vectorised: real children are sorted by (exact key, first day); each synthetic child's
candidates are the real children with its key within `date_days` of its first day (two binary
searches), and the day-by-day comparison runs over the candidate pairs' events at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

KEY_COLUMNS = ("sex", "ethnicity_group", "disability", "uasc")
NULL_SHIFTS = (-28, -21, -14, -7, 7, 14, 21, 28)
NO_AGE = -99


@dataclass(frozen=True)
class Tolerance:
    """How far a disguised copy may differ from the real child and still count as that child."""

    age_years: int = 1
    date_days: int = 3
    duration_share: float = 0.10


@dataclass
class Timelines:
    """Children as arrays: exact key code, age, first day, and every event's day (CSR by child)."""

    child_key: np.ndarray
    key: np.ndarray  # int64 code of (attributes, journey), shared between the sets being compared
    age: np.ndarray
    first_day: np.ndarray
    ptr: np.ndarray  # events of child i are days[ptr[i]:ptr[i + 1]]
    days: np.ndarray  # days since the window start, in journey order

    def __len__(self) -> int:
        return len(self.child_key)

    def shifted(self, days: int) -> Timelines:
        return Timelines(self.child_key, self.key, self.age, self.first_day + days, self.ptr, self.days + days)


def journey_strings(episodes: pd.DataFrame) -> pd.Series:
    """Each child's whole journey: every episode's path in order."""
    eps = episodes.sort_values(["child_key", "episode_no"], kind="mergesort")
    return eps.groupby("child_key", sort=False)["path"].agg("|".join)


def timelines(children: pd.DataFrame, events: pd.DataFrame, episodes: pd.DataFrame, window_start: pd.Timestamp,
              codes: dict | None = None) -> tuple[Timelines, dict]:
    """Children with their journeys as arrays. `codes` maps exact keys to integers; pass the dict
    returned for one set when building another so that equal keys get equal codes."""
    codes = {} if codes is None else codes
    journey = journey_strings(episodes)
    c = children.set_index("child_key").reindex(journey.index)
    key_text = c[list(KEY_COLUMNS)].astype(str).agg("|".join, axis=1) + "#" + journey
    uniq = pd.unique(key_text.to_numpy())
    for k in uniq:
        if k not in codes:
            codes[k] = len(codes)
    key = key_text.map(codes).to_numpy(np.int64)
    age = pd.to_numeric(c["age_at_first_contact"], errors="coerce").fillna(NO_AGE).to_numpy(np.int64)
    ev = events[events["child_key"].isin(journey.index)]
    ev = ev.assign(order=ev["child_key"].map(pd.Series(np.arange(len(journey)), index=journey.index)))
    ev = ev.sort_values(["order", "episode_no", "step"], kind="mergesort")
    days = (ev["date"] - window_start).dt.days.to_numpy(np.int64)
    counts = np.bincount(ev["order"].to_numpy(), minlength=len(journey))
    ptr = np.concatenate([[0], np.cumsum(counts)])
    first = days[ptr[:-1]] if len(days) else np.zeros(len(journey), np.int64)
    return Timelines(journey.index.to_numpy(), key, age, first, ptr, days), codes


def _expand(starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranges [start, start + length) laid end to end: (which range, position) of every element."""
    owner = np.repeat(np.arange(len(lengths)), lengths)
    lengths = np.asarray(lengths, dtype=np.int64)
    offset = np.repeat(np.cumsum(lengths) - lengths, lengths)  # also right for no range at all
    return owner, np.asarray(starts, dtype=np.int64)[owner] + np.arange(len(owner)) - offset


def _candidate_pairs(syn: Timelines, real: Timelines, date_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (synthetic, real) with the same exact key and first days within `date_days`."""
    span = np.int64(1 << 24)  # first days are offsets of a few thousand days at most
    real_code = real.key * span + (real.first_day + span // 2)
    order = np.argsort(real_code, kind="mergesort")
    sorted_code = real_code[order]
    syn_code = syn.key * span + (syn.first_day + span // 2)
    lo = np.searchsorted(sorted_code, syn_code - date_days, side="left")
    hi = np.searchsorted(sorted_code, syn_code + date_days, side="right")
    s_idx, pos = _expand(lo, hi - lo)
    return s_idx, order[pos]


def matching_pairs(syn: Timelines, real: Timelines, tol: Tolerance = Tolerance()):
    """Every (synthetic, real) pair that near-matches, and whether it matches exactly."""
    s_idx, r_idx = _candidate_pairs(syn, real, tol.date_days)
    both_known = (syn.age[s_idx] != NO_AGE) & (real.age[r_idx] != NO_AGE)
    keep = np.where(both_known, np.abs(syn.age[s_idx] - real.age[r_idx]) <= tol.age_years,
                    syn.age[s_idx] == real.age[r_idx])
    s_idx, r_idx = s_idx[keep], r_idx[keep]
    same_age = syn.age[s_idx] == real.age[r_idx]
    # Day by day over every candidate pair's events (equal keys mean equal numbers of events).
    pair, s_pos = _expand(syn.ptr[s_idx], syn.ptr[s_idx + 1] - syn.ptr[s_idx])
    d_s = syn.days[s_pos]
    d_r = real.days[s_pos - syn.ptr[s_idx][pair] + real.ptr[r_idx][pair]]
    el_s = d_s - syn.first_day[s_idx][pair]
    el_r = d_r - real.first_day[r_idx][pair]
    allowed = np.maximum(tol.date_days, tol.duration_share * np.abs(el_r))
    too_far = np.bincount(pair, weights=(np.abs(el_s - el_r) > allowed), minlength=len(s_idx)) > 0
    differs = np.bincount(pair, weights=(d_s != d_r), minlength=len(s_idx)) > 0
    near = ~too_far
    return s_idx[near], r_idx[near], (same_age & ~differs)[near]


@dataclass
class Matches:
    """For each synthetic child: whether it near-matches / exactly matches a real child of the set."""

    near: np.ndarray  # bool per synthetic child
    exact: np.ndarray
    real_near: np.ndarray  # bool per real child: some synthetic child near-matches it


def match(syn: Timelines, real: Timelines, tol: Tolerance = Tolerance()) -> Matches:
    """Near and exact matches of synthetic children against real ones."""
    s_idx, r_idx, exact = matching_pairs(syn, real, tol)

    def flag(idx, mask, size):
        out = np.zeros(size, bool)
        out[idx[mask]] = True
        return out

    everything = np.ones(len(s_idx), bool)
    return Matches(flag(s_idx, everything, len(syn)), flag(s_idx, exact, len(syn)), flag(r_idx, everything, len(real)))


def concat(parts: list[Timelines]) -> Timelines:
    """One set of children from several (their keys must share one code table)."""
    offsets = np.cumsum([0, *(len(p.days) for p in parts[:-1])])
    ptr = np.concatenate([[0], *((p.ptr[1:] + o) for p, o in zip(parts, offsets))])
    return Timelines(np.concatenate([p.child_key for p in parts]), np.concatenate([p.key for p in parts]),
                     np.concatenate([p.age for p in parts]), np.concatenate([p.first_day for p in parts]),
                     ptr, np.concatenate([p.days for p in parts]))


# Strata by how many real children share a synthetic child's exact key (attributes + journey).
# Chance matches crowd into the common keys; a copy of a child with a rare key stands out.
STRATA = (1, 2, 4, 10, 30, 100, 300)


@dataclass(frozen=True)
class Stratum:
    """Synthetic children whose key is shared by `from_children`+ real children: how many match."""

    from_children: int
    synthetic: int
    near: int
    near_chance: float
    exact: int
    exact_chance: float

    @property
    def real_share(self) -> float:
        """Share of this stratum's synthetic children that are real: matches beyond chance, over
        the children chance left unmatched."""
        return (self.near - self.near_chance) / max(self.synthetic - self.near_chance, 1.0)

    @property
    def variance(self) -> float:
        return max(self.near_chance, 1.0) / max(self.synthetic - self.near_chance, 1.0) ** 2

    @property
    def exact_p(self) -> float:
        """Chance of this many exact matches or more if chance alone made them (Poisson; the chance
        estimate is floored at half a child, as shifts that found none cannot prove zero)."""
        from scipy.stats import poisson

        if self.exact <= self.exact_chance:
            return 1.0
        return float(poisson.sf(self.exact - 1, max(self.exact_chance, 0.5)))


def combined_share(strata: list[Stratum]) -> tuple[float, float]:
    """Inverse-variance combination of the strata's real-share estimates, and its standard error."""
    used = [s for s in strata if s.synthetic]
    if not used:
        return 0.0, 1.0
    w = np.array([1 / s.variance for s in used])
    return float(np.sum(w * np.array([s.real_share for s in used])) / w.sum()), float(np.sqrt(1 / w.sum()))


@dataclass
class CloseCopies:
    """What near matching found, against chance, stratum by stratum."""

    synthetic: int
    strata: list[Stratum]
    training_reproduced: int  # real children with a synthetic near match, per part
    holdout_reproduced: int
    training_children: int
    holdout_children: int
    edge_strata: list[Stratum] = field(default_factory=list)  # children near the window's edges

    @property
    def edge_share(self) -> float:
        """The same estimate over the children near the window's edges, where chance is understated."""
        return combined_share(self.edge_strata)[0]

    @property
    def edge_synthetic(self) -> int:
        return sum(s.synthetic for s in self.edge_strata)

    @property
    def near(self) -> int:
        return sum(s.near for s in self.strata)

    @property
    def near_chance(self) -> float:
        return sum(s.near_chance for s in self.strata)

    @property
    def exact(self) -> int:
        return sum(s.exact for s in self.strata)

    @property
    def exact_chance(self) -> float:
        return sum(s.exact_chance for s in self.strata)

    @property
    def real_share(self) -> float:
        """Estimated share of the synthetic children that are real children, exact or near: the
        strata's estimates combined by inverse variance (a release with real children in it has
        them in every stratum, and the strata with few chance matches see them clearly)."""
        return combined_share(self.strata)[0]

    @property
    def real_share_se(self) -> float:
        return combined_share(self.strata)[1]

    @property
    def real_share_z(self) -> float:
        return self.real_share / self.real_share_se

    @property
    def exact_p(self) -> float:
        """The smallest stratum's exact-match p-value, Bonferroni-corrected over the strata."""
        return min(1.0, min((s.exact_p for s in self.strata), default=1.0) * len(STRATA))

    @property
    def membership_z(self) -> float:
        """Training children reproduced against held-out children reproduced, per child: a generator
        that memorised its training children reproduces more of them than of children it never saw."""
        p_t = self.training_reproduced / max(self.training_children, 1)
        p_h = self.holdout_reproduced / max(self.holdout_children, 1)
        pooled = (self.training_reproduced + self.holdout_reproduced) / max(
            self.training_children + self.holdout_children, 1)
        se = np.sqrt(max(pooled * (1 - pooled), 1e-12) * (1 / max(self.training_children, 1) +
                                                         1 / max(self.holdout_children, 1)))
        return float((p_t - p_h) / se)


def edge_zones(syn: Timelines, window_days: int | None, tol: Tolerance = Tolerance()) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic children with an event within the null shifts' reach of the window's start, and of its end.

    There chance cannot be measured by moving real children in time: journeys still open at the
    window's end crowd into its last weeks, so a genuine sample matches there more often than the
    moved real children say, for training and held-out children alike (the gate benchmark reports
    the edge share of a genuine 150,000-children sample). These children are judged apart, with a
    looser rule (`CloseCopies.edge_share`)."""
    reach = int(np.max(np.abs(NULL_SHIFTS))) + tol.date_days
    last = syn.days[syn.ptr[1:] - 1] if len(syn.days) else syn.first_day
    near_start = syn.first_day < reach
    near_end = np.zeros(len(syn), bool) if window_days is None else last > window_days - reach
    return near_start, near_end


def shift_weights(near_start: np.ndarray, near_end: np.ndarray) -> np.ndarray:
    """How much each null shift counts for each synthetic child (rows: shifts; columns sum to 1).

    Near the window's edges a shift that moves real children from outside the window in finds none
    there and would understate chance even more. A child whose journey starts within reach of the
    window's start uses only the shifts that bring real children in from later; one whose journey
    ends within reach of the window's end, only those from earlier; one near both (a journey across
    the whole window) uses all."""
    shifts = np.array(NULL_SHIFTS)[:, None]
    use = np.ones((len(NULL_SHIFTS), len(near_start)), bool)
    use[:, near_start & ~near_end] = shifts < 0  # real shifted back: they come from later in the window
    use[:, near_end & ~near_start] = shifts > 0
    return use / use.sum(axis=0, keepdims=True)


def close_copies(syn: Timelines, train: Timelines, hold: Timelines, tol: Tolerance = Tolerance(),
                 window_days: int | None = None) -> CloseCopies:
    """Near and exact matches against every real child, and what chance explains, per stratum.
    `window_days`: days from the window's start to its end (the edges' chance is measured one-sided)."""
    real = concat([train, hold])
    m = match(syn, real, tol)
    nulls = [match(syn, real.shifted(shift), tol) for shift in NULL_SHIFTS]
    near_start, near_end = edge_zones(syn, window_days, tol)
    weights = shift_weights(near_start, near_end)
    near_chance = (np.vstack([x.near for x in nulls]) * weights).sum(axis=0)
    exact_chance = (np.vstack([x.exact for x in nulls]) * weights).sum(axis=0)
    size = int(max(syn.key.max(initial=0), real.key.max(initial=0))) + 1
    sharing = np.bincount(real.key, minlength=size)[syn.key]
    stratum = np.searchsorted(np.array(STRATA), sharing, side="right")  # 0: no real child has the key
    edge = near_start | near_end

    def strata_of(zone: np.ndarray) -> list[Stratum]:
        out = []
        for k, lo in enumerate(STRATA, start=1):
            sel = (stratum == k) & zone
            out.append(Stratum(lo, int(sel.sum()), int(m.near[sel].sum()), float(near_chance[sel].sum()),
                               int(m.exact[sel].sum()), float(exact_chance[sel].sum())))
        return out

    n_train = len(train)
    return CloseCopies(len(syn), strata_of(~edge), int(m.real_near[:n_train].sum()),
                       int(m.real_near[n_train:].sum()), n_train, len(hold), strata_of(edge))
