"""A developer downloads every file of a published release through the API and gets it with its own content type
(issue 15): the XES log as XML, never as an unnamed `application/octet-stream`, so a browser or a process-mining
tool opens it as what it is. The expected types are written out here, one per file of a synthetic bundle, so a
file the table does not know (and so served as octet-stream) fails."""

from __future__ import annotations

import json

import pytest
from lxml import etree

from tests.factories import Stored
from tests.service.conftest import close_env, make_env

# What each file is served as: RFC 4180 CSV, RFC 8259 JSON (the OCEL 2.0 log and the map's JSON Schema are JSON
# documents; the schema's own `application/schema+json` is not registered with IANA), RFC 7763 Markdown, HTML,
# and RFC 7303 XML for the IEEE 1849 XES log (the standard registers no media type of its own; XES files are
# served as XML). Text types carry their charset (werkzeug adds utf-8); application/json is UTF-8 by definition.
EXPECTED = {
    "children.csv": "text/csv; charset=utf-8",
    "episodes.csv": "text/csv; charset=utf-8",
    "events.csv": "text/csv; charset=utf-8",
    "journey_values.csv": "text/csv; charset=utf-8",
    "map.json": "application/json",
    "layout.json": "application/json",
    "map.schema.json": "application/json",
    "disclosure_report.json": "application/json",
    "events.ocel.json": "application/json",
    "events.xes": "application/xml; charset=utf-8",
    "map_fields.md": "text/markdown; charset=utf-8",
    "README.md": "text/markdown; charset=utf-8",
    "disclosure_report.html": "text/html; charset=utf-8",
}


@pytest.fixture(scope="module")
def svc(tmp_path_factory, built):
    """A service holding, as rows, a synthetic release of owner's published after two approvals: the built one,
    its bundle as the real build wrote it."""
    env = make_env(tmp_path_factory.mktemp("svc_filetypes"), "sqlite")
    try:
        u = env.users
        yield env, Stored(env.store).release("published", u["owner"], reviewers=(u["rev1"], u["rev2"]), built=built).id
    finally:
        close_env(env)


@pytest.mark.slow
def test_every_file_of_a_release_is_served_with_its_content_type(svc):
    env, rel = svc
    manifest = env.client.get(f"/api/v1/releases/{rel}/manifest", headers=env.h("dev")).get_json()
    names = set(manifest["frontdoor"]["files"])
    assert names == set(EXPECTED), names ^ set(EXPECTED)
    got = {}
    for name in sorted(names):
        r = env.client.get(f"/api/v1/releases/{rel}/files/{name}", headers=env.h("dev"))
        assert r.status_code == 200, name
        got[name] = r.headers["Content-Type"]
        if name.endswith(".json"):
            json.loads(r.data)
    assert got == EXPECTED
    manifest_type = env.client.get(f"/api/v1/releases/{rel}/manifest", headers=env.h("dev")).headers["Content-Type"]
    assert manifest_type == "application/json"


@pytest.mark.slow
def test_the_xes_log_is_xml_in_the_charset_its_content_type_names(svc):
    env, rel = svc
    r = env.client.get(f"/api/v1/releases/{rel}/files/events.xes", headers=env.h("dev"))
    assert r.mimetype == "application/xml" and r.mimetype_params == {"charset": "utf-8"}
    doc = etree.fromstring(r.data)
    assert doc.tag == "log" and etree.ElementTree(doc).docinfo.encoding.lower() == "utf-8"


@pytest.mark.slow
def test_the_api_document_declares_the_xml_type_for_release_files(svc):
    env, _ = svc
    spec = env.client.get("/api/v1/openapi.json").get_json()
    content = spec["paths"]["/api/v1/releases/{release_id}/files/{name}"]["get"]["responses"]["200"]["content"]
    assert "application/xml" in content
