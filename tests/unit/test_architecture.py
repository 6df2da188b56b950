"""The layout is the architecture: imports flow service -> synth, viewer -> synth.bundle only."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(package: str) -> dict[str, set[str]]:
    out = {}
    for path in (ROOT / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        out[str(path.relative_to(ROOT))] = names
    return out


def top(name: str) -> str:
    return name.split(".")[0]


def test_synth_imports_neither_service_nor_viewer_nor_web_frameworks():
    for path, names in imported_modules("synth").items():
        bad = {n for n in names if top(n) in {"service", "viewer", "flask", "flask_smorest", "bokeh", "fixtures"}}
        assert not bad, f"{path} imports {bad}"


def test_viewer_reads_release_bundles_only():
    for path, names in imported_modules("viewer").items():
        ours = {n for n in names if top(n) in {"synth", "service", "fixtures"}}
        assert ours <= {"synth.bundle", "synth"}, f"{path} imports {ours}"


def test_runtime_code_never_reads_fixtures():
    for package in ("synth", "viewer"):
        for path, names in imported_modules(package).items():
            assert not {n for n in names if top(n) == "fixtures"}, path


@pytest.mark.parametrize("module", ["synth", "synth.schema", "synth.journeys", "synth.ingest", "synth.bundle"])
def test_core_modules_import_nothing_heavy(module):
    code = (f"import sys, {module}; heavy = {{'torch', 'sdv', 'flask', 'bokeh'}} & set(sys.modules); "
            "print(','.join(sorted(heavy)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
