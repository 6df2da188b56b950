"""Generators: fit on training children, sample valid journeys, save/load safely, evaluate."""

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from synth.dataset import read_dataset
from synth.errors import ModelError
from synth.evaluate import evaluate, validity
from synth.models import TrainingSpec, fit_model, load_model
from synth.split import holdout_mask, split_tables
from synth.stages import is_valid_path

KEY = b"s" * 32
WINDOW = {"window_start": "2021-04-01", "window_end": "2025-03-31"}  # the fixture council's extract (public)


@pytest.fixture(scope="module")
def dataset(dataset_dir):
    return read_dataset(dataset_dir)


@pytest.fixture(scope="module")
def model(dataset):
    return fit_model(dataset, TrainingSpec(seed=1))


@pytest.fixture(scope="module")
def private_model(dataset):
    return fit_model(dataset, TrainingSpec(epsilon=2.0, seed=1, **WINDOW))


@pytest.mark.parametrize("seed,n", [(1, 500), (2, 1500), (3, 3000)])
def test_every_sampled_journey_follows_the_grammar_with_dates_in_order(model, seed, n):
    s = model.sample(n, seed)
    assert len(s.children) == n
    assert validity(s.events, s.episodes) == 1.0
    paths = s.episodes.apply(lambda e: is_valid_path(e["path"].split(">"), e["left_censored"] and e["episode_no"] == 1),
                             axis=1)
    assert paths.all()
    steps = s.events.sort_values(["child_key", "episode_no", "step"])
    same = steps["child_key"].eq(steps["child_key"].shift()) & steps["episode_no"].eq(steps["episode_no"].shift())
    assert (steps["date"].diff()[same] >= pd.Timedelta(0)).all()


def test_private_model_also_samples_only_valid_journeys(private_model):
    s = private_model.sample(1000, 4)
    assert validity(s.events, s.episodes) == 1.0


def test_same_seed_same_sample_other_seed_other_sample(model):
    a, b, c = model.sample(300, 7), model.sample(300, 7), model.sample(300, 8)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.children, b.children)
    assert not a.events["date"].equals(c.events["date"])


def test_synthetic_children_carry_no_real_keys(model, dataset):
    s = model.sample(1000, 1)
    assert not set(s.children["child_key"]) & set(dataset.children["child_key"])
    assert s.children["child_key"].str.startswith("syn").all()


def test_holdout_children_never_reach_the_model(dataset):
    """Scrambling every held-out child's journeys changes nothing the model learns."""
    held = holdout_mask(dataset.children["child_key"], dataset.lineage_hash)
    assert 0.28 < held.mean() < 0.39
    keys = set(dataset.children.loc[held, "child_key"])
    ev = dataset.events.copy()
    scramble = ev["child_key"].isin(keys)
    ev.loc[scramble, "date"] = ev.loc[scramble, "date"] + pd.Timedelta(days=3)
    ev.loc[scramble, "source"] = "9"
    altered = type(dataset)(dataset.children, ev, dataset.episodes, dataset.manifest)
    a = fit_model(dataset, TrainingSpec(seed=1)).generator.tables
    b = fit_model(altered, TrainingSpec(seed=1)).generator.tables
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_like=True)


def test_saved_model_loads_and_samples_the_same(model, tmp_path):
    path = model.save(tmp_path / "m.fdm", KEY)
    again = load_model(path, KEY)
    pd.testing.assert_frame_equal(again.sample(200, 5).events, model.sample(200, 5).events)
    meta = json.loads(zipfile.ZipFile(path).read("model.json"))
    assert meta["lineage_hash"] == model.lineage_hash
    assert {"sdv", "pandas", "numpy"} <= set(meta["versions"])
    assert meta["privacy"] is None
    assert all(len(h) == 64 for h in meta["files"].values())


def test_private_model_records_the_budget_it_spent(private_model, tmp_path):
    meta = json.loads(zipfile.ZipFile(private_model.save(tmp_path / "p.fdm", KEY)).read("model.json"))
    privacy = meta["privacy"]
    assert privacy["epsilon"] == 2.0 and 0 < privacy["epsilon_spent"] <= 2.0 + 1e-9
    assert set(privacy["by_part"]) == {"children", "starts", "repeats", "transitions", "durations", "details"}
    assert privacy["contribution_bound"]["episodes_per_child"] >= 1
    assert privacy["noise_library"] == "opendp"
    assert all(m["scale"] > 0 for m in privacy["measurements"])
    assert "attributes.pkl" not in meta["files"]  # no SDV model under DP: the MST's marginals only


def test_private_model_file_holds_only_noisy_or_public_values(private_model, dataset, tmp_path):
    """The window is the declared one, the training count is noisy, and nothing counts dropped moves."""
    meta = json.loads(zipfile.ZipFile(private_model.save(tmp_path / "p.fdm", KEY)).read("model.json"))
    assert meta["window"] == {"start": WINDOW["window_start"], "end": WINDOW["window_end"]}
    assert "dropped_moves" not in meta["params"] and "noisy_children" in meta["params"]
    real_training = len(split_tables(dataset.children, dataset.events, dataset.episodes, dataset.lineage_hash,
                                     "training")[0])
    assert meta["training_children"] == meta["params"]["noisy_children"]
    # A noisy count of the training children, within a few of its own 95% bounds of the real one.
    assert abs(meta["training_children"] - real_training) <= 3 * meta["privacy"]["training_children_bound95"]


def test_private_model_keeps_children_with_several_episodes(dataset):
    """Episodes after the second used to be dropped before the repeat model (issue 12): 2+ episodes
    were 13.4% under DP against 23.4% real, 3+ 1.7% against 7.4%. With noise made negligible (a huge
    epsilon) the structure alone must keep them; at a real epsilon the noise is the bench's to measure."""
    model = fit_model(dataset, TrainingSpec(epsilon=1e4, seed=1, **WINDOW))
    s = model.sample(3000, 5)
    synth_n, real_n = s.episodes.groupby("child_key").size(), dataset.episodes.groupby("child_key").size()
    assert abs((synth_n >= 2).mean() - (real_n >= 2).mean()) < 0.05, ((synth_n >= 2).mean(), (real_n >= 2).mean())
    assert abs((synth_n >= 3).mean() - (real_n >= 3).mean()) < 0.03, ((synth_n >= 3).mean(), (real_n >= 3).mean())


def test_private_model_relates_who_a_child_is_to_what_happens(private_model):
    """Journeys match each child's MST record: a disability is recorded only for an assessed child,
    UASC status only in care."""
    s = private_model.sample(3000, 6)
    assessed = s.children["child_key"].isin(s.events.loc[s.events["stage"].isin(
        ["assessment", "strategy", "s47", "icpc", "cin_plan", "cp_plan", "cla"]), "child_key"])
    assert (s.children.loc[~assessed, "disability"] == "unknown").all()
    in_care = s.children["child_key"].isin(s.events.loc[s.events["stage"] == "cla", "child_key"])
    assert (s.children.loc[~in_care, "uasc"] == "no").all()


def test_private_training_needs_a_declared_window(dataset):
    with pytest.raises(ModelError, match="declare the extract window"):
        fit_model(dataset, TrainingSpec(epsilon=1.0))


def test_models_trained_with_the_old_private_method_are_refused(private_model, tmp_path):
    """Earlier DP models looked at the data before the noise: loading one says to train again."""
    from synth.models.base import read_model_file
    from synth.models.journey import JourneyModel

    meta, files = read_model_file(private_model.save(tmp_path / "p.fdm", KEY), KEY)
    with pytest.raises(ModelError, match="train it again"):
        JourneyModel.from_state({**meta["params"], "attributes": "dp_marginals"}, files)


def test_changed_foreign_or_damaged_model_files_are_refused(model, tmp_path):
    path = model.save(tmp_path / "m.fdm", KEY)
    with pytest.raises(ModelError, match="signature"):
        load_model(path, b"another installation's key...")
    # Edit the metadata inside the zip: the signature no longer matches.
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(entries["model.json"])
    meta["lineage_hash"] = "0" * 64
    entries["model.json"] = json.dumps(meta, sort_keys=True).encode()
    tampered = tmp_path / "t.fdm"
    with zipfile.ZipFile(tampered, "w") as zf:
        for n, data in entries.items():
            zf.writestr(n, data)
    with pytest.raises(ModelError, match="signature"):
        load_model(tampered, KEY)
    junk = tmp_path / "junk.fdm"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelError, match="not a Frontdoor model"):
        load_model(junk, KEY)
    with pytest.raises(ModelError, match="no such model"):
        load_model(tmp_path / "missing.fdm", KEY)


@pytest.mark.parametrize("spec,message", [
    (TrainingSpec(generator="gan"), "unknown generator"),
    (TrainingSpec(epsilon=-1), "positive"),
    (TrainingSpec(generator="sdv-hma", epsilon=1), "only available with the journey"),
    (TrainingSpec(delta=1e-6), "needs --epsilon"),
    (TrainingSpec(epsilon=1, window_start="2021-04-01"), "both ends"),
    (TrainingSpec(epsilon=1, window_start="2025-04-01", window_end="2021-03-31"), "end after it starts"),
    (TrainingSpec(epsilon=1, window_start="April", window_end="2021-03-31"), "two dates"),
    (TrainingSpec(epsilon=1, window_start="2021-04-01junk", window_end="2025-03-31"), "two dates"),
    (TrainingSpec(attributes="magic"), "attribute synthesizer"),
])
def test_bad_training_requests_are_refused(dataset, spec, message):
    with pytest.raises(ModelError, match=message):
        fit_model(dataset, spec)


def test_zero_children_cannot_be_sampled(model):
    with pytest.raises(ModelError, match="at least 1"):
        model.sample(0, 1)


def test_quality_on_a_small_council(model, dataset):
    """The issue's targets are for 20,000 children (see BENCHMARKS.md); on 1,500, sampling noise is
    larger and the model backs off from most of its finer contexts (fewer than 20 children in them),
    so these bounds are looser, but a broken model fails them by far."""
    parts = {p: split_tables(dataset.children, dataset.events, dataset.episodes, dataset.lineage_hash, p)
             for p in ("training", "holdout")}
    from types import SimpleNamespace as NS

    real = NS(**dict(zip(("children", "events", "episodes"), parts["training"])))
    hold = NS(**dict(zip(("children", "events", "episodes"), parts["holdout"])))
    m = evaluate(real, model.sample(3000, 11), holdout=hold, train_real=real)
    assert m["validity"] == 1.0
    assert m["next_stage_error"]["max"] < 0.08
    assert m["journey_tvd"]["top20"] < 0.08
    assert m["rereferral_12m"]["diff_pp"] < 10
    assert m["attribute_quality"] > 0.8
    assert m["utility"]["ratio"] > 0.9


def test_cli_train_sample_evaluate(cli, dataset_dir, tmp_path):
    code, out = cli.json("train", dataset_dir, "--out", tmp_path / "m.fdm")
    assert code == 0 and out["generator"] == "journey" and out["privacy"] is None
    code, out = cli.json("sample", tmp_path / "m.fdm", "--children", "800", "--seed", "2", "--out", tmp_path / "s")
    assert code == 0 and out["children"] == 800
    synth = read_dataset(tmp_path / "s")
    assert synth.manifest["synthetic"] is True
    assert synth.manifest["source_lineage_hash"] == read_dataset(dataset_dir).lineage_hash
    code, out = cli.json("evaluate", dataset_dir, tmp_path / "s")
    assert code == 0
    assert {"validity", "next_stage_error", "journey_tvd", "durations", "rereferral_12m", "conversions",
            "attribute_quality", "utility", "targets"} <= set(out)
    assert set(out["conversions"]) == {"contact_to_referral", "referral_to_assessment", "s47_to_icpc",
                                       "icpc_to_cp_plan"}


def test_cli_bad_inputs_write_nothing(cli, dataset_dir, tmp_path, council_xlsx):
    assert cli("train", dataset_dir, "--generator", "gan", "--out", tmp_path / "m.fdm").exit_code == 2
    assert cli("train", tmp_path / "none", "--out", tmp_path / "m.fdm").exit_code == 2
    tiny = tmp_path / "tiny"
    from tests.conftest import BAD_FILES

    assert cli("ingest", BAD_FILES / "unreadable_dates.csv", "--out", tiny).exit_code == 0
    code, out = cli.json("train", tiny, "--out", tmp_path / "m.fdm")
    assert code == 2 and "too small" in out["error"]
    assert not (tmp_path / "m.fdm").exists()
    (tmp_path / "bad.fdm").write_text("not a model")
    code, out = cli.json("sample", tmp_path / "bad.fdm", "--children", "5", "--out", tmp_path / "s")
    assert code == 2 and not (tmp_path / "s").exists()
    assert cli("train", dataset_dir, "--out", tmp_path / "m.fdm").exit_code == 0
    code, out = cli.json("sample", tmp_path / "m.fdm", "--children", "0", "--out", tmp_path / "s")
    assert code == 2 and "at least 1" in out["error"] and not (tmp_path / "s").exists()
    code, out = cli.json("evaluate", tiny, dataset_dir)
    assert code == 2 and "not a synthetic dataset" in out["error"]


@pytest.mark.slow
@pytest.mark.parametrize("generator", ["sdv-hma", "sdv-par"])
def test_sdv_baselines_train_sample_and_round_trip(dataset, generator, tmp_path):
    model = fit_model(dataset, TrainingSpec(generator=generator, epochs=2, seed=1))
    s = load_model(model.save(tmp_path / "b.fdm", KEY), KEY).sample(60, 1)
    assert len(s.children) > 0 and len(s.events) > 0
    assert set(s.events["stage"]) <= set(np.unique(dataset.events["stage"]))
    assert 0.0 <= validity(s.events, s.episodes) <= 1.0
