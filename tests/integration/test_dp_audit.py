"""The empirical differential privacy audit (tests/dp_audit.py): councils D and D plus one worst-case
canary, the private fit's measurements with fresh noise, the likelihood-ratio test between them.

The lower bound it gives must stay at or below the claimed epsilon; and with the same number of runs it
must catch a mechanism that adds a tenth of the noise it claims (else the first test would prove
nothing). Each test writes its result to `dp_audit_*.json` in its pytest tmp dir and prints it."""

from __future__ import annotations

import json
import time

import pytest

from synth.models.privacy import PrivacyBudget
from tests.dp_audit import audit, shrunk_noise

EPSILON = 1.0
RUNS = 150  # fits per council; about 55 s. At 100, a tenfold leak is missed 1 time in 20 (simulated).


def report(result: dict, path, started: float) -> None:
    result = {**result, "seconds": round(time.perf_counter() - started, 1)}
    path.write_text(json.dumps(result, indent=2))
    print(f"\n{path.name}: eps_lb {result['eps_lb']:.3f} (claimed {result['claimed']:g}), {result['runs']} runs "
          f"per council, fpr {result['fpr']:.2f}, fnr {result['fnr']:.2f}, {result['seconds']} s")


@pytest.mark.slow
def test_the_empirical_lower_bound_does_not_exceed_the_claimed_epsilon(tmp_path):
    started = time.perf_counter()
    result = audit(n_runs=RUNS, epsilon=EPSILON)
    report(result, tmp_path / "dp_audit_honest.json", started)
    assert result["eps_lb"] <= EPSILON


@pytest.mark.slow
def test_the_audit_catches_a_tenth_of_the_claimed_noise(tmp_path, monkeypatch):
    started = time.perf_counter()
    monkeypatch.setattr(PrivacyBudget, "noisy_counts", shrunk_noise(10))
    result = audit(n_runs=RUNS, epsilon=EPSILON)
    report(result, tmp_path / "dp_audit_leaky.json", started)
    assert result["eps_lb"] > EPSILON
