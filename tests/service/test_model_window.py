"""The extract window a council declares when it trains: required with epsilon (a window read off the
records would reveal real dates), checked when the request is made, stored on the model, shown, and
trained on; and the migration that adds it to the models table."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.service.conftest import BACKENDS, PG_URL, _fresh_postgres, assert_error_shape, close_env, make_env, upload

WINDOW = {"window_start": "2021-04-01", "window_end": "2025-03-31"}  # the fixture council's extract (public)


@pytest.fixture(scope="module", params=BACKENDS)
def svc(request, tmp_path_factory, council_file):
    """A service with one ingested dataset, per backend."""
    env = make_env(tmp_path_factory.mktemp(f"svc_window_{request.param}"), request.param)
    try:
        r = upload(env, council_file)
        assert r.status_code == 202, r.get_json()
        assert env.wait(r.get_json()["job"]["id"])["status"] == "succeeded"
        yield env, r.get_json()["dataset"]["id"]
    finally:
        close_env(env)


def models(env) -> list[dict]:
    return env.client.get("/api/v1/models", headers=env.h("owner")).get_json()


def train(env, **body):
    return env.client.post("/api/v1/models", headers=env.h("owner"), json=body)


@pytest.mark.parametrize("window,message", [
    ({}, "declare the extract window (window_start and window_end"),
    ({"window_start": "2021-04-01"}, "both ends of the extract window (window_start and window_end)"),
    ({"window_end": "2025-03-31"}, "both ends of the extract window (window_start and window_end)"),
    ({"window_start": "2025-03-31", "window_end": "2021-04-01"}, "must end after it starts"),
])
def test_private_training_without_a_whole_declared_window_is_refused(svc, window, message):
    env, ds = svc
    before = len(models(env))
    body = assert_error_shape(train(env, dataset_id=ds, epsilon=1.0, **window), 422)
    assert message in body["error"]
    assert len(models(env)) == before  # refused at request time: no model, no job


def test_a_window_that_is_not_dates_is_refused_by_field(svc):
    env, ds = svc
    body = assert_error_shape(train(env, dataset_id=ds, epsilon=1.0, window_start="April 2021",
                                    window_end="2025-03-31"), 422)
    assert "window_start" in body["errors"]


def test_a_declared_window_is_stored_returned_and_trained_on(svc):
    from synth.models import load_model

    env, ds = svc
    r = train(env, dataset_id=ds, epsilon=1.0, **WINDOW)
    assert r.status_code == 202, r.get_json()
    model = r.get_json()["model"]
    assert (model["window_start"], model["window_end"]) == (WINDOW["window_start"], WINDOW["window_end"])
    job = env.wait(r.get_json()["job"]["id"])
    assert job["status"] == "succeeded", job
    got = env.client.get(f"/api/v1/models/{model['id']}", headers=env.h("owner")).get_json()
    assert got["status"] == "ready" and got["privacy"]["epsilon"] == 1.0
    assert {k: got[k] for k in WINDOW} == WINDOW
    fitted = load_model(env.store.model_path(model["id"]), env.store.signing_key())
    assert fitted.window.to_dict() == {"start": WINDOW["window_start"], "end": WINDOW["window_end"]}


def test_without_epsilon_the_window_is_optional(svc):
    env, ds = svc
    r = train(env, dataset_id=ds)
    assert r.status_code == 202, r.get_json()
    assert r.get_json()["model"]["window_start"] is None and r.get_json()["model"]["window_end"] is None
    assert env.wait(r.get_json()["job"]["id"])["status"] == "succeeded"


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _web(env, name: str = "owner"):
    client = env.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert client.post("/login", data={"csrf_token": _csrf(page), "token": env.tokens[name]}).status_code == 302
    return client


def test_the_training_form_takes_the_window_and_the_model_page_shows_it(svc):
    env, ds = svc
    if env.backend != "sqlite":
        pytest.skip("the pages are the same on every backend")
    client = _web(env)
    page = client.get(f"/datasets/{ds}").get_data(as_text=True)
    assert 'type="date" id="window_start" name="window_start"' in page and 'name="window_end"' in page
    assert "Required with epsilon: the dates your extract covers" in page
    form = {"csrf_token": _csrf(page), "generator": "journey", "epsilon": "1"}
    r = client.post(f"/datasets/{ds}/train", data=form, follow_redirects=True)
    assert "window_start and window_end" in r.get_data(as_text=True)  # flashed on the dataset page
    r = client.post(f"/datasets/{ds}/train", data={**form, **WINDOW})
    assert r.status_code == 302 and "/jobs/" in r.headers["Location"]
    job_id = r.headers["Location"].rsplit("/", 1)[-1]
    assert env.wait(job_id)["status"] == "succeeded"
    model_id = env.client.get(f"/api/v1/jobs/{job_id}", headers=env.h("owner")).get_json()["target_id"]
    page = client.get(f"/models/{model_id}").get_data(as_text=True)
    assert "Extract window declared: 2021-04-01 to 2025-03-31." in page


def test_the_command_line_declares_the_window_with_epsilon(tmp_path, council_file, monkeypatch):
    from tests.conftest import Cli

    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", "p" * 40)
    cli, data, out = Cli(), tmp_path / "ds", tmp_path / "m.fdm"
    assert "required with --epsilon" in cli("train", "--help").output
    code, body = cli.json("train", data, "--epsilon", "1", "--out", out)
    assert code == 2 and "window_start and window_end" in body["error"] and not out.exists()
    assert cli("ingest", council_file, "--out", data).exit_code == 0
    code, body = cli.json("train", data, "--epsilon", "1", "--window-start", WINDOW["window_start"],
                          "--window-end", WINDOW["window_end"], "--out", out)
    assert code == 0, body
    assert body["window"] == {"start": WINDOW["window_start"], "end": WINDOW["window_end"]}
    assert {k: body["spec"][k] for k in WINDOW} == WINDOW


# -- the migration ------------------------------------------------------------------------------
def _alembic(url: str, conn):
    from alembic.config import Config

    from service.store import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["connection"] = conn
    return cfg


def _model_columns(engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("models")}


@pytest.mark.parametrize("backend", ["sqlite"] + (["postgres"] if PG_URL else []))
def test_the_window_migration_keeps_earlier_models_and_goes_back(tmp_path, backend):
    """Models trained before 0003 read their window off the data: they keep NULL windows."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'db.sqlite'}" if backend == "sqlite" else _fresh_postgres()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic(url, conn), "0002")
            conn.execute(sa.text("INSERT INTO users (id, name, role, token_hash, active, created_at) "
                                 "VALUES (1, 'o', 'data_owner', 'h', true, '2026-01-01')"))
            conn.execute(sa.text("INSERT INTO datasets (id, name, owner_id, status, files, created_at) "
                                 "VALUES ('d1', 'd', 1, 'ready', '[]', '2026-01-01')"))
            conn.execute(sa.text("INSERT INTO models (id, dataset_id, owner_id, generator, status, created_at) "
                                 "VALUES ('m1', 'd1', 1, 'journey', 'ready', '2026-01-01')"))
        with engine.begin() as conn:
            command.upgrade(_alembic(url, conn), "head")
        assert {"window_start", "window_end"} <= _model_columns(engine)
        with engine.begin() as conn:
            row = conn.execute(sa.text("SELECT window_start, window_end FROM models WHERE id = 'm1'")).one()
            assert tuple(row) == (None, None)
            conn.execute(sa.text("UPDATE models SET window_start = '2021-04-01', window_end = '2025-03-31'"))
        with engine.begin() as conn:
            command.downgrade(_alembic(url, conn), "0002")
        assert not {"window_start", "window_end"} & _model_columns(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM models")).scalar() == 1
    finally:
        engine.dispose()
