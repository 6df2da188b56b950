"""Each measurement of the private journey model moves by at most its stated sensitivity when any one
child is removed (noise off), on a small council made of the fixture council's most extreme children
and a worst-case canary; and the check does catch a table that moves by more.

The sensitivities set the noise: a table that moves by more than its claim (a rule that looks at other
children, a contribution left unbounded) is under-noised, however good the noise is. Issue 12's audit
found exactly that (removing one of 10 UASC children changed a table by 19)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from synth.dataset import read_dataset
from synth.errors import ModelError
from synth.models import prepare
from synth.models import private_journey as pj
from synth.models.privacy import PrivacyBudget
from synth.stages import START_STAGES
from tests import dp_audit

EPSILON = 1.0
COUNCIL_SIZE = 56  # real children, the canary besides: about 10 s of fits, one per child removed
RAREST_VALUES = 2  # per column: the children holding its rarest values (UASC, rare codes, ...)


# ----------------------------------------------------------------------------------------------
# A small council of extreme children, picked deterministically.
def _top(values: pd.Series, k: int) -> list[str]:
    """The `k` children with the largest values (ties by key)."""
    v = values.dropna()
    order = pd.DataFrame({"key": v.index, "v": v.to_numpy()}).sort_values(["v", "key"], ascending=[False, True])
    return order["key"].head(k).tolist()


def _rarest(values: pd.Series, owners: pd.Series) -> list[str]:
    """One child (the first by key) for each of the column's `RAREST_VALUES` rarest values."""
    held = pd.DataFrame({"v": values.astype(object), "key": owners}).dropna().drop_duplicates()
    per_value = held.groupby("v")["key"].agg(["size", "min"]).sort_values(["size", "min"])
    return per_value["min"].head(RAREST_VALUES).tolist()


def extreme_children(children: pd.DataFrame, events: pd.DataFrame) -> list[str]:
    """The most episodes, the longest episodes and journeys, open when the window began, the most missing
    episodes and previous plans, each column's rarest values; the rest by key, up to COUNCIL_SIZE."""
    by_child = events.groupby("child_key")
    span = (by_child["date"].max() - by_child["date"].min()).dt.days
    firsts = events[events["step"] == 0]
    left_censored = (~firsts["stage"].isin(START_STAGES)).groupby(firsts["child_key"]).sum()
    kids = children.set_index("child_key")
    picks = [*_top(by_child["episode_no"].nunique(), 5), *_top(events.groupby(["child_key", "episode_no"]).size()
                                                                .groupby("child_key").max(), 5),
             *_top(span, 3), *_top(left_censored, 3), *_top(kids["missing_episodes"], 3),
             *_top(kids["previous_cp_plans"], 3)]
    for col in ("sex", "ethnicity_group", "age_at_first_contact", "disability", "uasc"):
        picks += _rarest(children[col], children["child_key"])
    for col in ("stage", "source", "team", "need_code", "abuse_category", "closure_reason", "list_no"):
        picks += _rarest(events[col], events["child_key"])
    picks = list(dict.fromkeys(picks))[:COUNCIL_SIZE]
    rest = [k for k in sorted(children["child_key"]) if k not in set(picks)]
    return picks + rest[:COUNCIL_SIZE - len(picks)]


def council_of(children: pd.DataFrame, events: pd.DataFrame, keys) -> tuple[pd.DataFrame, pd.DataFrame]:
    keys = set(keys)
    return (children[children["child_key"].isin(keys)].reset_index(drop=True),
            events[events["child_key"].isin(keys)].reset_index(drop=True))


@pytest.fixture(scope="module")
def fixture_tables(dataset_dir):
    ds = read_dataset(dataset_dir)
    return ds.children, ds.events


@pytest.fixture(scope="module")
def council(fixture_tables):
    """The extreme children with all their events, and the canary."""
    children, events = fixture_tables
    return dp_audit.with_canary(*council_of(children, events, extreme_children(children, events)))


# ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_no_measurement_moves_by_more_than_its_sensitivity(council):
    started = time.perf_counter()
    moves = dp_audit.removal_changes(*council, epsilon=EPSILON)
    worst = moves.assign(ratio=moves["change"] / moves["sensitivity"]).sort_values("ratio").drop_duplicates(
        "what", keep="last")
    print(f"\n{len(council[0])} children removed in turn in {time.perf_counter() - started:.1f} s; the largest move "
          "of each measurement, as a share of its sensitivity:")
    print(worst[["what", "change", "sensitivity", "ratio", "child"]].to_string(index=False))
    compared = set(moves["what"])
    assert len(compared) >= 40 and any(dp_audit.is_adaptive(w) for w in compared)  # not only a few tables
    assert dp_audit.violations(moves) == []


def test_the_canary_moves_each_journey_table_by_its_full_sensitivity(council):
    """The audit's canary is a worst case: removing it moves every table that bounds a child's
    contribution by exactly that bound (so the check above and the audit test the claims themselves)."""
    children, events = council
    full = dp_audit.true_measurements(children, events)
    without = dp_audit.true_measurements(*dp_audit.without_child(children, events, dp_audit.CANARY_KEY))
    moves = pd.DataFrame(dp_audit.changes(full, without, adaptive=False))
    assert len(moves) >= 40
    loose = moves[(moves["change"] != moves["sensitivity"]) & ~moves["what"].isin(dp_audit.DATA_DEPENDENT_DOMAIN)]
    assert loose.empty, loose


def test_the_epsilons_add_up_to_at_most_the_budget(council):
    for epsilon in (0.5, EPSILON, 4.0):
        budget = dp_audit.true_measurements(*council, epsilon=epsilon)
        assert dp_audit.epsilon_spent(budget) <= epsilon + 1e-9
        for s in budget.spent:
            assert s["epsilon"] > 0 and s["sensitivity"] > 0
            scale = s["sensitivity"] / s["epsilon"] * (2 if s["mechanism"] == "exponential" else 1)
            assert s["scale"] == pytest.approx(scale), s["what"]


# ----------------------------------------------------------------------------------------------
# The check can fail.
def merge_rare_ethnicity(threshold: int):
    """`public_inputs` with a data-dependent step added: ethnicity groups held by fewer than `threshold`
    children merged into "Not known" (`prepare.merge_rare`, as the non-private model does)."""
    original = pj.public_inputs

    def public_inputs(children, events, window):
        kids, ev, eps = original(children, events, window)
        merged = prepare.merge_rare(kids["ethnicity_group"], kids["child_key"], threshold, "Not known")
        return kids.assign(ethnicity_group=merged), ev, eps

    return public_inputs


def first_of_group(children: pd.DataFrame, group: str, n: int) -> list[str]:
    return sorted(children.loc[children["ethnicity_group"] == group, "child_key"])[:n]


def test_the_check_reports_a_data_dependent_merge(fixture_tables, monkeypatch):
    """Ten "Mixed" children and twenty "White" ones; removing one of the ten sends the other nine to
    "Not known": the ethnicity marginal moves by 1 + 2 x 9 = 19, not 1. Removing a White child moves it
    by 1, as claimed (20 -> 19 stays above the threshold)."""
    children, events = fixture_tables
    mixed, white = first_of_group(children, "Mixed", 10), first_of_group(children, "White", 20)
    small = council_of(children, events, mixed + white)
    monkeypatch.setattr(pj, "public_inputs", merge_rare_ethnicity(10))
    found = dp_audit.sensitivity_violations(*small, keys=[mixed[0], white[0]])
    assert found, "the checker missed a data-dependent merge"
    assert {v["child"] for v in found} == {mixed[0]}
    one_way = [v for v in found if v["what"] == "children 1-way ethnicity_group"]
    assert one_way and one_way[0]["change"] == 19 and one_way[0]["sensitivity"] == 1


def test_the_check_reports_an_unbounded_contribution(council, monkeypatch):
    """Every episode's moves counted, not one per child: the canary's two episodes move the next-stage
    counts by 2 x 10 and the day histograms by 2 x 8."""
    monkeypatch.setattr(pj, "one_episode_per_child", lambda moves, seed: moves)
    found = {v["what"]: v["change"] for v in dp_audit.sensitivity_violations(*council, keys=[dp_audit.CANARY_KEY])}
    assert found == {"next-stage counts by stage and history": 20, "day histograms per move": 16}


# ----------------------------------------------------------------------------------------------
# Beyond sensitivities: the kind of noise must not depend on the values either.
def on_lattice(values: np.ndarray) -> bool:
    return bool(np.all(values == np.round(values)))


def test_the_kind_of_noise_does_not_depend_on_whether_the_values_are_whole():
    """Two real-valued measurements of the same kind, one of whose values happen to be whole, must get
    the same kind of noise: else the output's lattice tells which (in a council whose exited episodes
    all hold a cdf of 1, adding a child whose cdf is fractional changes the exposure's noise from
    discrete to continuous, and the outputs from whole to not, with certainty)."""
    budget = PrivacyBudget(EPSILON)
    whole = budget.noisy_counts(np.array([2.0, 3.0]), "repeats", 2, 1 / 3, what="sums that happen to be whole",
                                clip=False, integer=False)
    fractional = budget.noisy_counts(np.array([2.5, 3.0]), "repeats", 2, 1 / 3, what="sums that are not",
                                     clip=False, integer=False)
    assert on_lattice(whole) == on_lattice(fractional)
    with pytest.raises(ModelError, match="holds fractions"):  # a count that is not one is refused, not re-noised
        budget.noisy_counts(np.array([2.5]), "repeats", 2, 1 / 3, what="counts that are not")


def test_released_team_names_come_in_the_order_of_their_names(fixture_tables):
    """An order by count would give the true ranking of the teams away, whatever the noise (review finding)."""
    children, events = fixture_tables
    budget = PrivacyBudget(50.0)  # a large epsilon: several teams clear the threshold
    _, tables, _ = pj.fit_private(children, events, dp_audit.WINDOW, dp_audit.spec(50.0), budget, estimate=False)
    home = tables["details"].query("field == 'home_team'")["value"].tolist()
    assert len(home) >= 2 and home == sorted(home)
    labels = tables["details"].query("field == 'team_label'")["value"].drop_duplicates()
    named = [v for v in labels if not v.startswith("=")]
    assert named == sorted(named)
