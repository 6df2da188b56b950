"""Comparing councils from their shared aggregate maps: the figures, and the differencing attack that
pooled figures must resist (a council subtracting its own real counts from the group's)."""

from __future__ import annotations

import pytest

from synth import comparison
from synth.dataset import read_dataset
from synth.disclosure import aggregates
from synth.disclosure.profiles import get_profile

WINDOW = {"start": "2019-04", "end": "2025-03"}  # six years


def _aggregate(dataset) -> tuple[dict, dict, dict]:
    """A council's aggregate map, and its real and published count per cell id."""
    m, cells = aggregates.build_map(dataset.events, dataset.episodes, dataset.children, get_profile("default"),
                                    WINDOW)
    real = dict(zip(cells["cell"], cells["value"].astype(int)))
    published = {c: (None if sup else int(p)) for c, p, sup in zip(cells["cell"], cells["published"],
                                                                     cells["suppressed"])}
    return m, real, published


@pytest.fixture(scope="module")
def two_councils(dataset_dir, moorside_dataset_dir):
    a_map, a_real, _ = _aggregate(read_dataset(dataset_dir))
    b_map, b_real, b_pub = _aggregate(read_dataset(moorside_dataset_dir))
    a = comparison.SharedMap("shire", "Shire", 120_000, "ra", a_map)
    b = comparison.SharedMap("moorside", "Moorside", 45_000, "rb", b_map)
    return a, a_real, b, b_real, b_pub


def _route_cells(figures: dict) -> dict[str, int | None]:
    return {f"e|all|{r['source']}>{r['target']}": r["children"] for r in figures["routes"]}


def _node_cells(figures: dict) -> dict[str, int | None]:
    return {f"n|all|{st}": v["children"] for st, v in figures["stages"].items()}


def _subtraction_attack(pooled_cells: dict, my_real: dict, their_withheld: list[str]) -> dict[str, int]:
    """What a council recovers of another's withheld cells by subtracting its own real counts."""
    return {c: pooled_cells[c] - my_real.get(c, 0) for c in their_withheld if pooled_cells.get(c) is not None}


def _group_attack(pooled_routes: dict, pooled_nodes: dict, my_real: dict, their_published: dict,
                  their_withheld: set[str]) -> dict[str, int]:
    """Per stage: the pooled stage total minus every route out of it the attacker can account for (pooled where
    published; else its own real count plus the other council's published one). One route left unaccounted for
    is the other council's withheld count (up to rounding, and to children who left a stage twice)."""
    out = {}
    for node, total in pooled_nodes.items():
        if total is None:
            continue
        stage = node.split("|")[2]
        known, unknown = 0, []
        for cell, value in pooled_routes.items():
            if cell.split("|")[2].split(">")[0] != stage:
                continue
            if value is not None:
                known += value
            elif cell not in their_withheld:
                known += my_real.get(cell, 0) + (their_published.get(cell) or 0)
            else:
                unknown.append(cell)
        if len(unknown) == 1:
            out[unknown[0]] = total - known - my_real.get(unknown[0], 0)
    return out


def test_figures_of_one_council_are_read_from_its_published_cells(two_councils):
    a, *_ = two_councils
    f = comparison.view_figures(a.map, "all", a.population)
    contact = f["stages"]["contact"]
    assert contact["children"] == next(n["children"] for n in a.map["views"]["all"]["nodes"] if n["stage"] == "contact")
    assert contact["per_10k_a_year"] == pytest.approx(contact["children"] / 6 / 120_000 * 10_000, abs=0.05)
    route = next(r for r in f["routes"] if r["children"] is not None and r["source"] == "referral")
    assert route["conversion"] == pytest.approx(route["children"] / f["stages"]["referral"]["children"], abs=1e-3)
    assert 0 < f["repeat_share"] < 1
    withheld = [r for r in f["routes"] if r["children"] is None]
    assert withheld and all(r["conversion"] is None for r in withheld)


def test_a_pooled_cell_is_withheld_when_any_council_withheld_it(two_councils):
    a, _, b, _, b_pub = two_councils
    pooled = comparison.pooled_figures([a, b])
    routes = _route_cells(pooled)
    b_withheld = [c for c, v in b_pub.items() if c.startswith("e|all|") and v is None]
    assert b_withheld, "the test needs the second council to have withheld a route"
    assert all(routes[c] is None for c in b_withheld if c in routes)
    published_both = [c for c, v in routes.items() if v is not None]
    assert published_both
    a_routes = _route_cells(comparison.view_figures(a.map))
    b_routes = _route_cells(comparison.view_figures(b.map))
    assert all(routes[c] == a_routes[c] + b_routes[c] for c in published_both)


def test_no_council_recovers_anothers_withheld_cell_from_the_pooled_figures(two_councils):
    """The attack a sharing council can run: pooled minus its own real counts, cell by cell and over each
    stage's routes. It recovers nothing of the other's withheld cells from our pooled figures; against a pool
    that summed real counts (what a naive service would publish) it recovers every one exactly, which shows
    the attack is real."""
    a, a_real, b, b_real, b_pub = two_councils
    pooled = comparison.pooled_figures([a, b])
    b_withheld = {c for c, v in b_pub.items() if c.startswith(("e|all|", "n|all|")) and v is None}
    routes, nodes = _route_cells(pooled), _node_cells(pooled)
    cells = {**routes, **nodes}
    assert _subtraction_attack(cells, a_real, sorted(b_withheld)) == {}
    # Every stage leaves none or at least two of the other's withheld routes unaccounted for.
    assert _group_attack(routes, nodes, a_real, b_pub, b_withheld) == {}

    naive = {c: a_real.get(c, 0) + b_real.get(c, 0) for c in cells}
    recovered = _subtraction_attack(naive, a_real, sorted(b_withheld))
    assert recovered and all(recovered[c] == b_real[c] for c in recovered)


def test_comparison_gives_differences_in_points_against_each_council_and_the_group(two_councils):
    a, _, b, _, _ = two_councils
    out = comparison.compare_councils(a, [b])
    assert out["others"][0]["council"] == "moorside"
    diff = out["others"][0]["difference"]
    mine = {(r["source"], r["target"]): r for r in out["mine"]["figures"]["routes"]}
    theirs = {(r["source"], r["target"]): r for r in out["others"][0]["figures"]["routes"]}
    row = next(d for d in diff["routes"] if d["conversion_points"] is not None)
    key = (row["source"], row["target"])
    assert row["conversion_points"] == pytest.approx((mine[key]["conversion"] - theirs[key]["conversion"]) * 100,
                                                     abs=0.051)
    assert out["pooled"]["figures"]["councils"] == ["shire", "moorside"]
    assert comparison.compare_councils(a, [])["pooled"] is None


def test_teams_side_by_side_come_from_the_team_views(two_councils):
    a, *_ = two_councils
    out = comparison.compare_teams(a.map, a.population)
    assert len(out["teams"]) >= 2
    assert all(t["figures"]["stages"]["contact"]["per_10k_a_year"] is None for t in out["teams"])
    assert {t["team"] for t in out["teams"]} == set(a.map["classifications"]["team"]["values"])


def test_window_years_counts_months_both_included():
    assert comparison.window_years({"start": "2019-04", "end": "2025-03"}) == 6
    assert comparison.window_years(None) is None
