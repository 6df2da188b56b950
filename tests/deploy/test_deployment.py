"""The deployment files: the Dockerfile passes hadolint (and hadolint would catch a bad one), the package
as the image installs it carries every file the code reads, and compose.yaml runs the parts the design
names with the viewer kept away from the data. Docker itself does not run on the build machine."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _hadolint(path: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    return subprocess.run([exe, "--no-color", str(path)], capture_output=True, text=True, timeout=60)


def test_the_dockerfile_passes_hadolint():
    result = _hadolint(ROOT / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_dockerfile_with_the_usual_mistakes(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nRUN cd /app && pip install x\n")
    result = _hadolint(bad)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3008", "DL3003", "DL3013"):  # :latest, unpinned apt, cd in RUN, unpinned pip
        assert rule in result.stdout, result.stdout


def test_the_image_runs_unprivileged_with_a_health_check_and_no_build_tools():
    text = (ROOT / "Dockerfile").read_text()
    stages = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(stages) >= 2, "multi-stage: the run stage copies the virtualenv only"
    run_stage = text[text.rindex("\nFROM "):]
    assert "COPY --from=build /opt/frontdoor /opt/frontdoor" in run_stage
    assert "\nUSER 10001" in run_stage and "HEALTHCHECK" in run_stage and "pip install" not in run_stage


@pytest.mark.slow
def test_the_installed_package_has_every_file_the_code_reads(tmp_path):
    """A non-editable install (the image's `pip install .`) once lacked the page templates and the CSS."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path)], check=True, timeout=300)
    wheel = next(tmp_path.glob("frontdoor-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "service", "viewer", "synth", "fixtures"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    needed = [p for p in tracked if not p.endswith(".py") and not p.endswith(".png")]
    assert needed, "the check needs the tracked files"
    missing = [p for p in needed if p not in names]
    assert not missing, f"not in the wheel: {missing}"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_runs_the_service_two_workers_the_viewer_and_one_proxy(compose):
    services = compose["services"]
    assert {"db", "redis", "service", "worker", "viewer", "proxy"} <= set(services)
    assert services["worker"]["command"] == ["worker"] and services["worker"]["deploy"]["replicas"] == 2
    for name in ("service", "worker", "viewer"):
        assert services[name]["healthcheck"]["test"][:2] == ["CMD", "frontdoor"], name
    assert [p.split(":")[0] for p in services["proxy"]["ports"]] == ["80", "443"]
    for name in ("db", "redis", "service", "worker", "viewer"):
        assert "ports" not in services[name], f"{name} is reached through the proxy only"
    caddy = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "reverse_proxy viewer:5006" in caddy and "reverse_proxy service:8000" in caddy


def test_the_viewer_opens_only_signed_sessions_and_holds_no_data(compose):
    viewer, service = compose["services"]["viewer"], compose["services"]["service"]
    assert "--sign-sessions" in viewer["command"] and viewer["command"][viewer["command"].index("--prefix") + 1] \
        == "/viewer"
    assert set(viewer["environment"]) == {"FRONTDOOR_VIEWER_TOKEN", "FRONTDOOR_VIEWER_SECRET_KEY"}
    assert not viewer.get("volumes"), "the viewer reads published releases over the API, never the data volume"
    assert service["environment"]["FRONTDOOR_VIEWER_URL"].endswith("/viewer/")
    assert "FRONTDOOR_VIEWER_SECRET_KEY" in service["environment"]


def test_compose_refuses_to_start_without_its_secrets(compose):
    env = compose["services"]["service"]["environment"]
    for key in ("FRONTDOOR_SECRET_KEY", "FRONTDOOR_PSEUDONYM_KEY", "FRONTDOOR_VIEWER_SECRET_KEY"):
        assert ":?" in env[key], f"{key} must be required (${{VAR:?message}}), not defaulted"
    example = (ROOT / "deploy" / "env.example").read_text()
    for key in ("POSTGRES_PASSWORD", "FRONTDOOR_SECRET_KEY", "FRONTDOOR_PSEUDONYM_KEY", "FRONTDOOR_VIEWER_SECRET_KEY",
                "FRONTDOOR_VIEWER_TOKEN", "FRONTDOOR_HOST"):
        assert f"\n{key}=" in example, key
