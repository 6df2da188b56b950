"""The release gate's power against a 0.5% leak under one pseudonym key (issue 13's probe, by hand, not in
`make bench`): a 6,000-children council ingested with KEY (the key decides who is held out), the journey model
trained, 6,000 synthetic children sampled, then 0.5% of them replaced by real children, verbatim or disguised
(age +/-1, every date moved a day), from the training part, the held-out part or both; prints the near
matches, chance, the estimated real share, its z and the real-children check's status for each.

    python -m tests.bench.leak_key_probe alpha-key-0001
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pandas as pd


def main(key: str) -> None:
    os.environ["FRONTDOOR_PSEUDONYM_KEY"] = (key * 3)[:max(len(key) * 3, 32)]
    from synth.dataset import read_dataset
    from synth.disclosure import get_profile
    from synth.disclosure.gate import _parts, close_copies
    from synth.disclosure.records import real_children_check
    from synth.models import TrainingSpec, fit_model
    from synth.synthetic import write_synthetic
    from tests.conftest import Cli
    from tests.leaks import leaky_release

    root = Path(tempfile.mkdtemp())
    cli = Cli()
    assert cli("fixtures", "--out", root / "c", "--children", "6000", "--seed", "23").exit_code == 0
    assert cli("ingest", root / "c" / "annex_a.xlsx", "--out", root / "ds").exit_code == 0
    real = read_dataset(root / "ds")
    model = fit_model(real, TrainingSpec(seed=5))
    write_synthetic(root / "s5", model.sample(6000, 5), model, 5)
    synth = read_dataset(root / "s5")
    start = pd.Timestamp(synth.manifest["model"]["window"]["start"])
    profile = get_profile("default")
    c = close_copies(_parts(real), synth, start)
    print(f"genuine: near {c.near} chance {c.near_chance:.1f} share {c.real_share:.4f} z {c.real_share_z:.2f}")
    for kind in ("verbatim", "near"):
        for source in ("training", "holdout", "both"):
            c = close_copies(_parts(real), leaky_release(real, synth, 0.005, source, kind, seed=5), start)
            print(f"{kind} {source}: near {c.near} chance {c.near_chance:.1f} share {c.real_share:.4f} "
                  f"z {c.real_share_z:.2f} {real_children_check(c, profile).status}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "test-pseudonym-key-0123456789abcdef")
