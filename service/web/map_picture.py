"""A static picture of a release's map (from its map.json) for the reviewer's page: inline SVG, no script."""

from __future__ import annotations

import html

from markupsafe import Markup

from service.orm import Release
from synth.stages import STAGE_LABELS


def map_svg(store, r: Release) -> Markup | None:
    """A static picture of the release's map (from its map.json), for the reviewer's page."""
    import json
    import zipfile

    path = store.bundle_path(r.id)
    if not path.exists():
        return None
    with zipfile.ZipFile(path) as zf:
        m = json.loads(zf.read("map.json"))
    view = m["views"]["all"]
    from synth.stage_layout import svg_xy

    xy = svg_xy(940, 350, margin=45)  # the map viewer's layout (one place: synth.stage_layout)
    top = max([e["children"] or 0 for e in view["edges"]] or [1])
    parts = []
    for e in view["edges"]:
        (x0, y0), (x1, y1) = xy[e["source"]], xy[e["target"]]
        w = 1 if e["children"] is None else 1 + 9 * (e["children"] / top) ** 0.5
        dash = ' stroke-dasharray="4 3"' if e["children"] is None else ""
        parts.append(f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#1d70b8" stroke-opacity="0.6" '
                     f'stroke-width="{w:.1f}"{dash}><title>{html.escape(STAGE_LABELS.get(e["source"], e["source"]))} to '
                     f'{html.escape(STAGE_LABELS.get(e["target"], e["target"]))}: '
                     f'{e["children"] if e["children"] is not None else "suppressed"} children</title></line>')
    for n in view["nodes"]:
        x, y = xy[n["stage"]]
        lines = wrap_label(STAGE_LABELS.get(n["stage"], n["stage"]))
        label = "".join(f'<tspan x="{x}" dy="{0 if i == 0 else 12}">{html.escape(t)}</tspan>' for i, t in enumerate(lines))
        count = "suppressed" if n["children"] is None else f'{n["children"]:,}'
        parts.append(f'<circle cx="{x}" cy="{y}" r="12" fill="#fff" stroke="#0b0c0c" stroke-width="2"/>'
                     f'<text x="{x}" y="{y - 17 - 12 * (len(lines) - 1)}" text-anchor="middle" font-size="11" stroke="#fff" stroke-width="3" paint-order="stroke">{label}</text>'
                     f'<text x="{x}" y="{y + 27}" text-anchor="middle" font-size="11" fill="#505a5f">{count}</text>')
    return Markup(f'<svg role="img" aria-label="The release\'s journey map: stages and the routes between them" '
                  f'viewBox="0 0 940 350" width="100%">{"".join(parts)}</svg>')


def wrap_label(label: str, width: int = 14) -> list[str]:
    """A stage's label in lines of about `width` characters (the map's columns are narrow)."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [label]
