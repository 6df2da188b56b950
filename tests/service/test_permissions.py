"""Every role against every endpoint: deny unless allowed."""

import pytest

from tests.factories import Stored
from tests.service.conftest import BACKENDS, close_env, make_env

ALLOWED = {  # endpoint -> roles that get a 2xx (others get 401/403/404/409 in the one error shape)
    ("GET", "/api/v1/datasets"): {"owner", "owner2", "admin"},  # owner2 gets their own (none)
    ("GET", "/api/v1/datasets/{dataset}"): {"owner", "admin"},
    ("GET", "/api/v1/models"): {"owner", "owner2", "admin", "rev1"},
    ("GET", "/api/v1/models/{model}"): {"owner", "admin", "rev1"},
    ("GET", "/api/v1/releases"): {"owner", "admin", "rev1", "dev", "owner2"},
    ("GET", "/api/v1/releases/{release}"): {"owner", "admin", "rev1", "dev", "owner2"},
    ("GET", "/api/v1/releases/{release}/report"): {"owner", "admin", "rev1"},
    ("GET", "/api/v1/releases/{release}/bundle"): {"owner", "admin", "rev1", "dev", "owner2"},
    ("GET", "/api/v1/releases/{release}/manifest"): {"owner", "admin", "rev1", "dev", "owner2"},
    ("GET", "/api/v1/releases/{release}/files/map.json"): {"owner", "admin", "rev1", "dev", "owner2"},
    ("GET", "/api/v1/audit"): {"admin", "rev1"},
    ("POST", "/api/v1/models"): set(),  # only data owners, and this body names another owner's dataset
    ("POST", "/api/v1/releases/{release}/reviews"): set(),  # already published: nobody may review now
    ("GET", "/api/v1/health"): {"owner", "owner2", "admin", "rev1", "dev", None},
}
USERS = ("owner", "owner2", "rev1", "dev", "admin", None)


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory, built):
    """A service per backend holding, as rows, a ready dataset of owner's, a ready model on it and a release of
    that model published after rev1's and rev2's approvals, with the built release's real bundle and reports."""
    env = make_env(tmp_path_factory.mktemp(f"permissions_{request.param}"), request.param)
    try:
        stored, u = Stored(env.store), env.users
        ds = stored.dataset(u["owner"])
        m = stored.model(u["owner"], ds.id)
        rel = stored.release("published", u["owner"], reviewers=(u["rev1"], u["rev2"]), model_id=m.id, built=built)
        yield env, {"dataset": ds.id, "model": m.id, "release": rel.id}
    finally:
        close_env(env)


@pytest.mark.parametrize("endpoint", list(ALLOWED), ids=lambda e: f"{e[0]} {e[1]}")
def test_permission_matrix(world, endpoint):
    env, ids = world
    method, template = endpoint
    path = template.format(**ids)
    for name in USERS:
        headers = env.h(name) if name else {}
        body = {"dataset_id": ids["dataset"]} if path.endswith("/models") else {"decision": "approve"}
        r = env.client.open(path, method=method, headers=headers, json=body if method == "POST" else None)
        expected_ok = name in ALLOWED[endpoint] or (name is None and "health" in path)
        if method == "POST" and path.endswith("/models") and name == "owner":
            expected_ok = True  # the dataset's owner may train on it
        if expected_ok:
            assert r.status_code < 300, (name, path, r.get_json())
        else:
            assert r.status_code in (401, 403, 404, 409), (name, path, r.status_code)
            body = r.get_json()
            assert body["ok"] is False and body["status"] == r.status_code


def test_developers_see_no_datasets_and_no_unpublished_releases(fresh):
    env = fresh
    assert env.client.get("/api/v1/datasets", headers=env.h("dev")).status_code == 403
    assert env.client.get("/api/v1/releases", headers=env.h("dev")).get_json()["releases"] == []
    assert env.client.get("/api/v1/releases?state=awaiting_review", headers=env.h("dev")).get_json()["releases"] == []


def test_another_owner_cannot_see_my_dataset(world):
    env, ids = world
    assert env.client.get(f"/api/v1/datasets/{ids['dataset']}", headers=env.h("owner2")).status_code == 404
    assert env.client.get("/api/v1/datasets", headers=env.h("owner2")).get_json() == []
