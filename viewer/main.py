"""The Bokeh app's entry point: one page per browser session (see viewer/page.py)."""

from bokeh.io import curdoc

from viewer.page import build

build(curdoc())
