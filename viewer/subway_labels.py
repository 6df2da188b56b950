"""Where the subway view's duration labels go: on their own line, clear of the stations, the stage names and
each other (issue 15.5). Every line is straight, so a label slides along it; the busiest lines choose first.

Sizes are in map units, from the map at its nominal width (900 px across the layout's x range): a wider
window only gives the labels more room."""

from __future__ import annotations

import math

NOMINAL_WIDTH_PX = 900.0
CHAR_PX, PAD_PX, LABEL_HEIGHT_PX = 5.8, 4.0, 15.0  # 9pt route labels with their background (seen: 5.5 px a char, 14 high)
STAGE_CHAR_PX, STAGE_HEIGHT_PX = 7.6, 18.0  # 10pt bold stage names
STATION_PX = 26.0  # a station's circle (24 px) and its outline
# Where on its line a label may sit, best first: centred on the line from its middle outwards, then touching it
# from either side (the label's box beside the line, its edge on it).
ALONG = sorted((round(0.5 + d, 2) for d in (0, 0.05, -0.05, 0.1, -0.1, 0.15, -0.15, 0.2, -0.2, 0.25, -0.25, 0.3, -0.3,
                                            0.35, -0.35)), key=lambda t: abs(t - 0.5))
BESIDE = (0.0, 1.0, -1.0)  # the label's centre on its line, or moved across it by half the label's height


def _overlap(a: tuple, b: tuple) -> float:
    """Area shared by two boxes (x0, y0, x1, y1)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _box(x: float, y: float, width: float, height: float) -> tuple:
    return (x - width / 2, y - height / 2, x + width / 2, y + height / 2)


def stage_boxes(layout: dict) -> list[tuple]:
    """The stations and their names, as boxes in map units (names placed as viewer.figures.node_data does)."""
    unit = _unit(layout)
    boxes = []
    for spec in layout["stages"].values():
        x, y = spec["x"], spec["y"]
        boxes.append(_box(x, y, STATION_PX * unit, STATION_PX * unit))
        label_y = y - 0.3 if spec.get("label_below") else y + 0.2
        boxes.append(_box(x, label_y, (len(spec.get("short", "")) * STAGE_CHAR_PX + PAD_PX) * unit,
                          STAGE_HEIGHT_PX * unit))
    return boxes


def _unit(layout: dict) -> float:
    """Map units per pixel at the nominal width."""
    x0, x1 = layout["x_range"]
    return (x1 - x0) / NOMINAL_WIDTH_PX


def place(lines: list[tuple], layout: dict) -> list[tuple[float, float, bool]]:
    """For each line (x0, y0, x1, y1, text, weight), where its label's centre goes and whether it is shown.
    Labels are placed in order of weight (children), each at the first point of ALONG (on the line, then beside
    it) whose box meets no station, stage name or placed label. A label with no such place is left off, as map
    labelling does with a label that collides (a short line between two busy stations): the line's hover and the
    Routes table still give its figures. A line without text keeps its midpoint."""
    unit = _unit(layout)
    taken = stage_boxes(layout)
    where = [((x0 + x1) / 2, (y0 + y1) / 2, bool(text)) for x0, y0, x1, y1, text, _ in lines]
    order = sorted((i for i, line in enumerate(lines) if line[4]), key=lambda i: -(lines[i][5] or 0))
    for i in order:
        x0, y0, x1, y1, text, _ = lines[i]
        width, height = (len(text) * CHAR_PX + PAD_PX) * unit, LABEL_HEIGHT_PX * unit
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length  # across the line
        best = None
        for side in BESIDE:
            for t in ALONG:
                # across by half the label's height, measured along the normal's larger axis so the edge meets the line
                shift = side * (height / 2 + unit) / max(abs(ny), 0.35)
                x, y = x0 + (x1 - x0) * t + nx * shift, y0 + (y1 - y0) * t + ny * shift
                box = _box(x, y, width, height)
                if not any(_overlap(box, other) > 0 for other in taken):
                    best = (x, y, box)
                    break
            if best is not None:
                break
        if best is None:
            where[i] = (*where[i][:2], False)
            continue
        x, y, box = best
        where[i] = (x, y, True)
        taken.append(box)
    return where
