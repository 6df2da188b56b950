from synth.stages import GRAMMAR, STAGES, is_valid_path


def test_every_stage_has_a_grammar_entry_and_moves_stay_within_stages():
    assert set(GRAMMAR) == set(STAGES)
    assert all(nxt <= set(STAGES) for nxt in GRAMMAR.values())


def test_typical_routes_are_valid():
    assert is_valid_path(["contact", "referral", "assessment", "strategy", "s47", "icpc", "cp_plan", "cin_plan", "nfa"])
    assert is_valid_path(["contact", "early_help", "contact", "referral", "nfa"])


def test_journeys_must_start_at_the_front_door_unless_left_censored():
    assert not is_valid_path(["icpc", "cp_plan"])
    assert is_valid_path(["cp_plan", "cin_plan", "nfa"], left_censored=True)


def test_forbidden_moves_are_invalid():
    assert not is_valid_path(["contact", "icpc"])
    assert not is_valid_path(["contact", "nfa", "referral"])
    assert not is_valid_path([])
