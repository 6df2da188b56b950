"""`make run` on a machine where its port is taken says so, naming the port and how to choose another,
instead of printing tokens for a service that never answers; a service that dies shows its last log lines."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from service.demo import DemoError, _Watched


def test_the_demo_refuses_a_port_that_is_in_use(tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "service.cli", "demo", "--port", str(port), "--data-dir",
                               str(tmp_path / "svc"), "--no-keep-running"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert f"port {port} is in use" in done.stderr and "DEMO_PORT" in done.stderr, done.stderr
    assert "TOKEN" not in done.stdout.upper()


def test_a_dead_service_is_reported_with_its_last_log_lines(tmp_path):
    log = tmp_path / "service.log"
    log.write_text("".join(f"line {i}\n" for i in range(40)) + "OSError: [Errno 98] Address already in use\n")
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    with pytest.raises(DemoError) as caught:
        _Watched(proc, "service", log).check()
    message = caught.value.message
    assert "the service stopped (exit 3)" in message and "Address already in use" in message
    assert "line 39" in message and "line 5\n" not in message
