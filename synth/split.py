"""The training / holdout split of a dataset's children.

About a third of the children are set aside and never trained on. The release gate compares
synthetic children with them ("closer to training than to unseen children?"), and the utility
check tests models on them. The split is a keyed hash of the pseudonym and the dataset's lineage,
so it is the same every time it is asked for, in every process, without being stored.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

HOLDOUT_SHARE = 1 / 3


def holdout_mask(child_keys: pd.Series, lineage_hash: str, share: float = HOLDOUT_SHARE) -> np.ndarray:
    """True for the children set aside from training."""
    salt = hashlib.sha256(f"holdout:{lineage_hash}".encode()).hexdigest()[:16]
    hashes = pd.util.hash_pandas_object(child_keys.astype(str), index=False, hash_key=salt).to_numpy()
    return (hashes % np.uint64(1_000_000)) < np.uint64(round(share * 1_000_000))


def split_tables(children: pd.DataFrame, events: pd.DataFrame, episodes: pd.DataFrame, lineage_hash: str,
                 part: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The `training` or `holdout` part of the three canonical tables."""
    if part not in ("training", "holdout"):
        raise ValueError(f"part must be 'training' or 'holdout', not {part!r}")
    held = holdout_mask(children["child_key"], lineage_hash)
    keep = held if part == "holdout" else ~held
    keys = children.loc[keep, "child_key"]
    return (children[keep].reset_index(drop=True),
            events[events["child_key"].isin(keys)].reset_index(drop=True),
            episodes[episodes["child_key"].isin(keys)].reset_index(drop=True))
