"""Bad requests: each a 4xx in the one error shape, with a message that says what to do, and
nothing stored."""

import io
import json
import zipfile
from datetime import timedelta

import pytest

from service.orm import User, now
from tests.conftest import BAD_FILES
from tests.service.conftest import BACKENDS, assert_error_shape, close_env, make_env


def nothing_stored(env) -> None:
    assert env.client.get("/api/v1/datasets", headers=env.h("owner")).get_json() == []
    assert not any((env.data_dir / "uploads").iterdir())
    assert not any((env.data_dir / "tmp").iterdir())


def post_file(env, name: str, data: bytes, as_user: str = "owner"):
    return env.client.post("/api/v1/datasets", headers=env.h(as_user), data={"name": "x", "file": (io.BytesIO(data),
                                                                                                    name)},
                           content_type="multipart/form-data")


@pytest.mark.parametrize("name,message", [
    ("wrong_headers.csv", "wrong_headers.csv: no Annex A header row"),
    ("corrupt.xlsx", "damaged"),
    ("password_protected.xlsx", "password-protected"),
    ("wrong_encoding.csv", "not UTF-8"),
    ("missing_key_column.csv", "no list's date column"),
])
def test_unreadable_or_foreign_uploads_are_refused(fresh, name, message):
    body = assert_error_shape(post_file(fresh, name, (BAD_FILES / name).read_bytes()), 422)
    assert message in body["error"]
    nothing_stored(fresh)


def test_a_zip_bomb_disguised_as_a_workbook_is_refused(fresh):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * (60 * 1024 * 1024))
    body = assert_error_shape(post_file(fresh, "annex_a.xlsx", buf.getvalue()), 422)
    assert "zip bomb" in body["error"]
    nothing_stored(fresh)


def test_uploads_over_the_size_limit_are_refused(tmp_path):
    env = make_env(tmp_path, "sqlite")
    env.app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    env.app.config["FRONTDOOR"]["MAX_UPLOAD_MB"] = 1
    try:
        body = assert_error_shape(post_file(env, "big.csv", b"a,b\n" * 400_000), 413)
        assert "1 MB" in body["error"]
        nothing_stored(env)
    finally:
        close_env(env)


def test_wrong_content_types_and_file_types(fresh):
    assert_error_shape(fresh.client.post("/api/v1/datasets", headers=fresh.h("owner"), json={"name": "x"}), 415)
    body = assert_error_shape(post_file(fresh, "notes.txt", b"hello"), 415)
    assert ".xlsx" in body["error"]
    assert_error_shape(fresh.client.post("/api/v1/datasets", headers=fresh.h("owner"), data={"name": "x"},
                                         content_type="multipart/form-data"), 422)
    nothing_stored(fresh)


def test_malformed_json_and_missing_fields(fresh):
    assert_error_shape(fresh.client.post("/api/v1/models", headers={**fresh.h("owner"), "Content-Type":
                                                                    "application/json"}, data="{not json"), 400)
    body = assert_error_shape(fresh.client.post("/api/v1/releases", headers=fresh.h("owner"), json={"children": "many"}),
                              422)
    assert {"model_id", "children", "purpose", "recipients"} <= set(body["errors"])
    body = assert_error_shape(fresh.client.post("/api/v1/models", headers=fresh.h("owner"),
                                                json={"dataset_id": "x", "generator": "gan"}), 422)
    assert "generator" in body["errors"]


def test_unknown_ids_and_illegal_transitions(fresh):
    for path in ("/api/v1/datasets/nope", "/api/v1/models/nope", "/api/v1/releases/nope", "/api/v1/jobs/nope"):
        assert_error_shape(fresh.client.get(path, headers=fresh.h("admin" if "jobs" in path else "owner")), 404)
    assert_error_shape(fresh.client.post("/api/v1/releases/nope/publish", headers=fresh.h("owner")), 404)
    assert_error_shape(fresh.client.post("/api/v1/models", headers=fresh.h("owner"), json={"dataset_id": "nope"}), 404)
    assert_error_shape(fresh.client.get("/api/v1/nothing-here", headers=fresh.h("owner")), 404)
    assert_error_shape(fresh.client.delete("/api/v1/releases/nope", headers=fresh.h("owner")), 405)


def test_missing_wrong_and_expired_tokens(fresh):
    assert "Bearer" in assert_error_shape(fresh.client.get("/api/v1/releases"), 401)["error"]
    assert_error_shape(fresh.client.get("/api/v1/releases", headers={"Authorization": "Bearer fd_wrong"}), 401)
    assert_error_shape(fresh.client.get("/api/v1/releases", headers={"Authorization": "Basic abc"}), 401)
    with fresh.store.write() as s:
        s.get(User, fresh.users["dev"]).token_expires_at = now() - timedelta(days=1)
    body = assert_error_shape(fresh.client.get("/api/v1/releases", headers=fresh.h("dev")), 401)
    assert "expired" in body["error"]


def test_openapi_document_lists_the_api(fresh):
    doc = fresh.client.get("/api/v1/openapi.json").get_json()
    paths = set(doc["paths"])
    for p in ("/api/v1/datasets", "/api/v1/datasets/{dataset_id}", "/api/v1/jobs/{job_id}", "/api/v1/models",
              "/api/v1/releases", "/api/v1/releases/{release_id}", "/api/v1/releases/{release_id}/reviews",
              "/api/v1/releases/{release_id}/publish", "/api/v1/releases/{release_id}/withdraw",
              "/api/v1/releases/{release_id}/bundle", "/api/v1/releases/{release_id}/files/{name}",
              "/api/v1/releases/{release_id}/manifest", "/api/v1/audit", "/api/v1/health"):
        assert p in paths, p
    assert json.dumps(doc)


def test_the_api_and_the_cli_give_one_error_shape(fresh, tmp_path):
    """`errors` is an object in both: the API's names the fields, the CLI's holds its input files' problems under
    'input'; both are valid against the OpenAPI document's Error schema."""
    import jsonschema

    from tests.conftest import Cli

    error_schema = fresh.client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Error"]
    api = assert_error_shape(fresh.client.post("/api/v1/releases", headers=fresh.h("owner"), json={"children": "x"}),
                             422)
    code, cli = Cli().json("ingest", BAD_FILES / "all_rows_bad.csv", "--out", tmp_path / "ds")
    assert code == 2 and set(cli) <= {"ok", "status", "error", "errors"}
    for body in (api, cli):
        jsonschema.validate(body, error_schema)
        assert isinstance(body["errors"], dict) and body["errors"]
    assert {"children", "model_id"} <= set(api["errors"])
    assert cli["errors"]["input"] and all({"file", "row", "column", "message"} <= set(e) for e in cli["errors"]["input"])
    with pytest.raises(jsonschema.ValidationError):  # the CLI's old shape, a list, is not the one shape
        jsonschema.validate({"ok": False, "status": 2, "error": "x", "errors": cli["errors"]["input"]}, error_schema)


def test_query_numbers_beyond_the_databases_integers_are_refused(fresh):
    """Found by fuzzing: an audit offset past 64 bits reached SQLite and was a 500."""
    body = assert_error_shape(fresh.client.get(f"/api/v1/audit?offset={10**30}", headers=fresh.h("admin")), 422)
    assert "offset" in body["errors"]
    assert fresh.client.get(f"/api/v1/audit?offset={2**63 - 1}", headers=fresh.h("admin")).status_code == 200


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "rq"])
def test_nul_characters_are_refused_wherever_text_is_read(tmp_path, backend):
    """Found by fuzzing on PostgreSQL, whose text cannot hold NUL: a query filter, a body field or an id with one
    was a 500. Now a 422 naming the field (a 404 for an id in the address), on every backend."""
    env = make_env(tmp_path, backend)
    try:
        h = env.h("admin")
        body = assert_error_shape(env.client.get("/api/v1/audit?actor=a%00b", headers=h), 422)
        assert set(body["errors"]) == {"actor"}
        body = assert_error_shape(env.client.post("/api/v1/releases", headers=env.h("owner"), json={
            "model_id": "m\x00", "children": 10, "purpose": "p", "recipients": "r"}), 422)
        assert set(body["errors"]) == {"model_id"}
        for path in ("/api/v1/releases/ab%00cd", "/api/v1/jobs/ab%00cd", "/api/v1/datasets/ab%00cd"):
            assert_error_shape(env.client.get(path, headers=h), 404)
        body = assert_error_shape(env.client.post("/api/v1/datasets", headers=env.h("owner"), data={
            "name": "x\x00"}, content_type="multipart/form-data"), 422)
        assert set(body["errors"]) == {"name"}
        assert env.client.get("/api/v1/audit?actor=ab", headers=h).status_code == 200
    finally:
        close_env(env)
