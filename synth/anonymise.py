"""Pseudonymisation and coarsening, in one place a reviewer can read.

What happens to the council's records before anything else sees them:
- the council's child identifier is replaced by a keyed HMAC-SHA256 pseudonym (16 hex digits);
  the key comes from `FRONTDOOR_PSEUDONYM_KEY`, or from a key file created on first use with
  owner-only permissions, and is never written into a dataset;
- the date of birth becomes the age in whole years at the child's first event (-1 if unborn);
- ethnicity is kept as the six DfE groups, not the 20 codes;
- allocated workers, free text, organisation names and dates the map does not use are dropped
  when the lists are read (synth.schema marks them `keep=False`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pandas as pd

from synth.errors import FrontdoorError

KEY_ENV = "FRONTDOOR_PSEUDONYM_KEY"
KEY_FILE_ENV = "FRONTDOOR_KEY_FILE"
MIN_KEY_CHARS = 32


def default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "frontdoor" / "pseudonym.key"


def load_or_create_key(key_file: Path | None = None) -> bytes:
    """The pseudonymisation key: from the environment, else from (or newly into) the key file."""
    env = os.environ.get(KEY_ENV)
    if env:
        if len(env) < MIN_KEY_CHARS:
            raise FrontdoorError(f"{KEY_ENV} is too short: use at least {MIN_KEY_CHARS} random characters.")
        return env.encode()
    path = Path(key_file or os.environ.get(KEY_FILE_ENV) or default_key_file())
    if path.exists():
        key = path.read_text().strip()
        if len(key) < MIN_KEY_CHARS:
            raise FrontdoorError(f"{path}: the pseudonym key file is damaged (too short). Restore it from backup.")
        return key.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key.encode()


def key_fingerprint(key: bytes) -> str:
    """Identifies which key made a dataset (so two datasets can be told apart) without revealing it."""
    return hmac.new(key, b"frontdoor key fingerprint", hashlib.sha256).hexdigest()[:12]


def pseudonyms(ids: pd.Series, key: bytes) -> pd.Series:
    """Keyed HMAC pseudonyms, computed once per distinct identifier."""
    uniques = pd.unique(ids.dropna())
    keyed = hmac.new(key, digestmod=hashlib.sha256)  # the key schedule once; a copy per identifier

    def pseudonym(value: object) -> str:
        h = keyed.copy()
        h.update(str(value).encode())
        return h.hexdigest()[:16]

    mapping = {v: pseudonym(v) for v in uniques}
    return ids.map(mapping)


def age_in_years(dob: pd.Series, on: pd.Series) -> pd.Series:
    """Whole years between date of birth and a date; -1 when the child was not yet born."""
    years = on.dt.year - dob.dt.year
    before_birthday = (on.dt.month < dob.dt.month) | ((on.dt.month == dob.dt.month) & (on.dt.day < dob.dt.day))
    age = years - before_birthday.astype(int)
    age = age.where(dob <= on, -1)
    return age.where(dob.notna() & on.notna()).astype("Int64")


def with_child_keys(table: pd.DataFrame, child_keys) -> pd.DataFrame:
    """Replace the integer `child` column by the child's pseudonym; the council's ids go no further."""
    keyed = table.assign(child_key=child_keys[table["child"].to_numpy()]).drop(columns="child")
    return keyed[["child_key", *[c for c in keyed.columns if c != "child_key"]]]
