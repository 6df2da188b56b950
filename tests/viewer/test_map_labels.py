"""Route labels on the map (issue 15.4, 15.5): on the animated map (share and median days, on the curve) and in
the subway view (median / mean days, on the straight line), each label sits on or against its own route and
covers no other label, station or stage name, for every view of a release, on one map or two side by side (the
browser tests read the same on screen)."""

import numpy as np
import pytest

from viewer import figures, map_labels
from viewer.data import load_release, stage_labels, stage_xy, view_tables

LABEL_SETS = {"animated map": ("text", "lx", "ly", "xs", "ys"), "subway view": ("stext", "slx", "sly", "sxs", "sys")}


def _touches(box, xs, ys, slack) -> bool:
    """Whether the route passes through the box (grown by `slack`): the label is on or against its route."""
    t = np.linspace(0, 1, 400)
    k = t * (len(xs) - 1)
    i = np.minimum(k.astype(int), len(xs) - 2)
    f = k - i
    px = np.asarray(xs)[i] + (np.asarray(xs)[i + 1] - np.asarray(xs)[i]) * f
    py = np.asarray(ys)[i] + (np.asarray(ys)[i + 1] - np.asarray(ys)[i]) * f
    return bool(((px >= box[0] - slack) & (px <= box[2] + slack) & (py >= box[1] - slack)
                 & (py <= box[3] + slack)).any())


def _clashes(rows, cols, layout, width_px):
    text_col, x_col, y_col, xs_col, ys_col = cols
    u = map_labels.unit(layout, width_px)
    boxes = [(t, map_labels.label_box(x, y, t, u), xs, ys)
             for x, y, t, xs, ys in zip(rows[x_col], rows[y_col], rows[text_col], rows[xs_col], rows[ys_col]) if t]
    stages = map_labels.stage_boxes(layout, width_px)
    found = [(a, b) for i, (a, box, _, _) in enumerate(boxes) for b, other, _, _ in boxes[i + 1:]
             if map_labels.overlap(box, other) > 0]
    found += [(a, "a stage") for a, box, _, _ in boxes if any(map_labels.overlap(box, s) > 0 for s in stages)]
    found += [(a, "off its route") for a, box, xs, ys in boxes if not _touches(box, xs, ys, 2 * u)]
    return found, len(boxes)


@pytest.mark.parametrize("width_px", [map_labels.NOMINAL_WIDTH_PX, map_labels.SIDE_BY_SIDE_WIDTH_PX])
@pytest.mark.parametrize("label_set", list(LABEL_SETS))
def test_every_views_labels_sit_on_their_routes_clear_of_each_other_and_of_the_stages(bundle, label_set, width_px):
    rel = load_release(bundle)
    labels, xy = stage_labels(rel.map), stage_xy(rel.layout)
    shown = 0
    for view in rel.views:
        _, edges = view_tables(rel.map, view, rel.layout)
        rows = figures.edge_data(edges, 1000.0, xy, labels, layout=rel.layout, width_px=width_px)
        clashes, n = _clashes(rows, LABEL_SETS[label_set], rel.layout, width_px)
        assert clashes == [], (view, clashes)
        shown += n
    assert shown > 100  # most routes keep their label


@pytest.mark.parametrize("label_set", list(LABEL_SETS))
def test_without_placement_the_labels_clash(bundle, label_set):
    """The check above can fail: the labels at their routes' middles cover one another or a stage's name."""
    rel = load_release(bundle)
    _, edges = view_tables(rel.map, "all", rel.layout)
    rows = figures.edge_data(edges, 1000.0, stage_xy(rel.layout), stage_labels(rel.map))
    clashes, _ = _clashes(rows, LABEL_SETS[label_set], rel.layout, map_labels.NOMINAL_WIDTH_PX)
    assert clashes
