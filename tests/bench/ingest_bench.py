"""Issue 2 benchmark: a Kent-like council (150,000 children, about half a million events) is
generated, then ingested + anonymised + written + turned into journeys, in a fresh process.
Target: at most 30 s wall time and under 4 GB peak memory, on this 2-core machine."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.bench.councils import KEY_ENV, council_files
from tests.bench.process import measure

CHILDREN = 150_000
SEED = 7
TARGET_S, TARGET_MIB = 30.0, 4096


def run(work: Path) -> str:
    rows = []
    env = KEY_ENV
    for fmt in ("csv", "xlsx"):
        inputs = council_files(work, CHILDREN, SEED, fmt)
        m = measure([sys.executable, "-m", "tests.bench.ingest_job", str(work / f"dataset_{fmt}"),
                     *map(str, inputs)], env=env)
        o = m["output"]
        t = o["timings"]
        ok = m["wall_s"] <= TARGET_S and m["peak_mib"] <= TARGET_MIB
        rows.append(f"| {fmt} | {o['rows_read']:,} | {o['children']:,} | {o['events']:,} | {o['episodes']:,} | "
                    f"{m['wall_s']:.1f} | {t['ingest_and_anonymise']:.1f} | {t['write']:.1f} | "
                    f"{t['journey_graph']:.1f} | {m['peak_mib']:,.0f} | {'yes' if ok else 'NO'} |")
    return f"""## Ingest + anonymise + journeys (issue 2)

Command: `python -m tests.bench.run ingest` (inputs: `frontdoor fixtures --children {CHILDREN} --seed {SEED}`,
as CSVs and as one workbook; each measured job is a fresh process running `tests/bench/ingest_job.py`:
read + validate + combine + pseudonymise + link episodes, write the dataset, build the journey graph
whole and split by repeat number). Target: <= {TARGET_S:.0f} s wall and < 4 GB peak memory.

| input | rows read | children | events | episodes | wall s (whole process) | ingest s | write s | graph s | peak MiB | meets target |
|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}"""
