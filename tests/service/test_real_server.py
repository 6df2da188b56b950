"""The whole workflow once against a real running server (gunicorn over HTTP): `frontdoor demo`."""

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_takes_a_council_to_a_published_release_over_http(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = subprocess.run([sys.executable, "-m", "service.cli", "demo", "--port", str(port), "--children", "800",
                           "--data-dir", str(tmp_path / "svc"), "--no-keep-running"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "is published" in done.stdout
    env = dict(line.split("=", 1) for line in (tmp_path / "svc" / "demo.env").read_text().split())
    assert env["RELEASE_ID"]
