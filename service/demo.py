"""`make run`: the whole workflow on embedded defaults, over real HTTP, as a council would do it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import requests


class DemoError(click.ClickException):
    pass


def check_port_free(port: int, what: str, option: str) -> None:
    """Refuse to start on a port something else holds: the demo's requests would reach that instead (a
    "connection refused" on the first upload, or another program's answers)."""
    import socket

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise DemoError(f"port {port} is in use, so the {what} cannot listen there; stop what holds it "
                            f"(`ss -ltnp 'sport = :{port}'` shows it) or choose another port with {option}.") from None


def last_lines(path: Path, n: int = 20) -> str:
    try:
        return "".join(path.read_text(errors="replace").splitlines(keepends=True)[-n:])
    except OSError:
        return "(no log)"


class _Watched:
    """A process the demo started: if it has died, say so with the last lines of its log."""

    def __init__(self, proc: subprocess.Popen, what: str, log: Path):
        self.proc, self.what, self.log = proc, what, log

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise DemoError(f"the {self.what} stopped (exit {self.proc.returncode}). The last lines of its log "
                            f"({self.log}):\n{last_lines(self.log)}")


def _wait_for(url: str, seconds: float = 120, watched: _Watched | None = None) -> None:
    """Until the service answers; its workers may take a while to import on a busy machine."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if watched is not None:
            watched.check()
        try:
            if requests.get(url, timeout=10).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise DemoError(f"the service did not start at {url}")


def _add_user(env: dict, name: str, role: str) -> str:
    out = subprocess.run([sys.executable, "-m", "service.cli", "users", "add", name, "--role", role], env=env,
                         capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def _wait_job(base: str, token: str, job_id: str, what: str, watched: _Watched | None = None) -> dict:
    while True:
        if watched is not None:
            watched.check()
        job = requests.get(f"{base}/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        click.echo(f"\r  {what}: {job['status']} {job['progress']:3d}% {job['stage'][:50]:50}", nl=False)
        if job["status"] in ("succeeded", "failed"):
            click.echo("")
            if job["status"] == "failed":
                raise DemoError(f"{what} failed: {job['error']}")
            return job
        time.sleep(1)


DEMO_USERS = (("olivia", "data_owner"), ("rita", "reviewer"), ("raj", "reviewer"), ("dev", "developer"),
              ("ada", "admin"))


def _write_settings(path: Path, tokens: dict, base: str, release_id: str | None = None) -> None:
    """The demo's settings as shell variables (readable by this user only: the tokens sign anyone in)."""
    lines = [f"{n.upper()}_TOKEN={t}" for n, t in tokens.items()] + [f"API={base}"]
    if release_id:
        lines.append(f"RELEASE_ID={release_id}")
    path.write_text("".join(f"{line}\n" for line in lines))
    path.chmod(0o600)


def _demo_review(base: str, token: str, release_id: str) -> None:
    """A demo reviewer reads the disclosure report through the API, as a reviewer would (the read is audited),
    and approves with a comment saying what it did: an automated approval for a demonstration on fake data,
    naming the items the report left to a person's judgement."""
    h = {"Authorization": f"Bearer {token}"}
    r = requests.get(f"{base}/releases/{release_id}/report", params={"format": "json"}, headers=h, timeout=30)
    r.raise_for_status()
    report = r.json()
    items = [c["title"] for c in report["checks"] if c["status"] == "review"]
    comment = (f"Automated demo approval (make run, fake council data): read the disclosure report through the API; "
               f"verdict {report['verdict']}, {report['counts']['pass']} checks passed"
               + (f"; items to review, not judged by a person: {'; '.join(items)}" if items else "")
               + ". Not a real sign-off.")
    requests.post(f"{base}/releases/{release_id}/reviews", timeout=10, headers=h,
                  json={"decision": "approve", "comment": comment}).raise_for_status()


def run_demo(port: int, children: int, data_dir: Path, keep_running: bool, viewer_port: int = 5006) -> None:
    data_dir = data_dir.resolve()
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    env = {**os.environ, "FRONTDOOR_DATA_DIR": str(data_dir)}
    env.pop("FRONTDOOR_REDIS_URL", None)
    base = f"http://127.0.0.1:{port}/api/v1"
    check_port_free(port, "service", "--port (make run DEMO_PORT=...)")
    if keep_running:
        check_port_free(viewer_port, "map viewer", "--viewer-port (make run VIEWER_PORT=...)")
    click.echo(f"Starting the service on http://127.0.0.1:{port} (data in {data_dir})")
    server_log = data_dir / "service.log"
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], env=env,
                              stdout=open(server_log, "w"), stderr=subprocess.STDOUT)
    watched = _Watched(server, "service", server_log)
    try:
        _wait_for(f"{base}/health", watched=watched)
        roles = dict(DEMO_USERS)
        tokens = {name: _add_user(env, name, kind) for name, kind in DEMO_USERS}
        settings = data_dir / "demo.env"
        _write_settings(settings, tokens, base)
        click.echo(f"Demo users, their roles and API tokens (also in {settings}):")
        for name, tok in tokens.items():
            click.echo(f"  {name:7} {roles[name].replace('_', ' '):10} {tok}")
        click.echo(f"Sign in to the pages at http://127.0.0.1:{port}/ with a token: the data owner uploads and "
                   "requests releases, reviewers sign them off, the admin manages users.")
        owner = {"Authorization": f"Bearer {tokens['olivia']}"}
        council = data_dir / "council"
        subprocess.run([sys.executable, "-m", "service.cli", "fixtures", "--children", str(children), "--seed", "1",
                        "--out", str(council)], check=True, stdout=subprocess.DEVNULL)
        with open(council / "annex_a.xlsx", "rb") as f:
            r = requests.post(f"{base}/datasets", headers=owner, data={"name": "Demo council"},
                              files=[("file", ("annex_a.xlsx", f))], timeout=120)
        if r.status_code != 202:
            raise DemoError(f"upload refused: {r.json()}")
        ds = r.json()["dataset"]
        _wait_job(base, tokens["olivia"], r.json()["job"]["id"], "ingest", watched)
        r = requests.post(f"{base}/models", headers=owner, json={"dataset_id": ds["id"]}, timeout=30)
        model = r.json()["model"]
        _wait_job(base, tokens["olivia"], r.json()["job"]["id"], "train", watched)
        r = requests.post(f"{base}/releases", headers=owner, timeout=30, json={
            "model_id": model["id"], "children": children, "profile": "default",
            "purpose": "Demonstration of the front-door map", "recipients": "Frontdoor developers"})
        release = r.json()["release"]
        _wait_job(base, tokens["olivia"], r.json()["job"]["id"], "build and check the release", watched)
        state = requests.get(f"{base}/releases/{release['id']}", headers=owner, timeout=10).json()
        if state["state"] != "awaiting_review":
            raise DemoError(f"the release is '{state['state']}' (verdict {state['verdict']}), not awaiting review")
        for reviewer in ("rita", "raj"):
            _demo_review(base, tokens[reviewer], release["id"])
        requests.post(f"{base}/releases/{release['id']}/publish", headers=owner, timeout=10).raise_for_status()
        rid = release["id"]
        click.echo(f"\nRelease {rid} is published. Fetch it as a developer:")
        click.echo(f"  curl -H 'Authorization: Bearer {tokens['dev']}' {base}/releases")
        click.echo(f"  curl -H 'Authorization: Bearer {tokens['dev']}' -o release.zip {base}/releases/{rid}/bundle")
        click.echo(f"  curl -H 'Authorization: Bearer {tokens['dev']}' {base}/releases/{rid}/files/map.json")
        click.echo(f"  OpenAPI document: {base}/openapi.json")
        _write_settings(settings, tokens, base, rid)
        click.echo(f"Its review, the reviewers' comments and the audit trail are on the pages: "
                   f"http://127.0.0.1:{port}/releases/{rid} (sign in as rita or ada).")
        click.echo(f"Tokens, the release id and the API's address are in {settings} (`. {settings}` in a shell).")
        if keep_running:
            viewer = subprocess.Popen([sys.executable, "-m", "service.cli", "view", "--api", base, "--token",
                                       tokens["dev"], "--release", rid, "--port", str(viewer_port)], env=env,
                                      stdout=open(data_dir / "viewer.log", "w"), stderr=subprocess.STDOUT)
            _wait_for(f"http://localhost:{viewer_port}/", 120)
            click.echo(f"\nThe map of release {rid}: http://localhost:{viewer_port}/")
            click.echo("The service and the viewer keep running; press Ctrl-C to stop them.")
            signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
            try:
                server.wait()
            finally:
                viewer.terminate()
    except KeyboardInterrupt:
        click.echo("\nStopping.")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
