"""The release gate and the release bundle."""

import json
import zipfile

import pandas as pd
import pytest

from synth.bundle import read_bundle, write_bundle
from synth.dataset import Dataset, read_dataset, write_dataset
from synth.disclosure import run_gate
from synth.errors import BundleError, DisclosureError
from synth.models import TrainingSpec, fit_model
from synth.split import holdout_mask, split_tables
from synth.synthetic import write_synthetic

CANARY_TEAM = "Canary Team Zq9"


@pytest.fixture(scope="module")
def real_with_canaries(dataset_dir, tmp_path_factory):
    """The 1,500-children council plus five planted children with unique attributes and journeys,
    all in the training part."""
    ds = read_dataset(dataset_dir)
    planted_c, planted_e = [], []
    i = 0
    keys = []
    while len(keys) < 5:
        key = f"canary{i:010x}"[:16]
        i += 1
        if not holdout_mask(pd.Series([key]), ds.lineage_hash)[0]:
            keys.append(key)
    stages = ["contact", "referral", "strategy", "s47", "icpc", "cp_plan", "cla", "other"]
    for n, key in enumerate(keys):
        planted_c.append({"child_key": key, "sex": "neither", "ethnicity_group": "Other", "age_at_first_contact": 17,
                          "age_band": "16+", "disability": "yes", "uasc": "yes", "missing_episodes": 9,
                          "previous_cp_plans": 4})
        start = pd.Timestamp("2022-02-03") + pd.Timedelta(days=n)
        offsets = [0, 1, 2, 2, 19, 19, 203 + n, 911 + n]
        for step, (stage, off) in enumerate(zip(stages, offsets)):
            planted_e.append({"child_key": key, "episode_no": 1, "step": step, "stage": stage,
                              "date": start + pd.Timedelta(days=off), "source": "7", "team": CANARY_TEAM,
                              "need_code": None, "abuse_category": None, "closure_reason": None, "list_no": 1,
                              "derived": False})
    from synth.journeys import link_episodes

    children = pd.concat([ds.children, pd.DataFrame(planted_c)], ignore_index=True)
    ev = pd.concat([ds.events, pd.DataFrame(planted_e)], ignore_index=True)
    ev, eps = link_episodes(ev.sort_values(["child_key", "episode_no", "step"]).drop(columns=["episode_no", "step"]))
    ev["list_no"] = ev["list_no"].astype("int8")
    out = tmp_path_factory.mktemp("canary") / "ds"
    manifest = {**ds.manifest, "lineage_hash": "c" * 64}  # planted data: a dataset of its own
    write_dataset(out, Dataset(children, ev, eps, manifest))
    return read_dataset(out), keys


@pytest.fixture(scope="module")
def synthetic(real_with_canaries, tmp_path_factory):
    real, _ = real_with_canaries
    model = fit_model(real, TrainingSpec(seed=3))
    out = tmp_path_factory.mktemp("syn") / "s"
    write_synthetic(out, model.sample(1500, 3), model, 3)
    return read_dataset(out)


@pytest.fixture(scope="module")
def gate(real_with_canaries, synthetic):
    return run_gate(real_with_canaries[0], synthetic, "default")


def copying_generator(real: Dataset, out) -> Dataset:
    """A deliberately leaky 'generator': it releases its training children under new keys."""
    c, e, p = split_tables(real.children, real.events, real.episodes, real.lineage_hash, "training")
    new = {k: f"syn9999-{i:07d}" for i, k in enumerate(c["child_key"])}
    tables = [t.assign(child_key=t["child_key"].map(new)) for t in (c, e, p)]
    manifest = {"synthetic": True, "lineage_hash": "f" * 64, "source_lineage_hash": real.lineage_hash,
                "model": {"generator": "copy", "window": None}}
    write_dataset(out, Dataset(*tables, manifest))
    return read_dataset(out)


def test_default_generator_passes_the_gate(gate):
    statuses = {c.name: c.status for c in gate.report.checks}
    assert "fail" not in statuses.values(), statuses
    assert {"real_children", "verbatim_copies", "distance_to_closest_record", "membership_inference",
            "singling_out", "singling_out_multivariate", "linkability", "attribute_inference", "synthetic_map",
            "rare_values"} == set(statuses)
    assert gate.report.release["kind"] == "synthetic"


def test_a_generator_that_copies_its_training_children_fails(real_with_canaries, tmp_path):
    real, _ = real_with_canaries
    leaky = copying_generator(real, tmp_path / "leaky")
    result = run_gate(real, leaky, "default", fidelity=False)
    statuses = {c.name: c.status for c in result.report.checks}
    assert result.verdict == "fail"
    assert statuses["real_children"] == "fail" and statuses["verbatim_copies"] == "fail"
    assert statuses["distance_to_closest_record"] == "review"  # a sanity check only: it never fails a release
    assert statuses["membership_inference"] == "fail"


def test_every_check_explains_itself_with_metric_threshold_and_threshold_set(gate):
    d = gate.report.to_dict()
    assert d["threshold_set"]["name"] == "default" and d["threshold_set"]["version"]
    for c in d["checks"]:
        assert c["status"] in {"pass", "fail", "review"}
        assert c["threshold"] and len(c["explanation"]) > 30
    assert d["verdict"] in {"pass", "review"}


def test_report_html_is_standalone_and_leads_with_the_verdict(gate):
    page = gate.report.to_html()
    assert page.index(gate.verdict.upper()) < page.index("Checks")
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "<svg" in page


def test_map_publishes_every_stage_and_split_computed_from_the_synthetic_records(gate, synthetic):
    """A synthetic release's map is computed from its own records: nothing withheld or rounded (anyone can
    compute it from the CSVs), and the gate checks it equals the map recomputed from the tables."""
    from synth import journeys

    m = gate.map_json
    assert m["source"] == "synthetic" and m["kind"] == "synthetic"
    assert {s["id"] for s in m["stages"]} >= {"contact", "referral", "cp_plan", "nfa"}
    assert {"all", "sex=female", "repeat=1"} <= set(m["views"])
    assert any(v.startswith("year=") for v in m["views"])
    edges = [e for v in m["views"].values() for e in v["edges"]]
    assert not any(e["suppressed"] or e["durations_suppressed"] for e in edges)
    assert all(e["children"] is not None for e in edges)
    assert any(0 < e["children"] < 10 or e["children"] % 5 for e in edges if e["children"])  # exact, small too
    assert m["views"]["all"]["children"] == len(synthetic.children)
    tr = journeys.transitions(synthetic.events)
    exact = tr.groupby(["source", "target"])["child_key"].nunique()
    for e in m["views"]["all"]["edges"]:
        assert e["children"] == exact.get((e["source"], e["target"]), 0)
    check = next(c for c in gate.report.checks if c.name == "synthetic_map")
    assert check.status == "pass" and check.group == "aggregate"


def test_a_map_not_computed_from_the_synthetic_records_fails(synthetic):
    from synth.disclosure import aggregates
    from synth.disclosure.gate import synthetic_map_check
    from synth.disclosure.profiles import get_profile

    gate_map = aggregates.build_map(synthetic.events, synthetic.episodes, synthetic.children,
                                     get_profile("default"), controlled=False)[0]
    assert synthetic_map_check(gate_map, synthetic, get_profile("default")).status == "pass"
    changed = json.loads(json.dumps(gate_map))
    changed["views"]["all"]["edges"][0]["children"] += 1
    assert synthetic_map_check(changed, synthetic, get_profile("default")).status == "fail"


def test_canary_children_never_appear_in_a_bundle(real_with_canaries, synthetic, gate, tmp_path):
    real, keys = real_with_canaries
    path = write_bundle(tmp_path / "b.zip", synthetic, gate.map_json, gate.report, "r-canary", real.lineage_hash)
    canary_eps = real.episodes[real.episodes["child_key"].isin(keys)]
    needles = [*keys, CANARY_TEAM, *canary_eps["days"], *(canary_eps["path"] + "," + canary_eps["days"])]
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            text = zf.read(name).decode("utf-8")
            for needle in needles:
                assert needle not in text, f"{needle} found in {name}"


def test_bundle_is_a_valid_frictionless_package_with_checksums(real_with_canaries, synthetic, gate, tmp_path):
    import frictionless

    real, _ = real_with_canaries
    path = write_bundle(tmp_path / "b.zip", synthetic, gate.map_json, gate.report, "r1", real.lineage_hash)
    b = read_bundle(path)
    assert b.release_id == "r1" and b.manifest["frontdoor"]["synthetic"] is True and b.kind == "synthetic"
    assert b.manifest["frontdoor"]["kind"] == "synthetic" and b.map["source"] == "synthetic"
    assert set(b.manifest["frontdoor"]["files"]) == {"children.csv", "episodes.csv", "events.csv", "map.json",
                                                     "disclosure_report.json", "disclosure_report.html", "README.md",
                                                     "map.schema.json", "map_fields.md", "events.ocel.json",
                                                     "events.xes", "layout.json", "journey_values.csv"}
    assert len(b.table("events")) == len(synthetic.events)
    with zipfile.ZipFile(path) as zf:
        zf.extractall(tmp_path / "x")
    report = frictionless.validate(str(tmp_path / "x" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    card = (tmp_path / "x" / "README.md").read_text()
    assert "Synthetic data" in card and "What it is not" in card


def test_tampered_or_incomplete_bundles_are_refused(real_with_canaries, synthetic, gate, tmp_path):
    real, _ = real_with_canaries
    path = write_bundle(tmp_path / "b.zip", synthetic, gate.map_json, gate.report, "r1", real.lineage_hash)
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    changed = dict(entries, **{"children.csv": entries["children.csv"].replace(b"female", b"male")})
    for name, files in (("changed.zip", changed), ("missing.zip", {k: v for k, v in entries.items() if k != "map.json"})):
        with zipfile.ZipFile(tmp_path / name, "w") as zf:
            for n, data in files.items():
                zf.writestr(n, data)
    with pytest.raises(BundleError, match="checksum"):
        read_bundle(tmp_path / "changed.zip")
    with pytest.raises(BundleError, match="missing map.json"):
        read_bundle(tmp_path / "missing.zip")
    # A bundle from before kinds were explicit (no frontdoor.kind) reads as synthetic.
    old = json.loads(entries["datapackage.json"])
    del old["frontdoor"]["kind"]
    with zipfile.ZipFile(tmp_path / "old.zip", "w") as zf:
        for n, data in {**entries, "datapackage.json": json.dumps(old).encode()}.items():
            zf.writestr(n, data)
    assert read_bundle(tmp_path / "old.zip").kind == "synthetic"
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(BundleError, match="not a readable zip"):
        read_bundle(tmp_path / "junk.zip")


def test_csv_cells_cannot_run_as_formulas(real_with_canaries, synthetic, gate, tmp_path):
    real, _ = real_with_canaries
    evil = synthetic.events.copy()
    evil.loc[evil.index[:3], "team"] = ["=HYPERLINK(\"http://x\")", "+1+1", "@SUM(A1)"]
    ds = Dataset(synthetic.children, evil, synthetic.episodes, synthetic.manifest)
    path = write_bundle(tmp_path / "b.zip", ds, gate.map_json, gate.report, "r1", real.lineage_hash)
    text = zipfile.ZipFile(path).read("events.csv").decode()
    assert "'=HYPERLINK" in text and "'+1+1" in text and "'@SUM(A1)" in text
    assert ",=HYPERLINK" not in text


def test_mismatched_inputs_are_refused(real_with_canaries, synthetic, dataset_dir):
    real, _ = real_with_canaries
    with pytest.raises(DisclosureError, match="lineage"):
        run_gate(read_dataset(dataset_dir), synthetic)
    with pytest.raises(DisclosureError, match="not synthetic"):
        run_gate(real, real)
    with pytest.raises(DisclosureError, match="unknown disclosure profile"):
        run_gate(real, synthetic, "lenient")


def test_cli_check_and_bundle(cli, real_with_canaries, synthetic, tmp_path):
    real, _ = real_with_canaries
    real_dir, synth_dir = tmp_path / "real", tmp_path / "syn"
    write_dataset(real_dir, real)
    write_dataset(synth_dir, synthetic)
    result = cli("check", real_dir, synth_dir, "--out", tmp_path / "rep", "--no-fidelity", "--json")
    out = json.loads(result.stdout)
    assert result.exit_code == {"pass": 0, "review": 3}[out["verdict"]]
    assert {p.name for p in (tmp_path / "rep").iterdir()} == {"disclosure_report.json", "disclosure_report.html",
                                                              "map.json"}
    assert cli("check", real_dir, synth_dir, "--profile", "nope", "--out", tmp_path / "r2").exit_code == 2
    assert not (tmp_path / "r2").exists()
    result = cli("bundle", real_dir, synth_dir, "--out", tmp_path / "b.zip", "--release-id", "r9")
    assert result.exit_code == 0, result.output
    assert read_bundle(tmp_path / "b.zip").release_id == "r9"
    leaky = copying_generator(real, tmp_path / "leaky")
    assert leaky.manifest["synthetic"]
    result = cli("bundle", real_dir, tmp_path / "leaky", "--out", tmp_path / "leak.zip")
    assert result.exit_code == 1 and "gate failed" in result.output
    assert not (tmp_path / "leak.zip").exists()
    result = cli("check", real_dir, tmp_path / "leaky", "--out", tmp_path / "r3", "--no-fidelity")
    assert result.exit_code == 1
