"""`frontdoor health`, the containers' HEALTHCHECK: healthy only when what the part needs answers."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import Cli


def _server(status: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def test_health_follows_the_address_it_is_given():
    up, down = _server(200), _server(503)
    try:
        ok = Cli()("health", "--url", f"http://127.0.0.1:{up.server_port}/api/v1/health")
        assert ok.exit_code == 0 and "healthy" in ok.output
        bad = Cli()("health", "--url", f"http://127.0.0.1:{down.server_port}/api/v1/health")
        assert bad.exit_code == 1 and "unhealthy" in bad.output
    finally:
        up.shutdown()
        down.shutdown()
    port = up.server_port  # closed now
    refused = Cli()("health", "--url", f"http://127.0.0.1:{port}/")
    assert refused.exit_code == 1 and "unhealthy" in refused.output


def test_a_worker_is_healthy_only_when_its_database_and_redis_answer(tmp_path, monkeypatch):
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FRONTDOOR_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("FRONTDOOR_REDIS_URL", raising=False)
    assert Cli()("health").exit_code == 1, "no database yet"
    assert Cli()("councils", "list").exit_code == 0  # creates and migrates the database
    assert Cli()("health").exit_code == 0
    monkeypatch.setenv("FRONTDOOR_REDIS_URL", "redis://127.0.0.1:1/0")
    result = Cli()("health")
    assert result.exit_code == 1 and "unhealthy" in result.output
