import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_code_passes_ruff():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "synth", "service", "viewer", "fixtures", "tests"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
