import os
import stat

import pandas as pd

from synth.anonymise import age_in_years, key_fingerprint, load_or_create_key, pseudonyms


def test_pseudonyms_are_stable_per_key_and_differ_between_keys():
    ids = pd.Series(["C123", "C456", "C123"])
    a = pseudonyms(ids, b"k" * 40)
    assert a[0] == a[2] and a[0] != a[1]
    assert (a != pseudonyms(ids, b"j" * 40)).all()
    assert not a.str.contains("123|456").any()
    assert a.str.fullmatch("[0-9a-f]{16}").all()


def test_key_file_is_created_once_with_owner_only_permissions(tmp_path, monkeypatch):
    monkeypatch.delenv("FRONTDOOR_PSEUDONYM_KEY")
    path = tmp_path / "conf" / "pseudonym.key"
    key = load_or_create_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_key(path) == key
    assert key_fingerprint(key) != key.decode()[:12]


def test_age_in_whole_years_and_unborn_is_minus_one():
    dob = pd.to_datetime(pd.Series(["2010-06-15", "2010-06-15", "2022-03-01", None]))
    on = pd.to_datetime(pd.Series(["2020-06-14", "2020-06-15", "2022-01-10", "2022-01-10"]))
    assert age_in_years(dob, on).tolist() == [9, 10, -1, pd.NA]
