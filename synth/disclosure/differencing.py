"""Differencing: no cell of an aggregate release may be recovered by setting it against the releases
of the same dataset published before it (issue 11, item 5).

Each release is safe alone (its own secondary suppression); two releases together may not be. For
the maps of real counts (`source` "real") of every release of one dataset, new and earlier:

1. **withheld here, published there**: a cell (a view's total, a node, a move) withheld in one release
   and published in another fails: the later one gives away what the earlier withheld (and with it,
   often, the cell secondary suppression protected);
2. **recovered by subtraction**: wherever cells add up (a classification's values to "all", for every
   node, move and view total: the groups the map's secondary suppression protects), the exact values all releases
   publish together are combined: a count is exact when its profile does not round it (`round_counts`
   1, as under `dfe`; `round_totals` for the views' totals) or it is a published zero (rounding never
   makes a non-zero count zero). Any group left with exactly one unknown member is solved (and one
   whose known members already make up its total has zeros for the rest), repeatedly; every cell so
   solved from the releases together, and not from any one of them alone, fails. (What one release
   gives away alone is its own secondary suppression's concern: listed for the reviewers, not failed.)

The sums across a classification are treated as exact although some are not (a child's journeys can
fall in two `repeat` or `year` values): that errs towards failing a release. The moves out of a stage
are not an equation here: the map counts children per move, and those do not add up to the stage's
children (children still at the stage take no move; a child can take two in two journeys), so solving
them would "recover" values no one can (tried: every profile's single release then failed). Secondary
suppression still keeps those groups at two or more withheld moves, and rule 1 covers them across
releases. Rounded values are not used as bounds (interval attacks), and top journeys, move counts and
durations are not compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synth.disclosure.profiles import PROFILES
from synth.disclosure.records import Check

MAX_LISTED = 20


@dataclass
class Cells:
    """One release's cells: id -> published value (None: withheld), and the ids published exactly."""

    values: dict[str, int | None]
    exact: set[str]


@dataclass
class Differencing:
    withheld_elsewhere: list[str] = field(default_factory=list)  # withheld in one release, published in another
    recovered: list[str] = field(default_factory=list)  # solved only by combining releases
    within_release: list[str] = field(default_factory=list)  # solved from one release alone (not differencing)
    releases: int = 0  # maps of real counts compared (the new one included)

    @property
    def ok(self) -> bool:
        return not self.withheld_elsewhere and not self.recovered


def _bases(map_json: dict) -> tuple[int, int]:
    """(round_counts, round_totals) of the profile a map was made under; an unknown profile counts as
    unrounded (exact), which errs towards failing."""
    p = PROFILES.get((map_json.get("profile") or {}).get("name"))
    return (p.round_counts, p.round_totals) if p else (1, 1)


def map_cells(map_json: dict) -> Cells:
    counts, totals = _bases(map_json)
    values, exact = {}, set()

    def add(cid: str, value, suppressed: bool, base: int) -> None:
        v = None if suppressed or value is None else int(value)
        values[cid] = v
        if v is not None and (v == 0 or base <= 1):
            exact.add(cid)

    for v, view in map_json["views"].items():
        add(f"t|{v}", view.get("children"), view.get("suppressed", False), totals)
        for n in view["nodes"]:
            add(f"n|{v}|{n['stage']}", n["children"], n.get("suppressed", False), counts)
        for e in view["edges"]:
            add(f"e|{v}|{e['source']}>{e['target']}", e["children"], e.get("suppressed", False), counts)
    return Cells(values, exact)


def equations(maps: list[dict]) -> list[tuple[str, list[str]]]:
    """(total, members) for every additive group the maps publish."""
    views: dict[str, tuple[str | None, dict]] = {}
    for m in maps:
        for v, view in m["views"].items():
            views.setdefault(v, (view.get("classification"), view))
    eqs: list[tuple[str, list[str]]] = []
    by_cls: dict[str, list[str]] = {}
    for v, (c, _) in views.items():
        if c:
            by_cls.setdefault(c, []).append(v)
    if "all" in views:
        whole = views["all"][1]
        items = [f"n|{{}}|{n['stage']}" for n in whole["nodes"]] + \
                [f"e|{{}}|{e['source']}>{e['target']}" for e in whole["edges"]] + ["t|{}"]
        for vs in by_cls.values():  # a classification's values add up to "all"
            for item in items:
                eqs.append((item.format("all"), [item.format(v) for v in vs]))
    return eqs


def solve(known: dict[str, int], eqs: list[tuple[str, list[str]]]) -> dict[str, int]:
    """Every cell the equations determine from the known ones (the known ones excluded)."""
    known = dict(known)
    found: dict[str, int] = {}
    changed = True
    while changed:
        changed = False
        for total, members in eqs:
            cells = [total, *members]
            unknown = [c for c in cells if c not in known]
            if len(unknown) > 1 and total in known and known[total] == sum(known[c] for c in members if c in known):
                for cell in unknown:  # counts are never negative: what is left to share out is nothing
                    known[cell] = found[cell] = 0
                changed = True
                continue
            if len(unknown) != 1:
                continue
            cell = unknown[0]
            rest = sum(known[c] for c in members if c in known)
            value = rest if cell == total else known[total] - rest
            known[cell] = found[cell] = value
            changed = True
    return found


def compare(new_map: dict, earlier_maps: list[dict]) -> Differencing:
    """Set the new map against the earlier maps of the same dataset (only maps of real counts count:
    a synthetic release's map says nothing about the real children beyond its records)."""
    maps = [m for m in [new_map, *earlier_maps] if m.get("source") == "real"]
    result = Differencing(releases=len(maps))
    if len(maps) < 1:
        return result
    cells = [map_cells(m) for m in maps]
    ids = sorted(set().union(*(c.values for c in cells)))
    for cid in ids:
        seen = [c.values[cid] for c in cells if cid in c.values]
        if any(v is None for v in seen) and any(v is not None for v in seen):
            result.withheld_elsewhere.append(cid)
    eqs = equations(maps)
    alone: set[str] = set()
    for m, c in zip(maps, cells):
        alone |= set(solve({cid: c.values[cid] for cid in c.exact}, equations([m])))
    known: dict[str, int] = {}
    for c in cells:
        for cid in c.exact:
            known.setdefault(cid, c.values[cid])
    together = set(solve(known, eqs))
    result.recovered = sorted(together - alone)
    result.within_release = sorted(alone - set(known))
    return result


def differencing_check(new_map: dict, earlier_maps: list[dict]) -> Check:
    d = compare(new_map, earlier_maps)
    earlier = d.releases - 1 if new_map.get("source") == "real" else d.releases
    n = len(d.withheld_elsewhere) + len(d.recovered)
    threshold = ("0 cells withheld in one release and published in another; 0 cells recoverable by subtracting "
                 "the exact counts of all releases of the dataset")
    if d.ok:
        explanation = (f"Set against {earlier} earlier published release(s) of the same dataset: no count withheld in "
                       "one is published in another, and no withheld count can be worked out by subtracting what the "
                       "releases publish together." if earlier else
                       "No earlier release of this dataset has been published, so no count can be recovered by "
                       "comparing releases (later releases will be checked against this one).")
        public = ("No count can be worked out by comparing this release with the earlier published releases of the "
                  "same data.")
    else:
        parts = []
        if d.withheld_elsewhere:
            parts.append(f"{len(d.withheld_elsewhere)} counts are withheld in one release and published in another")
        if d.recovered:
            parts.append(f"{len(d.recovered)} counts can be worked out by subtracting published counts of the releases")
        explanation = (f"Set against {earlier} earlier published release(s) of the same dataset: " + "; ".join(parts)
                       + ". Use the same disclosure rules as the earlier releases (or withhold the same cells).")
        public = "Comparing this release with earlier published releases of the same data would reveal counts."
    return Check("differencing", "No count recovered by comparing releases", "aggregate",
                 "pass" if d.ok else "fail", float(n), threshold, explanation,
                 {"earlier_releases": earlier, "withheld_elsewhere": d.withheld_elsewhere[:MAX_LISTED],
                  "recovered": d.recovered[:MAX_LISTED], "within_one_release": d.within_release[:MAX_LISTED]},
                 public_explanation=public)
