"""A small release bundle (and a second one to compare with), made through the public pieces."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synth.bundle import read_bundle, write_bundle
from synth.dataset import read_dataset
from synth.disclosure import run_aggregate_gate, run_gate
from synth.models import TrainingSpec, fit_model
from synth.synthetic import write_synthetic


def make_bundle(dataset_dir: Path, out: Path, seed: int, children: int = 800) -> Path:
    real = read_dataset(dataset_dir)
    model = fit_model(real, TrainingSpec(seed=seed))
    write_synthetic(out.with_suffix(""), model.sample(children, seed), model, seed)
    synth = read_dataset(out.with_suffix(""))
    gate = run_gate(real, synth, "default", fidelity=False)
    return write_bundle(out, synth, gate.map_json, gate.report, f"rel{seed}", real.lineage_hash)


@pytest.fixture(scope="session")
def bundle_path(dataset_dir, tmp_path_factory) -> Path:
    return make_bundle(dataset_dir, tmp_path_factory.mktemp("bundles") / "a.zip", seed=5)


@pytest.fixture(scope="session")
def second_bundle(dataset_dir, tmp_path_factory) -> Path:
    return make_bundle(dataset_dir, tmp_path_factory.mktemp("bundles") / "b.zip", seed=6, children=600)


@pytest.fixture(scope="session")
def bundle(bundle_path):
    return read_bundle(bundle_path)


def make_aggregate_bundle(dataset_dir: Path, out: Path, release_id: str = "agg1") -> Path:
    """An aggregate release: the real dataset's counts under disclosure control, and no records."""
    real = read_dataset(dataset_dir)
    gate = run_aggregate_gate(real, "default", [], release={"release_id": release_id, "version": 1})
    return write_bundle(out, None, gate.map_json, gate.report, release_id, real.lineage_hash, kind="aggregate")


@pytest.fixture(scope="session")
def aggregate_bundle_path(dataset_dir, tmp_path_factory) -> Path:
    return make_aggregate_bundle(dataset_dir, tmp_path_factory.mktemp("bundles") / "agg.zip")


@pytest.fixture(scope="session")
def aggregate_bundle(aggregate_bundle_path):
    return read_bundle(aggregate_bundle_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def viewer_url(bundle_path, second_bundle):
    """`frontdoor view` on the two bundles, on a free port."""
    yield from serve_viewer(bundle_path, second_bundle)


@pytest.fixture(scope="module")
def aggregate_viewer_url(aggregate_bundle_path, bundle_path):
    """`frontdoor view` with the aggregate release first (the page's own) and a synthetic one to compare with."""
    yield from serve_viewer(aggregate_bundle_path, bundle_path)


def serve_viewer(*bundles: Path):
    port = free_port()
    args = [a for b in bundles for a in ("--bundle", str(b))]
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "view", *args, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read()) from None
            time.sleep(0.3)
    yield f"http://localhost:{port}/"
    proc.terminate()
    proc.wait(timeout=10)


def chrome():
    from tests.conftest import require_chromium

    require_chromium()  # skipped with the reason, not an error, on a machine without it
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1366,768", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)


def wait_for(driver, script: str, timeout: float = 30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


MODEL = "Bokeh.documents[0].get_model_by_name"
