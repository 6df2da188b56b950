"""The security review's findings (issue 17), each with the attack that used to work."""

from __future__ import annotations

import re

import pytest

from tests.factories import Stored
from tests.service.conftest import BACKENDS, close_env, make_env
from tests.service.conftest import page_csrf as _csrf
from tests.service.conftest import web_client as web


@pytest.mark.parametrize("target", ["/\t/evil.example/", "%2F%09%2Fevil.example%2F", "//evil.example", "/\\evil.example",
                                    "https://evil.example/", "/\n/evil.example", "\\\\evil.example", " //evil.example"])
def test_signing_in_never_redirects_to_another_site(fresh, target):
    env = fresh
    client = env.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    from urllib.parse import quote

    query = target if "%" in target else quote(target, safe="")
    r = client.post(f"/login?next={query}", data={"csrf_token": csrf, "token": env.tokens["owner"]})
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location in ("/", "http://localhost/"), location


def test_signing_in_keeps_a_path_on_this_site(fresh):
    env = fresh
    client = env.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login?next=%2Freleases%3Fstate%3Dpublished", data={"csrf_token": csrf,
                                                                         "token": env.tokens["owner"]})
    assert r.headers["Location"].endswith("/releases?state=published")


def test_signing_out_ends_the_session_even_for_a_copied_cookie(fresh):
    env = fresh
    client = web(env, "owner")
    assert client.get("/releases").status_code == 200
    copy = env.app.test_client()
    copy.set_cookie("frontdoor_session", client.get_cookie("frontdoor_session").value)
    assert copy.get("/releases").status_code == 200
    assert client.post("/logout", data={"csrf_token": _csrf(client)}).status_code == 302
    assert copy.get("/releases").status_code == 302  # to the sign-in page


def test_a_revoked_rotated_or_deactivated_token_stops_working_at_once(fresh, cli, monkeypatch):
    env = fresh
    h = env.h("dev")
    assert env.client.get("/api/v1/releases", headers=h).status_code == 200  # now kept by the token cache
    r = env.client.post("/api/v1/users/dev/token", headers=env.h("admin"), json={"action": "revoke"})
    assert r.status_code == 200 and r.get_json()["token"] is None
    assert env.client.get("/api/v1/releases", headers=h).status_code == 401
    r = env.client.post("/api/v1/users/dev/token", headers=env.h("admin"), json={"action": "rotate"})
    new = r.get_json()["token"]
    assert new.startswith("fd_") and env.client.get("/api/v1/releases", headers={
        "Authorization": f"Bearer {new}"}).status_code == 200
    assert env.client.get("/api/v1/releases", headers=h).status_code == 401
    # From the command line (another process: the users version file tells this one).
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(env.data_dir))
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", "p" * 40)
    assert cli("users", "deactivate", "dev").exit_code == 0
    assert env.client.get("/api/v1/releases", headers={"Authorization": f"Bearer {new}"}).status_code == 401
    assert cli("users", "activate", "dev").exit_code == 0
    assert env.client.get("/api/v1/releases", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    result = cli("users", "rotate", "dev")
    assert result.exit_code == 0 and result.output.strip().splitlines()[-1].startswith("fd_")
    actions = [e["action"] for e in env.client.get("/api/v1/audit?limit=500&object_type=user",
                                                   headers=env.h("admin")).get_json()["events"]]
    for action in ("user.token_revoked", "user.token_rotated", "user.deactivated", "user.activated"):
        assert action in actions


def test_only_admins_of_the_same_council_change_tokens(fresh):
    from tests.service.conftest import add_council

    env = fresh
    add_council(env, "other", "Other", "o_")
    for who in ("owner", "rev1", "dev"):
        r = env.client.post("/api/v1/users/dev/token", headers=env.h(who), json={"action": "revoke"})
        assert r.status_code == 403
    r = env.client.post("/api/v1/users/dev/token", headers=env.h("o_admin"), json={"action": "revoke"})
    assert r.status_code == 404
    assert env.client.get("/api/v1/releases", headers=env.h("dev")).status_code == 200
    names = {u["name"] for u in env.client.get("/api/v1/users", headers=env.h("o_admin")).get_json()}
    assert names == {"o_owner", "o_rev1", "o_rev2", "o_dev", "o_admin"}


def test_an_admin_rotates_a_token_on_the_users_page_and_sees_it_once(fresh):
    env = fresh
    client = web(env, "admin")
    page = client.post("/users", data={"csrf_token": _csrf(client), "name": "dev", "action": "rotate"})
    text = page.get_data(as_text=True)
    token = re.search(r"<code>(fd_[^<]+)</code>", text).group(1)
    assert env.client.get("/api/v1/releases", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in client.get("/users").get_data(as_text=True)


@pytest.fixture(scope="module", params=BACKENDS)
def published(request, tmp_path_factory, built):
    """A service per backend with one release published (a copy of the built one: its bundle and reports),
    requested by owner and approved by rev1 and rev2."""
    env = make_env(tmp_path_factory.mktemp(f"hardening_{request.param}"), request.param)
    try:
        u = env.users
        yield env, Stored(env.store).release("published", u["owner"], reviewers=(u["rev1"], u["rev2"]),
                                             built=built).id
    finally:
        close_env(env)


def test_the_release_page_shows_developers_and_other_owners_only_what_the_api_does(published):
    env, rel = published
    with env.store.read() as s:
        from service.orm import Release

        r = s.get(Release, rel)
        secrets = [r.purpose, r.recipients, "rev1", "rev2", "History", "Reviews"]
    owner = web(env, "owner").get(f"/releases/{rel}").get_data(as_text=True)
    assert all(x in owner for x in secrets[:4])  # the requester sees it all
    for who in ("dev", "owner2"):
        page = web(env, who).get(f"/releases/{rel}").get_data(as_text=True)
        assert f"Release {rel}" in page
        leaked = [x for x in secrets if x in page]
        assert not leaked, (who, leaked)


def test_failed_sign_ins_are_throttled_per_address(fresh):
    env = fresh
    limit = 10
    for _ in range(limit):
        assert env.client.get("/api/v1/releases", headers={"Authorization": "Bearer fd_guess"}).status_code == 401
    r = env.client.get("/api/v1/releases", headers={"Authorization": "Bearer fd_guess"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # The pages share the count: the address is refused there too, even with a good token.
    client = env.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"csrf_token": csrf, "token": env.tokens["owner"]})
    assert r.status_code == 429 and "Too many failed sign-ins" in r.get_data(as_text=True)
    # Another address is not affected.
    r = env.client.get("/api/v1/releases", headers=env.h("dev"), environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 200


def test_pages_and_api_answers_carry_security_headers(fresh):
    env = fresh
    api = env.client.get("/api/v1/releases", headers=env.h("dev"))
    assert api.headers["Cache-Control"] == "no-store"
    page = web(env, "owner").get("/datasets")
    assert page.headers["Cache-Control"] == "no-store"
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'none'" in csp and "frame-ancestors 'self'" in csp


def test_the_data_directory_and_uploads_are_private(fresh, council_file):
    import stat

    from tests.service.conftest import upload

    env = fresh
    r = upload(env, council_file)
    env.wait(r.get_json()["job"]["id"])
    assert stat.S_IMODE(env.data_dir.stat().st_mode) == 0o700
    for path in env.data_dir.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))


def test_the_errors_csv_cannot_run_a_formula(fresh):
    from service.orm import Dataset

    env = fresh
    with env.store.write() as s:
        s.add(Dataset(id="formulads0001", council_id=1, name="x", owner_id=env.users["owner"], status="failed",
                      files=[], report={"errors": [{"file": "a.csv", "sheet": "=HYPERLINK('http://evil')",
                                                    "row": 2, "column": "B", "message": "bad"}]}))
    text = web(env, "owner").get("/datasets/formulads0001/errors.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
