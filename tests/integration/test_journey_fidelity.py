"""The journey model on a council it was not built against (Moorside, fixtures/moorside.py): it
never invents a move, reproduces every first-order next-stage rate within the real data's own noise,
and keeps the effects of age, referral source, repeat number and disability on what follows."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from synth import journeys
from synth.dataset import read_dataset
from synth.evaluate import next_stage_error
from synth.evaluate_process import invented_moves, next_stage_r2
from synth.models import TrainingSpec, fit_model
from synth.split import split_tables
from tests.conftest import Cli

CHILDREN = 10_000
WIDE = 10  # the source test's sample, in training sizes (see test_icpc_effect_of_source_is_kept)
UNDER_5 = ("Unborn", "Under 1", "1-4")
TEENS = ("10-15", "16+")


@pytest.fixture(scope="module")
def moorside(tmp_path_factory):
    """A 10,000-child Moorside, ingested; its training and held-out parts; a model; a large sample."""
    out = tmp_path_factory.mktemp("moorside10k")
    cli = Cli()
    made = cli("fixtures", "--council", "moorside", "--children", str(CHILDREN), "--seed", "23", "--format", "csv",
               "--out", out / "csv")
    assert made.exit_code == 0, made.output
    ingested = cli("ingest", *sorted((out / "csv").glob("*.csv")), "--out", out / "ds")
    assert ingested.exit_code == 0, ingested.output
    ds = read_dataset(out / "ds")
    parts = {p: SimpleNamespace(**dict(zip(("children", "events", "episodes"),
                                           split_tables(ds.children, ds.events, ds.episodes, ds.lineage_hash, p))))
             for p in ("training", "holdout")}
    model = fit_model(ds, TrainingSpec(seed=3))
    sample = model.sample(3 * len(parts["training"].children), 5)
    return SimpleNamespace(train=parts["training"], holdout=parts["holdout"], model=model, sample=sample,
                           wide=model.sample(WIDE * len(parts["training"].children), 5))


def _moves(data) -> pd.DataFrame:
    tr = journeys.transitions(data.events)
    ch = data.children.set_index("child_key")
    eps = data.episodes.set_index(["child_key", "episode_no"])
    tr["age_band"] = journeys.age_band(tr["child_key"].map(ch["age_at_first_contact"])).astype(str)
    tr["disability"] = tr["child_key"].map(ch["disability"]).astype(str)
    idx = pd.MultiIndex.from_frame(tr[["child_key", "episode_no"]])
    tr["source_group"] = journeys.source_group(pd.Series(eps["source"].reindex(idx).to_numpy())).to_numpy()
    return tr


def _rate(tr: pd.DataFrame, source: str, target: str, mask) -> float:
    sub = tr[(tr["source"] == source) & mask(tr)]
    return float((sub["target"] == target).mean())


def test_no_synthetic_move_is_one_the_council_never_made(moorside):
    # Moorside's looked-after episodes end in care: the grammar allows care -> other / NFA, the data never.
    real = journeys.transitions(moorside.train.events)
    assert not (real["source"] == "cla").any()
    synth = journeys.transitions(moorside.sample.events)
    assert (moorside.sample.events["stage"] == "cla").sum() > 100
    assert not (synth["source"] == "cla").any()
    found = invented_moves(moorside.train.events, moorside.sample.events)
    assert found["moves"] == 0, found["pairs"]


def test_every_first_order_rate_within_the_real_noise_floor(moorside):
    floor = next_stage_error(moorside.train.events, moorside.holdout.events)
    got = next_stage_error(moorside.train.events, moorside.sample.events)
    assert got["max"] <= 1.25 * floor["max"], (got["worst"], floor["max"])


def test_next_stage_rates_by_stage_repeat_and_age_agree(moorside):
    r2 = next_stage_r2(moorside.train, moorside.sample)
    assert r2["cells"] >= 20
    assert r2["r2"] >= 0.95, r2["worst"]


def test_icpc_effect_of_age_is_kept(moorside):
    real, synth = _moves(moorside.train), _moves(moorside.sample)

    def age_gap(tr):
        return (_rate(tr, "s47", "icpc", lambda t: t["age_band"].isin(UNDER_5))
                - _rate(tr, "s47", "icpc", lambda t: t["age_band"].isin(TEENS)))

    assert age_gap(real) > 0.15
    assert age_gap(synth) > 0.4 * age_gap(real)  # measured 0.57 to 0.95 of real over fits and samples


def test_icpc_effect_of_source_is_kept(moorside):
    """S47 -> ICPC for children referred by health or police against those referred by schools.

    Schools refer older children, whose conferences are rarer, and within an age band health and
    police referrals lead to a conference more often: the model keeps both (episode sources drawn
    by age band, source factors on the levels that back off past the source). The real gap rests
    on about 90 school-referred S47s, so a sample three times the training size varies by about
    0.2 of it from its own draws alone; the gap is measured on a sample WIDE times the training size.
    """
    real, synth = _moves(moorside.train), _moves(moorside.wide)

    def source_gap(tr):
        return (_rate(tr, "s47", "icpc", lambda t: t["source_group"].isin(["Health services", "Police"]))
                - _rate(tr, "s47", "icpc", lambda t: t["source_group"] == "Schools"))

    assert source_gap(real) > 0.1
    # Measured 0.76 to 1.05 of real over 8 fits x 2 samples (before issue 13's fix: 0.25 to 0.58).
    assert source_gap(synth) >= 0.6 * source_gap(real), (source_gap(synth), source_gap(real))


def test_repeat_and_disability_effects_are_kept(moorside):
    real, synth = _moves(moorside.train), _moves(moorside.sample)

    def repeat_gap(tr):
        return (_rate(tr, "referral", "strategy", lambda t: t["episode_no"] >= 2)
                - _rate(tr, "referral", "strategy", lambda t: t["episode_no"] == 1))

    def disability_gap(tr):
        return (_rate(tr, "assessment", "cin_plan", lambda t: t["disability"] == "yes")
                - _rate(tr, "assessment", "cin_plan", lambda t: t["disability"] == "no"))

    # Measured over fits and samples: repeats 0.70 to 0.88 of real, disability 0.48 to 1.19.
    assert repeat_gap(real) > 0.05 and repeat_gap(synth) > 0.4 * repeat_gap(real)
    assert disability_gap(real) > 0.05 and disability_gap(synth) > 0.25 * disability_gap(real)
