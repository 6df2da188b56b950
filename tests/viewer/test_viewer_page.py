"""The page one browser session gets (viewer.page.build), on a Bokeh document without a browser."""

import pytest
from bokeh.document import Document

from viewer import state
from viewer.data import load_release
from viewer.page import build

ANIMATION = ("dots", "play", "speed", "time", "clock", "classification", "legend")  # models on the page


def page_for(monkeypatch, *releases) -> Document:
    monkeypatch.setattr(state, "RELEASES", {r.release_id: r for r in releases})
    monkeypatch.setattr(state, "ERRORS", [])
    doc = Document()
    build(doc)
    return doc


def model(doc: Document, name: str):
    found = doc.select_one({"name": name})
    assert found is not None, f"no model named {name} on the page"
    return found


@pytest.fixture(scope="module")
def aggregate(aggregate_bundle):
    return load_release(aggregate_bundle)


@pytest.fixture(scope="module")
def synthetic(bundle):
    return load_release(bundle, max_dots=200)


def test_an_aggregate_page_has_the_map_tables_and_label_but_nothing_to_animate(monkeypatch, aggregate, synthetic):
    doc = page_for(monkeypatch, aggregate, synthetic)
    assert "Aggregate release: real counts under disclosure control; no children to animate" in \
        model(doc, "header").text
    assert model(doc, "map_nodes").data["stage"] == [s["id"] for s in aggregate.map["stages"]]
    assert len(model(doc, "map_edges").data["source"]) == len(aggregate.views["all"]["edges"])
    assert len(model(doc, "journeys").data["path"]) == len(aggregate.views["all"]["top_journeys"])
    assert "Key statistics" in model(doc, "stats").text
    assert [n for n in ANIMATION if doc.select_one({"name": n}) is not None] == []
    assert not doc.callbacks.js_event_callbacks  # no animation loop is sent
    doc.to_json()  # the page serialises as it is sent


def test_a_synthetic_page_is_labelled_and_keeps_its_dots(monkeypatch, synthetic, aggregate):
    doc = page_for(monkeypatch, synthetic, aggregate)
    header = model(doc, "header").text
    assert "Synthetic records: every figure is computed from the synthetic children in this release" in header
    assert "Aggregate release" not in header
    assert [n for n in ANIMATION if doc.select_one({"name": n}) is None] == []
    assert doc.callbacks.js_event_callbacks  # the animation loop starts when the page is ready


def test_filters_of_an_aggregate_release_choose_views_of_its_map(monkeypatch, aggregate):
    doc = page_for(monkeypatch, aggregate)
    years = [v for v, d in aggregate.views.items() if d["classification"] == "year" and d["children"]]
    view = max(years, key=lambda v: aggregate.views[v]["children"])
    model(doc, "filter").value = view
    assert f"Year (April to March) the journey began: {view.partition('=')[2]}" in model(doc, "map_title").text
    labels = {s["id"]: s["label"] for s in aggregate.map["stages"]}
    assert model(doc, "routes").data["from"] == [labels[e["source"]] for e in aggregate.views[view]["edges"]]
    assert len(model(doc, "journeys").data["path"]) == len(aggregate.views[view]["top_journeys"])


def test_an_aggregate_release_compares_with_a_synthetic_one_on_the_map(monkeypatch, aggregate, synthetic):
    doc = page_for(monkeypatch, aggregate, synthetic)
    model(doc, "compare").value = f"release:{synthetic.release_id}"
    assert model(doc, "compare_panel").visible
    assert "synthetic records" in model(doc, "map_b_title").text
    assert model(doc, "map_b_nodes").data["stage"] == model(doc, "map_nodes").data["stage"]
    diff = model(doc, "diff").data
    assert len(diff["route"]) and "withheld" in diff["share_a"]
    withheld = [d for d, a in zip(diff["difference"], diff["share_a"]) if a == "withheld"]
    assert withheld and set(withheld) == {"withheld"}  # no difference is shown against a withheld share
    assert all(d.endswith(" pp") or d in ("withheld", "-") for d in diff["difference"])
