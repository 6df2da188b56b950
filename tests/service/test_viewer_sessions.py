"""The map viewer behind the service: `frontdoor view --sign-sessions` opens a page only for a session id
signed with the secret it shares with the service, and the service signs one only for a signed-in user
who may have the (published) release. Real HTTP to a real viewer, and a real browser through the link."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from service import create_app
from tests.factories import Stored
from tests.service.conftest import add_council, close_env, make_env, web_client
from tests.viewer.conftest import chrome, free_port, wait_for

SECRET = "viewer-secret-for-the-tests-0123456789abcdef"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, built):
    """A service configured with a viewer, a published release (owner's, approved by rev1 and rev2, rows written by
    tests.factories.Stored with the built release's real bundle), and the viewer on that release's bundle as a
    developer downloads it."""
    port = free_port()
    viewer_url = f"http://localhost:{port}/viewer/"
    old = {k: os.environ.get(k) for k in ("FRONTDOOR_VIEWER_URL", "FRONTDOOR_VIEWER_SECRET_KEY")}
    os.environ["FRONTDOOR_VIEWER_URL"], os.environ["FRONTDOOR_VIEWER_SECRET_KEY"] = viewer_url, SECRET
    env = make_env(tmp_path_factory.mktemp("viewer_sessions"), "sqlite")
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    u = env.users
    ds = Stored(env.store).dataset(u["owner"])
    m = Stored(env.store).model(u["owner"], ds.id)
    rel = Stored(env.store).release("published", u["owner"], reviewers=(u["rev1"], u["rev2"]), model_id=m.id,
                                    built=built)
    ids = {"dataset": ds.id, "model": m.id, "release": rel.id}
    bundle = tmp_path_factory.mktemp("viewer_bundle") / "release.zip"
    resp = env.client.get(f"/api/v1/releases/{ids['release']}/bundle", headers=env.h("dev"))
    assert resp.status_code == 200
    bundle.write_bytes(resp.data)
    proc = _start_viewer(bundle, port, {"FRONTDOOR_VIEWER_SECRET_KEY": SECRET})
    yield env, ids, viewer_url
    proc.terminate()
    proc.wait(timeout=10)
    close_env(env)


def _start_viewer(bundle: Path, port: int, extra_env: dict) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "view", "--bundle", str(bundle), "--port", str(port),
                             "--prefix", "/viewer", "--sign-sessions"], env={**os.environ, **extra_env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read()) from None
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("the viewer did not open its port")


def _signed_link(env, name: str, release_id: str):
    return web_client(env, name).get(f"/releases/{release_id}/viewer")


def test_the_viewer_refuses_pages_without_a_session_signed_by_the_service(deployment):
    from bokeh.util.token import generate_session_id

    _, _, viewer_url = deployment
    assert requests.get(viewer_url, timeout=30).status_code == 403
    unsigned = generate_session_id(signed=False)
    assert requests.get(viewer_url, params={"bokeh-session-id": unsigned}, timeout=30).status_code == 403
    forged = generate_session_id(secret_key=b"another-secret-0123456789abcdef0123456789", signed=True)
    assert requests.get(viewer_url, params={"bokeh-session-id": forged}, timeout=30).status_code == 403


def test_a_signed_in_user_is_sent_to_the_viewer_with_a_signed_session_and_it_is_audited(deployment):
    env, ids, viewer_url = deployment
    resp = _signed_link(env, "dev", ids["release"])
    assert resp.status_code == 302 and resp.headers["Location"].startswith(viewer_url + "?bokeh-session-id=")
    page = requests.get(resp.headers["Location"], timeout=60)
    assert page.status_code == 200 and "Bokeh" in page.text
    events = env.client.get("/api/v1/audit?limit=1000&action=release.viewer_opened", headers=env.h("admin")).get_json()
    assert any(e["object_id"] == ids["release"] for e in events["events"]), events
    release_page = web_client(env, "dev").get(f"/releases/{ids['release']}").get_data(as_text=True)
    assert f"/releases/{ids['release']}/viewer" in release_page


def test_no_signed_session_for_an_unpublished_release_or_another_councils_user(deployment):
    env, ids, _ = deployment
    u = env.users
    for state in ("checking", "awaiting_review", "approved"):  # approved by both reviewers, not yet published
        pending = Stored(env.store).release(state, u["owner"], model_id=ids["model"],
                                            reviewers=(u["rev1"], u["rev2"]) if state == "approved" else ()).id
        resp = _signed_link(env, "owner", pending)
        assert resp.status_code == 409 and "bokeh-session-id" not in resp.headers.get("Location", ""), state
    add_council(env, "E0000002", "Other council", "x")
    resp = _signed_link(env, "xdev", ids["release"])
    assert resp.status_code == 404 and "Location" not in resp.headers


@pytest.mark.slow
def test_the_link_opens_the_map_in_a_browser(deployment):
    env, ids, _ = deployment
    location = _signed_link(env, "dev", ids["release"]).headers["Location"]
    driver = chrome()
    try:
        driver.get(location)
        # The websocket is accepted too (its token carries the signed id): the document arrives and renders.
        assert wait_for(driver, "return window.Bokeh && Bokeh.documents.length > 0 && "
                                "Bokeh.documents[0].roots().length > 0", timeout=60)
    finally:
        driver.quit()


def test_a_service_refuses_a_short_viewer_secret(tmp_path):
    with pytest.raises(ValueError, match="VIEWER_SECRET_KEY"):
        create_app({"DATA_DIR": str(tmp_path), "VIEWER_SECRET_KEY": "short", "TESTING": True})
    with pytest.raises(ValueError, match="JOB_STALE_SECONDS"):
        create_app({"DATA_DIR": str(tmp_path), "JOB_STALE_SECONDS": 5, "TESTING": True})


def test_the_viewer_will_not_start_signed_without_its_secret(tmp_path):
    result = subprocess.run([sys.executable, "-m", "service.cli", "view", "--bundle", str(tmp_path / "x.zip"),
                             "--sign-sessions"], env={k: v for k, v in os.environ.items()
                                                      if k != "FRONTDOOR_VIEWER_SECRET_KEY"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "FRONTDOOR_VIEWER_SECRET_KEY" in result.stderr + result.stdout
