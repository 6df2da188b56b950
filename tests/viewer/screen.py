"""Reading what the viewer's page shows in Chromium: DOM text through Bokeh's shadow roots, where
each model was drawn, and files the browser downloaded. Never the models' data: a table whose model
holds new rows while the screen shows old ones must fail these readers."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

from tests.viewer.conftest import MODEL, wait_for

# Elements as drawn, through Bokeh's shadow roots: what a person sees, not the models behind it.
ON_SCREEN = r"""
const all = root => Array.from(root.querySelectorAll('*')).flatMap(e => [e, ...(e.shadowRoot ? all(e.shadowRoot) : [])]);
const shown = e => { const r = e.getBoundingClientRect(), s = getComputedStyle(e);
  return r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight && s.visibility !== 'hidden'; };
"""


def js(driver, code: str):
    return driver.execute_script(code)


def visible_text(driver, selector: str) -> list[str]:
    """innerText of every element matching `selector` that is on screen."""
    return js(driver, ON_SCREEN + f"return all(document).filter(e => e.matches({selector!r}) && shown(e))"
                                  ".map(e => e.innerText);")


def text_of(driver, name: str) -> str:
    """The text Bokeh drew for the model `name` (a Div, a slider, a select...), as on screen."""
    return js(driver, f"return Bokeh.index.get_one({MODEL}({name!r})).el.shadowRoot.textContent")


def rect(driver, name: str) -> dict:
    return js(driver, f"return Bokeh.index.get_one({MODEL}({name!r})).el.getBoundingClientRect().toJSON()")


def table_rows(driver, name: str) -> list[list[str]]:
    """The rows a DataTable shows, top to bottom, as the text of their cells."""
    return js(driver, f"""
const root = Bokeh.index.get_one({MODEL}({name!r})).shadow_el;
const rows = Array.from(root.querySelectorAll('.slick-row')).filter(r => r.getBoundingClientRect().height > 0);
rows.sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top));
return rows.map(r => Array.from(r.querySelectorAll('.slick-cell')).map(c => c.innerText));""")


def table_headers(driver, name: str) -> list[str]:
    return js(driver, f"""
const root = Bokeh.index.get_one({MODEL}({name!r})).shadow_el;
return Array.from(root.querySelectorAll('.slick-header-column')).map(c => c.innerText.trim());""")


def html_labels(driver, plot: str, labels: str) -> list[str]:
    """The text of an HTML label set drawn on a plot (route figures, stage names), as on screen."""
    return js(driver, f"""
const p = Bokeh.index.get_one({MODEL}({plot!r}));
const v = Array.from(p.renderer_views.values()).find(r => r.model.name === {labels!r});
return v.els.filter(e => e.getBoundingClientRect().width > 0).map(e => e.innerText);""")


def html_label_boxes(driver, plot: str, labels: str) -> list[dict]:
    """Each visible label of an HTML label set on a plot: its text and where it is on screen (CSS px)."""
    return js(driver, f"""
const p = Bokeh.index.get_one({MODEL}({plot!r}));
const v = Array.from(p.renderer_views.values()).find(r => r.model.name === {labels!r});
return v.els.filter(e => e.getBoundingClientRect().width > 0 && e.innerText.trim()).map(e => {{
  const r = e.getBoundingClientRect();
  return {{text: e.innerText, left: r.left, top: r.top, right: r.right, bottom: r.bottom}}; }});""")


def label_clashes(driver, plot: str, slack: float = 2.0) -> list[tuple[str, str]]:
    """Route labels on a plot, as drawn, that cover another route label or a stage's name by more than `slack` px."""
    routes = html_label_boxes(driver, plot, f"{plot}_route_labels")
    stages = html_label_boxes(driver, plot, f"{plot}_stage_labels")

    def meet(a, b):
        return (min(a["right"], b["right"]) - max(a["left"], b["left"]) > slack
                and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack)
    return [(a["text"], b["text"]) for i, a in enumerate(routes) for b in routes[i + 1:] + stages if meet(a, b)]


def show_tab(driver, title: str) -> None:
    js(driver, f"const t = {MODEL}('tabs'); t.active = t.tabs.findIndex(p => p.title === {title!r})")
    time.sleep(0.5)


def download(driver, button: str, folder: Path, filename: str, timeout: float = 10) -> list[list[str]]:
    """Click a download button as a person would and read the CSV the browser saved."""
    target = folder / filename
    target.unlink(missing_ok=True)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    js(driver, f"Bokeh.index.get_one({MODEL}({button!r})).shadow_el.querySelector('button').click()")
    deadline = time.time() + timeout
    while not target.exists() and time.time() < deadline:
        time.sleep(0.1)
    assert target.exists(), f"the browser saved no {filename}"
    return list(csv.reader(io.StringIO(target.read_text())))


def wait_for_text(driver, name: str, needle: str, timeout: float = 20) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = text_of(driver, name)
        if needle in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{name} never showed {needle!r}; it shows {text_of(driver, name)!r}")


__all__ = ["ON_SCREEN", "download", "html_labels", "js", "rect", "show_tab", "table_headers", "table_rows",
           "text_of", "visible_text", "wait_for", "wait_for_text"]
