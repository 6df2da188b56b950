"""Process-fidelity measures (synth.evaluate_process), each shown catching the failure it is for.

Event logs are hand-made or drawn from a small hand-written process (`draw`) whose next-stage
probabilities depend strongly on age, so that a synthetic log can be wrong in known ways: with
the age effect removed, with the next stages permuted, or with next stages drawn from the
marginal only.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from synth import evaluate as ev_mod
from synth import journeys
from synth.evaluate_process import invented_moves, move_features, next_stage_r2, next_stage_tstr

# stage -> (next stages, probabilities for young children, for older children)
PROCESS: dict[str, tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]] = {
    "contact": (("referral", "nfa", "iag"), (0.75, 0.15, 0.10), (0.45, 0.10, 0.45)),
    "referral": (("assessment", "strategy", "nfa"), (0.75, 0.15, 0.10), (0.15, 0.75, 0.10)),
    "assessment": (("cin_plan", "nfa", "cla"), (0.70, 0.10, 0.20), (0.10, 0.80, 0.10)),
    "strategy": (("s47", "nfa"), (0.90, 0.10), (0.30, 0.70)),
    "s47": (("icpc", "cin_plan", "nfa"), (0.75, 0.15, 0.10), (0.10, 0.75, 0.15)),
    "icpc": (("cp_plan", "cin_plan", "nfa"), (0.80, 0.10, 0.10), (0.10, 0.80, 0.10)),
    "cp_plan": (("cla", "cin_plan", "nfa"), (0.60, 0.30, 0.10), (0.10, 0.20, 0.70)),
    "cin_plan": (("nfa", "other", "cla"), (0.70, 0.10, 0.20), (0.10, 0.80, 0.10)),
    "cla": (("other", "nfa"), (0.85, 0.15), (0.15, 0.85)),
}
# What a generator that ignores stage and age would draw: every next stage from one distribution.
MARGINAL = {"referral": 0.14, "assessment": 0.08, "strategy": 0.05, "s47": 0.05, "icpc": 0.04, "cp_plan": 0.04,
            "cin_plan": 0.10, "cla": 0.05, "nfa": 0.30, "iag": 0.07, "other": 0.08}
MAX_STEPS = 12


def _draw_next(rng, stage, young, mode):
    """Next stage for each row, vectorised over rows (the loop is over the dozen stages)."""
    out = np.full(len(stage), "nfa", dtype=object)
    u = rng.random(len(stage))
    if mode == "marginal":
        targets, p = np.array(list(MARGINAL), dtype=object), np.array(list(MARGINAL.values()))
        return targets[np.minimum(np.searchsorted(np.cumsum(p / p.sum()), u), len(p) - 1)]
    for s, (targets, py, po) in PROCESS.items():
        rows = stage == s
        if not rows.any():
            continue
        py, po = np.array(py), np.array(po)
        if mode == "no_age":
            py = po = (py + po) / 2
        elif mode == "permuted":
            py, po = np.roll(py, 1), np.roll(po, 1)
        p = np.where(young[rows, None], py, po)
        pick = (u[rows, None] > np.cumsum(p, axis=1)).sum(axis=1)
        out[rows] = np.array(targets, dtype=object)[np.minimum(pick, len(targets) - 1)]
    return out


def draw(n: int, seed: int, mode: str = "real", prefix: str = "c") -> SimpleNamespace:
    """`n` children and their journeys: an episode each (some left-censored at a CIN plan), and a
    second episode for some. Ages are 2-4 (young) or 11-15 (older). `mode` is "real", "no_age",
    "permuted" or "marginal"."""
    rng = np.random.default_rng(seed)
    young_child = rng.random(n) < 0.5
    children = pd.DataFrame({
        "child_key": [f"{prefix}{i}" for i in range(n)],
        "sex": rng.choice(["male", "female"], n),
        "ethnicity_group": rng.choice(["White", "Mixed", "Asian"], n),
        "age_at_first_contact": np.where(young_child, rng.integers(1, 5, n), rng.integers(10, 16, n)).astype(float),
        "disability": rng.choice(["no", "yes", "unknown"], n, p=[0.8, 0.15, 0.05]),
        "uasc": "no", "missing_episodes": 0, "previous_cp_plans": 0,
    })
    again = rng.random(n) < 0.3
    child = np.concatenate([np.arange(n), np.flatnonzero(again)])
    episode_no = np.concatenate([np.ones(n, int), np.full(again.sum(), 2)])
    left_censored = (episode_no == 1) & (rng.random(len(child)) < 0.05)
    start_day = np.where(episode_no == 1, rng.integers(0, 300, len(child)), rng.integers(900, 1200, len(child)))
    young = young_child[child]

    stage = np.where(left_censored, "cin_plan", "contact").astype(object)
    day = start_day.copy()
    rows = [(np.arange(len(child)), np.zeros(len(child), int), stage, day)]
    active = np.arange(len(child))
    for step in range(1, MAX_STEPS):
        nxt = _draw_next(rng, stage, young[active], mode)
        if step == MAX_STEPS - 1:
            nxt[:] = "nfa"
        day = day + np.round(rng.exponential(20, len(active))).astype(int)
        rows.append((active, np.full(len(active), step), nxt, day))
        go = ~np.isin(nxt, ["nfa", "iag", "other"])
        active, stage, day = active[go], nxt[go], day[go]
        if not len(active):
            break
    ep, step, stg, d = (np.concatenate(parts) for parts in zip(*rows))
    events = pd.DataFrame({
        "child_key": children["child_key"].to_numpy()[child[ep]], "episode_no": episode_no[ep].astype(np.int32),
        "step": step.astype(np.int32), "stage": stg,
        "date": pd.Timestamp("2021-04-01") + pd.to_timedelta(d, unit="D"),
        "source": rng.choice(["6", "2A", "3A", "8"], len(child))[ep], "team": "Front Door",
    })
    events = events.sort_values(["child_key", "episode_no", "step"]).reset_index(drop=True)
    return SimpleNamespace(children=children, events=events, episodes=journeys.episodes_from_events(events))


def log(*episodes: tuple[str, int, str]) -> pd.DataFrame:
    """Event log from (child, episode_no, 'stage>stage>...') rows, one day per step."""
    e = pd.DataFrame(episodes, columns=["child_key", "episode_no", "path"])
    e["stage"] = e["path"].str.split(">")
    ev = e.explode("stage", ignore_index=True).drop(columns="path")
    ev["step"] = ev.groupby(["child_key", "episode_no"]).cumcount()
    ev["date"] = pd.Timestamp("2022-01-01") + pd.to_timedelta(ev["episode_no"] * 400 + ev["step"], unit="D")
    ev["source"], ev["team"] = "6", None
    return ev


REAL_LOG = (("a", 1, "contact>referral>assessment>cla>other"), ("a", 2, "contact>nfa"),
            ("b", 1, "cin_plan>nfa"), ("c", 1, "referral>assessment>nfa"))


# ----------------------------------------------------------------------------------------------
# Invented moves.
def test_a_copy_of_the_real_log_invents_nothing():
    out = invented_moves(log(*REAL_LOG), log(*REAL_LOG))
    assert out["share"] == 0 and out["moves"] == 0 and out["pairs"] == []


def test_a_move_the_real_data_never_makes_is_named():
    synth = log(*REAL_LOG, ("d", 1, "contact>referral>assessment>cla>nfa"))
    out = invented_moves(log(*REAL_LOG), synth)
    assert out["moves"] == 1 and out["share"] > 0
    assert out["pairs"] == [{"source": "cla", "target": "nfa", "synthetic_moves": 1}]
    # 4 + 1 + 1 + 2 + 4 moves, and 5 episode starts
    assert out["share"] == pytest.approx(1 / 17)


def test_an_episode_starting_where_no_real_episode_starts_is_invented():
    # Real episodes start at contact, referral or (left-censored) cin_plan; never at assessment or cp_plan.
    synth = log(*REAL_LOG, ("d", 1, "assessment>nfa"), ("e", 1, "cp_plan>nfa"), ("f", 1, "cin_plan>nfa"))
    out = invented_moves(log(*REAL_LOG), synth)
    pairs = {(p["source"], p["target"]): p["synthetic_moves"] for p in out["pairs"]}
    assert pairs == {("START", "assessment"): 1, ("START", "cp_plan"): 1, ("cp_plan", "nfa"): 1}
    assert out["moves"] == 3


def test_invented_moves_are_sorted_by_count():
    synth = log(*REAL_LOG, *((f"x{i}", 1, "contact>cla") for i in range(3)), ("y", 1, "contact>icpc"))
    out = invented_moves(log(*REAL_LOG), synth)
    assert [(p["target"], p["synthetic_moves"]) for p in out["pairs"]] == [("cla", 3), ("icpc", 1)]


# ----------------------------------------------------------------------------------------------
# Move features.
def test_move_features_one_row_per_move_with_its_context():
    ev = log(("a", 1, "contact>referral>nfa"), ("a", 5, "contact>iag"), ("b", 1, "cp_plan>cla>other"))
    children = pd.DataFrame({"child_key": ["a", "b"], "age_at_first_contact": [3.0, np.nan],
                             "disability": ["yes", None]})
    eps = journeys.episodes_from_events(ev).assign(source=["6", None, "2A"])
    m = move_features(children, ev, eps).sort_values(["child_key", "episode_no", "stage"])
    assert len(m) == 5  # exits that end an episode have no row
    row = m.set_index(["child_key", "episode_no", "stage"])
    assert row.loc[("a", 1, "contact"), "prev"] == "START"
    assert row.loc[("a", 1, "referral"), "prev"] == "contact"
    assert row.loc[("a", 1, "referral"), "days_band"] == "1-7"
    assert row.loc[("a", 1, "contact"), "days_band"] == "0"
    assert row.loc[("a", 5, "contact"), "repeat"] == 4
    assert row.loc[("a", 5, "contact"), "source_group"] == "none"
    assert row.loc[("a", 1, "contact"), "source_group"] == "Police"
    assert row.loc[("a", 1, "contact"), "age_band"] == "1-4"
    assert row.loc[("b", 1, "cp_plan"), "prev"] == "LC_START"
    assert row.loc[("b", 1, "cp_plan"), "age_band"] == "Not known"
    assert row.loc[("b", 1, "cla"), "disability"] == "unknown"
    assert row.loc[("b", 1, "cla"), "next"] == "other"


# ----------------------------------------------------------------------------------------------
# Next-stage R² by (stage, repeat, age band).
@pytest.fixture(scope="module")
def real():
    return draw(4000, seed=1)


def test_r2_is_near_one_for_a_resample_of_the_same_process(real):
    out = next_stage_r2(real, draw(4000, seed=2))
    assert out["r2"] > 0.95
    assert out["cells"] >= 15 and out["pairs"] > out["cells"]


@pytest.mark.parametrize("mode", ["no_age", "permuted"])
def test_r2_is_low_when_the_synthetic_process_loses_the_age_effect_or_the_next_stages(real, mode):
    out = next_stage_r2(real, draw(4000, seed=2, mode=mode))
    assert out["r2"] < 0.5
    assert len(out["worst"]) == 5
    w = out["worst"][0]
    assert set(w) >= {"stage", "repeat", "age_band", "next", "p_real", "p_synth"}
    assert abs(w["p_real"] - w["p_synth"]) >= abs(out["worst"][-1]["p_real"] - out["worst"][-1]["p_synth"])


def test_r2_keeps_only_cells_with_enough_real_children(real):
    # A handful of 17-year-olds whose real journeys the synthetic data gets entirely wrong.
    few = draw(30, seed=3, prefix="old")
    few.children["age_at_first_contact"] = 17.0
    both = SimpleNamespace(**{t: pd.concat([getattr(real, t), getattr(few, t)], ignore_index=True)
                              for t in ("children", "events", "episodes")})
    synth = draw(4000, seed=2)
    with_few, without = next_stage_r2(both, synth), next_stage_r2(real, synth)
    assert with_few["cells"] == without["cells"] and with_few["r2"] == pytest.approx(without["r2"], abs=0.01)
    assert next_stage_r2(both, synth, min_children=10)["cells"] > with_few["cells"]
    moves = move_features(real.children, real.events, real.episodes)
    kids = moves.groupby(["stage", "repeat", "age_band"])["child_key"].nunique()
    assert without["cells"] == int((kids >= 50).sum()) < len(kids)
    assert np.isnan(next_stage_r2(real, synth, min_children=10**6)["r2"])


# ----------------------------------------------------------------------------------------------
# Next-stage TSTR.
@pytest.fixture(scope="module")
def holdout():
    return draw(3000, seed=4, prefix="h")


@pytest.mark.slow
def test_tstr_gap_is_small_for_synthetic_data_from_the_same_process(real, holdout):
    out = next_stage_tstr(real, draw(4000, seed=2, prefix="s"), holdout)
    assert out["auc_real"] > 0.8
    assert abs(out["gap_points"]) < 2
    assert out["moves"]["holdout"] == len(move_features(holdout.children, holdout.events, holdout.episodes))


@pytest.mark.slow
def test_tstr_gap_is_large_when_next_stages_ignore_the_features(real, holdout):
    out = next_stage_tstr(real, draw(4000, seed=2, mode="marginal", prefix="s"), holdout)
    assert out["gap_points"] > 15


def test_tstr_survives_holdout_labels_and_stages_no_model_saw(holdout):
    # Early help is never a next stage (nor a current one) in the training data.
    extra = log(("e1", 1, "contact>early_help"), ("e2", 1, "contact>early_help>referral>nfa"))
    hold = SimpleNamespace(children=pd.concat([holdout.children, pd.DataFrame({"child_key": ["e1", "e2"]})]),
                           events=pd.concat([holdout.events, extra], ignore_index=True),
                           episodes=pd.concat([holdout.episodes, journeys.episodes_from_events(extra)]))
    out = next_stage_tstr(draw(1000, seed=1), draw(1000, seed=2, prefix="s"), hold)
    assert 0.5 < out["auc_synthetic"] <= 1 and 0.5 < out["auc_real"] <= 1


def test_tstr_reports_no_auc_when_a_side_has_one_next_stage(real, holdout):
    ev = log(*((f"z{i}", 1, "contact>nfa") for i in range(20)))
    one = SimpleNamespace(children=pd.DataFrame({"child_key": [f"z{i}" for i in range(20)], "disability": "no",
                                                 "age_at_first_contact": 5.0}),
                          events=ev, episodes=journeys.episodes_from_events(ev))
    out = next_stage_tstr(real, one, holdout)
    assert out["auc_real"] is None and out["auc_synthetic"] is None and out["note"]


# ----------------------------------------------------------------------------------------------
# Wiring.
def test_evaluate_reports_the_process_measures(real, holdout, monkeypatch):
    monkeypatch.setattr(ev_mod, "attribute_quality", lambda *a: 1.0)  # SDMetrics is not what is tested here
    calls = []
    monkeypatch.setattr(ev_mod.evaluate_process, "next_stage_tstr",
                        lambda *a, **k: calls.append((a, k)) or {"gap_points": 0.0})  # tested above
    synth = draw(1000, seed=2, prefix="s")
    out = ev_mod.evaluate(real, synth)
    assert out["invented_moves"]["share"] == 0 and out["next_stage_r2"]["r2"] > 0.8
    assert "next_stage_tstr" not in out and not calls and set(out["targets"]) == set(ev_mod.TARGETS)
    out = ev_mod.evaluate(real, synth, holdout=holdout, train_real=real, seed=3)
    assert out["next_stage_tstr"] == {"gap_points": 0.0} and "utility" in out
    assert calls == [((real, synth, holdout), {"seed": 3})]
