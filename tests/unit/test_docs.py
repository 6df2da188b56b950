"""The README's lists of settings, endpoints and states match the code."""

import re
from pathlib import Path

from service.config import DEFAULTS
from service.governance.states import STATES, TRANSITIONS, mermaid

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_state_diagram_is_the_transition_table():
    assert mermaid() in README


def test_every_state_can_be_reached_and_every_transition_is_documented():
    reached = {"draft"} | {t.target for t in TRANSITIONS}
    assert reached == set(STATES)


def test_settings_in_the_readme_exist():
    named = set(re.findall(r"`([A-Z_]+)` \(", README)) | set(re.findall(r"`(QUEUE|PUBLIC_URL|SECRET_KEY)`", README))
    assert named and named <= set(DEFAULTS)


def test_endpoints_in_the_readme_exist(tmp_path):
    from service import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "PSEUDONYM_KEY": "d" * 40})
    paths = set(app.test_client().get("/api/v1/openapi.json").get_json()["paths"])
    documented = {m.group(1) for m in re.finditer(r"`(?:GET|POST|PATCH|DELETE) (/[^` ]+)", README)}
    normalise = lambda p: re.sub(r"\{[^}]+\}", "{}", "/api/v1" + p)  # noqa: E731
    assert {normalise(p) for p in documented} <= {re.sub(r"\{[^}]+\}", "{}", p) for p in paths}
    app.extensions["frontdoor"].runner.shutdown()
