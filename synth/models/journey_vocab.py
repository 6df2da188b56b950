"""The journey model's public vocabulary: stage tokens, the contexts it conditions on, its day bins,
and their integer codes. Fixed in the code, never read off data: the count tables
(synth.models.journey_tables), their private twins (synth.models.private_journey) and the sampler
(synth.models.journey_sampler) all speak it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.models import prepare
from synth.schema import AGE_BANDS, SOURCE_GROUP_LABELS
from synth.stages import EXIT_STAGES, GRAMMAR, HARD_EXITS, STAGES, START_STAGES

START, LC_START, END = "START", "LC_START", "END"
TOKENS = (*STAGES, START, LC_START, END)
TOK = {t: i for i, t in enumerate(TOKENS)}
LC_STAGES = tuple(s for s in STAGES if s not in START_STAGES and s not in HARD_EXITS)

VOCAB = {
    "prev": TOKENS,
    "cur": TOKENS,
    "history": ("1", "20", "21", "30", "31", "32", "40", "41", "42", "2y", "2n"),
    "age_band": (*AGE_BANDS, "Not known"),
    "intensity": ("0", "1", "2", "3"),
    "source": (*SOURCE_GROUP_LABELS.values(), "Not recorded"),  # the episode's referral source group
    "disability": ("yes", "no", "unknown"),  # a context only once a journey reached the lists recording it
    "next": TOKENS,
}
# Contexts, finest first. Child attributes: the age band, and disability only where a journey has
# reached the lists that record it (assessment on: DISABILITY_STAGES); below them it is "*", since a
# disability is recorded *because* of where a journey went. UASC status and missing episodes are
# drawn after the journey (synth.models.attributes.RecordedAttributes). The episode's source group
# is drawn when it starts, by the child's age band and the episode's history. Each level learns
# from what the finer ones left (journey_tables.level_rows); the levels without the source carry
# factors by (stage, source group, next) fitted on the moves that back off to them
# (journey_tables.source_factors).
LEVELS = (
    ("prev", "cur", "history", "intensity", "age_band", "source", "disability"),
    ("prev", "cur", "history", "intensity", "age_band", "disability"),
    ("prev", "cur", "history", "intensity", "disability"),
    ("prev", "cur", "source", "disability"),
    ("prev", "cur", "intensity"),
    ("prev", "cur"),
    ("cur",),
)
DISABILITY_STAGES = prepare.ASSESSED_STAGES
DISABILITY_TOKS = np.array([TOK[s] for s in DISABILITY_STAGES])
DURATION_LEVELS = (("prev", "cur", "next"), ("cur", "next"), ("cur",))

# Day bins (public, fixed): single days to two months, then coarser. A value is drawn uniformly
# within its bin, so the tails never repeat a real child's exact number of days.
DAY_BINS = np.array([*range(0, 61), *range(70, 181, 10), *range(210, 366, 30), *range(425, 731, 60),
                     *range(820, 1461, 90), 1826, 2557, 3653], dtype=np.int64)
# Under differential privacy, fewer and wider bins: each bin pays the same noise.
DP_DAY_BINS = np.array([0, 1, 2, 4, 7, 14, 21, 28, 35, 42, 56, 70, 90, 120, 180, 270, 365, 540, 730, 1095, 1460, 3653],
                       dtype=np.int64)
START_BIN_DAYS = 7
INTENSITY_START_BINS = 13  # per-intensity start histograms count quarters (13 weeks)
MIN_INTENSITY_CHILDREN = 20
LC_OFFSET_BINS = np.arange(0, 3653 + 30, 30)
# No rare value is learnt (not private): day values are top- and bottom-coded at the k-th most
# extreme child and every day bin kept holds at least k children. k is the release gate's
# (synth.disclosure.extremes.RARE_K), not rare_threshold: coding both ends at a larger k squashes a
# move of fewer than 2k children below the gate's lower end.
TAIL_CHILDREN = 10


def allowed_next(cur: str) -> tuple[str, ...]:
    """Tokens that may follow `cur` (the grammar, plus END after an exit)."""
    if cur == START:
        return tuple(sorted(START_STAGES))  # a frozenset: its order changes with each process's string hashing
    if cur == LC_START:
        return LC_STAGES
    nxt = tuple(sorted(GRAMMAR[cur]))
    return (*nxt, END) if cur in EXIT_STAGES else nxt


def encode(values: pd.Series | np.ndarray, var: str) -> np.ndarray:
    """Each value's index in VOCAB[var]; a value outside it gets len(VOCAB[var])."""
    vocab = VOCAB[var]
    lookup = {v: i for i, v in enumerate(vocab)}
    return pd.Series(values).map(lookup).fillna(len(vocab)).to_numpy(dtype=np.int64)


def pack(codes: dict[str, np.ndarray], level: tuple[str, ...]) -> np.ndarray:
    """One integer per row for a context: its variables' codes, five bits each."""
    key = np.zeros(len(codes[level[0]]), dtype=np.int64)
    for i, var in enumerate(level):
        key |= codes[var] << (5 * i)
    return key


def bin_of(days: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of `edges` each day falls in (the first and last bins take what lies beyond)."""
    return np.clip(np.searchsorted(edges, days, side="right") - 1, 0, len(edges) - 2)


def transition_domain() -> pd.DataFrame:
    """Every (prev, cur, next) the grammar allows: the fixed domain of the private histograms."""
    rows = []
    for cur in (*STAGES, START, LC_START):
        if cur in (START, LC_START):
            prevs = [START]
        else:
            prevs = [p for p in STAGES if cur in GRAMMAR[p]]
            if cur in START_STAGES:
                prevs.append(START)
            if cur in LC_STAGES:
                prevs.append(LC_START)
        for p in prevs:
            for nxt in allowed_next(cur):
                rows.append((p, cur, nxt))
    return pd.DataFrame(rows, columns=["prev", "cur", "next"])
