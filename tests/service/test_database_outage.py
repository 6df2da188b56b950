"""The database briefly out of reach: requests get 503 with Retry-After and a message saying so (never a 500
"internal error"), and the service works again by itself once the database is back. Real PostgreSQL behind a
real TCP relay that the test cuts and restores."""

from __future__ import annotations

import socket
import threading

import pytest

from service import create_app
from tests.service.conftest import PG_URL, _fresh_postgres, assert_error_shape

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (FRONTDOOR_TEST_DATABASE_URL), as .ci/run sets")


class Relay:
    """Forwards a local port to PostgreSQL; `cut` closes the port and every connection through it."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = None
        self.conns: list[socket.socket] = []
        self.listener = None

    def start(self) -> Relay:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port or 0))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(50)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept (close alone does not)
        except OSError:
            pass
        self.listener.close()
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.conns.clear()


def test_a_database_outage_is_a_503_and_the_service_recovers(tmp_path):
    from urllib.parse import urlsplit

    direct = _fresh_postgres()
    parts = urlsplit(direct)
    relay = Relay((parts.hostname, parts.port or 5432)).start()
    url = direct.replace(f"@{parts.hostname}:{parts.port}", f"@127.0.0.1:{relay.port}")
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": url, "PSEUDONYM_KEY": "p" * 40,
                      "TESTING": True})
    store = app.extensions["frontdoor"].store
    with store.write() as s:
        _, token = store.add_user(s, "ada", "admin")
    client, h = app.test_client(), {"Authorization": f"Bearer {token}"}
    try:
        assert client.get("/api/v1/users", headers=h).status_code == 200
        relay.cut()
        down = client.get("/api/v1/users", headers=h)
        body = assert_error_shape(down, 503)
        assert "database cannot be reached" in body["error"] and down.headers["Retry-After"] == "5"
        relay.start()  # the same port again
        assert client.get("/api/v1/users", headers=h).status_code == 200
    finally:
        relay.cut()
        app.extensions["frontdoor"].runner.shutdown()
        store.dispose()
