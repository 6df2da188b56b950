import pandas as pd
import pytest

from synth import journeys


def log(*rows):
    """Event log from (child, stage, date) rows, in the order given."""
    df = pd.DataFrame(rows, columns=["child_key", "stage", "date"])
    df["date"] = pd.to_datetime(df["date"])
    df["source"] = None
    df["team"] = None
    return df


def paths(episodes):
    return episodes.sort_values(["child_key", "episode_no"])["path"].tolist()


def test_an_exit_ends_the_episode_and_the_next_contact_starts_a_repeat():
    ev, eps = journeys.link_episodes(log(
        ("a", "contact", "2022-01-01"), ("a", "nfa", "2022-01-01"),
        ("a", "contact", "2022-03-01"), ("a", "referral", "2022-03-02"), ("a", "assessment", "2022-03-03"),
    ))
    assert paths(eps) == ["contact>nfa", "contact>referral>assessment"]
    assert eps["exit"].tolist()[0] == "nfa" and not eps["censored"].iloc[0]
    assert eps["censored"].iloc[1] and pd.isna(eps["exit"].iloc[1])
    assert ev["episode_no"].tolist() == [1, 1, 2, 2, 2]
    assert ev["step"].tolist() == [0, 1, 0, 1, 2]


def test_step_up_from_early_help_within_six_months_continues_the_journey():
    _, eps = journeys.link_episodes(log(
        ("a", "contact", "2022-01-01"), ("a", "early_help", "2022-01-05"), ("a", "referral", "2022-05-01"),
        ("a", "nfa", "2022-05-01"),
        ("b", "contact", "2022-01-01"), ("b", "early_help", "2022-01-05"), ("b", "contact", "2023-01-01"),
        ("b", "iag", "2023-01-01"),
    ))
    assert paths(eps) == ["contact>early_help>referral>nfa", "contact>early_help", "contact>iag"]
    assert eps["exit"].tolist() == ["nfa", "early_help", "iag"]


def test_plans_open_before_the_data_are_left_censored_without_an_invented_contact():
    _, eps = journeys.link_episodes(log(
        ("a", "cp_plan", "2019-05-01"), ("a", "cin_plan", "2021-06-01"), ("a", "nfa", "2021-12-01"),
    ))
    assert paths(eps) == ["cp_plan>cin_plan>nfa"]
    assert eps["left_censored"].iloc[0]
    assert eps["days"].iloc[0] == "0;762;945"


def test_same_day_steps_are_kept_with_zero_days():
    ev, _ = journeys.link_episodes(log(
        ("a", "contact", "2022-01-01"), ("a", "referral", "2022-01-01"), ("a", "nfa", "2022-01-01"),
    ))
    tr = journeys.transitions(ev)
    assert tr["days"].tolist() == [0, 0]


def test_a_referral_out_of_turn_starts_a_new_episode():
    _, eps = journeys.link_episodes(log(
        ("a", "contact", "2022-01-01"), ("a", "referral", "2022-01-02"), ("a", "referral", "2022-02-01"),
    ))
    assert paths(eps) == ["contact>referral", "referral"]


@pytest.fixture
def small_map():
    ev, eps = journeys.link_episodes(log(
        ("a", "contact", "2022-01-01"), ("a", "referral", "2022-01-03"), ("a", "nfa", "2022-01-03"),
        ("b", "contact", "2022-01-01"), ("b", "nfa", "2022-01-01"),
        ("b", "contact", "2022-06-01"), ("b", "referral", "2022-06-11"), ("b", "assessment", "2022-06-12"),
        ("c", "contact", "2022-02-01"), ("c", "iag", "2022-02-01"),
    ))
    children = pd.DataFrame({"child_key": ["a", "b", "c"], "sex": ["male", "female", "female"],
                             "ethnicity_group": "White", "age_band": "5-9", "disability": "no", "uasc": "no",
                             "missing_episodes": 0})
    return ev, eps, children


def test_flow_tables_count_children_moves_shares_and_days(small_map):
    nodes, edges = journeys.flow_tables(*small_map)
    contact = nodes.set_index("stage").loc["contact"]
    assert (contact["children"], contact["episodes"], contact["episodes_started"]) == (3, 4, 4)
    e = edges.set_index(["source", "target"])
    assert e.loc[("contact", "referral"), "moves"] == 2
    assert e.loc[("contact", "referral"), "share"] == pytest.approx(0.5)
    assert e.loc[("contact", "referral"), "median_days"] == pytest.approx(6)
    assert edges.groupby("source")["share"].sum().round(9).eq(1).all()


def test_split_by_classification_adds_up_to_the_whole(small_map):
    _, whole = journeys.flow_tables(*small_map)
    _, split = journeys.flow_tables(*small_map, by="sex")
    assert split.groupby(["source", "target"])["moves"].sum().to_dict() == \
        whole.set_index(["source", "target"])["moves"].to_dict()
    _, by_repeat = journeys.flow_tables(*small_map, by="repeat")
    assert set(by_repeat["repeat"]) == {"1", "2"}


def test_graph_carries_statistics_on_nodes_and_edges(small_map):
    g = journeys.journey_graph(*small_map)
    assert g.edges["contact", "referral"]["moves"] == 2
    assert g.nodes["contact"]["children"] == 3
    assert g.nodes["cla"].get("children") is None  # drawn, but nobody reached it


def test_unknown_classification_is_refused(small_map):
    with pytest.raises(ValueError, match="unknown classification"):
        journeys.flow_tables(*small_map, by="postcode")


def test_rereferral_rate_counts_referrals_within_a_year_of_the_last():
    ev = log(("a", "referral", "2021-01-01"), ("b", "referral", "2021-01-01"),
             ("a", "referral", "2022-03-01"), ("a", "referral", "2022-06-01"), ("b", "referral", "2023-06-01"))
    # Counted from 2022-01-01: a's March referral (14 months on: no), a's June (3 months: yes), b's (no).
    assert journeys.rereferral_rate(ev) == pytest.approx(1 / 3)
