"""Two kinds of release (issue 11, item 5): an aggregate release of real counts under disclosure control,
with no records, checked against every earlier release of the same dataset."""

from __future__ import annotations

import json
import zipfile

import pytest

from synth.bundle import OTHER_FILES, read_bundle, write_bundle
from synth.dataset import read_dataset
from synth.disclosure import run_aggregate_gate, run_gate
from synth.errors import BundleError, DisclosureError


@pytest.fixture(scope="module")
def real(dataset_dir):
    return read_dataset(dataset_dir)


@pytest.fixture(scope="module")
def first(real):
    return run_aggregate_gate(real, "default", [], release={"release_id": "agg-1", "version": 1})


def test_an_aggregate_release_is_real_counts_under_control(real, first):
    m = first.map_json
    assert m["source"] == "real" and m["kind"] == "aggregate" and m["profile"]["name"] == "default"
    statuses = {c.name: c.status for c in first.report.checks}
    assert statuses == {"small_cells": "pass", "zeros": "pass", "secondary_suppression": "pass", "rounding": "pass",
                        "durations": "pass", "differencing": "pass"}
    edges = [e for v in m["views"].values() for e in v["edges"]]
    assert any(e["suppressed"] for e in edges)
    assert all(e["children"] >= 10 and e["children"] % 5 == 0 for e in edges if e["children"])
    assert first.report.release["kind"] == "aggregate"
    assert first.report.release["real_children"] == len(real.children)  # exact for reviewers
    assert "real_children" not in first.report.public_dict()["release"]  # the map carries it, controlled


def test_a_second_release_under_looser_rules_fails_the_differencing_check(real, first):
    """default (counts below 10 withheld, rounded) then dfe (1-5 withheld, exact): what the first withheld
    the second publishes, and subtraction recovers cells both withhold."""
    second = run_aggregate_gate(real, "dfe", [first.map_json])
    check = next(c for c in second.report.checks if c.name == "differencing")
    assert second.verdict == "fail" and check.status == "fail"
    assert check.details["earlier_releases"] == 1 and check.details["withheld_elsewhere"]
    assert check.details["recovered"]  # withheld in both, worked out from the two together
    assert "Comparing" in check.public_explanation


def test_a_second_release_under_the_same_rules_passes(real, first):
    again = run_aggregate_gate(real, "default", [first.map_json])
    assert {c.name: c.status for c in again.report.checks}["differencing"] == "pass"
    assert again.map_json["views"] == first.map_json["views"]


def test_an_aggregate_bundle_has_no_records(real, first, tmp_path):
    path = write_bundle(tmp_path / "agg.zip", None, first.map_json, first.report, "agg-1", real.lineage_hash)
    with zipfile.ZipFile(path) as zf:
        assert set(zf.namelist()) == {"datapackage.json", *OTHER_FILES}
        manifest = json.loads(zf.read("datapackage.json"))
    assert manifest["frontdoor"]["kind"] == "aggregate" and manifest["frontdoor"]["version"] == 1
    assert [r["path"] for r in manifest["resources"]] == ["map.json"]
    b = read_bundle(path)
    assert b.kind == "aggregate" and b.map["source"] == "real" and b.map["kind"] == "aggregate"
    with pytest.raises(BundleError, match="aggregate release.*no records"):
        b.table("children")
    card = b.files["README.md"].decode()
    assert "Aggregate counts from real data" in card and "no records" in card and "disclosure control" in card
    assert "Kind of release: Aggregate counts from real data" in b.files["disclosure_report.html"].decode()
    # No records may be given, and a map of synthetic records cannot be published as real counts.
    with pytest.raises(BundleError, match="no records"):
        write_bundle(tmp_path / "x.zip", real, first.map_json, first.report, "agg-x", real.lineage_hash)
    with pytest.raises(BundleError, match="source"):
        write_bundle(tmp_path / "y.zip", None, {**first.map_json, "source": "synthetic"}, first.report, "agg-y",
                     real.lineage_hash, kind="aggregate")


def test_an_aggregate_bundle_carrying_a_table_is_refused(real, first, tmp_path):
    path = write_bundle(tmp_path / "agg.zip", None, first.map_json, first.report, "agg-1", real.lineage_hash)
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(tmp_path / "smuggled.zip", "w") as zf:
        for n, data in {**entries, "children.csv": b"child_key\nsyn1\n"}.items():
            zf.writestr(n, data)
    with pytest.raises(BundleError, match="no records"):
        read_bundle(tmp_path / "smuggled.zip")


def test_kinds_are_explicit(real):
    with pytest.raises(DisclosureError, match="run_aggregate_gate"):
        run_gate(real, real, kind="aggregate")
    with pytest.raises(DisclosureError, match="unknown kind"):
        run_gate(real, real, kind="mixed")
