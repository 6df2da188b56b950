"""Issue 4 benchmark: the full release gate on 150,000 synthetic vs 150,000 real children.
Target: at most 120 s and 6 GB."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.bench.councils import KEY_ENV, council_dataset
from tests.bench.process import measure


def synthetic_150k(work: Path) -> tuple[Path, Path]:
    real = council_dataset(work, 150_000, 7)
    model, synth = work / "journey_150k.fdm", work / "journey_150k_synthetic"
    if not synth.exists():
        measure([sys.executable, "-m", "tests.bench.models_job", "fit", str(real), str(model), "journey"], env=KEY_ENV)
        measure([sys.executable, "-m", "tests.bench.models_job", "sample", str(model), "150000", str(synth)],
                env=KEY_ENV)
    return real, synth


def bundle_150k(work: Path) -> Path:
    """The 150,000-children release bundle (made by the gate benchmark; made here if missing)."""
    path = work / "bench_bundle.zip"
    if not path.exists():
        real, synth = synthetic_150k(work)
        measure([sys.executable, "-m", "tests.bench.gate_job", str(real), str(synth), str(path)], env=KEY_ENV)
    return path


def run(work: Path) -> str:
    real, synth = synthetic_150k(work)
    m = measure([sys.executable, "-m", "tests.bench.gate_job", str(real), str(synth), str(work / "bench_bundle.zip")],
                env=KEY_ENV)
    o = m["output"]
    ok = o["gate_s"] <= 120 and m["peak_mib"] <= 6144
    rows = "\n".join(f"| {name} | {status} | {'' if metric is None else f'{metric:.4g}'} |"
                     for name, (status, metric) in o["checks"].items())
    return f"""## Release gate on 150,000 synthetic vs 150,000 real children (issue 4)

Command: `python -m tests.bench.run gate` (the 150,000-children council of the ingest benchmark, the
`journey` model trained on it, 150,000 children sampled; `tests/bench/gate_job.py` runs the whole gate:
record checks incl. anonymeter, the map's aggregate controls, fidelity; then writes the bundle).
Target: gate <= 120 s and <= 6 GB.

| step | seconds |
|---|---|
| gate (all checks, map, fidelity) | {o['gate_s']:.1f} |
| write bundle | {o['bundle_s']:.1f} |
| whole process (incl. reading both datasets) | {m['wall_s']:.1f} |

Peak memory {m['peak_mib']:,.0f} MiB. Verdict: {o['verdict']}. Meets target: {'yes' if ok else 'NO'}.

| check | status | metric |
|---|---|---|
{rows}"""
