"""The measured job of the ingest benchmark: ingest + anonymise + write + build journeys.

Run as `python -m tests.bench.ingest_job OUT_DIR INPUT...`; prints phase timings as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tests.bench.process import report_peak


def main() -> None:
    t0 = time.perf_counter()
    from synth import journeys
    from synth.anonymise import load_or_create_key
    from synth.dataset import Dataset, write_dataset
    from synth.ingest import ingest

    out, inputs = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
    timings = {"import": time.perf_counter() - t0}
    t = time.perf_counter()
    result = ingest(inputs, load_or_create_key())
    timings["ingest_and_anonymise"] = time.perf_counter() - t
    t = time.perf_counter()
    write_dataset(out, Dataset(result.children, result.events, result.episodes,
                               {**result.manifest, "report": result.report.to_dict()}), overwrite=True)
    timings["write"] = time.perf_counter() - t
    t = time.perf_counter()
    graph = journeys.journey_graph(result.events, result.episodes, result.children)
    journeys.journey_graph(result.events, result.episodes, result.children, by="repeat")
    timings["journey_graph"] = time.perf_counter() - t
    print(json.dumps({"timings": timings, "children": len(result.children), "events": len(result.events),
                      "episodes": len(result.episodes), "edges": graph.number_of_edges(),
                      "rows_read": result.report.to_dict()["rows_read"]}))
    report_peak()


if __name__ == "__main__":
    main()
