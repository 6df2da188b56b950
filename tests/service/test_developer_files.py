"""A developer downloads the bundle's developer files through the API (issue 15, item 8): the map's schema
and field table, the OCEL 2.0 and XES logs, each with the checksum of the manifest, each valid, and the worked
example runs on the downloaded bundle."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import jsonschema
import pytest
from lxml import etree

from tests.factories import Stored
from tests.integration.test_bundle_exports import EXAMPLE, SCHEMAS, ocel_validator
from tests.service.conftest import assert_error_shape, close_env, make_env


@pytest.fixture(scope="module")
def svc(tmp_path_factory, built):
    """A service holding, as rows, a synthetic release of owner's published after two approvals: the built one,
    its bundle as the real build wrote it."""
    env = make_env(tmp_path_factory.mktemp("svc_devfiles"), "sqlite")
    try:
        u = env.users
        rel = Stored(env.store).release("published", u["owner"], reviewers=(u["rev1"], u["rev2"]), built=built)
        yield env, {"release": rel.id}
    finally:
        close_env(env)


@pytest.mark.slow
def test_a_developer_downloads_valid_developer_files_with_their_checksums(svc):
    env, ids = svc
    rel = ids["release"]
    manifest = env.client.get(f"/api/v1/releases/{rel}/manifest", headers=env.h("dev")).get_json()
    got = {}
    for name in ("map.json", "map.schema.json", "map_fields.md", "events.ocel.json", "events.xes"):
        r = env.client.get(f"/api/v1/releases/{rel}/files/{name}", headers=env.h("dev"))
        assert r.status_code == 200, name
        assert r.headers["ETag"] == f'"{manifest["frontdoor"]["files"][name]}"', name
        got[name] = r.data
    jsonschema.Draft202012Validator(json.loads(got["map.schema.json"])).validate(json.loads(got["map.json"]))
    assert "| `views.<view>.edges[].share` |" in got["map_fields.md"].decode()
    ocel_validator().validate(json.loads(got["events.ocel.json"]))
    xsd = etree.XMLSchema(etree.parse(str(SCHEMAS / "xes-ieee-1849-2016.xsd")))
    assert xsd.validate(etree.parse(io.BytesIO(got["events.xes"]))), str(xsd.error_log)
    assert_error_shape(env.client.get(f"/api/v1/releases/{rel}/files/events.xls", headers=env.h("dev")), 404)


@pytest.mark.slow
def test_the_worked_example_runs_on_a_bundle_downloaded_from_the_service(svc, tmp_path):
    env, ids = svc
    r = env.client.get(f"/api/v1/releases/{ids['release']}/bundle", headers=env.h("dev"))
    assert r.status_code == 200
    (tmp_path / "release.zip").write_bytes(r.data)
    done = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path / "release.zip"), "--out",
                           str(tmp_path / "flows.html")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert ids["release"] in (tmp_path / "flows.html").read_text()
