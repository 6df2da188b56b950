"""The subway view's duration labels (issue 15.5): each on or against its own line, none covering another label, a station
or a stage's name, for every view of a release (the browser test reads the same on screen)."""

import numpy as np

from viewer import figures, subway_labels
from viewer.data import load_release, stage_labels, stage_xy, view_tables


def _touches(box, x0, y0, x1, y1, slack) -> bool:
    """Whether the segment passes through the box (grown by `slack`): the label is on or against its line."""
    t = np.linspace(0, 1, 400)
    xs, ys = x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
    return bool(((xs >= box[0] - slack) & (xs <= box[2] + slack) & (ys >= box[1] - slack) & (ys <= box[3] + slack)).any())


def _label_boxes(rows, layout):
    unit = subway_labels._unit(layout)
    return [(text, subway_labels._box(x, y, (len(text) * subway_labels.CHAR_PX + subway_labels.PAD_PX) * unit,
                                      subway_labels.LABEL_HEIGHT_PX * unit))
            for x, y, text in zip(rows["slx"], rows["sly"], rows["stext"]) if text]


def test_every_views_labels_sit_on_their_lines_clear_of_each_other_and_of_the_stages(bundle):
    rel = load_release(bundle)
    labels, xy = stage_labels(rel.map), stage_xy(rel.layout)
    stages = subway_labels.stage_boxes(rel.layout)
    checked = 0
    for view in rel.views:
        _, edges = view_tables(rel.map, view, rel.layout)
        rows = figures.edge_data(edges, 1000.0, xy, labels, layout=rel.layout)
        boxes = _label_boxes(rows, rel.layout)
        lines = [(xs, ys) for xs, ys, text in zip(rows["sxs"], rows["sys"], rows["stext"]) if text]
        unit = subway_labels._unit(rel.layout)
        for (text, box), ((x0, x1), (y0, y1)) in zip(boxes, lines):
            assert _touches(box, x0, y0, x1, y1, 2 * unit), (view, text)  # on its line, or against it
        clashes = [(a, b) for i, (a, box) in enumerate(boxes) for b, other in boxes[i + 1:]
                   if subway_labels._overlap(box, other) > 0]
        clashes += [(a, "a stage") for a, box in boxes if any(subway_labels._overlap(box, s) > 0 for s in stages)]
        assert clashes == [], (view, clashes)
        checked += len(boxes)
    assert checked > 100


def test_without_placement_the_midpoints_clash(bundle):
    """The check above can fail: the plain midpoints of the same lines cover one another or a stage's name."""
    rel = load_release(bundle)
    _, edges = view_tables(rel.map, "all", rel.layout)
    rows = figures.edge_data(edges, 1000.0, stage_xy(rel.layout), stage_labels(rel.map))
    boxes = _label_boxes(rows, rel.layout)
    stages = subway_labels.stage_boxes(rel.layout)
    assert any(subway_labels._overlap(a, b) > 0 for i, (_, a) in enumerate(boxes) for _, b in boxes[i + 1:]) or \
        any(subway_labels._overlap(a, s) > 0 for _, a in boxes for s in stages)
