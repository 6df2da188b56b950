"""Near-matching of synthetic and real children: the range helper behind candidate pairs."""

import numpy as np

from synth.disclosure.matching import _expand


def test_expanding_no_ranges_gives_nothing():
    """A release with no candidate pair at all (seen with a private model's sample) must not crash the gate."""
    owner, pos = _expand(np.array([], dtype=np.int64), np.array([], dtype=np.int64))
    assert len(owner) == 0 and len(pos) == 0
    owner, pos = _expand(np.array([5, 0]), np.array([2, 1]))
    assert owner.tolist() == [0, 0, 1] and pos.tolist() == [5, 6, 0]
