"""`make bench`: run the benchmarks and rewrite BENCHMARKS.md with the command, machine and figures.

`python -m tests.bench.run [NAME ...]` runs some of them; the other sections of BENCHMARKS.md
are kept as they were. `--councils N --max-children M` runs the hub benchmark smaller.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.bench import (
    dp_bench,
    fidelity_bench,
    gate_bench,
    hub_bench,
    ingest_bench,
    models_bench,
    service_bench,
    viewer_bench,
)
from tests.bench.machine import describe

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".bench"  # generated inputs live here (git-ignored), reused between runs
OUT = ROOT / "BENCHMARKS.md"

BENCHMARKS = {
    "ingest": ingest_bench.run,
    "models": models_bench.run,
    "fidelity": fidelity_bench.run,
    "dp": dp_bench.run,
    "gate": gate_bench.run,
    "service": service_bench.run,
    "viewer": viewer_bench.run,
    "hub": hub_bench.run,
}

HEADER = """# Benchmarks

Written by `make bench` (`python -m tests.bench.run`); every figure below comes from that command.
Each section says the command, the machine it ran on, and the figures. Rerun to refresh.
"""


def _sections(text: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in re.finditer(r"<!-- bench:(\w+) -->.*?<!-- /bench:\1 -->", text, re.S)}


def main(names: list[str]) -> None:
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")
    WORK.mkdir(exist_ok=True)
    sections = _sections(OUT.read_text()) if OUT.exists() else {}
    for name in names or list(BENCHMARKS):
        print(f"running benchmark: {name}", flush=True)
        machine = describe()  # per section: the load at its start
        try:
            body = BENCHMARKS[name](WORK)
        except hub_bench.Skipped as exc:  # its section, if any, is kept as it was
            print(f"skipped benchmark {name}: {exc}", flush=True)
            continue
        sections[name] = f"<!-- bench:{name} -->\n{body.strip()}\n\nMachine: {machine}\n<!-- /bench:{name} -->"
        OUT.write_text(HEADER + "\n" + "\n\n".join(sections[n] for n in BENCHMARKS if n in sections) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main(hub_bench.apply_args(sys.argv[1:]))
