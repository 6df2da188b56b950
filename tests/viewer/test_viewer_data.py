"""Bundle -> frames shaping and the pure figure builders."""

import numpy as np
import pandas as pd

from viewer import figures
from viewer.callbacks import dot_columns
from viewer.data import MIN_STEP_DAYS, colours_for, load_release, route_shares, view_tables, window_bounds


def test_release_loads_dots_and_moves_in_order(bundle):
    rel = load_release(bundle, max_dots=300)
    assert len(rel.dots) == 300 and rel.dots["dot"].tolist() == list(range(300))
    seg = rel.segments
    assert (seg["t1"] >= seg["t0"]).all()
    assert seg.groupby("dot")["t0"].apply(lambda s: s.is_monotonic_increasing).all()
    moves = seg[(seg["x0"] != seg["x1"]) | (seg["y0"] != seg["y1"])]
    assert (moves["t1"] - moves["t0"] >= MIN_STEP_DAYS - 1e-6).all()  # same-day steps still take visible time
    dot_cols, seg_cols = dot_columns(rel)
    assert dot_cols["seg_hi"][-1] == len(seg) and (dot_cols["seg_lo"] <= dot_cols["seg_hi"]).all()
    assert seg_cols["t0"].dtype == np.float32


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


def test_suppressed_cells_stay_suppressed_not_zero(bundle):
    m = bundle.map
    suppressed = [(v, e) for v, view in m["views"].items() for e in view["edges"] if e["suppressed"]]
    assert suppressed
    view, edge = suppressed[0]
    _, edges = view_tables(m, view)
    row = edges[(edges["source"] == edge["source"]) & (edges["target"] == edge["target"])].iloc[0]
    assert row["children"] is None
    data = figures.edge_data(edges, 100)
    i = [k for k, (s, t) in enumerate(zip(data["source"], data["target"])) if (s, t) == (edge["source"],
                                                                                         edge["target"])][0]
    assert data["children"][i] == "suppressed" and data["dash"][i] == "dashed"
    table = figures.routes_table_data(edges)
    assert "suppressed" in table["children"] and "0" not in table["children"]


def test_edge_widths_share_one_scale():
    edges = pd.DataFrame([{"source": "contact", "target": "referral", "children": 100, "share": 0.2, "median_days": 1,
                           "p25_days": 0, "p75_days": 3}])
    small = figures.edge_data(edges, 100)["width"][0]
    shared = figures.edge_data(edges, 400)["width"][0]
    assert small > shared and figures.edge_data(edges, 100)["width"][0] == figures.MAX_EDGE_WIDTH


def test_stats_panel_shows_routes_out_with_shares_and_days(bundle):
    nodes, edges = view_tables(bundle.map, "all")
    text = figures.stats_html("contact", nodes, edges)
    assert "Children in" in text and "Share" in text and "referral" in text.lower()
    assert "Select a stage" in figures.stats_html(None, nodes, edges)


def test_repeat_number_runs_white_to_deep_red_and_others_use_a_colour_blind_safe_palette():
    colours, legend = colours_for(pd.Series(["1", "2", "5+"]), "repeat")
    assert list(legend)[:1] == ["1"] and legend["1"] == "#ffffff" and colours[2] == "#67000d"
    _, legend = colours_for(pd.Series(["male", "female"]), "sex")
    assert set(legend.values()) <= {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
                                    "#000000", "#999999"}


def test_route_share_differences_between_two_releases(bundle, second_bundle):
    from synth.bundle import read_bundle

    diff = route_shares(bundle.map, read_bundle(second_bundle).map)
    assert {"share_a", "share_b", "difference"} <= set(diff.columns)
    both = diff.dropna(subset=["share_a", "share_b"])
    assert len(both) > 0
    assert np.allclose(both["difference"].astype(float), (both["share_b"].astype(float) - both["share_a"].astype(float)).round(3))


def test_curves_start_and_end_near_their_stages():
    xs, ys = figures.curve(0, 0, 4, 0)
    assert 0 <= xs[0] < 0.5 and 3.5 < xs[-1] <= 4
    loop_x, loop_y = figures.curve(1, 1, 1, 1)
    assert max(loop_y) > 1.2
