"""Figures to compare councils (and teams within one) from published aggregate maps, and nothing else.

Every function here reads only what an aggregate release published (its map.json: counts already
under disclosure control). That is the whole of the cross-council protection (issue 14): a pooled
figure is a sum of published cells, and it is withheld when any council withheld its cell. So the
pooled figures are a function of the shared releases alone, and a council subtracting its own real
counts from a pooled figure learns only what the other councils' shared releases already say; a
cell a council withheld never enters any sum (tests/unit/test_comparison.py tries the subtraction).

Measures, per view of a map ("all", or one team "team=..."):
- stages: children who reached each stage, and that per 10,000 children a year (the council's
  declared population of children; years from the release's public window, months only);
- routes: children who moved from one stage to the next, the conversion rate (that over the children
  who reached the stage they left) and the published median days;
- repeat share: the share of journeys that are a child's second or later (from the repeat views;
  not the DfE's "re-referral within 12 months", which needs dates no aggregate release carries).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PER = 10_000


@dataclass(frozen=True)
class SharedMap:
    """One council's shared aggregate release, as the comparison sees it."""

    council: str  # the council's code
    name: str
    population: int | None
    release_id: str
    map: dict


def window_years(window: dict | None) -> float | None:
    """Years a public window (`YYYY-MM` months, both included) covers; None when it is not known."""
    if not window or not window.get("start") or not window.get("end"):
        return None
    (y0, m0), (y1, m1) = (tuple(int(x) for x in str(window[k])[:7].split("-")) for k in ("start", "end"))
    months = (y1 - y0) * 12 + (m1 - m0) + 1
    return months / 12 if months > 0 else None


def _rate(children: int | None, population: int | None, years: float | None) -> float | None:
    if children is None or not population or not years:
        return None
    return round(children / years / population * PER, 1)


def _ratio(num: int | None, den: int | None) -> float | None:
    if num is None or not den:
        return None
    return round(num / den, 3)


def views_of(m: dict, classification: str) -> list[str]:
    """The view ids of one classification in a map, e.g. every `team=...`."""
    return [v for v, body in m["views"].items() if body.get("classification") == classification]


def view_figures(m: dict, view: str = "all", population: int | None = None) -> dict:
    """The comparison measures of one view of a published map (see the module docstring)."""
    body = m["views"].get(view)
    if body is None:
        raise KeyError(f"the map has no view {view!r}")
    years = window_years(m.get("window"))
    nodes = {n["stage"]: (None if n["suppressed"] else n["children"]) for n in body["nodes"]}
    stages = {stage: {"children": n, "per_10k_a_year": _rate(n, population, years)} for stage, n in nodes.items()}
    routes = []
    for e in body["edges"]:
        children = None if e["suppressed"] else e["children"]
        routes.append({"source": e["source"], "target": e["target"], "children": children,
                       "conversion": _ratio(children, nodes.get(e["source"])),
                       "median_days": e.get("median_days")})
    # The repeat views split the whole council, so the repeat share is a figure of "all" only.
    return {"view": view, "children": body.get("children"), "window": m.get("window"), "years": years,
            "stages": stages, "routes": routes, "repeat_share": repeat_share(m) if view == "all" else None}


def _repeat_sizes(m: dict) -> dict[str, int | None]:
    return {m["views"][v]["value"]: m["views"][v]["children"] for v in views_of(m, "repeat")}


def repeat_share(m: dict) -> float | None:
    """Journeys that are a child's second or later, over all journeys (children per repeat view).
    None when a repeat view is withheld or the map has none."""
    sizes = _repeat_sizes(m)
    if not sizes or any(n is None for n in sizes.values()):
        return None
    total = sum(sizes.values())
    return _ratio(total - (sizes.get("1") or 0), total)


def pooled_figures(shared: Iterable[SharedMap]) -> dict:
    """The group's figures: sums of the councils' published cells, each withheld when any council
    withheld it (or does not have it). Rates a year divide the sum of each council's children a year by
    the sum of populations (only when every council declared one and has a window). Medians cannot be
    pooled from medians: the range of the councils' medians is given instead."""
    shared = list(shared)
    per = [(s, view_figures(s.map, "all", s.population)) for s in shared]
    stage_ids = [st for st in per[0][1]["stages"]] if per else []
    stages = {}
    for st in stage_ids:
        counts = [f["stages"].get(st, {}).get("children") for _, f in per]
        total = None if any(c is None for c in counts) else sum(counts)
        yearly = [None if c is None or not f["years"] else c / f["years"] for c, (_, f) in zip(counts, per)]
        pops = [s.population for s, _ in per]
        rate = None
        if total is not None and all(y is not None for y in yearly) and all(pops):
            rate = round(sum(yearly) / sum(pops) * PER, 1)
        stages[st] = {"children": total, "per_10k_a_year": rate}
    keys = []
    for _, f in per:
        for r in f["routes"]:
            if (r["source"], r["target"]) not in keys:
                keys.append((r["source"], r["target"]))
    routes = []
    for src, tgt in keys:
        cells = [next((r for r in f["routes"] if (r["source"], r["target"]) == (src, tgt)), None) for _, f in per]
        counts = [None if c is None else c["children"] for c in cells]
        total = None if any(c is None for c in counts) else sum(counts)
        medians = [c["median_days"] for c in cells if c is not None and c["median_days"] is not None]
        routes.append({"source": src, "target": tgt, "children": total,
                       "conversion": _ratio(total, stages.get(src, {}).get("children")),
                       "median_days_range": [min(medians), max(medians)] if medians else None,
                       "councils_with_median": len(medians)})
    repeat = [_repeat_sizes(s.map) for s in shared]
    values = sorted({k for r in repeat for k in r})
    sizes = {k: (None if any(r.get(k) is None for r in repeat) else sum(r[k] for r in repeat)) for k in values}
    share = None
    if sizes and all(n is not None for n in sizes.values()):
        total = sum(sizes.values())
        share = _ratio(total - (sizes.get("1") or 0), total)
    children = [f["children"] for _, f in per]
    return {"councils": [s.council for s in shared],
            "children": None if any(c is None for c in children) else sum(children),
            "stages": stages, "routes": routes, "repeat_share": share}


def differences(mine: dict, theirs: dict) -> dict:
    """`mine` minus `theirs` for two sets of figures (from `view_figures` or `pooled_figures`):
    conversion and repeat share in percentage points, rates per 10,000 a year, median days (when both
    have one). None where either side is withheld."""
    def sub(a, b, scale=1.0, digits=1):
        return None if a is None or b is None else round((a - b) * scale, digits)

    theirs_routes = {(r["source"], r["target"]): r for r in theirs["routes"]}
    routes = []
    for r in mine["routes"]:
        t = theirs_routes.get((r["source"], r["target"]))
        if t is None:
            continue
        routes.append({"source": r["source"], "target": r["target"],
                       "conversion_points": sub(r["conversion"], t["conversion"], 100),
                       "median_days": sub(r.get("median_days"), t.get("median_days"))})
    stages = {st: {"per_10k_a_year": sub(v["per_10k_a_year"], theirs["stages"].get(st, {}).get("per_10k_a_year"))}
              for st, v in mine["stages"].items()}
    return {"stages": stages, "routes": routes,
            "repeat_share_points": sub(mine["repeat_share"], theirs["repeat_share"], 100)}


def compare_councils(mine: SharedMap, others: Iterable[SharedMap]) -> dict:
    """My council against each other sharing council and against the pooled group (me included)."""
    others = list(others)
    my_figures = view_figures(mine.map, "all", mine.population)
    pooled = pooled_figures([mine, *others]) if others else None
    return {
        "mine": {"council": mine.council, "name": mine.name, "release": mine.release_id,
                 "population": mine.population, "figures": my_figures},
        "others": [{"council": o.council, "name": o.name, "release": o.release_id, "population": o.population,
                    "figures": (f := view_figures(o.map, "all", o.population)),
                    "difference": differences(my_figures, f)} for o in others],
        "pooled": None if pooled is None else {"figures": pooled, "difference": differences(my_figures, pooled)},
    }


def compare_teams(m: dict, population: int | None = None) -> dict:
    """Each team of a council (its `team=...` views) beside the whole council, with the differences.
    Rates per 10,000 are left out for teams: the population is the council's, not a team's."""
    whole = view_figures(m, "all", population)
    teams = []
    for v in views_of(m, "team"):
        f = view_figures(m, v, None)
        teams.append({"team": m["views"][v]["value"], "figures": f, "difference": differences(f, whole)})
    return {"council": whole, "teams": teams}
