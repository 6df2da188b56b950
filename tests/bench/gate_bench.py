"""Issue 4 benchmark: the full release gate on 150,000 synthetic vs 150,000 real children.
Target: at most 120 s and 6 GB."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.bench.councils import KEY_ENV, council_dataset
from tests.bench.process import measure


def synthetic_150k(work: Path) -> tuple[Path, Path]:
    return genuine(work, 150_000, name="150k")


def bundle_150k(work: Path) -> Path:
    """The 150,000-children release bundle (made by the gate benchmark; made here if missing)."""
    path = work / "bench_bundle.zip"
    if not path.exists():
        real, synth = synthetic_150k(work)
        measure([sys.executable, "-m", "tests.bench.gate_job", str(real), str(synth), str(path)], env=KEY_ENV)
    return path


def genuine(work: Path, children: int, seed: int = 7, name: str | None = None) -> tuple[Path, Path]:
    """A council of `children` (seed 7), the journey model trained on it, as many children sampled."""
    real = council_dataset(work, children, seed)
    name = name or str(children)
    model, synth = work / f"journey_{name}.fdm", work / f"journey_{name}_synthetic"
    if not synth.exists():
        measure([sys.executable, "-m", "tests.bench.models_job", "fit", str(real), str(model), "journey"], env=KEY_ENV)
        measure([sys.executable, "-m", "tests.bench.models_job", "sample", str(model), str(children), str(synth)],
                env=KEY_ENV)
    return real, synth


def _pct(x: float) -> str:
    return f"{x:.1%}"


def leak_table(work: Path) -> str:
    """Leak kind x source x fraction -> verdict, on a 10,000-children council (the audit's)."""
    real, synth = genuine(work, 10_000)
    rows = measure([sys.executable, "-m", "tests.bench.gate_leaks_job", str(real), str(synth)], env=KEY_ENV)["output"]
    lines = "\n".join(
        f"| {r['kind']} | {r['source']} | {_pct(r['fraction'])} | **{r['verdict']}** | {r['real_share']:.2%} | "
        f"{r['real_children']} | {r['verbatim_copies']} | {_pct(r['tpr_1'])} ({_pct(r['ci_1'][0])}-{_pct(r['ci_1'][1])}) | "
        f"{_pct(r['tpr_10'])} ({_pct(r['ci_10'][0])}-{_pct(r['ci_10'][1])}) | {r['exposed_flagged']} of 10 | "
        f"{', '.join(r['failed']) or '-'} | {', '.join(r['reviewed']) or '-'} |" for r in rows)
    sizes = []
    for n in (2_000, 20_000):
        r, s = genuine(work, n)
        out = measure([sys.executable, "-m", "tests.bench.gate_job", str(r), str(s), str(work / f"bundle_{n}.zip")],
                      env=KEY_ENV)["output"]
        sizes.append(f"| {n:,} | {out['verdict']} | " + ", ".join(
            f"{name} {status}" for name, (status, _) in out["checks"].items() if status != "pass") + " |")
    return f"""## Release gate against leaky releases (issue 11)

Command: `python -m tests.bench.run gate` (`frontdoor fixtures --children 10000 --seed 7`, ingested; `journey`
trained; 10,000 children sampled; `tests/bench/gate_leaks_job.py` replaces part of the sample with real
children from `tests/leaks.py` — verbatim, or near copies with age +/-1 and every date moved a day — and
runs the whole gate without fidelity on each). "Real share" is the near-match check's estimate of the share
of synthetic children that are real; TPR is the membership attack's (DOMIAS density ratio) true-positive
rate at 1% and 10% false positives, with 95% Clopper-Pearson intervals; the most exposed are the 10 attacked
training children farthest from any other real child.

| leak | from | share of release | verdict | real share (estimate) | real_children | verbatim_copies | TPR at 1% FPR | TPR at 10% FPR | most exposed flagged | failed checks | checks to review |
|---|---|---|---|---|---|---|---|---|---|---|---|
{lines}

Genuine samples at other sizes (whole gate with fidelity; the 150,000 run is above):

| children | verdict | checks not passed |
|---|---|---|
{chr(10).join(sizes)}
"""


def run(work: Path) -> str:
    leaks = leak_table(work)
    real, synth = synthetic_150k(work)
    m = measure([sys.executable, "-m", "tests.bench.gate_job", str(real), str(synth), str(work / "bench_bundle.zip")],
                env=KEY_ENV)
    o = m["output"]
    near = o["real_children"]
    ok = o["gate_s"] <= 120 and m["peak_mib"] <= 6144
    rows = "\n".join(f"| {name} | {status} | {'' if metric is None else f'{metric:.4g}'} |"
                     for name, (status, metric) in o["checks"].items())
    return f"""## Release gate on 150,000 synthetic vs 150,000 real children (issues 4, 11)

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

Near matches: {near['near_matches']:,} synthetic children near-match a real child against {near['near_matches_by_chance']:,}
by chance (real children moved by whole weeks). The {near['edge_synthetic_children']:,} synthetic children with an event
within a month of the window's edges, judged apart because moving real children in time understates chance there,
give an estimated real share of {near['edge_real_share']:.2%} for this genuine sample (review from 2%, fail from 5%).

| check | status | metric |
|---|---|---|
{rows}

{leaks}"""
