"""Issue 3 benchmarks: generator quality (20,000 children), speed (150,000), journey vs SDV's own
generators (2,000). What differential privacy costs is the `dp` benchmark (tests/bench/dp_bench.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.bench.councils import KEY_ENV, council_dataset
from tests.bench.process import measure

SEED = 2025


def _job(*args: str) -> dict:
    return measure([sys.executable, "-m", "tests.bench.models_job", *args], env=KEY_ENV)


def _fit_sample_evaluate(work: Path, dataset: Path, name: str, generator: str, n: int, epsilon: str = "-",
                         epochs: str | None = None) -> dict:
    model, synth = work / f"{name}.fdm", work / f"{name}_synthetic"
    fit = _job("fit", str(dataset), str(model), generator, epsilon, *([epochs] if epochs else []))
    smp = _job("sample", str(model), str(n), str(synth))
    ev = _job("evaluate", str(dataset), str(synth))
    return {"fit": fit, "sample": smp, "eval": ev["output"]}


def _fmt(v, digits=3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _metric_row(label: str, r: dict) -> str:
    e = r["eval"]
    t = e["targets"]
    return (f"| {label} | {_fmt(r['fit']['output']['fit_s'], 1)} | {_fmt(r['sample']['output']['sample_s'], 1)} | "
            f"{_fmt(e['validity'])} | {_fmt(e['next_stage_error']['max'])} | {_fmt(e['next_stage_error']['mean'])} | "
            f"{_fmt(e['journey_tvd']['top20'])} | {_fmt(e['journey_tvd']['all'])} | "
            f"{_fmt(t['median_days_within_10pct']['value'], 2)} | {_fmt(e['durations']['ks_max'])} | "
            f"{e['rereferral_12m']['real']:.3f} / {e['rereferral_12m']['synthetic']:.3f} | "
            f"{_fmt(e['attribute_quality'])} | {_fmt((e.get('utility') or {}).get('ratio'))} |")


HEAD = ("| generator | fit s | sample s | validity | next-stage max err | mean err | top-20 TVD | all-paths TVD | "
        "medians within 10% | KS max | re-referral real / synth | attribute quality | utility AUC ratio |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def run(work: Path) -> str:
    sections = []
    # Quality at 20,000 children, default generator.
    ds20 = council_dataset(work, 20_000, SEED)
    q = _fit_sample_evaluate(work, ds20, "journey_20k", "journey", 20_000)
    targets = q["eval"]["targets"]
    lines = "\n".join(f"| {k} | {v['value']:.4f} | {v['target']} | {'yes' if v['met'] else 'NO'} |"
                      for k, v in targets.items())
    floor = _job("holdout-durations", str(ds20))["output"]
    synth_outside = [f"{m['source']} -> {m['target']}: {m['median_real']:g} vs {m['median_synth']:g} days"
                     for m in q["eval"]["durations"]["moves"] if not m["within_10pct"]]
    conv = q["eval"]["conversions"]
    conv_lines = "\n".join(f"| {k} | {v['real']:.3f} | {v['synthetic']:.3f} |" for k, v in conv.items())
    sections.append(f"""## Generators: quality on 20,000 children (issue 3)

Command: `python -m tests.bench.run models` (`frontdoor fixtures --children 20000 --seed {SEED}`, ingested;
`journey` trained on the training two thirds; 20,000 synthetic children sampled with seed 1; compared with
the real training children by `synth.evaluate`; utility on the held-out third).

| target | value | target | met |
|---|---|---|---|
{lines}

| conversion | real | synthetic |
|---|---|---|
{conv_lines}

Median days per move: synthetic outside 10% of the training children's median:
{'; '.join(synth_outside) or 'none'}. The data's own noise floor, by the same measure: the council's
held-out third against its training two thirds has {floor['within_10pct']:.2f} of {floor['moves']} moves within 10%
(outside: {'; '.join(floor['outside']) or 'none'}). Moves whose durations spread over years and that a few
hundred children take have medians that differ by more than 10% between two halves of one council.

Fit {q['fit']['output']['fit_s']:.1f} s, sample {q['sample']['output']['sample_s']:.1f} s.""")

    # Speed at 150,000 children.
    ds150 = council_dataset(work, 150_000, 7)
    model = work / "journey_150k.fdm"
    fit = _job("fit", str(ds150), str(model), "journey")
    smp = _job("sample", str(model), "150000", str(work / "journey_150k_synthetic"))
    ok = fit["output"]["fit_s"] <= 60 and smp["output"]["sample_s"] <= 15 and max(fit["peak_mib"], smp["peak_mib"]) <= 6144
    sections.append(f"""## Generators: speed on 150,000 children (issue 3)

Command: `python -m tests.bench.run models` (`frontdoor fixtures --children 150000 --seed 7`, ingested). Fit and
sample each in a fresh process; times exclude reading the dataset and writing the output.
Target: fit <= 60 s, sample 150,000 children <= 15 s, peak memory <= 6 GB.

| step | seconds | peak MiB (whole process) |
|---|---|---|
| fit ({fit['output']['training_children']:,} training children) | {fit['output']['fit_s']:.1f} | {fit['peak_mib']:,.0f} |
| sample 150,000 children ({smp['output']['events']:,} events) | {smp['output']['sample_s']:.1f} | {smp['peak_mib']:,.0f} |

Meets target: {'yes' if ok else 'NO'}.""")

    # Journey vs SDV on 2,000 children.
    ds2 = council_dataset(work, 2_000, SEED)
    rows, times = [], {}
    for gen, epochs in (("journey", None), ("sdv-par", "64"), ("sdv-hma", None)):
        r = _fit_sample_evaluate(work, ds2, f"{gen}_2k", gen, 2_000, epochs=epochs)
        rows.append(_metric_row(gen + (f" ({epochs} epochs)" if epochs else ""), r))
        times[gen] = (r["fit"]["output"]["fit_s"], r["sample"]["output"]["sample_s"])
    ratio = "\n".join(f"| {g} | {f / times['journey'][0]:.1f}x | {s / times['journey'][1]:.1f}x |"
                      for g, (f, s) in times.items())
    sections.append(f"""## Journey model vs SDV's generators, 2,000 children (issue 3)

Command: `python -m tests.bench.run models` (`frontdoor fixtures --children 2000 --seed {SEED}`; each generator
trained on the same training children, 2,000 synthetic children sampled, same evaluation).
At this size the real side is small, so the error figures include its own sampling noise.

{HEAD}
{chr(10).join(rows)}

| generator | fit time vs journey | sample time vs journey |
|---|---|---|
{ratio}""")

    return "\n\n".join(sections)
