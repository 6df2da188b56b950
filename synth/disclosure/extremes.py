"""No rare value leaves: every day count a release holds lies within what at least ten real
children reach.

A real child's unusual number of days (an assessment that took 421 days before a CIN plan, a
300-day wait for an ICPC) identifies them as surely as a name. The journey generator top- and
bottom-codes such tails (synth.models.journey); this check verifies the release, whatever made it.

For every move (stage -> next stage) the upper bound is the real children's 10th largest value,
each child counted once (its longest move of that kind), over *every* real child, training and
held-out alike: the generator never saw the held-out children, so a release holding one of their
extreme values is a leak too. A move taken by fewer than 10 real children is judged by all moves
out of the same stage, or by all moves when fewer than 50 real children left that stage.

A long value is rare only if it lies beyond both the move's bound and its stage's (as just
defined): a generator learns a move taken by few children from its stage's other moves (it cannot
tell which real children were held out, so it cannot know that a move of 12 real children had 7 in
training), and a value within the stage's bound is shared by 10 real children's moves from there.

Short values: a move's 10th smallest child's value is its lower bound where at least 50 real
children took it (with fewer, the generator, seeing two thirds of them, may not have 20, and the
10th smallest of fewer than 20 lies above the 10th largest; a short move is rare far less often).

The same upper bound is checked for the whole length of an episode and for the gap between a
child's episodes. A synthetic value strictly beyond its bound fails the release. The explanation
names the moves and how many synthetic values passed their bounds, never a real value or a real count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.disclosure.profiles import Profile
from synth.disclosure.records import Check
from synth.journeys import transitions

RARE_K = 10  # a bound is the value of the 10th most extreme real child
RELIABLE = 5 * RARE_K  # children a stage pool (or a move's lower bound) needs to be used
EPISODE, GAP = "(whole episode)", "(between episodes)"
MAX_LISTED = 5


def _values(events: pd.DataFrame) -> pd.DataFrame:
    """Every day count a dataset holds, one row each: move (source, target), child, days.

    Within-episode moves, the length of each episode (source EPISODE) and the gap from each
    episode's last event to the child's next episode (source GAP); EPISODE and GAP have no target
    and no lower bound."""
    ev = events[["child_key", "episode_no", "step", "stage", "date"]]
    ordered = ev["child_key"].eq(ev["child_key"].shift()) & (
        ev["episode_no"].lt(ev["episode_no"].shift()) |
        (ev["episode_no"].eq(ev["episode_no"].shift()) & ev["step"].lt(ev["step"].shift())))
    if ordered.any():  # transitions() reads consecutive rows: put them in order first
        ev = ev.sort_values(["child_key", "episode_no", "step"], kind="mergesort")
    ev = ev.reset_index(drop=True)
    moves = transitions(ev)[["child_key", "source", "target", "days"]]
    g = ev.groupby(["child_key", "episode_no"], sort=True)["date"]
    eps = pd.DataFrame({"first": g.min(), "last": g.max()}).reset_index()
    whole = pd.DataFrame({"child_key": eps["child_key"], "source": EPISODE, "target": "",
                          "days": (eps["last"] - eps["first"]).dt.days})
    same = eps["child_key"].eq(eps["child_key"].shift(-1))
    gaps = pd.DataFrame({"child_key": eps["child_key"], "source": GAP, "target": "",
                         "days": (eps["first"].shift(-1) - eps["last"]).dt.days})[same]
    out = pd.concat([moves, whole, gaps], ignore_index=True)
    out["days"] = out["days"].astype(np.int64)
    return out


def _kth(per_child: pd.DataFrame, by: list[str], k: int) -> pd.DataFrame:
    """Per group: children, the k-th largest of the children's largest values and the k-th
    smallest of their smallest (NaN with fewer than k children; `lo` also where it passes `hi`)."""
    if by:
        g = per_child.groupby(by, sort=False)
        out = pd.DataFrame({"children": g.size()})
        hi = per_child[g["max"].rank(method="first", ascending=False).to_numpy() == k].set_index(by)["max"]
        lo = per_child[g["min"].rank(method="first", ascending=True).to_numpy() == k].set_index(by)["min"]
        out = out.join(hi.rename("hi")).join(lo.rename("lo"))
    else:
        n = len(per_child)
        out = pd.DataFrame({"children": [n],
                            "hi": [np.sort(per_child["max"].to_numpy())[::-1][k - 1] if n >= k else np.nan],
                            "lo": [np.sort(per_child["min"].to_numpy())[k - 1] if n >= k else np.nan]})
    out.loc[out["lo"] > out["hi"], "lo"] = np.nan
    return out


def bounds(real_values: pd.DataFrame, k: int = RARE_K) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Bounds per move, per source stage and over all moves (episodes and gaps are their own
    sources: they never pool with moves)."""
    per_child = real_values.groupby(["source", "target", "child_key"], sort=False)["days"].agg(
        ["min", "max"]).reset_index()
    per_move = _kth(per_child, ["source", "target"], k)
    by_source = per_child.groupby(["source", "child_key"], sort=False).agg({"min": "min", "max": "max"}).reset_index()
    per_source = _kth(by_source, ["source"], k)
    moves_only = by_source[~by_source["source"].isin([EPISODE, GAP])]
    overall = _kth(moves_only.groupby("child_key").agg({"min": "min", "max": "max"}).reset_index(), [], k)
    return per_move, per_source, overall


def _label(source: str, target: str) -> str:
    if source == EPISODE:
        return "whole episodes"
    if source == GAP:
        return "gaps between episodes"
    from synth.stages import STAGE_LABELS

    return f"{STAGE_LABELS.get(source, source)} -> {STAGE_LABELS.get(target, target)}"


def rare_values_check(synth_events: pd.DataFrame, real_events: pd.DataFrame, profile: Profile,
                      k: int = RARE_K, reliable: int = RELIABLE, private: bool = False) -> Check:
    """Fail when any synthetic day count lies beyond the k-th most extreme real child's (see the
    module's docstring for the bounds of moves few children took). For a differentially private
    generator (`private`), whose tails are noise rather than copies, such values go to review: its
    tails are not yet bounded with DP (issue 12)."""
    real = _values(real_events)
    syn = _values(synth_events)
    per_move, per_source, overall = bounds(real, k)
    per_move.loc[per_move["children"] < reliable, "lo"] = np.nan
    syn = syn.join(per_move[["hi", "lo"]], on=["source", "target"])
    syn = syn.join(per_source[["hi", "children"]].add_prefix("src_"), on="source")
    is_move = ~syn["source"].isin([EPISODE, GAP]).to_numpy()
    # The stage's upper bound (all moves' where too few children left the stage), and the wider of
    # it and the move's own (NaN-aware: a move without one takes the stage's). Episodes and gaps
    # have their own bounds only.
    stage_ok = syn["src_children"].fillna(0).to_numpy() >= reliable
    pool = np.where(is_move & ~stage_ok, overall["hi"].iloc[0], syn["src_hi"].to_numpy())
    syn["hi"] = np.where(is_move, np.fmax(syn["hi"].to_numpy(), pool), syn["src_hi"].to_numpy())
    syn.loc[~is_move, "lo"] = np.nan  # a short episode or gap is common, never rare
    long = syn["days"].gt(syn["hi"]).to_numpy()
    short = syn["days"].lt(syn["lo"]).to_numpy()
    bad = syn[long | short].assign(kind=np.where(long[long | short], "long", "short"))
    n_bad = int(len(bad))
    summary = bad.groupby(["source", "target", "kind"], sort=False).size().sort_values(ascending=False)
    listed = [f"{n} synthetic {'values' if n > 1 else 'value'} of {_label(s, t)} "
              f"{'are' if n > 1 else 'is'} {'longer' if kind == 'long' else 'shorter'} than all but "
              f"{k - 1} real children's" for (s, t, kind), n in summary.head(MAX_LISTED).items()]
    moves_bad = sorted({_label(s, t) for s, t, _ in summary.index})
    threshold = (f"0 synthetic day counts beyond the {k}th most extreme real child's: per move (moves of fewer than "
                 f"{k} real children, and values within their stage's bound, judged by all moves out of the same "
                 f"stage, or by all moves when fewer than {reliable} real children left it; short ends only for moves "
                 f"of {reliable}+ real children), per whole episode and per gap between episodes")
    if n_bad == 0:
        text = (f"Every synthetic move, episode and gap between episodes is no longer (and no common move shorter) "
                f"than at least {k} real children's, so no child's unusual number of days is repeated.")
    else:
        more = f"; and {len(summary) - MAX_LISTED} more" if len(summary) > MAX_LISTED else ""
        text = (f"{n_bad} synthetic day counts lie beyond what at least {k} real children reach: "
                + "; ".join(listed) + more + ". A value only a few real children have can identify them.")
    status = "pass" if n_bad == 0 else "review" if private else "fail"
    if n_bad and private:
        text += (" The generator is differentially private: its noisy tails can pass these bounds without having "
                 "copied any child, so this goes to a reviewer rather than failing.")
    return Check("rare_values", "No rare number of days repeated", "record", status,
                 float(n_bad), threshold, text,
                 {"values_beyond": n_bad, "moves": moves_bad, "synthetic_values": int(len(syn)), "k": k})
