"""What a developer gets beside the tables (issue 15, item 8): the map's JSON Schema and field table in
every bundle, the synthetic events as OCEL 2.0 JSON and XES validated against their published schemas
(vendored in tests/schemas, see its README), made from synthetic records only, and a worked example that
builds a new visualisation from a real bundle."""

from __future__ import annotations

import html as html_lib
import io
import json
import re
import subprocess
import sys
import time
import zipfile
from datetime import datetime
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from lxml import etree

from synth import event_logs
from synth.bundle import read_bundle, write_bundle
from synth.dataset import read_dataset
from synth.disclosure import run_aggregate_gate, run_gate
from synth.errors import BundleError
from synth.map_schema import MAP_SCHEMA
from synth.models import TrainingSpec, fit_model
from synth.synthetic import write_synthetic

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "schemas"
EXAMPLE = ROOT / "examples" / "build_visualisation.py"
SYNTHETIC_CHILDREN = 700


@pytest.fixture(scope="module")
def real(dataset_dir):
    return read_dataset(dataset_dir)


@pytest.fixture(scope="module")
def synthetic(real, tmp_path_factory):
    model = fit_model(real, TrainingSpec(seed=8))
    out = tmp_path_factory.mktemp("exports_syn") / "s"
    write_synthetic(out, model.sample(SYNTHETIC_CHILDREN, 8), model, 8)
    return read_dataset(out)


@pytest.fixture(scope="module")
def gate(real, synthetic):
    return run_gate(real, synthetic, "default", fidelity=False)


@pytest.fixture(scope="module")
def bundle_path(real, synthetic, gate, tmp_path_factory) -> Path:
    return write_bundle(tmp_path_factory.mktemp("exports") / "synthetic.zip", synthetic, gate.map_json, gate.report,
                        "r-exports", real.lineage_hash)


@pytest.fixture(scope="module")
def aggregate_path(real, tmp_path_factory) -> Path:
    agg = run_aggregate_gate(real, "default", [], release={"release_id": "agg-exports", "version": 1})
    return write_bundle(tmp_path_factory.mktemp("exports") / "aggregate.zip", None, agg.map_json, agg.report,
                        "agg-exports", real.lineage_hash, kind="aggregate")


@pytest.fixture(scope="module")
def bundle(bundle_path):
    return read_bundle(bundle_path)


def ocel_validator() -> jsonschema.Draft7Validator:
    """The published OCEL 2.0 schema, with its `date-time` format checked (RFC 3339)."""
    checker = jsonschema.FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def rfc3339(value) -> bool:
        if not isinstance(value, str):
            return True
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", value):
            raise ValueError(f"{value!r} is not an RFC 3339 date-time")
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    schema = json.loads((SCHEMAS / "ocel20-schema-json.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=checker)


def xes_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "xes-ieee-1849-2016.xsd")))


def map_validator(schema: dict) -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


# -- map.json: its schema and field table ----------------------------------------------------------

@pytest.mark.slow
def test_every_kind_of_bundle_carries_the_map_schema_and_its_map_validates(bundle_path, aggregate_path):
    for path in (bundle_path, aggregate_path):
        b = read_bundle(path)
        schema = json.loads(b.files["map.schema.json"])
        assert schema == MAP_SCHEMA
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in map_validator(schema).iter_errors(b.map)]
        assert not errors, f"{path.name}: " + "\n".join(errors[:10])
        assert {"map.schema.json", "map_fields.md"} <= set(b.manifest["frontdoor"]["files"])


@pytest.mark.slow
def test_the_schema_refuses_a_map_that_breaks_the_format(bundle):
    validator = map_validator(MAP_SCHEMA)
    m = bundle.map
    edge = m["views"]["all"]["edges"][0]
    bad = [
        {**m, "undocumented": 1},
        {**m, "version": 2},
        {**m, "views": {**m["views"], "all": {**m["views"]["all"], "edges": [{**edge, "share": 1.5}]}}},
        {**m, "views": {**m["views"], "all": {**m["views"]["all"], "edges": [{**edge, "children": "12"}]}}},
        {**m, "views": {k: v for k, v in m["views"].items() if k != "all"}},
        {**m, "window": {"start": "2021-04-01", "end": "2025-03"}},
    ]
    for i, doc in enumerate(bad):
        assert list(validator.iter_errors(doc)), f"bad map {i} passed the schema"


def _paths(node, path: str = "") -> set[str]:
    """Every field path of a map, written as the field table writes it (views.<view>.edges[].share)."""
    out = set()
    if isinstance(node, dict):
        for k, v in node.items():
            key = "<view>" if path == "views" else "<name>" if path == "classifications" else k
            p = f"{path}.{key}" if path else key
            out |= {p} | _paths(v, p)
    elif isinstance(node, list):
        for v in node:
            out |= _paths(v, f"{path}[]")
    return out


@pytest.mark.slow
def test_the_field_table_documents_every_field_the_map_has(bundle, aggregate_path):
    for b in (bundle, read_bundle(aggregate_path)):
        table = b.files["map_fields.md"].decode()
        documented = set(re.findall(r"^\| `([^`]+)` \|", table, flags=re.M))
        missing = sorted(_paths(b.map) - documented)
        assert not missing, f"map.json fields not in map_fields.md: {missing}"
    assert "views.<view>.edges[].median_days" in documented


# -- the event logs ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_the_ocel_log_validates_against_the_published_schema_and_holds_every_event(bundle):
    doc = json.loads(bundle.files["events.ocel.json"])
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in ocel_validator().iter_errors(doc)]
    assert not errors, "\n".join(errors[:10])
    events, children, episodes = bundle.table("events"), bundle.table("children"), bundle.table("episodes")
    assert len(doc["events"]) == len(events)
    types = {o["type"] for o in doc["objects"]}
    assert types == {"child", "journey"}
    assert sum(o["type"] == "child" for o in doc["objects"]) == len(children)
    assert sum(o["type"] == "journey" for o in doc["objects"]) == len(episodes)
    # Every relationship names an object of the log (the schema cannot check that), every event type is declared.
    ids = {o["id"] for o in doc["objects"]}
    assert all(r["objectId"] in ids for e in doc["events"] for r in e["relationships"])
    assert {e["type"] for e in doc["events"]} <= {t["name"] for t in doc["eventTypes"]}
    # The same journeys: per child, the stages in order, as events.csv has them.
    got = pd.DataFrame([{"child_key": e["relationships"][0]["objectId"], "stage": a["value"],
                         "step": int(next(x["value"] for x in e["attributes"] if x["name"] == "step")),
                         "journey": e["relationships"][1]["objectId"]}
                        for e in doc["events"] for a in e["attributes"] if a["name"] == "stage"])
    want = events.assign(journey=events["child_key"] + "/" + events["episode_no"].astype(str))
    key = ["journey", "step"]
    assert got.sort_values(key)[["journey", "stage"]].to_numpy().tolist() == \
        want.sort_values(key)[["journey", "stage"]].to_numpy().tolist()


def test_the_ocel_schema_check_can_fail():
    validator = ocel_validator()
    good = {"eventTypes": [], "objectTypes": [], "objects": [{"id": "o1", "type": "child"}],
            "events": [{"id": "e1", "type": "Contact", "time": "2022-09-08T00:00:00Z",
                        "relationships": [{"objectId": "o1", "qualifier": "child"}]}]}
    assert not list(validator.iter_errors(good))
    e = good["events"][0]
    for bad in ({**good, "events": [{**e, "time": "2022-09-08"}]},
                {**good, "events": [{**e, "attributes": [{"name": "step", "value": 3}]}]},
                {**good, "events": [{k: v for k, v in e.items() if k != "time"}]},
                {k: v for k, v in good.items() if k != "objectTypes"}):
        assert list(validator.iter_errors(bad)), bad


@pytest.mark.slow
def test_the_xes_log_validates_against_the_ieee_schema_and_holds_every_journey(bundle):
    xsd = xes_schema()
    tree = etree.parse(io.BytesIO(bundle.files["events.xes"]))
    assert xsd.validate(tree), str(xsd.error_log)
    traces = tree.getroot().findall("trace")
    assert len(traces) == len(bundle.table("episodes"))
    assert sum(len(t.findall("event")) for t in traces) == len(bundle.table("events"))
    first = bundle.table("events").sort_values(["child_key", "episode_no", "step"]).iloc[0]
    names = [s.get("value") for s in traces[0].findall("event/string[@key='stage']")]
    assert traces[0].find("string[@key='child']").get("value") == first["child_key"] and names[0] == first["stage"]


def test_the_xes_schema_check_can_fail():
    xsd = xes_schema()
    ok = b'<log xes.version="1.0"><trace><event><int key="step" value="1"/></event></trace></log>'
    assert xsd.validate(etree.fromstring(ok))
    for bad in (ok.replace(b'value="1"', b'value="one"'), ok.replace(b'1.0"', b'1849-2016"'),
                ok.replace(b"<log ", b'<log xmlns="http://www.xes-standard.org/" '),
                ok.replace(b"<event>", b"<event><date key='time:timestamp' value='2022-09-08'/>")):
        assert not xsd.validate(etree.fromstring(bad)), bad


@pytest.mark.slow
def test_the_event_logs_hold_no_real_child(bundle, real, council_xlsx):
    raw = pd.read_excel(council_xlsx / "annex_a.xlsx", sheet_name=None, engine="calamine", dtype=str)
    raw_ids = set(pd.concat([df["Child Unique ID"] for df in raw.values()]).dropna())
    real_keys = set(real.children["child_key"])
    assert len(raw_ids) > 1000 and len(real_keys) > 1000
    for name in ("events.ocel.json", "events.xes"):
        text = bundle.files[name].decode()
        tokens = set(re.findall(r"[A-Za-z0-9]+", text))
        assert not tokens & raw_ids, f"raw child ids in {name}"
        assert not tokens & real_keys, f"real pseudonyms in {name}"
        keys = set(re.findall(r"[a-z]{3}\d{4}-\d{7}", text))
        assert keys == set(bundle.table("children")["child_key"]), name
    # The check can fail: a pseudonym and a raw id planted in a log are found by the same search.
    planted = text.replace(next(iter(keys)), f"{next(iter(real_keys))} {next(iter(raw_ids))}", 1)
    assert set(re.findall(r"[A-Za-z0-9]+", planted)) & real_keys and set(re.findall(r"[A-Za-z0-9]+", planted)) & raw_ids


@pytest.mark.slow
def test_a_bundle_of_real_records_is_refused_before_anything_is_written(real, gate, tmp_path):
    out = tmp_path / "leak.zip"
    with pytest.raises(BundleError, match="not a synthetic one.*child_key"):
        write_bundle(out, real, gate.map_json, gate.report, "r-leak", real.lineage_hash)
    assert not out.exists() and not list(tmp_path.iterdir())


@pytest.mark.slow
def test_an_event_without_a_date_is_refused_naming_its_row(bundle):
    events = bundle.table("events")
    events.loc[5, "date"] = pd.NaT
    for export in (event_logs.ocel_json, event_logs.xes):
        with pytest.raises(BundleError, match="row 7 of events.csv, column date"):
            export(bundle.table("children"), bundle.table("episodes"), events)


@pytest.mark.slow
def test_a_changed_event_log_is_refused_and_a_bundle_from_before_the_logs_still_reads(bundle_path, tmp_path):
    with zipfile.ZipFile(bundle_path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    changed = dict(entries, **{"events.xes": entries["events.xes"].replace(b"Contact", b"Referral", 1)})
    newer = ("events.ocel.json", "events.xes", "map.schema.json", "map_fields.md")
    manifest = json.loads(entries["datapackage.json"])
    for n in newer:
        del manifest["frontdoor"]["files"][n]
    older = {**{k: v for k, v in entries.items() if k not in newer}, "datapackage.json": json.dumps(manifest).encode()}
    for name, files in (("changed.zip", changed), ("older.zip", older)):
        with zipfile.ZipFile(tmp_path / name, "w") as zf:
            for n, data in files.items():
                zf.writestr(n, data)
    with pytest.raises(BundleError, match="events.xes does not match its checksum"):
        read_bundle(tmp_path / "changed.zip")
    assert "events.xes" not in read_bundle(tmp_path / "older.zip").files


@pytest.mark.slow
def test_the_event_logs_of_150000_children_are_written_in_seconds(bundle):
    """The sample tiled to 150,000 children (each copy under its own synthetic keys): both logs within 90 s on
    one busy core (`pytest -s -k 150000` prints the times)."""
    children, episodes, events = bundle.table("children"), bundle.table("episodes"), bundle.table("events")
    copies = -(-150_000 // len(children))

    def tile(df):
        k = np.repeat(np.arange(copies), len(df))
        big = pd.concat([df] * copies, ignore_index=True)
        big["child_key"] = "syn" + pd.Series(k).map("{:04d}".format) + big["child_key"].str[7:]
        return big

    c, ep, ev = tile(children), tile(episodes), tile(events)
    assert len(c) >= 150_000
    start = time.perf_counter()
    ocel = event_logs.ocel_json(c, ep, ev)
    middle = time.perf_counter()
    xes = event_logs.xes(c, ep, ev)
    took = time.perf_counter() - start
    print(f"\n{len(c):,} children, {len(ev):,} events: OCEL {middle - start:.1f} s ({len(ocel) / 1e6:.0f} MB), "
          f"XES {took - (middle - start):.1f} s ({len(xes) / 1e6:.0f} MB)")
    assert took < 90, f"{took:.0f} s for the logs of {len(c):,} children"
    assert ocel.count(b'"qualifier":"child"') == len(ev) and xes.count(b"<trace>") == len(ep)


# -- the worked example ------------------------------------------------------------------------------

def _example(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(EXAMPLE), *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def _sources(node, name: str):
    """Every ColumnDataSource called `name` in a serialised Bokeh document."""
    if isinstance(node, dict):
        if node.get("name") == "ColumnDataSource" and node.get("attributes", {}).get("name") == name:
            yield node["attributes"]["data"]
        for v in node.values():
            yield from _sources(v, name)
    elif isinstance(node, list):
        for v in node:
            yield from _sources(v, name)


def _bokeh_source(html: str, name: str) -> dict:
    """The data of the named ColumnDataSource in a standalone Bokeh page."""
    for blob in re.findall(r'<script type="application/json" id="[^"]+">\s*(.*?)\s*</script>', html, flags=re.S):
        for data in _sources(json.loads(html_lib.unescape(blob)), name):  # Bokeh escapes the JSON for HTML
            return data
    raise AssertionError(f"no data source {name} in the page")


def _column(data: dict, key: str) -> list:
    col = data["entries"] if "entries" in data else data
    col = dict(col) if isinstance(col, list) else col
    value = col[key]
    if isinstance(value, dict) and value.get("type") == "ndarray":
        array = value["array"]
        return array if isinstance(array, list) else list(np.frombuffer(__import__("base64").b64decode(
            array["data"] if isinstance(array, dict) else array), dtype=value["dtype"]))
    return value


@pytest.mark.slow
def test_the_worked_example_draws_the_routes_of_a_real_bundle(bundle_path, bundle, tmp_path):
    out = tmp_path / "flows.html"
    done = _example(bundle_path, "--out", out)
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    data = _bokeh_source(html, "stage_flows")
    label = {s["id"]: s["label"] for s in bundle.map["stages"]}
    want = {(label[e["source"]], label[e["target"]]): e["share"] for e in bundle.map["views"]["all"]["edges"]
            if e["moves"]}
    got = {(s, t): v for s, t, v in zip(_column(data, "stage"), _column(data, "target"), _column(data, "share"))}
    assert got == pytest.approx(want)
    assert f"{len(want)} routes" in done.stdout and "release r-exports" in html


@pytest.mark.slow
def test_the_worked_example_on_an_aggregate_view_and_on_bad_input(aggregate_path, bundle_path, tmp_path):
    done = _example(aggregate_path, "--out", tmp_path / "agg.html", "--view", "sex=female")
    assert done.returncode == 0, done.stderr
    agg = read_bundle(aggregate_path).map["views"]["sex=female"]
    published = [e for e in agg["edges"] if e["share"] is not None and e["moves"]]
    assert len(_column(_bokeh_source((tmp_path / "agg.html").read_text(), "stage_flows"), "share")) == len(published)
    with zipfile.ZipFile(bundle_path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    entries["map.json"] = entries["map.json"].replace(b'"share"', b'"shar"', 1)
    with zipfile.ZipFile(tmp_path / "tampered.zip", "w") as zf:
        for n, data in entries.items():
            zf.writestr(n, data)
    for args, message in (((tmp_path / "tampered.zip",), "map.json is missing or does not match its checksum"),
                          ((tmp_path / "none.zip",), "not a readable release bundle"),
                          ((bundle_path, "--view", "sex=dragon"), "no view 'sex=dragon'")):
        done = _example(*args, "--out", tmp_path / "x.html")
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
