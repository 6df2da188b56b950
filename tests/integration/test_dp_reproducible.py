"""A private (epsilon) fit computes the same in any Python process: no set's iteration order (string hashing
is salted per process, PYTHONHASHSEED) reaches what is measured, the noise's order or the sampler.

OpenDP draws the noise from the operating system's secure generator, so a real DP fit differs run to run,
as it should. Here only, in the child process, each measurement's noise comes from a seeded numpy generator
(the privacy maps stay OpenDP's), so the same computation gives the same tables."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FIT_AND_SAMPLE = """
import hashlib, sys
import numpy as np
from synth.dataset import read_dataset
from synth.models import TrainingSpec, fit_model, privacy

RNG = np.random.default_rng(0)
REAL_LAPLACE, REAL_MAX = privacy._laplace, privacy._noisy_max

class SeededLaplace:
    def __init__(self, scale, integer):
        self.real, self.scale, self.integer = REAL_LAPLACE(scale, integer), scale, integer
    def map(self, d):
        return self.real.map(d)
    def __call__(self, values):
        x = np.asarray(values, dtype=float) + RNG.laplace(0.0, self.scale, len(values))
        return [int(v) for v in np.round(x)] if self.integer else [float(v) for v in x]

class SeededMax:
    def __init__(self, scale):
        self.real, self.scale = REAL_MAX(scale), scale
    def map(self, d):
        return self.real.map(d)
    def __call__(self, scores):
        return int(np.argmax(np.asarray(scores) + RNG.gumbel(0.0, self.scale, len(scores))))

privacy._laplace, privacy._noisy_max = SeededLaplace, SeededMax
model = fit_model(read_dataset(sys.argv[1]), TrainingSpec(epsilon=2.0, seed=1, window_start="2021-04-01",
                                                          window_end="2025-03-31"))
s = model.sample(800, 3)
h = hashlib.sha256()
for table in (s.children, s.episodes, s.events):
    h.update(table.to_csv(index=False).encode())
print(h.hexdigest())
"""


def _digest(dataset_dir: Path, hash_seed: str) -> str:
    env = {"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    out = subprocess.run([sys.executable, "-c", FIT_AND_SAMPLE, str(dataset_dir)], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def _set_order(hash_seed: str) -> str:
    code = "from synth.stages import START_STAGES, HARD_EXITS; print(tuple(START_STAGES), tuple(HARD_EXITS))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                          env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin"}).stdout


@pytest.mark.slow
def test_a_private_fit_is_the_same_in_every_process(dataset_dir):
    seeds = ("1", "4")  # two processes that iterate the stage sets in different orders (checked first)
    assert _set_order(seeds[0]) != _set_order(seeds[1])
    digests = {seed: _digest(dataset_dir, seed) for seed in seeds}
    assert len(set(digests.values())) == 1, digests
