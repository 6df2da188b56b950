"""An admin adds a user on the Users page (as `frontdoor users add` does): the token is shown once and works at
once, the addition is audited, a taken name or an unknown role is refused, and only admins may add."""

from __future__ import annotations

import re

from tests.service.conftest import page_csrf, web_client


def _add(client, name: str, role: str):
    return client.post("/users", data={"csrf_token": page_csrf(client), "action": "add", "name": name, "role": role})


def test_an_admin_adds_a_user_whose_token_works_at_once(fresh):
    client = web_client(fresh, "admin")
    page = _add(client, "Nadia New", "reviewer").get_data(as_text=True)
    token = re.search(r"<code>(fd_[^<]+)</code>", page).group(1)
    me = fresh.client.get("/api/v1/releases", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    events = fresh.client.get("/api/v1/audit?limit=1000&action=user.added", headers=fresh.h("admin")).get_json()
    assert any(e["details"].get("role") == "reviewer" for e in events["events"]), events
    assert "Nadia New" in client.get("/users").get_data(as_text=True)


def test_a_taken_name_an_unknown_role_and_a_non_admin_are_refused(fresh):
    client = web_client(fresh, "admin")
    page = client.post("/users", data={"csrf_token": page_csrf(client), "action": "add", "name": "owner",
                                       "role": "reviewer"}, follow_redirects=True).get_data(as_text=True)
    assert "already exists" in page and "fd_" not in page
    page = client.post("/users", data={"csrf_token": page_csrf(client), "action": "add", "name": "Zed",
                                       "role": "superuser"}, follow_redirects=True).get_data(as_text=True)
    assert "unknown role" in page and "fd_" not in page
    owner = web_client(fresh, "owner")
    page = owner.post("/users", data={"csrf_token": page_csrf(owner), "action": "add", "name": "Sneaky",
                                      "role": "admin"}, follow_redirects=True).get_data(as_text=True)
    assert "fd_" not in page
    with fresh.store.read() as s:
        assert fresh.store.user_by_name(s, "Sneaky") is None and fresh.store.user_by_name(s, "Zed") is None
