"""Measured job of the gate benchmark: `python -m tests.bench.gate_job DATASET SYNTH_DIR BUNDLE.zip`.
Runs the full gate (record checks, aggregate controls, fidelity) and writes the bundle."""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

from tests.bench.process import report_peak


def main() -> None:
    warnings.filterwarnings("ignore")
    from synth.bundle import write_bundle
    from synth.disclosure import run_gate
    from synth.synthetic import read_pair

    real, synth = read_pair(Path(sys.argv[1]), Path(sys.argv[2]))
    t = time.perf_counter()
    result = run_gate(real, synth, "default", release={"release_id": "bench"})
    gate_s = time.perf_counter() - t
    t = time.perf_counter()
    write_bundle(Path(sys.argv[3]), synth, result.map_json, result.report, "bench", real.lineage_hash)
    bundle_s = time.perf_counter() - t
    d = result.report.to_dict()
    print(json.dumps({"gate_s": gate_s, "bundle_s": bundle_s, "verdict": d["verdict"], "counts": d["counts"],
                      "checks": {c["name"]: [c["status"], c["metric"]] for c in d["checks"]},
                      "real_children": next(c["details"] for c in d["checks"] if c["name"] == "real_children"),
                      "real_children_in_data": len(real.children), "synthetic_children": len(synth.children)}))
    report_peak()


if __name__ == "__main__":
    main()
