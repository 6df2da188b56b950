import datetime as dt

import pandas as pd
import pytest

from synth.code_readers import read_source
from synth.parsing import parse_coded, parse_dates, parse_ids, parse_ints
from synth.schema import normalise_header


def s(*values):
    return pd.Series(list(values), dtype=object)


def test_dates_read_uk_text_iso_excel_serials_and_typed_cells():
    dates, bad = parse_dates(s("16/09/2021", "2021-09-16", 44455, "44455", dt.date(2021, 9, 16),
                               dt.datetime(2021, 9, 16, 13, 5), "16-Sep-2021", 44455.0))
    assert not bad.any()
    assert (dates == pd.Timestamp("2021-09-16")).all()


def test_day_first_is_kept_when_both_readings_are_possible():
    dates, _ = parse_dates(s("03/04/2022"))
    assert dates.iloc[0] == pd.Timestamp("2022-04-03")


def test_blank_cells_are_missing_not_bad():
    dates, bad = parse_dates(s(None, "", "   ", float("nan")))
    assert dates.isna().all() and not bad.any()


@pytest.mark.parametrize("value", ["31/02/2022", "yesterday", "2021-13-01", 10**7, "01/01/1850"])
def test_unreadable_or_impossible_dates_are_bad(value):
    dates, bad = parse_dates(s(value))
    assert bad.iloc[0] and pd.isna(dates.iloc[0])


def test_whole_numbers_accept_excel_floats_and_flag_fractions():
    values, bad = parse_ints(s("3", 3.0, "-1", "2.5", "many", None))
    assert values.tolist()[:3] == [3, 3, -1]
    assert bad.tolist() == [False, False, False, True, True, False]


def test_ids_from_excel_numbers_lose_the_decimal_point():
    ids, _ = parse_ids(s(12345.0, " A12 ", "007"))
    assert ids.tolist() == ["12345", "A12", "007"]


@pytest.mark.parametrize("raw,code", [("q) 6: Police", "6"), ("6: Police", "6"), ("Police", "6"), ("6", "6"),
                                      ("1A", "1A"), ("a) 1A: Individual - Family member/relative/carer", "1A"),
                                      ("schools", "2A"), ("3E: Health services - A&E", "3E")])
def test_source_codes_tolerate_labels_and_prefixes(raw, code):
    assert read_source(raw) == code


@pytest.mark.parametrize("raw,sex", [("a) Male", "male"), ("Female", "female"), ("F", "female"), ("1", "male"),
                                     ("c) Not stated", "not_stated"), ("9", "neither")])
def test_sex_codes(raw, sex):
    values, bad = parse_coded(s(raw), "sex")
    assert values.iloc[0] == sex and not bad.iloc[0]


def test_unknown_codes_are_flagged():
    values, bad = parse_coded(s("Alien", "WBRI", "a) MWBC", "White British", "ZZZZ"), "ethnicity")
    assert values.tolist() == [None, "White", "Mixed", "White", None]
    assert bad.tolist() == [True, False, False, False, True]


@pytest.mark.parametrize("header", ["Date of Birth", "DATE OF BIRTH", " date_of_birth ", "Date  of  Birth"])
def test_header_normalisation(header):
    assert normalise_header(header) == "date of birth"


@pytest.mark.parametrize("kind,values", [
    ("date", ["16/09/2021", None, "bad", 44455, "16/09/2021", ""]),
    ("int", ["3", None, "x", 3.0, ""]),
    ("sex", ["a) Male", None, "Alien", "Male", ""]),
    ("id", ["A1", None, 12.0, "A1"]),
])
def test_parse_column_reads_distinct_values_once_with_the_same_result(kind, values):
    from synth.parsing import _PARSERS, parse_column

    direct = (_PARSERS.get(kind) or (lambda x: parse_coded(x, kind)))(s(*values))
    via_uniques = parse_column(s(*values), kind)
    pd.testing.assert_series_equal(via_uniques[1], direct[1], check_names=False)
    assert via_uniques[0].isna().tolist() == direct[0].isna().tolist()
    assert via_uniques[0].dropna().tolist() == direct[0].dropna().tolist()


def test_day_position_finds_cells_that_can_only_be_read_one_way():
    from synth.parsing import day_position

    cells = pd.Series(["09/16/2021", "01/02/2020", None, "13/01/2020", "2021-01-13", pd.Timestamp("2020-01-01"),
                       44000.0, "9-16-21", "16.09.2021 10:00", "40/01/2020"], dtype=object)
    day_first, month_first = day_position(cells)
    assert list(day_first[day_first].index) == [3, 8]  # 40 is no day
    assert list(month_first[month_first].index) == [0, 7]


def test_month_first_reads_us_text_dates_and_leaves_typed_and_iso_dates_alone():
    from synth.parsing import parse_column

    cells = pd.Series(["09/16/2021", "01/02/2020", "2021-01-13", pd.Timestamp("2020-03-04"), "13/01/2020"],
                      dtype=object)
    values, bad = parse_column(cells, "date", month_first=True)
    assert list(values[:4]) == [pd.Timestamp(d) for d in ("2021-09-16", "2020-01-02", "2021-01-13", "2020-03-04")]
    assert list(bad) == [False, False, False, False, True]
    values, bad = parse_column(cells, "date")
    assert values[1] == pd.Timestamp("2020-02-01") and list(bad) == [True, False, False, False, False]
