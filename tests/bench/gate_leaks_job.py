"""Measured job of the gate benchmark's leak table: `python -m tests.bench.gate_leaks_job DATASET SYNTH_DIR`.

Replaces part of a genuine synthetic sample with real children (verbatim, or near copies: age +/-1 and
every date moved a day), from the training part, the held-out part or both, at 0.5% to 20%, plus a
release of the held-out children only; runs the whole gate (no fidelity) on each and prints the verdicts,
the estimated share of real children and the membership attack's true-positive rates."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

FRACTIONS = (0.005, 0.01, 0.05, 0.10, 0.20)


def _row(result) -> dict:
    checks = {c.name: c for c in result.report.checks}
    mia = checks["membership_inference"].details
    return {"verdict": result.verdict, "real_share": checks["real_children"].metric,
            "real_children": checks["real_children"].status, "verbatim_copies": checks["verbatim_copies"].status,
            "tpr_1": mia["tpr_at_1pct_fpr"], "ci_1": mia["ci95_at_1pct"], "tpr_10": mia["tpr_at_10pct_fpr"],
            "ci_10": mia["ci95_at_10pct"], "exposed_flagged": mia["most_exposed_flagged"],
            "failed": sorted(n for n, c in checks.items() if c.status == "fail"),
            "reviewed": sorted(n for n, c in checks.items() if c.status == "review")}


def main() -> None:
    warnings.filterwarnings("ignore")
    from synth.disclosure import run_gate
    from synth.synthetic import read_pair
    from tests.leaks import all_real_release, leaky_release

    real, synth = read_pair(Path(sys.argv[1]), Path(sys.argv[2]))
    rows = [{"kind": "none (genuine sample)", "source": "-", "fraction": 0.0, **_row(run_gate(real, synth,
                                                                                             fidelity=False))}]
    rows.append({"kind": "held-out children only", "source": "holdout", "fraction": 1.0,
                 **_row(run_gate(real, all_real_release(real, synth), fidelity=False))})
    for kind in ("verbatim", "near"):
        for source in ("training", "holdout", "both"):
            for f in FRACTIONS:
                release = leaky_release(real, synth, f, source, kind, seed=int(f * 1000))
                rows.append({"kind": kind, "source": source, "fraction": f,
                             **_row(run_gate(real, release, fidelity=False))})
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
