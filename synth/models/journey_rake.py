"""Raking the journey sampler to the training children's next-stage rates (not private): factors
per margin cell and next stage, fitted by walking the training children's own contexts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.models.attributes import RecordedAttributes
from synth.models.journey_sampler import JourneySampler
from synth.models.journey_vocab import DISABILITY_STAGES
from synth.stages import STAGES

# Raking (see `rake`): the margins whose next-stage rates the sampler is raked to, rounds, and
# training children's contexts walked per round.
RAKE_MARGINS = (("cur",), ("cur", "age_band"), ("cur", "source"), ("cur", "history"), ("cur", "disability"))
RAKE_ROUNDS = 4
RAKE_CHILDREN = 60_000
RAKE_MIN_MOVES = 50  # real moves out of a margin cell before it is raked to


def rake(sampler: JourneySampler, recorded: RecordedAttributes, rng: np.random.Generator, ctx: pd.DataFrame,
         moves: pd.DataFrame, min_children: int) -> tuple[pd.DataFrame, list[tuple[str, ...]]]:
    """Rake the sampler to the training children's next-stage rates on each of RAKE_MARGINS: the
    factor table (also set on `sampler`, round by round) and the margins raked to.

    The tables reproduce each context's moves, but a context of few children backs off to a
    coarser one, which loses that context's effect (an ICPC rate that depends on the referral
    source, where the level kept holds age and repeats but not source), and what a sampled
    episode meets is the model's own mix of contexts, not the training children's (its
    repeats, its durations and so the window's cut), so every rate is a mixture over them.
    So the model walks the training children's own contexts, compares the next-stage shares
    with the real ones by stage, by stage and age band, source group, history and disability
    (only cells of `min_children` real children and RAKE_MIN_MOVES real moves), and multiplies the sampler's weights by a
    factor per (margin cell, next stage); a few rounds settle it (iterative proportional
    fitting by simulation, damped since the margins overlap). A factor multiplies the weight
    of a move a context has, so no move the data lacks is ever made; a difference within the
    walk's own noise is left alone (a factor fitted to noise adds as much as it removes)."""
    real = moves[moves["cur"].isin(STAGES) & moves["next"].isin(STAGES)]
    margins = [m for m in RAKE_MARGINS if all(v in real for v in m)]
    targets, real_n = {}, {}
    for m in margins:
        cols = list(m)
        kids = real.groupby(cols, observed=True)["child_key"].nunique()
        big = kids[kids >= min_children].reset_index()[cols]
        sub = real.merge(big, on=cols, how="inner")
        counts = sub.groupby([*cols, "next"], observed=True).size()
        out_of = counts.groupby(level=cols).transform("sum")
        targets[m] = (counts / out_of)[out_of >= RAKE_MIN_MOVES]
        real_n[m] = out_of[out_of >= RAKE_MIN_MOVES]
    walk_ctx = ctx.iloc[rng.integers(0, len(ctx), RAKE_CHILDREN)].reset_index(drop=True)
    walk_ctx["disability"] = recorded.draw_disability(walk_ctx["age_band"].to_numpy(), rng)
    factors = {m: pd.Series(1.0, index=targets[m].index) for m in margins}
    table = None
    for _ in range(RAKE_ROUNDS):
        walked = sampler.sample_journeys(rng, walk_ctx)
        w = pd.DataFrame({"cur": walked["prev"].to_numpy(), "next": walked["stage"].to_numpy(),
                          "history": walked["history"].to_numpy(),
                          "age_band": walk_ctx["age_band"].to_numpy()[walked["child"].to_numpy()]})
        if "source_group" in walked:
            w["source"] = walked["source_group"].to_numpy()
        dis = walk_ctx["disability"].to_numpy()[walked["child"].to_numpy()]
        w["disability"] = np.where(np.isin(w["cur"], DISABILITY_STAGES), dis, "*")
        w = w[w["cur"].isin(STAGES)]
        for m in margins:
            cols = list(m)
            counts = w.groupby([*cols, "next"], observed=True).size()
            out_of = counts.groupby(level=cols).transform("sum")
            got = (counts / out_of).reindex(targets[m].index)
            n = out_of.reindex(targets[m].index)
            want = targets[m]
            # The real share is a sample too: a factor chasing a small cell's noise would fight the
            # other margins' (and so every rate) for nothing.
            # (Not so for a stage's own rates: those are what the model must reproduce.)
            noise = np.sqrt(want * (1 - want) * (1 / n + (1 / real_n[m] if len(m) > 1 else 0.0)))
            ratio = (want / got).where((want - got).abs() > 2 * noise, 1.0)
            ratio = ratio.replace([np.inf, -np.inf], np.nan).fillna(1.0).clip(1 / 3, 3.0) ** 0.5
            factors[m] = (factors[m] * ratio).clip(0.05, 20.0)
        table = _factor_table(factors)
        sampler.next_stage.set_factors(table)
    return table, margins


def _factor_table(factors: dict[tuple[str, ...], pd.Series]) -> pd.DataFrame:
    """Raking factors as one table: margin, its variables' values ("*" where unused), next, factor."""
    parts = []
    for m, f in factors.items():
        f = f[f != 1.0]
        if len(f):
            parts.append(f.rename("factor").reset_index().assign(margin="|".join(m)))
    cols = ["margin", *sorted({v for m in factors for v in m}), "next", "factor"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    for c in cols:
        if c not in out:
            out[c] = "*"
    out[cols[1:-2]] = out[cols[1:-2]].fillna("*").astype(str)
    return out[cols]
