"""Councils: their settings, the sharing of aggregate releases, and comparisons of councils and teams."""

from __future__ import annotations

from service import audit
from service.governance.errors import Conflict, Invalid, NotAllowed
from service.operations.common import require
from service.operations.releases import get_release
from service.orm import Release, User
from service.store import Store


def get_council(store: Store, s, user: User):
    from service.orm import Council

    return store.get(s, Council, user.council_id)


def update_council(store: Store, user: User, population: int | None = None, shares: bool | None = None):
    """An admin declares the council's population of children (the denominator of rates per 10,000) and
    opts in to sharing its published aggregate releases with the councils that share theirs, or withdraws:
    withdrawal is at once (the next comparison anyone asks for leaves this council out) and audited."""
    from service.orm import now

    require(user, "council:manage")
    if population is not None and not (isinstance(population, int) and 1 <= population <= 5_000_000):
        raise Invalid("population must be a whole number of children from 1 to 5,000,000.")
    with store.write() as s:
        council = get_council(store, s, user)
        if population is not None and population != council.population:
            council.population = population
            audit.record(store, s, user, "council.population_declared", "council", str(council.id),
                         {"population": population})
        if shares is not None and bool(shares) != council.shares_aggregates:
            council.shares_aggregates = bool(shares)
            council.sharing_changed_at = now()
            audit.record(store, s, user, "council.sharing_started" if shares else "council.sharing_withdrawn",
                         "council", str(council.id), {})
    return council


def _shared_map(store: Store, council, release: Release):
    from synth.comparison import SharedMap

    m = store.release_map(release.id)
    if m is None:
        raise Conflict(f"the bundle of {council.name}'s shared release {release.id} is missing.")
    return SharedMap(council.code, council.name, council.population, release.id, m)


def compare_councils(store: Store, user: User) -> dict:
    """My council's latest published aggregate release against each other sharing council's and the pooled
    group's, computed now from the releases shared now (nothing kept: a withdrawal shows at once)."""
    from synth.comparison import compare_councils as compare

    require(user, "comparison:read")
    with store.read() as s:
        mine = get_council(store, s, user)
        if not mine.shares_aggregates:
            raise NotAllowed("your council does not share its aggregate releases, so it cannot see other "
                             "councils': an admin can opt in on the Council page.")
        shared = store.shared_aggregate_releases(s)
        if mine.id not in shared:
            raise Conflict("your council has no published aggregate release to compare: request one (kind "
                           "aggregate) and have it reviewed and published.")
        councils = {c.id: c for c in store.councils(s, sharing=True)}
        mine_map = _shared_map(store, mine, shared[mine.id])
        others = [_shared_map(store, councils[cid], r) for cid, r in sorted(shared.items()) if cid != mine.id]
    out = compare(mine_map, others)
    with store.write() as s:
        audit.record(store, s, user, "comparison.read", "council", str(user.council_id),
                     {"councils": [o.council for o in others], "releases": [o.release_id for o in others]})
    return out


def compare_teams(store: Store, user: User, release_id: str) -> dict:
    """The teams of a council side by side, from one of its aggregate releases the user may see."""
    from synth.comparison import compare_teams as teams

    with store.read() as s:
        r = get_release(store, s, user, release_id)
        council = get_council(store, s, user)
    if r.kind != "aggregate":
        raise Conflict("teams are compared from an aggregate release (real counts under disclosure control); "
                       "this one is synthetic.")
    m = store.release_map(r.id)
    if m is None:
        raise Conflict("the release has no bundle yet (its build job has not finished).")
    return {"release": r.id, **teams(m, council.population)}
