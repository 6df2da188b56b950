"""Measured jobs of the generator benchmarks, each run in a fresh process:

    python -m tests.bench.models_job fit DATASET MODEL GENERATOR [EPSILON] [EPOCHS]
    python -m tests.bench.models_job sample MODEL N OUT_DIR
    python -m tests.bench.models_job evaluate DATASET SYNTH_DIR
    python -m tests.bench.models_job holdout-durations DATASET
    python -m tests.bench.models_job noise-floor DATASET
Prints JSON (timings in seconds) and, last on stderr, the process's peak memory.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

from tests.bench.process import report_peak

KEY = b"benchmark-signing-key-0123456789"


def main() -> None:
    warnings.filterwarnings("ignore")
    job, args = sys.argv[1], sys.argv[2:]
    out: dict = {}
    if job == "fit":
        from synth.dataset import read_dataset
        from synth.models import TrainingSpec, fit_model

        dataset, model_path, generator = args[0], Path(args[1]), args[2]
        epsilon = float(args[3]) if len(args) > 3 and args[3] != "-" else None
        epochs = int(args[4]) if len(args) > 4 else None
        from fixtures.council import CouncilSpec

        ds = read_dataset(dataset)
        # Under DP the extract window is declared: the fake councils' own (public) window.
        window = ({"window_start": CouncilSpec.window_start, "window_end": CouncilSpec.window_end}
                  if epsilon is not None else {})
        t = time.perf_counter()
        model = fit_model(ds, TrainingSpec(generator=generator, epsilon=epsilon, epochs=epochs, **window))
        out["fit_s"] = time.perf_counter() - t
        model.save(model_path, KEY)
        out["training_children"] = model.training_children
    elif job == "sample":
        from synth.models import load_model
        from synth.synthetic import write_synthetic

        model = load_model(Path(args[0]), KEY)
        t = time.perf_counter()
        tables = model.sample(int(args[1]), 1)
        out["sample_s"] = time.perf_counter() - t
        write_synthetic(Path(args[2]), tables, model, 1, overwrite=True)
        out["children"], out["events"] = len(tables.children), len(tables.events)
    elif job == "evaluate":
        from synth.synthetic import evaluate_against

        t = time.perf_counter()
        out = evaluate_against(Path(args[0]), Path(args[1]))
        out.pop("model", None)
        out["durations"]["moves"] = [m for m in out["durations"]["moves"] if not m["within_10pct"]]
        out["evaluate_s"] = time.perf_counter() - t
    elif job == "holdout-durations":
        # The data's own noise floor: the council's held-out third measured against its training two
        # thirds, by the same duration measure the synthetic data is held to.
        import numpy as np

        from synth.dataset import read_dataset
        from synth.evaluate import durations
        from synth.split import split_tables

        ds = read_dataset(args[0])
        train, hold = (split_tables(ds.children, ds.events, ds.episodes, ds.lineage_hash, part)[1]
                       for part in ("training", "holdout"))
        d = durations(train, hold, np.random.default_rng(0))
        out = {"within_10pct": d["median_days_within_10pct"], "moves": len(d["moves"]),
               "outside": [f"{m['source']} -> {m['target']}: {m['median_real']:g} vs {m['median_synth']:g} days"
                           for m in d["moves"] if not m["within_10pct"]]}
    elif job == "noise-floor":
        # The real data's own noise: the held-out third scored as if it were synthetic data for the
        # training two thirds, by the same measures (re-referral, next-stage error, journey TVD).
        from synth.dataset import Dataset, read_dataset
        from synth.evaluate import evaluate
        from synth.split import split_tables

        ds = read_dataset(args[0])
        train, hold = (Dataset(*split_tables(ds.children, ds.events, ds.episodes, ds.lineage_hash, part), {})
                       for part in ("training", "holdout"))
        out = evaluate(train, hold, seed=0)
        out["durations"].pop("moves", None)
    print(json.dumps(out, default=float))
    report_peak()


if __name__ == "__main__":
    main()
