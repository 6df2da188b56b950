"""A new council user's first hour (issue 18.6): `make run` says who is who and where to go, the test suite says
what it could not run here and why, and the README is complete for a fresh clone."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_pytest(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **env})


def test_without_chromium_the_browser_tests_skip_with_the_reason():
    done = run_pytest("tests/web/test_pages_browser.py", "-q", "-rs", CHROMIUM="/nowhere/chromium")
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"\d+ skipped", done.stdout) and "error" not in done.stdout.lower(), done.stdout[-3000:]
    assert "Chromium (/nowhere/chromium) not found" in done.stdout and "apt-get install chromium" in done.stdout


def test_the_viewers_chrome_helper_skips_too_without_chromium(tmp_path):
    """tests/viewer's `chrome()` (used by the viewer and viewer-session tests) skips rather than errors."""
    probe = tmp_path / "test_probe.py"
    probe.write_text("from tests.viewer.conftest import chrome\n\n\ndef test_probe():\n    chrome().quit()\n")
    done = run_pytest(str(probe), "-q", "-rs", CHROMEDRIVER="/nowhere/chromedriver")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 skipped" in done.stdout and "chromedriver (/nowhere/chromedriver) not found" in done.stdout, done.stdout


def test_the_summary_says_which_backends_did_not_run():
    env = {k: v for k, v in os.environ.items() if k not in ("FRONTDOOR_TEST_DATABASE_URL", "FRONTDOOR_TEST_REDIS_URL")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
                           "tests/service/test_permissions.py"], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=300)
    assert "not run on this machine" in done.stdout, done.stdout[-2000:]
    assert "FRONTDOOR_TEST_DATABASE_URL is unset" in done.stdout and "FRONTDOOR_TEST_REDIS_URL is unset" in done.stdout
    with_both = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
                                "tests/unit/test_docs.py"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                               env={**env, "FRONTDOOR_TEST_DATABASE_URL": "postgresql://x/y",
                                    "FRONTDOOR_TEST_REDIS_URL": "redis://x"})
    assert "is unset" not in with_both.stdout


def test_the_readme_asks_for_chromium_and_links_nothing_outside_the_clone():
    readme = (ROOT / "README.md").read_text()
    assert "apt-get install chromium chromium-driver" in readme
    outside = re.findall(r"\.\./[\w./-]+", readme)
    assert outside == [], outside
    for link in re.findall(r"\]\((?!https?://)([^)#]+)\)", readme):
        assert (ROOT / link).exists(), link


@pytest.mark.slow
def test_make_run_prints_roles_the_pages_and_its_settings_file_and_reviews_honestly(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = tmp_path / "svc"
    done = subprocess.run([sys.executable, "-m", "service.cli", "demo", "--port", str(port), "--children", "800",
                           "--data-dir", str(data), "--no-keep-running"], capture_output=True, text=True, timeout=900)
    out = done.stdout
    assert done.returncode == 0, out[-2000:] + done.stderr[-2000:]
    settings = data / "demo.env"
    for name, role in (("olivia", "data owner"), ("rita", "reviewer"), ("raj", "reviewer"), ("dev", "developer"),
                       ("ada", "admin")):
        assert re.search(rf"^\s+{name}\s+{role}\s+fd_\S+$", out, re.M), (name, out[:1500])
    assert f"http://127.0.0.1:{port}/ " in out and str(settings) in out
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in settings.read_text().split())
    assert values["RELEASE_ID"] and values["OLIVIA_TOKEN"].startswith("fd_")
    # The demo's reviewers read the report through the API before approving, and say what they did.
    from service.config import load_config
    from service.orm import Review
    from service.store import Store

    store = Store(load_config({"DATA_DIR": str(data)}))
    try:
        with store.read() as s:
            trail = [(e.actor, e.action) for e in store.audit_events(s, 1, object_type="release",
                                                                     object_id=values["RELEASE_ID"])]
            comments = [r.comment for r in s.query(Review).all()]
    finally:
        store.dispose()
    for reviewer in ("rita", "raj"):
        read = trail.index((reviewer, "release.report_read"))
        assert any(a == reviewer and act.startswith("release.approve") for a, act in trail[read:]), trail
    assert len(comments) == 2 and all("Automated demo approval" in c and "Not a real sign-off" in c for c in comments)
    assert not any("Checked the disclosure report" in c for c in comments)
