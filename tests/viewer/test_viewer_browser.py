"""The viewer in a real headless Chromium, driven through Bokeh's own document in the page."""

import io
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from synth.bundle import read_bundle
from tests.viewer.conftest import MODEL, chrome, free_port, wait_for
from tests.viewer.screen import (
    ON_SCREEN,
    download,
    html_label_boxes,
    html_labels,
    js,
    label_clashes,
    rect,
    show_tab,
    table_rows,
    text_of,
    visible_text,
    wait_for_text,
)
from viewer import figures
from viewer.data import control_point, load_release, view_label

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page(viewer_url):
    driver = chrome()
    driver.get(viewer_url)
    wait_for(driver, f"return !!(window.Bokeh && Bokeh.documents.length && {MODEL}('map_nodes'))")
    wait_for(driver, "return window.__frontdoor && window.__frontdoor.frames > 0")
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def aggregate_page(aggregate_viewer_url):
    """The page of an aggregate release (a synthetic one loaded too, to compare with)."""
    driver = chrome()
    driver.set_window_size(1400, 1000)
    driver.get(aggregate_viewer_url)
    wait_for(driver, f"return !!(window.Bokeh && Bokeh.documents.length && {MODEL}('map_nodes'))")
    wait_for(driver, drawn("map"))
    yield driver
    driver.quit()


def drawn(name: str) -> str:
    """A script that is true once Bokeh has drawn the model `name` into the page."""
    return f"try {{ return Bokeh.index.get_one({MODEL}({name!r})).el.isConnected }} catch (e) {{ return false }}"


def screen_region(driver, model_name: str) -> Image.Image:
    """A screenshot of where Bokeh drew a model."""
    r = rect(driver, model_name)
    ratio = js(driver, "return window.devicePixelRatio")
    shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    return shot.crop(tuple(int(round(v * ratio)) for v in (r["left"], r["top"], r["right"], r["bottom"])))


def set_filter(page, view: str, needle: str) -> None:
    js(page, f"{MODEL}('filter').value = {view!r}")
    wait_for_text(page, "map_title", needle)
    time.sleep(0.6)  # the tables' redraw follows the data in the same patch


def labels_of(bundle) -> dict:
    return {s["id"]: s["label"] for s in bundle.map["stages"]}


def expected_routes(bundle, view: str) -> list[list[str]]:
    """The Routes table of a view as it must read on screen, from the bundle's map.json."""
    lab = labels_of(bundle)
    edges = bundle.map["views"][view]["edges"]
    partial = {e["source"] for e in edges if e["suppressed"]}  # their shares are of published routes: marked *
    rows = []
    for e in edges:
        med, iqr = figures.fmt_days(e["median_days"], e["p25_days"], e["p75_days"])
        share = "withheld" if e["suppressed"] else figures.fmt_share(e["share"]) + ("*" if e["source"] in partial else "")
        rows.append([lab[e["source"]], lab[e["target"]], figures.fmt_count(e["children"]), share, med, iqr,
                     figures.fmt_mean(e["mean_days"])])
    return rows


def same_size_view(bundle, key: str) -> str:
    """A view other than 'all' whose `key` list is as long as the 'all' view's (the case Bokeh left stale)."""
    views = bundle.map["views"]
    n = len(views["all"][key])
    return next(v for v, d in views.items() if v != "all" and d["children"] and len(d[key]) == n
                and d[key] != views["all"][key])


def test_page_loads_without_javascript_errors(page):
    errors = [e for e in page.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    assert "Synthetic records: every figure is computed from the synthetic children in this release" in \
        visible_text(page, "#fd-kind")[0]
    scripts = js(page, "return performance.getEntriesByType('resource').map(r => r.name)")
    assert any("bokeh-widgets" in s for s in scripts)
    assert not any("bokeh-mathjax" in s or "bokeh-gl" in s for s in scripts)  # 2 MB the map does not use


def test_every_stage_is_drawn_and_named_for_people(page, bundle):
    names = html_labels(page, "map", "map_stage_labels")
    assert len(names) == len(bundle.map["stages"])
    assert "CIN plan" in names and "Looked after" in names and "Closed / NFA" in names
    assert not {"cin_plan", "cla", "nfa", "s47"} & set(names)


def test_tables_titles_and_downloads_show_the_view_on_screen(page, bundle, tmp_path):
    """Issue 15.1: after a filter change every table shows the new view's rows, the title its name and
    total, and the CSV is what the screen shows; read from the screen, not from the models."""
    show_tab(page, "Routes (table view of the map)")
    before = table_rows(page, "routes_table")
    assert before[:5] == expected_routes(bundle, "all")[:5]
    # The reader sees the screen: rows changed in the model alone (as Bokeh 3.9 leaves them) stay stale.
    js(page, f"const s = {MODEL}('routes'); const d = Object.assign({{}}, s.data); "
             "d.children = Array.from(d.children).map(() => '12345'); s.data = d;")
    time.sleep(0.5)
    assert table_rows(page, "routes_table")[0][2] != "12345", "the reader must read the screen"
    view = same_size_view(bundle, "edges")
    total = bundle.map["views"][view]["children"]
    set_filter(page, view, view_label(bundle.map, view))
    title = text_of(page, "map_title")
    assert f"{view_label(bundle.map, view)} ({total:,} children)" in title
    shown = table_rows(page, "routes_table")
    want = expected_routes(bundle, view)
    assert shown == want[:len(shown)] and len(shown) >= 5 and shown != before
    saved = download(page, "export_routes", tmp_path, "routes.csv")
    assert saved[0] == ["From", "To", "Children", "Share of moves out", "Median days", "P25-P75", "Mean days"]
    assert saved[1:len(shown) + 1] == shown
    # Top journeys: a view with as many journeys as 'all' (the stale case).
    show_tab(page, "Top journeys")
    jview = same_size_view(bundle, "top_journeys")
    set_filter(page, jview, view_label(bundle.map, jview))
    lab = labels_of(bundle)
    rows = table_rows(page, "journeys_table")
    want = [[" → ".join(lab[s] for s in j["path"].split(">")), f"{j['children']:,}"]
            for j in bundle.map["views"][jview]["top_journeys"]]
    assert [r[:2] for r in rows] == want[:len(rows)] and rows
    js(page, f"{MODEL}('filter').value = 'all'")
    wait_for_text(page, "map_title", "All children")


def test_clicking_a_journey_on_screen_highlights_that_journey_after_a_filter_change(page, bundle):
    """The row a person clicks is the journey drawn in red (no stale row standing for another journey)."""
    show_tab(page, "Top journeys")
    jview = same_size_view(bundle, "top_journeys")
    set_filter(page, jview, view_label(bundle.map, jview))
    cell = js(page, f"""const root = Bokeh.index.get_one({MODEL}('journeys_table')).shadow_el;
        const rows = Array.from(root.querySelectorAll('.slick-row'));
        rows.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
        return rows[1].querySelector('.slick-cell');""")
    shown_path = cell.text
    cell.click()
    wait_for(page, f"return Array.from({MODEL}('map_edges').data.colour).includes('#d4351c')")
    data = js(page, f"const d = {MODEL}('map_edges').data; return [Array.from(d.colour), Array.from(d.source), "
                    "Array.from(d.target)]")
    red = {(s, t) for c, s, t in zip(*data) if c == "#d4351c"}
    names = shown_path.split(" → ")
    assert red == set(zip(names, names[1:]))
    assert shown_path == " → ".join(labels_of(bundle)[s] for s in
                                    bundle.map["views"][jview]["top_journeys"][1]["path"].split(">"))
    js(page, f"{MODEL}('journeys').selected.indices = []; {MODEL}('filter').value = 'all'")
    wait_for_text(page, "map_title", "All children")


def test_route_figures_are_readable_on_the_map(page, bundle):
    labels = html_labels(page, "map", "map_route_labels")
    figures_shown = [t for t in labels if t]
    edges = [e for e in bundle.map["views"]["all"]["edges"] if (e["share"] or 0) >= figures.MIN_LABEL_SHARE]
    # Every route over the threshold, but for a label with no free place (viewer.map_labels); none covering another.
    assert len(edges) >= len(figures_shown) >= 0.9 * len(edges)
    assert label_clashes(page, "map") == []
    big = max(edges, key=lambda e: e["children"])
    assert f"{big['share']:.0%} · {int(big['median_days'])} d" in figures_shown


def test_filter_labels_are_for_people(page):
    options = js(page, ON_SCREEN + "return all(document).filter(e => e.matches('option')).map(e => e.innerText)")
    assert "Age band: 1-4" in options and "Sex: Female" in options
    assert not any(o.startswith(("age_band", "sex:", "referral_source")) for o in options)


def drawn_curve(s) -> tuple[np.ndarray, np.ndarray]:
    """The whole curve of the route the map draws for a move (the map trims its ends at the nodes)."""
    xs, ys = figures.curve(s.x0, s.y0, s.x1, s.y1, n=400)
    t = np.linspace(0, 1, 2001)
    cx, cy = control_point(s.x0, s.y0, s.x1, s.y1)
    bx = (1 - t) ** 2 * s.x0 + 2 * (1 - t) * t * cx + t ** 2 * s.x1
    by = (1 - t) ** 2 * s.y0 + 2 * (1 - t) * t * cy + t ** 2 * s.y1
    on_it = [np.hypot(bx - px, by - py).min() for px, py in zip(xs[::40], ys[::40])]
    assert max(on_it) < 0.01  # the map's drawn points lie on this curve
    return bx, by


def test_dots_follow_the_drawn_routes_and_short_steps_stay_on_screen(page, bundle):
    """Issue 15.2: a moving dot is on the curve the map draws; every move lasts at least the minimum time
    on screen, same-day steps included; the time slider follows the clock."""
    rel = load_release(bundle)
    seg = rel.segments
    js(page, f"{MODEL}('speed').value = 60")
    js(page, f"{MODEL}('play').active = true")
    time.sleep(1.5)
    w0, w1 = (np.array(js(page, f"return Array.from(window.__frontdoor.{k})")) for k in ("w0", "w1"))
    moving = ((seg["x0"] != seg["x1"]) | (seg["y0"] != seg["y1"])).to_numpy()
    same_day = moving & (seg["t1"] == seg["t0"]).to_numpy()
    assert same_day.sum() > 50
    min_days = 0.5 * 60  # half a second at 60 days a second
    assert ((w1 - w0)[moving] >= min_days - 1e-3).all()
    slider = [text_of(page, "time")]
    ok = 0
    for _ in range(6):
        state = js(page, "const f = window.__frontdoor; const d = " + MODEL + "('dots').data; "
                         "return [f.t, Array.from(f.ptr), Array.from(d.x), Array.from(d.y), Array.from(d.alpha)]")
        t, ptr, x, y, alpha = state
        for i in np.flatnonzero(np.array(alpha) > 0)[:200]:
            s = seg.iloc[ptr[i]]
            if (s.x0, s.y0) == (s.x1, s.y1):
                continue
            xs, ys = drawn_curve(s)
            jx, jy = rel.dots.loc[i, "jx"], rel.dots.loc[i, "jy"]
            assert np.hypot(xs - (x[i] - jx), ys - (y[i] - jy)).min() < 0.02
            ok += 1
        time.sleep(0.3)
    assert ok > 10
    slider.append(text_of(page, "time"))
    assert slider[0] != slider[1]  # "Day of the window: N" moved during playback
    js(page, f"{MODEL}('play').active = false")


def test_play_moves_the_dots_and_pause_stops_them(page):
    positions = f"return Array.from({MODEL}('dots').data.x).concat(Array.from({MODEL}('dots').data.y))"
    js(page, f"{MODEL}('play').active = true")
    time.sleep(0.8)
    a = js(page, positions)
    time.sleep(0.8)
    b = js(page, positions)
    assert a != b
    js(page, f"{MODEL}('play').active = false")
    time.sleep(0.4)
    c = js(page, positions)
    time.sleep(0.8)
    d = js(page, positions)
    assert c == d


DOT_VIEWS = f"Bokeh.index.query(v => v.model && v.model.data_source === {MODEL}('dots') && v.glyph != null)"


def test_the_fast_dot_painter_draws_what_bokeh_would(page):
    """Issue 15.7: while the animation runs, the dots are blitted from sprites, not drawn by Bokeh's glyph; the
    screen must be the same as Bokeh's own drawing of the same positions and colours, and differ from no dots."""
    js(page, f"{MODEL}('play').active = false")
    js(page, f"{MODEL}('time').value = 400")
    time.sleep(1.0)
    assert js(page, "return window.__frontdoor.painter") == "sprites"
    assert js(page, f"return Array.from({MODEL}('dots').data.alpha).filter(a => a > 0).length") > 50
    sprites = np.asarray(screen_region(page, "map"), dtype=float)
    # The same frame drawn by Bokeh: its own paint back on the dot renderer, and the changed data it needs.
    js(page, f"for (const v of {DOT_VIEWS}) {{ delete v._paint; }} {MODEL}('dots').change.emit()")
    time.sleep(0.8)
    bokeh = np.asarray(screen_region(page, "map"), dtype=float)
    js(page, f"{MODEL}('map_dots').visible = false")
    time.sleep(0.5)
    none = np.asarray(screen_region(page, "map"), dtype=float)
    js(page, f"{MODEL}('map_dots').visible = true")
    js(page, f"for (const v of {DOT_VIEWS}) {{ v.__frontdoor_sprites = false; }}")  # the loop takes them back
    dot_pixels = np.abs(bokeh - none).max(axis=2) > 30
    assert dot_pixels.sum() > 500
    differ = np.abs(sprites - bokeh).max(axis=2) > 30
    assert differ.sum() < 0.1 * dot_pixels.sum(), (differ.sum(), dot_pixels.sum())  # measured: 5 of 1,050; 2 px off: 713
    time.sleep(1.2)
    assert js(page, "return window.__frontdoor.painter") == "sprites"
    # Paused on one day, nothing is drawn again until something changes (no work for a page left open).
    idle = js(page, "return window.__frontdoor.paints")
    time.sleep(1.0)
    assert js(page, "return window.__frontdoor.paints") == idle
    js(page, f"{MODEL}('time').value = 410")
    wait_for(page, f"return window.__frontdoor.paints > {idle}")


def test_dots_are_coloured_by_the_repeat_number_of_the_journey_they_are_on(page, bundle):
    rel = load_release(bundle)
    js(page, f"{MODEL}('classification').value = 'repeat'")
    time.sleep(0.5)
    seen = set()
    for t in (200, 500, 800, 1100):
        js(page, f"{MODEL}('time').value = {t}")
        time.sleep(0.5)
        ptr, cval, alpha = js(page, f"const d = {MODEL}('dots').data; return [Array.from(window.__frontdoor.ptr), "
                                    "Array.from(d.cval), Array.from(d.alpha)]")
        for i in np.flatnonzero(np.array(alpha) > 0):
            journey = rel.journeys.loc[rel.segments.loc[ptr[i], "ep"]]
            assert cval[i] == min(journey["episode_no"], 5) - 1  # legend index: 1 -> white, 2, ... 5+
            seen.add(journey["episode_no"])
    assert 1 in seen and max(seen) >= 2
    legend = text_of(page, "legend")
    assert "white on a child's first, darker on each return" in legend


def test_the_year_filter_applies_to_dots_and_figures_alike(page, bundle):
    """Issue 15.3: a dot is shown only while on a journey of the chosen year (the bundle's own values)."""
    rel = load_release(bundle)
    years = [v for v, d in bundle.map["views"].items() if d["classification"] == "year" and d["children"]]
    view = max(years, key=lambda v: bundle.map["views"][v]["children"])
    year = view.partition("=")[2]
    set_filter(page, view, year)
    shown_any = 0
    for t in (200, 500, 900, 1300):
        js(page, f"{MODEL}('time').value = {t}")
        time.sleep(0.5)
        ptr, alpha = js(page, "return [Array.from(window.__frontdoor.ptr), "
                              f"Array.from({MODEL}('dots').data.alpha)]")
        for i in np.flatnonzero(np.array(alpha) > 0):
            assert rel.journeys.loc[rel.segments.loc[ptr[i], "ep"], "year"] == year
            shown_any += 1
    assert shown_any > 0
    js(page, f"{MODEL}('filter').value = 'all'")
    wait_for_text(page, "map_title", "All children")


def test_the_subway_view_shows_durations_on_straight_lines_without_dots(page, bundle):
    """Issue 15.5: stations and lines (width = children), median and mean days as labels; toggled with the dots."""
    js(page, f"{MODEL}('view_mode').active = 1")
    wait_for(page, f"return {MODEL}('map_routes').glyph.xs.field === 'sxs'")
    time.sleep(0.5)
    labels = [t for t in html_labels(page, "map", "map_route_labels") if t]
    big = max(bundle.map["views"]["all"]["edges"], key=lambda e: e["children"])
    assert f"{int(big['median_days'])} / {big['mean_days']:.0f} d" in labels
    assert any("median / mean days" in t for t in visible_text(page, "div"))
    assert js(page, f"return {MODEL}('map_dots').visible") is False
    assert js(page, f"return {MODEL}('play').active") is False
    # Readable: no duration label covers another, or a stage's name (as drawn, in CSS px).
    assert len(html_label_boxes(page, "map", "map_route_labels")) >= 10
    assert label_clashes(page, "map") == []
    js(page, f"{MODEL}('view_mode').active = 0")
    wait_for(page, f"return {MODEL}('map_routes').glyph.xs.field === 'xs'")
    assert js(page, f"return {MODEL}('map_dots').visible") is True
    assert any("%" in t for t in html_labels(page, "map", "map_route_labels"))
    assert label_clashes(page, "map") == []  # the animated map's share and median labels, too


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_side_by_side_maps_fit_the_screen_with_differences_in_points(page, bundle, size):
    """Issue 15.6: two maps beside each other, on one set of axes, the differences in pp; no sideways scroll."""
    page.set_window_size(*size)
    time.sleep(1)
    one = rect(page, "map")
    options = js(page, f"return {MODEL}('compare').options.map(o => o[0])")
    other = [o for o in options if o.startswith("release:")][0]
    js(page, f"{MODEL}('compare').value = '{other}'")
    wait_for(page, drawn("map_b"))
    time.sleep(1)
    a, b = rect(page, "map"), rect(page, "map_b")
    height = js(page, "return innerHeight")
    assert b["left"] >= a["right"] - 1 and abs(a["top"] - b["top"]) < 2  # beside, not under
    assert a["top"] < height and b["top"] < height and b["bottom"] <= height + 1  # both on screen
    assert a["width"] < one["width"]  # the first map made room
    assert js(page, "return document.scrollingElement.scrollWidth <= innerWidth")
    assert "synthetic records" in text_of(page, "map_b_title") and "rel6" in text_of(page, "map_b_title")
    assert label_clashes(page, "map") == [] and label_clashes(page, "map_b") == []  # readable at half the width
    rows = table_rows(page, "diff_table")
    assert rows and all(r[3].endswith(" pp") or r[3] in ("withheld", "-") for r in rows)
    assert not any("nan" in c or "%" in r[3] for r in rows for c in r)
    # Synchronised: zooming one map zooms the other.
    js(page, f"{MODEL}('map').x_range.start = 2; {MODEL}('map').x_range.end = 6")
    assert js(page, f"return {MODEL}('map_b').x_range.start") == 2
    js(page, f"{MODEL}('map').x_range.start = -0.8; {MODEL}('map').x_range.end = 11")
    js(page, f"{MODEL}('compare').value = 'off'")
    time.sleep(1)
    assert js(page, "return document.scrollingElement.scrollWidth <= innerWidth")


def test_the_second_map_has_its_own_dots_on_the_same_clock(page, bundle, second_bundle):
    """Issue 15.6: comparing two views of a release, the second map's dots are the children on journeys of its
    view, painted on that map and moved by the one clock; another release brings its own dots; none after."""
    rel = load_release(bundle)
    page.set_window_size(1366, 768)
    js(page, f"{MODEL}('play').active = false")
    options = js(page, f"return {MODEL}('compare').options.map(o => o[0])")
    view = next(o for o in options if o.startswith("view:team="))
    name, _, value = view.removeprefix("view:").partition("=")
    js(page, f"{MODEL}('compare').value = {view!r}")
    wait_for(page, drawn("map_b"))
    wait_for(page, f"return {MODEL}('dots_b').data.x.length === {len(rel.dots)}")
    js(page, f"{MODEL}('time').value = 500")
    time.sleep(1.0)
    ptr_b, alpha_b = js(page, f"return [Array.from(window.__frontdoor.ptr_b), Array.from({MODEL}('dots_b').data.alpha)]")
    alpha_a = js(page, f"return Array.from({MODEL}('dots').data.alpha)")
    on_b = np.flatnonzero(np.array(alpha_b) > 0)
    assert 0 < len(on_b) < np.count_nonzero(np.array(alpha_a) > 0)  # a team's children: fewer than all
    teams = rel.journeys.loc[rel.segments.loc[np.array(ptr_b)[on_b], "ep"].to_numpy(), name].astype(str)
    assert (teams == value).all()
    seen = np.asarray(screen_region(page, "map_b"), dtype=float)
    js(page, f"{MODEL}('map_b_dots').visible = false")
    time.sleep(0.5)
    hidden = np.asarray(screen_region(page, "map_b"), dtype=float)
    js(page, f"{MODEL}('map_b_dots').visible = true")
    assert (np.abs(seen - hidden).max(axis=2) > 30).sum() > 3 * len(on_b)  # the dots are on screen (none: 0)
    positions = f"return Array.from({MODEL}('dots_b').data.x)"
    js(page, f"{MODEL}('play').active = true")
    time.sleep(0.6)
    a = js(page, positions)
    time.sleep(0.6)
    assert a != js(page, positions)
    js(page, f"{MODEL}('play').active = false")
    # Another colouring recolours the second map's dots without sending them again.
    js(page, f"window.__dots_b_x = {MODEL}('dots_b').data.x; window.__codes_b = {MODEL}('dot_journeys_b').data.code")
    js(page, f"{MODEL}('classification').value = 'team'")
    wait_for(page, f"return {MODEL}('dot_journeys_b').data.code !== window.__codes_b")
    assert js(page, f"return {MODEL}('dots_b').data.x === window.__dots_b_x")
    js(page, f"{MODEL}('classification').value = 'repeat'")
    other = next(o for o in options if o.startswith("release:"))
    js(page, f"{MODEL}('compare').value = {other!r}")
    wait_for(page, f"return {MODEL}('dots_b').data.x.length === {len(load_release(read_bundle(second_bundle)).dots)}")
    js(page, f"{MODEL}('compare').value = 'off'")
    wait_for(page, f"return {MODEL}('dots_b').data.x.length === 0")


def test_the_map_resizes_with_the_window(page):
    page.set_window_size(1366, 768)
    time.sleep(1)
    small = rect(page, "map")
    page.set_window_size(1920, 1080)
    time.sleep(1)
    large = rect(page, "map")
    assert large["width"] > small["width"] + 300
    assert abs(large["width"] / large["height"] - small["width"] / small["height"]) < 0.1
    page.set_window_size(1366, 768)
    time.sleep(0.5)
    # At 1366x768 the whole map, early help at its bottom included, is above the fold.
    assert rect(page, "map")["bottom"] <= js(page, "return innerHeight") + 1


def test_an_aggregate_release_shows_its_map_and_says_so_with_no_dots(aggregate_page, aggregate_bundle):
    page = aggregate_page
    assert [e for e in page.get_log("browser") if e["level"] == "SEVERE"] == []
    notice = visible_text(page, "#fd-kind")
    assert len(notice) == 1
    assert "Aggregate release: real counts under disclosure control; no children to animate" in notice[0]
    assert "aggregate" in visible_text(page, "h1")[0]
    # The map is drawn: its stages, and its routes in the map's blue (a few thousand pixels of them).
    assert js(page, f"return Array.from({MODEL}('map_nodes').data.stage)") == \
        [s["id"] for s in aggregate_bundle.map["stages"]]
    rgb = np.asarray(screen_region(page, "map"), dtype=int)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    assert ((b > 180) & (b - r > 40) & (b - g > 15)).sum() > 2000
    # No dots: the map draws routes, arrowheads and stages only, and nothing plays.
    drawn = js(page, f"return Array.from(Bokeh.index.get_one({MODEL}('map')).renderer_views.keys())"
                     ".filter(r => r.type === 'GlyphRenderer').map(r => r.glyph.type)")
    assert sorted(drawn) == ["MultiLine", "Scatter", "Scatter"]
    assert js(page, f"return [{MODEL}('dots'), {MODEL}('play'), {MODEL}('time')].filter(m => m).length") == 0
    assert not any("Play" in t for t in visible_text(page, "button"))


def test_withheld_cells_of_an_aggregate_release_show_as_suppressed_not_zero(aggregate_page, aggregate_bundle):
    page = aggregate_page
    view = next(v for v, d in aggregate_bundle.map["views"].items() if any(e["suppressed"] for e in d["edges"]))
    show_tab(page, "Routes (table view of the map)")
    set_filter(page, view, view_label(aggregate_bundle.map, view))
    rows = table_rows(page, "routes_table")
    want = expected_routes(aggregate_bundle, view)
    assert rows == want[:len(rows)] and rows
    suppressed_edges = [e for e in aggregate_bundle.map["views"][view]["edges"] if e["suppressed"]]
    assert [e["suppressed"] for e in aggregate_bundle.map["views"][view]["edges"]][:len(rows)].count(True) == \
        [r[2] for r in rows].count("suppressed")
    assert "0" not in [r[2] for r in rows]
    # On the map: withheld routes say so, and shares beside them are of published routes (marked *).
    route_labels = html_labels(page, "map", "map_route_labels")
    assert route_labels.count("withheld") == len(suppressed_edges)
    assert any(t.endswith(" d") and "*" in t for t in route_labels) or all(
        not e["share"] for e in aggregate_bundle.map["views"][view]["edges"])
    stage = suppressed_edges[0]["source"]
    i = js(page, f"return Array.from({MODEL}('map_nodes').data.stage).indexOf({stage!r})")
    js(page, f"{MODEL}('map_nodes').selected.indices = [{i}]")
    assert "of published routes" in wait_for_text(page, "stats", "of published routes")
    js(page, f"{MODEL}('filter').value = 'all'")
    wait_for_text(page, "map_title", "All children")


def test_an_aggregate_release_compares_with_a_synthetic_one(aggregate_page):
    page = aggregate_page
    other = [o for o in js(page, f"return {MODEL}('compare').options.map(o => o[0])") if o.startswith("release:")][0]
    js(page, f"{MODEL}('compare').value = '{other}'")
    wait_for(page, f"const p = {MODEL}('compare_panel'); return !!p && p.visible")
    wait_for(page, drawn("map_b"))
    time.sleep(1)
    assert "synthetic records" in text_of(page, "map_b_title")
    rows = table_rows(page, "diff_table")
    assert rows and "withheld" in [r[3] for r in rows] and not any("nan" in c for r in rows for c in r)
    js(page, f"{MODEL}('compare').value = 'off'")


def test_bad_bundles_and_unreachable_services_get_one_clear_message(tmp_path, bundle_path):
    def view(*args):
        return subprocess.run([sys.executable, "-m", "service.cli", "view", *args, "--port", str(free_port())],
                              capture_output=True, text=True, timeout=60)

    done = view("--bundle", str(tmp_path / "missing.zip"))
    assert done.returncode == 2 and "no such release bundle" in done.stderr and "Traceback" not in done.stderr
    with zipfile.ZipFile(bundle_path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    entries["map.json"] = entries["map.json"].replace(b'"children"', b'"childrem"', 1)
    with zipfile.ZipFile(tmp_path / "tampered.zip", "w") as zf:
        for n, data in entries.items():
            zf.writestr(n, data)
    done = view("--bundle", str(tmp_path / "tampered.zip"))
    assert done.returncode == 2 and "checksum" in done.stderr and "Traceback" not in done.stderr
    done = view("--api", f"http://127.0.0.1:{free_port()}/api/v1", "--token", "fd_x")
    assert done.returncode == 2 and "cannot reach the service" in done.stderr


def test_a_release_that_fails_to_load_is_explained_on_the_page(tmp_path):
    import os
    import socket

    port = free_port()
    env = {**os.environ, "FRONTDOOR_VIEW_BUNDLES": str(tmp_path / "gone.zip")}
    proc = subprocess.Popen([sys.executable, "-m", "bokeh", "serve", "viewer", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        driver = chrome()
        try:
            driver.get(f"http://localhost:{port}/")
            text = wait_for(driver, f"return window.Bokeh && Bokeh.documents.length && {MODEL}('error') && "
                                    f"{MODEL}('error').text")
            assert "cannot be shown" in text and "no such release bundle" in text
        finally:
            driver.quit()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
