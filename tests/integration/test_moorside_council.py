"""Moorside, the second fake council: made by the CLI, ingested by the CLI, and judged on the
ingested data (what a model would see), not on the simulator's own truth."""

from __future__ import annotations

import hashlib
from collections import Counter

import pandas as pd
import pytest

from fixtures import moorside
from fixtures.annex_a import write_council
from fixtures.council import CouncilSpec, simulate
from synth import journeys
from synth.dataset import read_dataset
from synth.stages import is_valid_path
from tests.conftest import MOORSIDE_CHILDREN, MOORSIDE_SEED

WINDOW_START = pd.Timestamp(CouncilSpec.window_start)
UNDER_5 = ("Unborn", "Under 1", "1-4")
TEENS = ("10-15", "16+")
# A 600-children shire council (seed 5) as simulated, and as written as CSVs, before Moorside existed.
SHIRE_SIM_SHA256 = "1b0fc648b0e7ef682bc3f0909f511927694edef30344f234875dc5285bb3cec0"
SHIRE_CSV_SHA256 = "a77fcde6c4865837c3ba70543a42709fb15648ebc57eb5e3434346c5d2545e26"


@pytest.fixture(scope="module")
def moorside_ds(moorside_dataset_dir):
    return read_dataset(moorside_dataset_dir)


@pytest.fixture(scope="module")
def shire_ds(dataset_dir):
    return read_dataset(dataset_dir)


def _with_age(tr: pd.DataFrame, children: pd.DataFrame) -> pd.DataFrame:
    return tr.merge(children[["child_key", "age_band", "disability"]], on="child_key", how="left")


def _cla_share(ds) -> float:
    in_care = ds.events.loc[ds.events["stage"] == "cla", ["child_key", "episode_no"]].drop_duplicates()
    return len(in_care) / len(ds.episodes)


def test_moorside_ingests_cleanly_and_every_journey_follows_the_grammar(moorside_ds):
    report = moorside_ds.manifest["report"]
    assert report["errors_total"] == 0 and report["rows_rejected"] == 0
    assert report["children"] == MOORSIDE_CHILDREN
    eps = moorside_ds.episodes
    assert all(is_valid_path(p.split(">"), lc) for p, lc in zip(eps["path"], eps["left_censored"]))


def test_ingest_reconstructs_moorside_journeys(moorside_ds):
    """Every move Moorside makes is one the lists can show: the ingested journeys are the simulated
    ones (but for a contact re-contacted after the window ends, which ingest closes on the day)."""
    council = simulate(CouncilSpec(children=MOORSIDE_CHILDREN, seed=MOORSIDE_SEED, profile="moorside"))
    truth = council.events.groupby(["child_id", "episode_no"], sort=False)["stage"].agg(">".join)
    simulated = Counter(zip(truth.index.get_level_values("episode_no"), truth.to_numpy()))
    ingested = Counter(zip(moorside_ds.episodes["episode_no"], moorside_ds.episodes["path"]))
    assert sum(simulated.values()) == sum(ingested.values())
    assert sum((simulated - ingested).values()) <= 0.002 * sum(simulated.values())
    assert council.children["child_id"].str.startswith("M").all()


def test_looked_after_ends_the_journey(moorside_ds, shire_ds):
    ev, eps = moorside_ds.events, moorside_ds.episodes
    tr = journeys.transitions(ev)
    assert len(tr[tr["source"] == "cla"]) == 0  # no cla -> other, no cla -> nfa, nothing at all
    in_care = eps[eps["path"].str.contains("cla")]
    assert len(in_care) and in_care["path"].str.endswith("cla").all() and in_care["censored"].all()
    # Nothing follows a child's care episode: it is the child's last.
    last = eps.groupby("child_key")["episode_no"].max()
    assert (in_care["episode_no"].to_numpy() == in_care["child_key"].map(last).to_numpy()).all()
    # Care is much more common than in shire (whose care episodes all end in `other`).
    shire_tr = journeys.transitions(shire_ds.events)
    assert set(shire_tr.loc[shire_tr["source"] == "cla", "target"]) == {"other"}
    assert _cla_share(moorside_ds) > 2 * _cla_share(shire_ds)


def test_conference_rates_depend_on_age(moorside_ds, shire_ds):
    tr = _with_age(journeys.transitions(moorside_ds.events), moorside_ds.children)
    s47 = tr[tr["source"] == "s47"]
    icpc = s47["target"].eq("icpc")
    young, teen = icpc[s47["age_band"].isin(UNDER_5)].mean(), icpc[s47["age_band"].isin(TEENS)].mean()
    assert young > teen + 0.15
    assert young > 0.4 and teen < 0.3
    shire = journeys.headline_rates(shire_ds.events)["s47_to_icpc"]
    assert abs(icpc.mean() - shire) > 0.02


def test_teams_are_moorsides(moorside_ds):
    teams = set(moorside_ds.events["team"].dropna())
    assert teams == {moorside.MASH, moorside.CP_TEAM, moorside.CARE_TEAM, *moorside.LOCALITIES}
    ev = moorside_ds.events
    assert set(ev.loc[ev["stage"] == "referral", "team"]) == {moorside.MASH}
    assert set(ev.loc[ev["stage"].isin(["s47", "cp_plan"]), "team"]) == {moorside.CP_TEAM}
    assert set(ev.loc[ev["stage"] == "cla", "team"]) == {moorside.CARE_TEAM}
    assert set(ev.loc[ev["stage"].isin(["assessment", "cin_plan"]), "team"]) == set(moorside.LOCALITIES)


def test_long_plans_are_open_at_the_window_start(moorside_ds, shire_ds):
    eps = moorside_ds.episodes
    lc = eps[eps["left_censored"]]
    assert set(lc["first_stage"]) == {"cin_plan", "cp_plan", "cla"}
    assert lc["child_key"].nunique() > 0.08 * len(moorside_ds.children)
    assert (lc["start_date"] < WINDOW_START - pd.Timedelta(days=730)).sum() > 0.3 * len(lc)
    shire_lc = shire_ds.episodes["left_censored"]
    assert eps["left_censored"].mean() > shire_lc.mean()


def test_contacts_become_referrals_on_the_day_more_often_than_in_shire(moorside_ds, shire_ds):
    def same_day(ds) -> float:
        tr = journeys.transitions(ds.events)
        moves = tr[(tr["source"] == "contact") & (tr["target"] == "referral")]
        return float((moves["days"] == 0).mean())

    moorside_share, shire_share = same_day(moorside_ds), same_day(shire_ds)
    assert moorside_share > 0.7 and moorside_share > shire_share + 0.25
    assert journeys.headline_rates(moorside_ds.events)["median_assessment_days"] < 25


def test_rereferrals_grow_with_the_episode_number(moorside_ds):
    ev = moorside_ds.events
    ref = ev.loc[ev["stage"] == "referral", ["child_key", "episode_no", "date"]].sort_values(["child_key", "date"])
    again = ref["child_key"].eq(ref["child_key"].shift()) & ((ref["date"] - ref["date"].shift()).dt.days <= 365)
    second, later = again[ref["episode_no"] == 2].mean(), again[ref["episode_no"] >= 3].mean()
    assert later > second + 0.1
    # Repeat episodes go straight to a referral and to a strategy discussion more often.
    tr = journeys.transitions(ev)
    refs = tr[tr["source"] == "referral"]
    to_strategy = refs["target"].eq("strategy")
    assert to_strategy[refs["episode_no"] >= 2].mean() > to_strategy[refs["episode_no"] == 1].mean()


def test_disability_raises_the_chance_of_a_cin_plan_after_assessment(moorside_ds):
    tr = _with_age(journeys.transitions(moorside_ds.events), moorside_ds.children)
    done = tr[tr["source"] == "assessment"]
    plan = done["target"].eq("cin_plan")
    assert plan[done["disability"] == "yes"].mean() > plan[done["disability"] == "no"].mean() + 0.1


def test_shire_is_unchanged():
    council = simulate(CouncilSpec(children=600, seed=5))
    sim = hashlib.sha256(council.events.to_csv(index=False).encode() + council.children.to_csv(index=False).encode())
    assert sim.hexdigest() == SHIRE_SIM_SHA256


def test_shire_lists_are_unchanged(tmp_path):
    council = simulate(CouncilSpec(children=600, seed=5, profile="shire"))
    digest = hashlib.sha256()
    for path in sorted(write_council(council, tmp_path, fmt="csv")):
        digest.update(path.read_bytes())
    assert digest.hexdigest() == SHIRE_CSV_SHA256


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="moorside"):
        simulate(CouncilSpec(children=10, profile="fenland"))
