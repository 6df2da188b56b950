"""The viewer in a real headless Chromium, driven through Bokeh's own document in the page."""

import subprocess
import sys
import time
import zipfile

import pytest

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


def js(driver, code: str):
    return driver.execute_script(code)


def test_page_loads_without_javascript_errors(page):
    errors = [e for e in page.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    assert "Synthetic data" in js(page, f"return {MODEL}('header').text")
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


def test_suppressed_cells_show_as_suppressed_not_zero(page, bundle):
    view = next(v for v, d in bundle.map["views"].items() if any(e["suppressed"] for e in d["edges"]))
    js(page, f"{MODEL}('filter').value = '{view}'")
    wait_for(page, f"return Array.from({MODEL}('routes').data.children).includes('suppressed')")
    children = js(page, f"return Array.from({MODEL}('routes').data.children)")
    suppressed_edges = [e for e in bundle.map["views"][view]["edges"] if e["suppressed"]]
    assert children.count("suppressed") == len(suppressed_edges)
    hover = js(page, f"return Array.from({MODEL}('map_edges').data.children)")
    assert "suppressed" in hover
    js(page, f"{MODEL}('filter').value = 'all'")


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
