"""Where the route labels go on the map (issue 15.4 and 15.5): on their own route, clear of the stations, the
stage names and each other. A label slides along its route (the animated map's curve, the subway view's straight
line), from the middle outwards, then sits against it on either side; "withheld" labels choose first (the ones
a reader must not miss), then the busiest routes. A label with no free place is left off, as map labelling does
with a label that collides (a short route between two busy stations): the route's hover and the Routes table
still give its figures. Measured on the test release's 51 views: 96% of the animated map's labels and 94% of the
subway view's are kept on one map, 80% and 83% on each of two maps side by side (tests/viewer/test_map_labels.py
checks the rest are clear).

Sizes are in map units, from the map's width in pixels (`width_px`: 900 at its nominal size, less when two maps
share the screen); a wider window only gives the labels more room."""

from __future__ import annotations

import math

NOMINAL_WIDTH_PX = 900.0
SIDE_BY_SIDE_WIDTH_PX = 620.0  # each of two maps beside each other at 1366 px (seen: 641)
CHAR_PX, PAD_PX, LABEL_HEIGHT_PX = 5.8, 4.0, 15.0  # 9pt route labels, background box (seen: 5.5 px a char, 14 high)
STAGE_CHAR_PX, STAGE_HEIGHT_PX = 7.6, 18.0  # 10pt bold stage names
STATION_PX = 26.0  # a station's circle (24 px) and its outline
ALONG = sorted((round(0.5 + d, 2) for d in (0, 0.05, -0.05, 0.1, -0.1, 0.15, -0.15, 0.2, -0.2, 0.25, -0.25, 0.3, -0.3,
                                            0.35, -0.35)), key=lambda t: abs(t - 0.5))
BESIDE = (0.0, 1.0, -1.0)  # the label's centre on its route, or moved across it so that its edge meets the route


def unit(layout: dict, width_px: float = NOMINAL_WIDTH_PX) -> float:
    """Map units per pixel of a map `width_px` wide."""
    x0, x1 = layout["x_range"]
    return (x1 - x0) / width_px


def box(x: float, y: float, width: float, height: float) -> tuple:
    return (x - width / 2, y - height / 2, x + width / 2, y + height / 2)


def overlap(a: tuple, b: tuple) -> float:
    """Area shared by two boxes (x0, y0, x1, y1)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def label_box(x: float, y: float, text: str, u: float) -> tuple:
    """The box a route label of `text` takes, centred at (x, y), at `u` map units a pixel."""
    return box(x, y, (len(text) * CHAR_PX + PAD_PX) * u, LABEL_HEIGHT_PX * u)


def stage_boxes(layout: dict, width_px: float = NOMINAL_WIDTH_PX) -> list[tuple]:
    """The stations and their names, as boxes in map units (names placed as viewer.figures.node_data does)."""
    u = unit(layout, width_px)
    boxes = []
    for spec in layout["stages"].values():
        x, y = spec["x"], spec["y"]
        boxes.append(box(x, y, STATION_PX * u, STATION_PX * u))
        label_y = y - 0.3 if spec.get("label_below") else y + 0.2
        boxes.append(box(x, label_y, (len(spec.get("short", "")) * STAGE_CHAR_PX + PAD_PX) * u, STAGE_HEIGHT_PX * u))
    return boxes


def _point(xs: list, ys: list, t: float) -> tuple[float, float, float, float]:
    """The point a fraction `t` along a polyline, and the unit normal there."""
    k = min(max(t * (len(xs) - 1), 0.0), len(xs) - 1.000001)
    i, f = int(k), k - int(k)
    x, y = xs[i] + (xs[i + 1] - xs[i]) * f, ys[i] + (ys[i + 1] - ys[i]) * f
    dx, dy = xs[i + 1] - xs[i], ys[i + 1] - ys[i]
    length = math.hypot(dx, dy) or 1.0
    return x, y, -dy / length, dx / length


def place(routes: list[tuple], layout: dict, width_px: float = NOMINAL_WIDTH_PX) -> list[tuple[float, float, bool]]:
    """For each route (xs, ys, text, weight): where its label's centre goes and whether it is shown. A route
    without text keeps its middle point."""
    u = unit(layout, width_px)
    taken = stage_boxes(layout, width_px)
    where = [(*_point(xs, ys, 0.5)[:2], bool(text)) for xs, ys, text, _ in routes]
    order = sorted((i for i, r in enumerate(routes) if r[2]), key=lambda i: -(routes[i][3] or 0))
    for i in order:
        xs, ys, text, _ = routes[i]
        height = LABEL_HEIGHT_PX * u
        found = None
        for side in BESIDE:
            for t in ALONG:
                x, y, nx, ny = _point(xs, ys, t)
                # across the route until the label's edge meets it (its longer side when the route is steep)
                shift = side * (height / 2 + u) / max(abs(ny), 0.35)
                candidate = label_box(x + nx * shift, y + ny * shift, text, u)
                if not any(overlap(candidate, other) > 0 for other in taken):
                    found = (x + nx * shift, y + ny * shift, candidate)
                    break
            if found:
                break
        if found is None:
            where[i] = (*where[i][:2], False)
            continue
        where[i] = (found[0], found[1], True)
        taken.append(found[2])
    return where
