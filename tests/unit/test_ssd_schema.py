"""Reading the SSD's own code sets and outcome columns (synth.ssd_schema)."""

import pandas as pd
import pytest

from synth.parsing import parse_column
from synth.ssd_schema import (
    GENDER,
    OUTCOME,
    outcome_flags,
    read_assessment_outcome,
    read_cla_ceased,
    read_contact_outcome,
    read_disability_code,
    read_gender,
    read_immigration,
    read_missing_type,
    read_s47_outcome,
    read_ssd_abuse,
    read_ssd_ethnicity,
)


@pytest.mark.parametrize("text,expected", [
    ('{"NEW_REFERRAL_FLAG": "Y", "NFA_FLAG": "N", "COMMENTS": "call back, later: maybe"}', "referral"),
    ('{ NEW_REFERRAL_FLAG: "", ADVICE_FLAG: "Y", NFA_FLAG: "" }', "iag"),  # the guidance's unquoted keys
    ('{"NFA_FLAG": "Yes", "NUMBER_OF_OUTCOMES": 1}', "nfa"),
    ('{"OTHER_OUTCOMES_EXIST_FLAG": "Y"}', "other"),
    ('{"NEW_REFERRAL_FLAG": "", "NFA_FLAG": ""}', "open"),
    ("{}", "open"),
    ("Referral", None),
    ("{not json}", None),
])
def test_contact_outcomes_are_read_from_the_json_flags(text, expected):
    assert read_contact_outcome(text) == expected


def test_assessment_and_enquiry_outcomes():
    assert read_assessment_outcome('{"NFA_FLAG": "Y", "OTHER_ACTIONS_FLAG": "Y"}') == "nfa"
    assert read_assessment_outcome('{"NFA_FLAG": "N", "PROV_OF_SERVICES_FLAG": "Y"}') == "services"
    assert read_s47_outcome('{"CP_CONFERENCE_FLAG": "Y"}') == "icpc"
    assert read_s47_outcome('{"CP_CONFERENCE_FLAG": "N", "NFA_FLAG": "Y"}') == "no_icpc"
    assert read_s47_outcome('{"CP_CONFERENCE_FLAG": ""}') == "open"
    assert outcome_flags('{"A_FLAG": "1", "B_FLAG": "false", "TOTAL": 3}') == {"A_FLAG": "yes", "B_FLAG": "no"}


def test_codes():
    assert [read_gender(v) for v in ("00", "01", "02", "09", "12", "1", "x")] == [
        "not_stated", "male", "female", "neither", "neither", "male", None]
    assert read_ssd_ethnicity("CNHE") == read_ssd_ethnicity("CHNE") == "Other"  # the spec's spelling
    assert [read_ssd_abuse(v) for v in ("Neglect", "Emotional abuse", "Multiple: Neglect, Physical abuse", "x")] == [
        "NEG", "EMO", "MUL", None]
    assert [read_cla_ceased(v) for v in ("X1", "e4a", "E4A - Returned home", "E99")] == ["X1", "E4A", "E4A", None]
    assert [read_disability_code(v) for v in ("NONE", "No disability", "AUT", "hands")] == ["NONE", "NONE", "AUT", None]
    assert read_immigration("Unaccompanied Asylum Seeking Child") == read_immigration("UASC") == "uasc"
    assert read_immigration("Refugee Status") == "other"
    assert [read_missing_type(v) for v in ("M", "Away", "absent", "lost")] == ["missing", "away", "away", None]


def test_a_column_parses_through_its_own_reader():
    values, bad = parse_column(pd.Series(["01", "02", "01", None, "zz"], dtype=object), GENDER, read_gender)
    assert values.tolist()[:3] == ["male", "female", "male"] and pd.isna(values[3])
    assert bad.tolist() == [False, False, False, False, True]
    values, bad = parse_column(pd.Series(['{"NFA_FLAG": "Y"}'] * 3, dtype=object), OUTCOME, read_contact_outcome)
    assert values.tolist() == ["nfa"] * 3 and not bad.any()
