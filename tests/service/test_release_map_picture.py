"""The reviewer's picture of a release's map (service/web/map_picture.py), as a reviewer's browser draws it: the
release page served over real HTTP, signed in through the login form, read in headless Chromium (issue 15.3:
the stage positions are the viewer's, and the picture must be readable)."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.factories import Stored
from tests.service.conftest import close_env, make_env

pytestmark = pytest.mark.slow

READ_PICTURE = """
const svg = document.querySelector('svg[role=img]');
if (!svg) return null;
const box = r => ({left: r.left, top: r.top, right: r.right, bottom: r.bottom});
const texts = Array.from(svg.querySelectorAll('text'));
return {svg: box(svg.getBoundingClientRect()),
        circles: Array.from(svg.querySelectorAll('circle')).map(c => box(c.getBoundingClientRect())),
        names: texts.filter(t => t.querySelector('tspan')).map(t => ({text: t.textContent, ...box(t.getBoundingClientRect())})),
        counts: texts.filter(t => !t.querySelector('tspan')).map(t => ({text: t.textContent, ...box(t.getBoundingClientRect())})),
        lines: svg.querySelectorAll('line').length,
        scroll: document.scrollingElement.scrollWidth <= innerWidth};
"""


def _meet(a: dict, b: dict, slack: float = 1.0) -> bool:
    return (min(a["right"], b["right"]) - max(a["left"], b["left"]) > slack
            and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack)


def _inside(a: dict, outer: dict) -> bool:
    return a["left"] >= outer["left"] - 1 and a["right"] <= outer["right"] + 1 and a["top"] >= outer["top"] - 1 \
        and a["bottom"] <= outer["bottom"] + 1


@pytest.fixture(scope="module")
def release_page(tmp_path_factory, built):
    """A service with a published release (the built one's real bundle), over HTTP on a free port."""
    env = make_env(tmp_path_factory.mktemp("map_picture"), "sqlite")
    u = env.users
    rel = Stored(env.store).release("published", u["owner"], reviewers=(u["rev1"], u["rev2"]), built=built).id
    server = make_server("127.0.0.1", 0, env.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield env, f"http://127.0.0.1:{server.server_port}", rel
    finally:
        server.shutdown()
        close_env(env)


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_the_reviewer_sees_every_stage_named_clear_of_the_others_on_the_release_page(release_page, size):
    from tests.viewer.conftest import chrome, wait_for

    env, base, rel = release_page
    driver = chrome()
    try:
        driver.set_window_size(*size)
        driver.get(f"{base}/login")
        driver.find_element("id", "token").send_keys(env.tokens["rev1"])
        driver.find_element("css selector", "form button, form input[type=submit]").click()
        # signed in once the form's answer has sent us on (leaving sooner would drop the session cookie)
        wait_for(driver, "return location.pathname !== '/login' && document.readyState === 'complete'", 20)
        driver.get(f"{base}/releases/{rel}")
        picture = wait_for(driver, READ_PICTURE, 20)
    finally:
        driver.quit()
    with env.store.read() as s:
        from service.orm import Release

        r = s.get(Release, rel)
        bundle = env.store.bundle_path(r.id)
    import json
    import zipfile

    with zipfile.ZipFile(bundle) as zf:
        view = json.loads(zf.read("map.json"))["views"]["all"]
    assert len(picture["circles"]) == len(view["nodes"]) and picture["lines"] == len(view["edges"])
    assert picture["scroll"]  # no sideways scrolling
    svg = picture["svg"]
    assert svg["right"] - svg["left"] > 500
    names, counts, circles = picture["names"], picture["counts"], picture["circles"]
    assert len(names) == len(view["nodes"])
    assert all(_inside(t, svg) for t in names + counts + circles), "a stage or its name is cut off"
    clashes = [(a["text"], b["text"]) for i, a in enumerate(names + counts) for b in (names + counts)[i + 1:]
               if _meet(a, b)]
    clashes += [(t["text"], "a station") for t in names + counts for c in circles if _meet(t, c)]
    assert clashes == [], clashes
