"""The fake council matches the national rates it is calibrated to (DOMAIN.md section 4)."""

import pandas as pd
import pytest

from synth import journeys
from synth.dataset import read_dataset
from synth.schema import SOURCE_CODES

TARGETS = {
    "contact_to_referral": 0.20,
    "referral_nfa": 0.065,
    "rereferral_12m": 0.226,
    "s47_to_icpc": 0.31,
    "icpc_to_cp_plan": 0.86,
    "median_assessment_days": 33,
}
SOURCE_TARGETS = {"police": 28.5, "schools": 19.5, "health": 15.0, "la_services": 14.0, "individual": 8.0,
                  "other": 5.0, "other_legal": 4.0, "education": 2.0, "anonymous": 2.0, "unknown": 1.5,
                  "housing": 1.3}


@pytest.fixture(scope="module")
def kent_sample(tmp_path_factory):
    """A council of 20,000 children, generated, written as CSVs and ingested."""
    from tests.conftest import Cli

    tmp = tmp_path_factory.mktemp("calibration")
    cli = Cli()
    assert cli("fixtures", "--children", "20000", "--seed", "2025", "--format", "csv", "--out", tmp / "csv").exit_code == 0
    assert cli("ingest", tmp / "csv", "--out", tmp / "ds").exit_code == 0
    return read_dataset(tmp / "ds")


@pytest.mark.slow
@pytest.mark.parametrize("measure", list(TARGETS))
def test_rates_land_within_15_percent_of_national_figures(kent_sample, measure):
    rates = journeys.headline_rates(kent_sample.events)
    assert rates[measure] == pytest.approx(TARGETS[measure], rel=0.15)


@pytest.mark.slow
def test_referral_sources_match_the_national_mix(kent_sample):
    ev = kent_sample.events
    groups = ev.loc[ev["stage"] == "referral", "source"].map({c: g for c, (g, _) in SOURCE_CODES.items()})
    shares = groups.value_counts(normalize=True)
    total = sum(SOURCE_TARGETS.values())
    for group, target in SOURCE_TARGETS.items():
        assert shares.get(group, 0) == pytest.approx(target / total, rel=0.15), group


@pytest.mark.slow
def test_demographics_look_like_children_in_need(kent_sample):
    ch = kent_sample.children
    sex = ch["sex"].value_counts(normalize=True)
    assert sex["male"] == pytest.approx(0.53, abs=0.03)
    known = ch[ch["disability"] != "unknown"]  # Annex A records disability from the assessment on
    assert known["disability"].eq("yes").mean() == pytest.approx(0.13, abs=0.02)
    assert ch["age_band"].isin(["Unborn", "Under 1", "1-4"]).mean() == pytest.approx(0.24, abs=0.03)
    assert (ch["uasc"] == "yes").sum() > 0 and (ch["missing_episodes"] > 0).sum() > 0
    assert kent_sample.episodes["left_censored"].any()
    assert pd.Series(kent_sample.episodes["episode_no"]).max() >= 3
