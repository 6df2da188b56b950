"""Bundle -> frames shaping and the pure figure builders."""

import zipfile

import numpy as np
import pandas as pd
import pytest

from synth.errors import BundleError
from viewer import figures
from viewer.callbacks import dot_columns
from viewer.data import (
    KIND_NOTICES,
    colours_for,
    load_release,
    release_kind,
    route_shares,
    view_edges,
    view_tables,
    window_bounds,
)

AGGREGATE_NOTICE = "Aggregate release: real counts under disclosure control; no children to animate"
SYNTHETIC_NOTICE = "Synthetic records: every figure is computed from the synthetic children in this release"


def test_release_loads_dots_and_moves_in_order(bundle):
    rel = load_release(bundle, max_dots=300)
    assert len(rel.dots) == 300 and rel.dots["dot"].tolist() == list(range(300))
    seg = rel.segments
    assert (seg["t1"] >= seg["t0"]).all()
    assert seg.groupby("dot")["t0"].apply(lambda s: s.is_monotonic_increasing).all()
    dot_cols, seg_cols, journey_cols = dot_columns(rel)
    assert dot_cols["seg_hi"][-1] == len(seg) and (dot_cols["seg_lo"] <= dot_cols["seg_hi"]).all()
    assert seg_cols["t0"].dtype == np.float32 and seg_cols["ep"].max() < len(journey_cols["shown"])


def test_each_move_is_on_the_journey_it_belongs_to_and_follows_the_drawn_curve(bundle):
    """Dots are coloured and filtered by the journey they are on: each move points at its journey's row,
    whose repeat number is that journey's episode number (not the child's count of journeys)."""
    rel = load_release(bundle, max_dots=300)
    j, seg = rel.journeys, rel.segments
    assert (j["repeat"] == j["episode_no"].clip(upper=5).astype(str).replace("5", "5+")).all()
    assert (j.loc[seg["ep"], "dot"].to_numpy() == seg["dot"].to_numpy()).all()
    several = j.groupby("dot")["episode_no"].transform("size") > 1
    assert several.any() and set(j.loc[several, "repeat"]) >= {"1", "2"}  # a returning child changes colour
    # A move's control point is the drawn route's: the dot's midpoint is the curve's midpoint.
    move = seg[(seg["x0"] != seg["x1"])].iloc[0]
    xs, ys = figures.curve(move.x0, move.y0, move.x1, move.y1, n=101)
    mid = (0.25 * move.x0 + 0.5 * move.cx + 0.25 * move.x1, 0.25 * move.y0 + 0.5 * move.cy + 0.25 * move.y1)
    assert min(np.hypot(np.array(xs) - mid[0], np.array(ys) - mid[1])) < 0.01


def test_the_journey_values_are_the_bundles_own(bundle):
    """Classification values come from the bundle (journey_values.csv), the values the map was made from:
    every view's children are the children with a journey of that value."""
    from viewer.data import read_journey_values

    values = read_journey_values(bundle)
    episodes = bundle.table("episodes")
    assert len(values) == len(episodes)
    for view in ("year=" + bundle.map["classifications"]["year"]["values"][0], "referral_source=Police",
                 "repeat=2"):
        name, _, value = view.partition("=")
        if view in bundle.map["views"]:
            assert values.loc[values[name] == value, "child_key"].nunique() == bundle.map["views"][view]["children"]


def test_a_bundle_without_journey_values_is_shown_without_dots_and_says_why(bundle):
    from synth.bundle import Bundle

    files = {k: v for k, v in bundle.files.items() if k != "journey_values.csv"}
    rel = load_release(Bundle(bundle.path, bundle.manifest, files))
    assert not rel.animated and rel.no_dots_reason and "journey_values.csv" in figures.notice_html(rel)
    files.pop("layout.json")
    with pytest.raises(BundleError, match="no layout.json"):
        load_release(Bundle(bundle.path, bundle.manifest, files))


def test_the_stage_layout_is_the_one_the_reviewer_pages_use(bundle):
    from synth import stage_layout

    rel = load_release(bundle, max_dots=20)
    assert {s: (v["x"], v["y"]) for s, v in rel.layout["stages"].items()} == stage_layout.STAGE_XY
    svg = stage_layout.svg_xy(940, 350)
    # The same order left to right and top to bottom on both.
    for a, b in (("contact", "referral"), ("assessment", "s47"), ("cla", "nfa")):
        assert (svg[a][0] < svg[b][0]) == (stage_layout.STAGE_XY[a][0] < stage_layout.STAGE_XY[b][0])
    assert svg["iag"][1] < svg["early_help"][1]


def test_the_window_is_read_in_months_as_bundles_publish_it(bundle):
    dates = pd.Series(pd.to_datetime(["2021-04-09", "2025-03-17"]))
    assert window_bounds({"start": "2021-04", "end": "2025-03"}, dates) == (pd.Timestamp("2021-04-01"),
                                                                          pd.Timestamp("2025-03-31"))
    assert window_bounds({"start": "2021-04-02", "end": "2025-03-30"}, dates) == (pd.Timestamp("2021-04-02"),
                                                                                pd.Timestamp("2025-03-30"))
    assert window_bounds(None, dates) == (dates.min(), dates.max())
    w = bundle.map["window"]
    assert len(w["start"]) == len(w["end"]) == 7  # no real day in a bundle
    rel = load_release(bundle, max_dots=50)
    assert rel.window_start == pd.Timestamp(w["start"] + "-01")
    assert rel.segments["t0"].max() <= rel.window_days


def test_large_releases_are_sampled_for_dots_but_totals_come_from_the_map(bundle):
    rel = load_release(bundle, max_dots=50)
    assert len(rel.dots) == 50
    assert rel.views["all"]["children"] > 50 and rel.children_total > 50


XY = {"contact": (0.0, 3.0), "referral": (2.4, 3.0)}


def test_edge_widths_share_one_scale():
    edges = pd.DataFrame([{"source": "contact", "target": "referral", "children": 100, "share": 0.2, "median_days": 1,
                           "p25_days": 0, "p75_days": 3, "suppressed": False}])
    small = figures.edge_data(edges, 100, XY, {})["width"][0]
    shared = figures.edge_data(edges, 400, XY, {})["width"][0]
    assert small > shared and small == figures.MAX_EDGE_WIDTH


def test_stats_panel_shows_routes_out_with_shares_and_days(bundle):
    rel = load_release(bundle, max_dots=20)
    nodes, edges = view_tables(bundle.map, "all", rel.layout)
    labels = {s["id"]: s["label"] for s in bundle.map["stages"]}
    text = figures.stats_html("contact", nodes, edges, labels)
    assert "Children in" in text and "Share" in text and labels["referral"] in text and "Mean days" in text
    assert ">referral<" not in text  # stage names, not ids
    assert "Select a stage" in figures.stats_html(None, nodes, edges, labels)


def test_repeat_number_runs_white_to_deep_red_and_others_use_a_colour_blind_safe_palette():
    colours, legend = colours_for(pd.Series(["1", "2", "5+"]), "repeat", ["1", "2", "3", "4", "5+"])
    assert list(legend)[:1] == ["1"] and legend["1"] == "#ffffff" and colours[2] == "#67000d"
    _, legend = colours_for(pd.Series(["male", "female"]), "sex")
    assert set(legend.values()) <= {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
                                    "#000000"}


def test_every_value_of_a_classification_has_its_own_colour(bundle):
    for name, c in bundle.map["classifications"].items():
        _, legend = colours_for(pd.Series(c["values"]), name, c["values"])
        assert len(set(legend.values())) == len(c["values"]), name
    sources = [f"s{i}" for i in range(12)]  # referral source: 12 values
    assert len(set(colours_for(pd.Series(sources), "referral_source")[1].values())) == 12


def test_route_share_differences_between_two_releases(bundle, second_bundle):
    from synth.bundle import read_bundle

    diff = route_shares(bundle.map, read_bundle(second_bundle).map)
    assert {"share_a", "share_b", "difference_pp"} <= set(diff.columns)
    both = diff.dropna(subset=["share_a", "share_b"])
    assert len(both) > 0
    pp = 100 * (both["share_b"].astype(float) - both["share_a"].astype(float))
    assert np.allclose(both["difference_pp"].astype(float), pp.round(1))
    assert figures.fmt_pp(4) == "+4.0 pp" and figures.fmt_pp(None) == "-"


def test_curves_start_and_end_near_their_stages():
    xs, ys = figures.curve(0, 0, 4, 0)
    assert 0 <= xs[0] < 0.5 and 3.5 < xs[-1] <= 4
    loop_x, loop_y = figures.curve(1, 1, 1, 1)
    assert max(loop_y) > 1.2


# -- the two kinds of release ---------------------------------------------------------------------

def test_an_aggregate_bundle_holds_no_records_and_still_verifies(aggregate_bundle_path, aggregate_bundle):
    with zipfile.ZipFile(aggregate_bundle_path) as zf:
        names = set(zf.namelist())
    assert not names & {"children.csv", "episodes.csv", "events.csv"}
    assert aggregate_bundle.manifest["frontdoor"]["kind"] == "aggregate"
    assert aggregate_bundle.map["source"] == "real" and aggregate_bundle.map["kind"] == "aggregate"


def test_an_aggregate_release_is_drawn_from_its_map_alone(aggregate_bundle):
    rel = load_release(aggregate_bundle)
    assert rel.kind == "aggregate" and not rel.animated
    assert rel.dots.empty and rel.segments.empty
    assert rel.children_total == aggregate_bundle.map["views"]["all"]["children"]
    assert rel.notice == AGGREGATE_NOTICE and "aggregate" in rel.title
    assert rel.window_start == pd.Timestamp(aggregate_bundle.map["window"]["start"] + "-01")


def test_a_bundle_that_does_not_say_its_kind_is_synthetic_and_says_so(bundle):
    rel = load_release(bundle, max_dots=50)
    assert rel.kind == "synthetic" and rel.animated and rel.notice == SYNTHETIC_NOTICE
    text = figures.notice_html(rel)
    assert SYNTHETIC_NOTICE in text and "No dot is a real child" in text and "50 of them animated" in text


def test_the_page_notice_of_an_aggregate_release_says_there_are_no_children_to_animate(aggregate_bundle):
    text = figures.notice_html(load_release(aggregate_bundle))
    assert AGGREGATE_NOTICE in text and "fd-aggregate" in text and "no dots" in text
    assert SYNTHETIC_NOTICE not in text


def test_a_map_that_contradicts_its_datapackage_is_refused():
    manifest = {"frontdoor": {"release_id": "r1", "kind": "aggregate"}}
    assert release_kind(manifest, {"kind": "aggregate", "source": "real"}) == "aggregate"
    assert release_kind({"frontdoor": {"release_id": "r1"}}, {}) == "synthetic"
    with pytest.raises(BundleError, match="says it is aggregate but its map.json holds synthetic counts"):
        release_kind(manifest, {"kind": "synthetic", "source": "synthetic"})
    with pytest.raises(BundleError, match="says it is synthetic but its map.json holds real counts"):
        release_kind({"frontdoor": {"release_id": "r1"}}, {"source": "real"})
    with pytest.raises(BundleError, match="not one this viewer knows"):
        release_kind({"frontdoor": {"release_id": "r1", "kind": "microdata"}}, {})
    assert set(KIND_NOTICES) == {"synthetic", "aggregate"}


def test_withheld_cells_of_an_aggregate_map_stay_suppressed_not_zero(aggregate_bundle):
    m = aggregate_bundle.map
    view = next(v for v, d in m["views"].items() if any(e["suppressed"] for e in d["edges"]))
    rel = load_release(aggregate_bundle)
    nodes, edges = view_tables(m, view, rel.layout)
    withheld = edges[edges["suppressed"].eq(True)]
    assert len(withheld) and all(c is None for c in withheld["children"])
    xy = {s: (v["x"], v["y"]) for s, v in rel.layout["stages"].items()}
    data = figures.edge_data(edges, 100, xy, {})
    marks = {(s, t): (c, d, x) for s, t, c, d, x in zip(data["source"], data["target"], data["children"],
                                                         data["dash"], data["text"])}
    assert all(marks[(r.source, r.target)] == ("suppressed", "dashed", "withheld") for r in withheld.itertuples())
    routes = figures.routes_table_data(edges, {})
    assert routes["children"].count("suppressed") == len(withheld) and "0" not in routes["children"]
    stats = figures.stats_html(withheld.iloc[0]["source"], nodes, edges, {})
    assert "suppressed" in stats and "of published routes" in stats


def test_a_synthetic_map_is_shown_in_full(bundle):
    """Computed from the records the release publishes, a synthetic map withholds nothing."""
    for view in ("all", *[v for v in bundle.map["views"] if v.startswith("sex=")]):
        edges = view_edges(bundle.map, view)
        assert "suppressed" not in figures.routes_table_data(edges, {})["children"]
    assert "withheld" not in figures.notice_html(load_release(bundle, max_dots=20))


def test_an_aggregate_map_compares_with_a_synthetic_one(aggregate_bundle, bundle):
    diff = route_shares(load_release(aggregate_bundle), load_release(bundle, max_dots=50))
    shown = diff.dropna(subset=["share_a", "share_b"])
    assert len(shown) and shown["difference_pp"].notna().all()
    withheld = diff[diff["suppressed_a"].eq(True)]
    assert len(withheld) and withheld["difference_pp"].isna().all()  # no difference from a withheld share
