"""The OpenAPI document as a contract (issue 16): the vocabularies are the ones the code defines, every
operation declares its responses with their schemas (no catch-all), errors have the one shape, and times carry
their zone. test_api_fuzz.py checks the responses against it; these check the document itself."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from service.governance.permissions import ROLES
from service.governance.states import STATES
from service.governance.workflow import DECISIONS
from synth.bundle import KINDS
from synth.disclosure.profiles import PROFILES
from synth.models import GENERATORS
from tests.service.conftest import close_env, make_env


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    env = make_env(tmp_path_factory.mktemp("svc_contract"), "sqlite")
    yield env.client.get("/api/v1/openapi.json").get_json()
    close_env(env)


def _schema(doc, name: str) -> dict:
    return doc["components"]["schemas"][name]


def _enum(doc, schema: str, prop: str) -> list:
    return _schema(doc, schema)["properties"][prop]["enum"]


def test_the_vocabularies_are_the_ones_the_code_defines(doc):
    assert _enum(doc, "ModelCreate", "generator") == list(GENERATORS)
    assert _enum(doc, "ReleaseCreate", "profile") == list(PROFILES) == _enum(doc, "ReleaseAmend", "profile")
    assert _enum(doc, "ReleaseCreate", "kind") == list(KINDS) == _enum(doc, "Release", "kind")
    assert _enum(doc, "Release", "state") == list(STATES)
    assert _enum(doc, "ReviewCreate", "decision") == list(DECISIONS) == _enum(doc, "Review", "decision")
    assert _enum(doc, "User", "role") == list(ROLES)
    state = next(p for p in doc["paths"]["/api/v1/releases"]["get"]["parameters"] if p["name"] == "state")
    assert state["schema"]["enum"] == list(STATES)


def _operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "patch", "put", "delete"):
                yield f"{method.upper()} {path}", op


def test_every_operation_declares_its_responses_with_schemas(doc):
    errors_ref = "#/components/schemas/Error"
    for label, op in _operations(doc):
        responses = op["responses"]
        assert "default" not in responses, label  # a catch-all would let any status pass
        success = [code for code in responses if code.startswith("2")]
        assert success, label
        for code in success:
            content = responses[code].get("content", {})
            assert code == "204" or content, (label, code)
            if "application/json" in content and not label.endswith(("/manifest", "/files/{name}", "/report")):
                schema = content["application/json"]["schema"]
                assert "$ref" in schema or schema.get("items", {}).get("$ref"), (label, code, schema)
        for code, response in responses.items():
            if code[0] in "45":
                assert response["content"]["application/json"]["schema"]["$ref"] == errors_ref, (label, code)
        if label != "GET /api/v1/health":
            assert {"401", "429"} <= set(responses), label


def test_release_responses_are_documented(doc):
    item = doc["paths"]["/api/v1/releases/{release_id}"]
    assert item["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Release")
    assert item["patch"]["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ReleaseAccepted")
    reviews = doc["paths"]["/api/v1/releases/{release_id}/reviews"]["post"]["responses"]
    assert reviews["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/Release")
    release = _schema(doc, "Release")["properties"]
    assert {"requester", "purpose", "recipients", "reviews", "approvals", "links"} <= set(release)
    assert release["published_at"]["format"] == "date-time"


def test_the_error_shape_is_ok_status_error_and_an_object_of_errors(doc):
    error = _schema(doc, "Error")
    assert set(error["properties"]) == {"ok", "status", "error", "errors"}
    assert set(error["required"]) == {"ok", "status", "error"}
    assert error["properties"]["errors"]["type"] == "object"
    assert error["properties"]["ok"]["enum"] == [False]


def test_times_carry_their_zone(tmp_path):
    env = make_env(tmp_path, "sqlite")
    try:
        body = env.client.get("/api/v1/users", headers=env.h("admin")).get_json()
        times = [u["created_at"] for u in body] + [u["token_expires_at"] for u in body]
    finally:
        close_env(env)
    assert times and all(re.search(r"(\+00:00|Z)$", t) for t in times), times
    assert all(datetime.fromisoformat(t).utcoffset().total_seconds() == 0 for t in times)
