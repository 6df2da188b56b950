"""Where each stage sits on the journey map: one layout for the viewer (through the bundle's
`layout.json`) and the reviewer pages' picture of a release (service.web), so the two never disagree.

Map units: x runs left to right in process order (contact at 0, exits at 10), y bottom to top; the
Front Door team's lane on top, the district teams' below, exits on the right. `short` labels fit
beside a node; the full names are `synth.stages.STAGE_LABELS` (in map.json `stages`).
Plain data, no imports beyond json.
"""

from __future__ import annotations

import json

LAYOUT_FORMAT, LAYOUT_VERSION = "frontdoor-layout", 1

STAGE_XY: dict[str, tuple[float, float]] = {
    "contact": (0.0, 3.0), "iag": (1.2, 3.9), "referral": (2.4, 3.0), "early_help": (1.2, 0.2),
    "assessment": (3.6, 1.8), "strategy": (4.7, 2.6), "s47": (5.7, 1.9), "icpc": (6.7, 2.6),
    "cp_plan": (7.8, 2.2), "cin_plan": (7.2, 0.8), "cla": (8.8, 1.4), "nfa": (10.0, 3.0), "other": (10.0, 0.6),
}
SHORT_LABELS = {"contact": "Contact", "iag": "Advice (IAG)", "referral": "Referral", "early_help": "Early help",
                "assessment": "Assessment", "strategy": "Strategy", "s47": "S47 enquiry", "icpc": "ICPC",
                "cp_plan": "CP plan", "cin_plan": "CIN plan", "cla": "Looked after", "nfa": "Closed / NFA",
                "other": "Other exit"}
LABEL_BELOW = frozenset({"s47", "cin_plan", "early_help", "assessment", "other"})
# lane -> (label, bottom, top) in map units
LANES = {"front_door": ("Front door team", 2.55, 4.35), "district": ("District teams", -0.35, 2.55)}
X_RANGE, Y_RANGE = (-0.8, 11.0), (-0.6, 4.5)


def layout() -> dict:
    """The layout as a bundle publishes it (`layout.json`)."""
    return {
        "format": LAYOUT_FORMAT, "version": LAYOUT_VERSION,
        "x_range": list(X_RANGE), "y_range": list(Y_RANGE),
        "stages": {s: {"x": x, "y": y, "short": SHORT_LABELS[s], "label_below": s in LABEL_BELOW}
                   for s, (x, y) in STAGE_XY.items()},
        "lanes": {k: {"label": label, "bottom": lo, "top": hi} for k, (label, lo, hi) in LANES.items()},
    }


def layout_json() -> bytes:
    return json.dumps(layout(), indent=1).encode()


def svg_xy(width: float, height: float, margin: float = 40.0) -> dict[str, tuple[float, float]]:
    """Stage positions in an SVG box of `width` x `height` (y down), `margin` left clear on each side."""
    (x0, x1), (y0, y1) = (-0.3, 10.3), (0.0, 4.1)
    sx, sy = (width - 2 * margin) / (x1 - x0), (height - 2 * margin) / (y1 - y0)
    return {s: (round(margin + (x - x0) * sx, 1), round(margin + (y1 - y) * sy, 1)) for s, (x, y) in STAGE_XY.items()}
