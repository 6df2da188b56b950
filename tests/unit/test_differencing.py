"""The differencing check on hand-built maps (issue 11, item 5): a cell withheld in one release and
published in another fails, and so does a cell worked out by subtracting the exact counts of two."""

from __future__ import annotations

from synth.disclosure.differencing import compare, differencing_check


def _map(profile: str, cells: dict[str, int | None], source: str = "real") -> dict:
    """A map with views all, sex=female, sex=male; `cells`: 'view|stage' -> children (None: withheld).
    Each view has the stages contact and referral and the move contact>referral."""
    views = {}
    for v in ("all", "sex=female", "sex=male"):
        c, value = (None, None) if v == "all" else v.split("=")
        nodes = [{"stage": s, "children": cells.get(f"{v}|{s}", 100), "suppressed": cells.get(f"{v}|{s}", 100) is None}
                 for s in ("contact", "referral")]
        move = cells.get(f"{v}|contact>referral", 50)
        views[v] = {"classification": c, "value": value, "children": cells.get(f"{v}|total", 200),
                    "suppressed": cells.get(f"{v}|total", 200) is None, "nodes": nodes,
                    "edges": [{"source": "contact", "target": "referral", "children": move,
                               "suppressed": move is None}], "top_journeys": []}
    return {"format": "frontdoor-map", "version": 1, "profile": {"name": profile, "version": "2.0"},
            "source": source, "kind": "aggregate" if source == "real" else "synthetic", "views": views}


def test_a_single_release_and_a_same_pattern_pair_pass():
    a = _map("dfe", {"sex=female|referral": None, "sex=male|referral": None})
    assert compare(a, []).ok
    assert compare(a, [a]).ok
    check = differencing_check(a, [a])
    assert check.status == "pass" and check.details["earlier_releases"] == 1


def test_a_cell_withheld_in_one_release_and_published_in_another_fails():
    earlier = _map("default", {"sex=female|referral": None, "sex=male|referral": None})
    new = _map("dfe", {"sex=female|referral": 7, "sex=male|referral": None})
    d = compare(new, [earlier])
    assert d.withheld_elsewhere == ["n|sex=female|referral"]
    assert differencing_check(new, [earlier]).status == "fail"


def test_subtraction_across_releases_recovers_a_cell_withheld_in_both():
    """all = female + male for the move contact>referral. The earlier release (exact counts) publishes
    the 'all' count and withholds both sexes; the new one withholds 'all' and female but publishes male:
    together, female = all - male, though both releases withhold it."""
    earlier = _map("dfe", {"sex=female|contact>referral": None, "sex=male|contact>referral": None,
                           "all|contact>referral": 57})
    new = _map("dfe", {"sex=female|contact>referral": None, "sex=male|contact>referral": 40,
                       "all|contact>referral": None})
    d = compare(new, [earlier])
    assert "e|sex=female|contact>referral" in d.recovered
    assert "e|sex=female|contact>referral" not in d.withheld_elsewhere  # withheld in both: only subtraction finds it
    check = differencing_check(new, [earlier])
    assert check.status == "fail" and "subtracting" in check.explanation


def test_rounded_counts_recover_nothing_and_one_release_alone_is_not_differencing():
    # Rounded to 5 (default): all=55 and male=40 published, female withheld in both: 55 - 40 is not female's count.
    earlier = _map("default", {"sex=female|contact>referral": None, "sex=male|contact>referral": None,
                               "all|contact>referral": 55})
    new = _map("default", {"sex=female|contact>referral": None, "sex=male|contact>referral": 40,
                           "all|contact>referral": None})
    assert not compare(new, [earlier]).recovered
    # A published zero is exact even when rounded: all=0 gives female=0 and male=0, from this release alone
    # (its own secondary suppression's concern): listed, not failed as differencing.
    zero = _map("default", {"all|contact>referral": 0, "sex=female|contact>referral": None,
                            "sex=male|contact>referral": None})
    d = compare(zero, [zero])
    assert d.ok and set(d.within_release) == {"e|sex=female|contact>referral", "e|sex=male|contact>referral"}


def test_a_zero_published_in_one_release_completes_a_group_of_another():
    """The earlier release publishes male=0 (exact, though rounded to 5) and withholds all and female; the new
    one (exact counts) publishes all=8 and withholds both sexes: together female = 8 - 0."""
    earlier = _map("default", {"sex=female|contact>referral": None, "sex=male|contact>referral": 0,
                               "all|contact>referral": None})
    new = _map("dfe", {"sex=female|contact>referral": None, "sex=male|contact>referral": None,
                       "all|contact>referral": 8})
    d = compare(new, [earlier])
    assert "e|sex=female|contact>referral" in d.recovered


def test_maps_of_synthetic_records_are_not_compared():
    synthetic = _map("default", {"sex=female|referral": 3}, source="synthetic")
    new = _map("default", {"sex=female|referral": None, "sex=male|referral": None})
    assert compare(new, [synthetic]).ok
    assert differencing_check(new, [synthetic]).details["earlier_releases"] == 0

