"""No rare value memorised: the journey model codes day tails at the 10th most extreme child and
the release gate checks every move against the real data's bounds (synth.disclosure.extremes)."""

import re

import numpy as np
import pandas as pd
import pytest

from synth.dataset import Dataset, read_dataset
from synth.disclosure.extremes import RARE_K, rare_values_check
from synth.disclosure.profiles import get_profile
from synth.journeys import link_episodes, transitions
from synth.models import TrainingSpec, fit_model
from synth.models.journey_tails import merge_bins
from synth.models.journey_vocab import DAY_BINS, TAIL_CHILDREN, bin_of
from synth.split import holdout_mask, split_tables

LINEAGE = "e" * 64
PLANTED = {("assessment", "cin_plan"): 421, ("s47", "icpc"): 300}
PROFILE = get_profile("default")


def _training_keys(n: int) -> list[str]:
    keys, i = [], 0
    while len(keys) < n:
        key = f"rare{i:012x}"
        i += 1
        if not holdout_mask(pd.Series([key]), LINEAGE)[0]:
            keys.append(key)
    return keys


@pytest.fixture(scope="module")
def real(dataset_dir) -> Dataset:
    """The 1,500-children council plus two training children, each with one move far longer than
    any other child's: a 421-day assessment -> CIN plan and a 300-day S47 -> ICPC."""
    ds = read_dataset(dataset_dir)
    journeys = {("assessment", "cin_plan"): (["contact", "referral", "assessment", "cin_plan"], [0, 1, 3, 3 + 421]),
                ("s47", "icpc"): (["contact", "referral", "strategy", "s47", "icpc"], [0, 1, 2, 3, 3 + 300])}
    children, events = [], []
    for key, (stages, offsets) in zip(_training_keys(2), journeys.values()):
        children.append({"child_key": key, "sex": "female", "ethnicity_group": "White", "age_at_first_contact": 8,
                         "age_band": "5-9", "disability": "no", "uasc": "no", "missing_episodes": 0,
                         "previous_cp_plans": 0})
        start = pd.Timestamp("2021-06-01")
        events += [{"child_key": key, "episode_no": 1, "step": step, "stage": stage,
                    "date": start + pd.Timedelta(days=off), "source": "7", "team": None, "need_code": None,
                    "abuse_category": None, "closure_reason": None, "list_no": 1, "derived": False}
                   for step, (stage, off) in enumerate(zip(stages, offsets))]
    ch = pd.concat([ds.children, pd.DataFrame(children)], ignore_index=True)
    ev = pd.concat([ds.events, pd.DataFrame(events)], ignore_index=True)
    ev, eps = link_episodes(ev.sort_values(["child_key", "episode_no", "step"]).drop(columns=["episode_no", "step"]))
    ev["list_no"] = ev["list_no"].astype("int8")
    return Dataset(ch, ev, eps, {**ds.manifest, "lineage_hash": LINEAGE})


@pytest.fixture(scope="module")
def model(real):
    return fit_model(real, TrainingSpec(seed=5))


@pytest.fixture(scope="module")
def samples(model):
    return [model.sample(1500, seed) for seed in (21, 22, 23, 24, 25)]


def kth_longest(events: pd.DataFrame, move: tuple[str, str], k: int = 10) -> int:
    """The k-th longest real child's move (each child counted once, by its longest)."""
    tr = transitions(events)
    per_child = tr[(tr["source"] == move[0]) & (tr["target"] == move[1])].groupby("child_key")["days"].max()
    return int(per_child.sort_values(ascending=False).iloc[k - 1])


def moves_of(events: pd.DataFrame, move: tuple[str, str]) -> pd.Series:
    tr = transitions(events)
    return tr.loc[(tr["source"] == move[0]) & (tr["target"] == move[1]), "days"]


@pytest.mark.parametrize("move", list(PLANTED))
def test_a_planted_childs_unique_long_move_is_never_reproduced(real, samples, move):
    training = split_tables(real.children, real.events, real.episodes, real.lineage_hash, "training")[1]
    assert moves_of(training, move).max() == PLANTED[move]  # the planted child was trained on
    bound, trained_bound = kth_longest(real.events, move), kth_longest(training, move)
    for s in samples:
        days = moves_of(s.events, move)
        assert len(days) > 0
        assert days.max() <= trained_bound  # top-coded at the 10th longest training child's
        assert days.max() < bound, f"a synthetic {move} move reaches the real 10th longest ({bound} days)"
        assert days.max() < PLANTED[move] * 0.8


def test_genuine_samples_pass_the_rare_values_check(real, samples):
    for s in samples:
        check = rare_values_check(s.events, real.events, PROFILE)
        assert check.status == "pass", check.explanation
        assert check.name == "rare_values" and check.group == "record" and check.metric == 0


def _with_move_of(events: pd.DataFrame, move: tuple[str, str], days: int) -> pd.DataFrame:
    """A copy of `events` in which one child's first `move` takes `days`: that event and every later
    event of the child are pushed later by the difference, so dates stay in order."""
    ev = events.sort_values(["child_key", "episode_no", "step"], kind="mergesort").reset_index(drop=True)
    nxt = ev.shift(-1)
    hit = np.flatnonzero((ev["stage"] == move[0]) & (nxt["stage"] == move[1]) & (nxt["child_key"] == ev["child_key"])
                         & (nxt["episode_no"] == ev["episode_no"]))[0]
    shift = pd.Timedelta(days=days) - (ev.at[hit + 1, "date"] - ev.at[hit, "date"])
    later = (ev.index > hit) & (ev["child_key"] == ev.at[hit, "child_key"])
    ev.loc[later, "date"] = ev.loc[later, "date"] + shift
    return ev


@pytest.mark.parametrize("move", list(PLANTED))
def test_a_release_holding_the_planted_value_fails(real, samples, move):
    leaky = _with_move_of(samples[0].events, move, PLANTED[move])
    assert moves_of(leaky, move).max() == PLANTED[move]
    check = rare_values_check(leaky, real.events, PROFILE)
    assert check.status == "fail"
    assert check.metric >= 1
    from synth.stages import STAGE_LABELS

    named = f"{STAGE_LABELS[move[0]]} -> {STAGE_LABELS[move[1]]}"  # the reviewer reads stages by their names
    assert named in check.explanation and named in check.details["moves"]
    # No real figure in what a reviewer (or a bundle) reads: neither the real values nor their bounds.
    text = check.explanation + check.threshold + str(check.details)
    for real_figure in (PLANTED[move], kth_longest(real.events, move)):  # as a number, not digits of another
        assert not re.search(rf"(?<![\d.]){real_figure}(?!\d)", text), (real_figure, text)


def test_moves_few_real_children_took_are_judged_by_their_stage():
    """Bounds back off to all moves out of the same stage (then all moves) below 10 children."""
    rows = []
    for i in range(60):  # 60 children: contact -> referral in i % 30 days (two children on each)
        rows += [(f"c{i:03d}", 0, "contact", 0), (f"c{i:03d}", 1, "referral", i % 30)]
    for i in range(3):  # 3 children: contact -> nfa (too few for a bound of its own)
        rows += [(f"d{i:03d}", 0, "contact", 0), (f"d{i:03d}", 1, "nfa", 2)]
    real = pd.DataFrame(rows, columns=["child_key", "step", "stage", "day"])
    real = real.assign(episode_no=1, date=pd.Timestamp("2022-01-01") + pd.to_timedelta(real["day"], unit="D"))

    def synthetic(days_to_nfa: int) -> pd.DataFrame:
        """20 children whose contact -> referral takes 5 to 24 days, and one contact -> nfa."""
        moves = [(f"s{i:03d}", "referral", 5 + i) for i in range(20)] + [("s999", "nfa", days_to_nfa)]
        out = []
        for key, stage, days in moves:
            out += [(key, 0, "contact", 0), (key, 1, stage, days)]
        s = pd.DataFrame(out, columns=["child_key", "step", "stage", "day"])
        return s.assign(episode_no=1, date=pd.Timestamp("2022-01-01") + pd.to_timedelta(s["day"], unit="D"))

    # Within the bound of all moves out of `contact` (10th longest child's: 25 days): not rare.
    assert rare_values_check(synthetic(20), real, PROFILE).status == "pass"
    beyond = rare_values_check(synthetic(200), real, PROFILE)
    assert beyond.status == "fail" and "Contact -> Closed / no further action" in beyond.explanation


def test_bins_of_fewer_than_ten_children_are_merged():
    """25 children take 5 days, one takes 300: the lone child's bin joins the run below it, so its
    weight is spread evenly over days 5 to 330 and nothing marks day 300."""
    days = np.array([5] * 25 + [300])
    values = pd.DataFrame({"cur": "x", "bin": bin_of(days, DAY_BINS), "child_key": [f"k{i}" for i in range(26)],
                           "w": 1.0})
    out = merge_bins(values, ["cur"], 10, DAY_BINS).set_index("bin")["count"]
    assert out.sum() == pytest.approx(26)
    top = int(bin_of(np.array([300]), DAY_BINS)[0])
    assert set(out.index) == set(range(int(bin_of(np.array([5]), DAY_BINS)[0]), top + 1))
    density = out / np.diff(DAY_BINS)[out.index]
    assert density.max() == pytest.approx(density.min())  # one run: even over its days
    alone = merge_bins(values.iloc[:25], ["cur"], 10, DAY_BINS)["count"]
    assert len(alone) == 1 and alone.iloc[0] == pytest.approx(25)  # a bin of 25 children stays as it is


def test_the_model_codes_tails_at_the_gates_k():
    """Coding at a larger k than the gate's would squash small moves below the gate's lower end."""
    assert TAIL_CHILDREN == RARE_K == 10


def test_a_private_generators_tail_goes_to_review_not_through(real, samples):
    """DP tails are noise, not copies (their DP bounds are issue 12): review, never a silent pass."""
    move = next(iter(PLANTED))
    leaky = _with_move_of(samples[0].events, move, PLANTED[move])
    assert rare_values_check(leaky, real.events, PROFILE, private=True).status == "review"
    assert rare_values_check(leaky, real.events, PROFILE).status == "fail"
