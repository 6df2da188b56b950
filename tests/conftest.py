"""Shared fixtures: a fixed pseudonym key, the CLI runner, and small fake councils."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main as frontdoor_cli

TEST_KEY = "test-pseudonym-key-0123456789abcdef0123456789"


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch):
    """Every test pseudonymises with a known key and never touches ~/.config."""
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", TEST_KEY)
    return TEST_KEY.encode()


class Cli:
    """Runs `frontdoor ...` in-process through its click entry point."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str | Path):
        return self.runner.invoke(frontdoor_cli, [str(a) for a in args], catch_exceptions=False)

    def json(self, *args: str | Path) -> tuple[int, dict]:
        result = self(*args, "--json")
        return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def cli() -> Cli:
    return Cli()


def _make_council(tmp_path_factory, name: str, *args: str) -> Path:
    out = tmp_path_factory.mktemp(name)
    result = Cli()("fixtures", "--out", out, *args)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def council_xlsx(tmp_path_factory) -> Path:
    """A fake council of 1,500 children as one Annex A workbook (folder holding annex_a.xlsx)."""
    return _make_council(tmp_path_factory, "council_xlsx", "--children", "1500", "--seed", "11")


@pytest.fixture(scope="session")
def dataset_dir(tmp_path_factory, council_xlsx) -> Path:
    """The 1,500-children council ingested."""
    import os

    os.environ.setdefault("FRONTDOOR_PSEUDONYM_KEY", TEST_KEY)
    out = tmp_path_factory.mktemp("dataset") / "ds"
    result = Cli()("ingest", council_xlsx / "annex_a.xlsx", "--out", out)
    assert result.exit_code == 0, result.output
    return out


MOORSIDE_CHILDREN, MOORSIDE_SEED = 3000, 17


@pytest.fixture(scope="session")
def moorside_csv(tmp_path_factory) -> Path:
    """Moorside (fixtures.moorside, the council made to differ from shire): 3,000 children as CSVs."""
    return _make_council(tmp_path_factory, "moorside_csv", "--council", "moorside", "--format", "csv",
                         "--children", str(MOORSIDE_CHILDREN), "--seed", str(MOORSIDE_SEED))


@pytest.fixture(scope="session")
def moorside_dataset_dir(tmp_path_factory, moorside_csv) -> Path:
    """The 3,000-children Moorside council ingested (its report is in the manifest)."""
    import os

    os.environ.setdefault("FRONTDOOR_PSEUDONYM_KEY", TEST_KEY)
    out = tmp_path_factory.mktemp("moorside_dataset") / "ds"
    result = Cli()("ingest", moorside_csv, "--out", out)
    assert result.exit_code == 0, result.output
    return out


BAD_FILES = Path(__file__).resolve().parents[1] / "fixtures" / "bad"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (fixtures can see whether the test failed)."""
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


# -- what this machine cannot run: said with a reason, never silently ---------------------------
def chromium_missing() -> str | None:
    """Why the browser tests cannot run here (None when they can): headless Chromium and its driver, at
    $CHROMIUM / $CHROMEDRIVER (default /usr/bin/chromium, /usr/bin/chromedriver; Debian's `chromium` and
    `chromium-driver` packages)."""
    wanted = {"Chromium": os.environ.get("CHROMIUM", "/usr/bin/chromium"),
              "chromedriver": os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")}
    missing = [f"{what} ({path})" for what, path in wanted.items() if not (Path(path).is_file() or shutil.which(path))]
    if not missing:
        return None
    return ("browser test skipped: " + " and ".join(missing) + " not found; install them (Debian: apt-get install "
            "chromium chromium-driver) or set CHROMIUM and CHROMEDRIVER")


def require_chromium() -> None:
    """Skip the calling test (or fixture) with the reason when Chromium cannot run here."""
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)


needs_chromium = pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or "")

SKIPPED_BACKENDS = {
    "FRONTDOOR_TEST_DATABASE_URL": "PostgreSQL: FRONTDOOR_TEST_DATABASE_URL is unset, so the service tests ran on "
                                   "SQLite only (their PostgreSQL and RQ variants were not collected)",
    "FRONTDOOR_TEST_REDIS_URL": "Redis: FRONTDOOR_TEST_REDIS_URL is unset, so the service tests' RQ-worker variants "
                                "were not collected",
}


def pytest_collection_modifyitems(config, items):
    config._frontdoor_dirs = {Path(str(item.path)).parent.name for item in items}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Say which parts of the suite this machine did not run, and why (.ci/run sets and installs them all)."""
    dirs = getattr(config, "_frontdoor_dirs", set())
    notes = [why for var, why in SKIPPED_BACKENDS.items() if "service" in dirs and not os.environ.get(var)]
    if dirs & {"web", "viewer", "service"} and chromium_missing():
        notes.append(chromium_missing())
    if notes:
        terminalreporter.write_sep("-", "not run on this machine")
        for note in notes:
            terminalreporter.write_line(note)
