"""The viewer in a real headless Chromium, driven through Bokeh's own document in the page."""

import io
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from tests.viewer.conftest import MODEL, chrome, free_port, wait_for

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


def js(driver, code: str):
    return driver.execute_script(code)


# Elements as drawn, through Bokeh's shadow roots: what a person sees, not the models behind it.
ON_SCREEN = r"""
const all = root => Array.from(root.querySelectorAll('*')).flatMap(e => [e, ...(e.shadowRoot ? all(e.shadowRoot) : [])]);
const shown = e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);
  return r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight && s.visibility !== 'hidden'; };
"""


def visible_text(driver, selector: str) -> list[str]:
    """innerText of every element matching `selector` that is on screen."""
    return js(driver, ON_SCREEN + f"return all(document).filter(e => e.matches({selector!r}) && shown(e))"
                                  ".map(e => e.innerText);")


def screen_region(driver, model_name: str) -> Image.Image:
    """A screenshot of where Bokeh drew a model."""
    rect = js(driver, f"return Bokeh.index.get_one({MODEL}({model_name!r})).el.getBoundingClientRect().toJSON()")
    ratio = js(driver, "return window.devicePixelRatio")
    shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    return shot.crop(tuple(int(round(v * ratio)) for v in (rect["left"], rect["top"], rect["right"], rect["bottom"])))


def test_page_loads_without_javascript_errors(page):
    errors = [e for e in page.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    assert "Synthetic records: every figure is computed from the synthetic children in this release" in \
        visible_text(page, "#fd-kind")[0]
    scripts = js(page, "return performance.getEntriesByType('resource').map(r => r.name)")
    assert any("bokeh-widgets" in s for s in scripts)
    assert not any("bokeh-mathjax" in s or "bokeh-gl" in s for s in scripts)  # 2 MB the map does not use


def test_every_stage_of_the_bundle_is_drawn(page, bundle):
    drawn = js(page, f"return Array.from({MODEL}('map_nodes').data.stage)")
    assert drawn == [s["id"] for s in bundle.map["stages"]]
    edges = js(page, f"return {MODEL}('map_edges').data.source.length")
    assert edges == len(bundle.map["views"]["all"]["edges"])


def test_changing_the_classification_recolours_the_dots_and_the_legend(page):
    before = js(page, f"return Array.from({MODEL}('dots').data.colour)")
    legend_before = js(page, f"return {MODEL}('legend').text")
    js(page, f"{MODEL}('classification').value = 'sex'")
    wait_for(page, f"return {MODEL}('legend').text.includes('Sex')")
    after = js(page, f"return Array.from({MODEL}('dots').data.colour)")
    assert after != before and "Repeat number" in legend_before


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


def test_filter_applies_to_dots_and_map_together(page):
    total = js(page, f"return {MODEL}('map').title.text")
    js(page, f"{MODEL}('filter').value = 'sex=female'")
    wait_for(page, f"return {MODEL}('map').title.text.includes('female')")
    assert js(page, f"return {MODEL}('map').title.text") != total
    visible = js(page, f"return Array.from({MODEL}('dots').data.visible)")
    assert 0 < sum(visible) < len(visible)
    # The browser's animation loop hides the filtered-out dots (it reads the data the server replaced).
    time.sleep(0.5)
    shown = js(page, f"const d = {MODEL}('dots').data; return Array.from(d.alpha).map((a, i) => [a, d.visible[i]])")
    assert not any(a > 0 and not v for a, v in shown)
    js(page, f"{MODEL}('filter').value = 'all'")
    wait_for(page, f"return {MODEL}('map').title.text.includes('all children')")


def test_comparison_draws_two_maps_with_differences(page):
    options = js(page, f"return {MODEL}('compare').options.map(o => o[0])")
    other = [o for o in options if o.startswith("release:")][0]
    js(page, f"{MODEL}('compare').value = '{other}'")
    wait_for(page, f"const p = {MODEL}('compare_panel'); return !!p && p.visible")
    assert js(page, f"return {MODEL}('map_b_nodes').data.stage.length") == js(page, f"return {MODEL}('map_nodes').data.stage.length")
    assert js(page, f"return {MODEL}('diff').data.route.length") > 0
    js(page, f"{MODEL}('compare').value = 'off'")


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
    js(page, f"{MODEL}('filter').value = '{view}'")
    wait_for(page, f"return Array.from({MODEL}('routes').data.children).includes('suppressed')")
    children = js(page, f"return Array.from({MODEL}('routes').data.children)")
    suppressed_edges = [e for e in aggregate_bundle.map["views"][view]["edges"] if e["suppressed"]]
    assert children.count("suppressed") == len(suppressed_edges) and "0" not in children
    hover = js(page, f"return Array.from({MODEL}('map_edges').data.children)")
    assert "suppressed" in hover
    js(page, f"{MODEL}('filter').value = 'all'")
    wait_for(page, f"return {MODEL}('map').title.text.includes('all children')")


def test_an_aggregate_release_compares_with_a_synthetic_one(aggregate_page):
    page = aggregate_page
    other = [o for o in js(page, f"return {MODEL}('compare').options.map(o => o[0])") if o.startswith("release:")][0]
    js(page, f"{MODEL}('compare').value = '{other}'")
    wait_for(page, f"const p = {MODEL}('compare_panel'); return !!p && p.visible")
    wait_for(page, drawn("map_b"))
    assert "synthetic records" in js(page, f"return {MODEL}('map_b').title.text")
    assert js(page, f"return {MODEL}('diff').data.route.length") > 0
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
