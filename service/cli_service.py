"""The `frontdoor` commands that run and administer the service: serve, worker, health, councils,
users, audit, demo and view. Registered on the `frontdoor` group by service.cli; heavy imports
happen inside the commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from service.cli_errors import fail


def _service_store():
    from service.config import load_config
    from service.store import Store

    store = Store(load_config())
    store.init()
    return store


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int,
              help="Processes serving requests (each also runs in-process jobs unless Redis is set).")
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--jobs", "job_mode", type=click.Choice(["process", "threads"]), default="process", show_default=True,
              help="Without Redis: run jobs in one local job process beside the web workers (process), or in "
                   "threads inside them (threads). With FRONTDOOR_REDIS_URL, jobs go to `frontdoor worker`s.")
def serve(host: str, port: int, workers: int, threads: int, job_mode: str) -> None:
    """Run the service (gunicorn); data directory from FRONTDOOR_DATA_DIR."""
    import os

    from gunicorn.app.base import BaseApplication

    from service import create_app
    from service.config import load_config

    cfg = load_config()
    _service_store().dispose()  # migrate once, here, before the web workers and the job process start
    job_process, master = None, os.getpid()
    if not cfg.get("REDIS_URL") and job_mode == "process":
        from service.job_process import JobProcess

        os.environ["FRONTDOOR_JOB_BACKEND"] = "local"  # the web workers only queue jobs
        job_process = JobProcess().start()

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            # Each worker listens on its own SO_REUSEPORT socket, so the kernel spreads connections
            # evenly; on one shared socket, the first worker to wake takes most long-lived connections
            # and leaves the other processes (and cores) idle.
            self.cfg.set("reuse_port", True)
            self.cfg.set("timeout", 300)
            self.cfg.set("accesslog", "-")

        def load(self):
            return create_app()

    try:
        Server().run()
    finally:
        if job_process is not None and os.getpid() == master:  # gunicorn's forked workers leave through here too
            job_process.stop()


@click.group()
def councils() -> None:
    """Manage councils: each is a tenant with its own users, data, releases and audit trail."""


@councils.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The council's name as its users see it.")
@click.option("--population", type=click.IntRange(min=1), default=None,
              help="Children aged 0-17 in the area (ONS mid-year estimate): the denominator of rates per 10,000.")
def councils_add(code: str, name: str, population: int | None) -> None:
    """Add a council (CODE: a short unique id, e.g. E08000025 or birmingham)."""
    import re

    from service import audit

    if not re.fullmatch(r"[A-Za-z0-9_-]{2,40}", code):
        fail("a council code is 2 to 40 letters, digits, '-' or '_' (e.g. E08000025).", False)
    store = _service_store()
    with store.write() as s:
        if store.council_by_code(s, code):
            fail(f"a council with code '{code}' already exists.", False)
        council = store.add_council(s, code, name.strip()[:200], population)
        audit.record(store, s, None, "council.added", "council", str(council.id),
                     {"code": code, "population": population}, council_id=council.id)
    click.echo(f"Added council {code} ({name}).")


@councils.command("list")
def councils_list() -> None:
    store = _service_store()
    with store.read() as s:
        for c in store.councils(s):
            click.echo(f"{c.id}\t{c.code}\t{c.name}\tpopulation {c.population or 'not declared'}\t"
                       f"{'shares aggregates' if c.shares_aggregates else 'not sharing'}")


@click.group()
def users() -> None:
    """Manage users and their API tokens."""


def _council_for(store, s, code: str | None):
    """The council a command acts in: the one named, or the only one there is."""
    if code:
        council = store.council_by_code(s, code)
        if council is None:
            fail(f"no council with code '{code}'; `frontdoor councils list` shows them.", False)
        return council
    every = store.councils(s)
    if len(every) > 1:
        fail("this service holds several councils: say which with --council CODE.", False)
    return every[0]


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["data_owner", "reviewer", "developer", "admin"]), required=True)
@click.option("--council", "council_code", default=None,
              help="The council's code (needed when the service holds more than one).")
def users_add(name: str, role: str, council_code: str | None) -> None:
    """Add a user; prints their API token once, alone on the last line."""
    from service import operations
    from service.governance.workflow import WorkflowError

    store = _service_store()
    with store.read() as s:
        council = _council_for(store, s, council_code)
    try:
        _, token = operations.add_user(store, None, name, role, council.id)
    except WorkflowError as exc:
        fail(exc.message, False)
    click.echo(f"Added {name} ({role}, {council.name}). Their API token (shown once; keep it safe):")
    click.echo(token)


@users.command("list")
def users_list() -> None:
    store = _service_store()
    with store.read() as s:
        for u in store.users(s):
            click.echo(f"{u.id}\t{u.name}\t{u.role}\t{u.council.code}\t{'active' if u.active else 'inactive'}")


def _change_token(name: str, action: str) -> str | None:
    from service import operations
    from service.governance.workflow import WorkflowError

    store = _service_store()
    with store.read() as s:
        user = store.user_by_name(s, name)
        if user is None:
            fail(f"no user called '{name}'; `frontdoor users list` shows them.", False)
        council_id = user.council_id
    try:
        _, token = operations.change_user_token(store, None, name, action, council_id=council_id)
    except WorkflowError as exc:
        fail(exc.message, False)
    return token


@users.command("rotate")
@click.argument("name")
def users_rotate(name: str) -> None:
    """Give a user a new token (the old one stops working at once); prints it once, alone on the last line."""
    token = _change_token(name, "rotate")
    click.echo(f"New token for {name} (shown once; the old one no longer works):")
    click.echo(token)


@users.command("revoke")
@click.argument("name")
def users_revoke(name: str) -> None:
    """Stop a user's token working at once (and end their web sessions); `rotate` gives them a new one."""
    _change_token(name, "revoke")
    click.echo(f"{name}'s token is revoked.")


@users.command("deactivate")
@click.argument("name")
def users_deactivate(name: str) -> None:
    """Stop a user signing in or using the API, at once; `activate` lets them again."""
    _change_token(name, "deactivate")
    click.echo(f"{name} is deactivated.")


@users.command("activate")
@click.argument("name")
def users_activate(name: str) -> None:
    _change_token(name, "activate")
    click.echo(f"{name} is active again.")


@click.command()
@click.option("--local", is_flag=True,
              help="Take jobs from the database instead of Redis: the job process `frontdoor serve` starts.")
def worker(local: bool) -> None:
    """Run an RQ worker for background jobs (needs FRONTDOOR_REDIS_URL and the shared data directory)."""
    import os

    if local:
        from service.job_process import run_job_process

        os.environ["FRONTDOOR_JOB_BACKEND"] = "local"
        store = _service_store()
        try:
            run_job_process(store)
        finally:
            store.dispose()
        return
    from redis import Redis
    from rq import Queue, Worker

    url = os.environ.get("FRONTDOOR_REDIS_URL")
    if not url:
        fail("set FRONTDOOR_REDIS_URL (e.g. redis://localhost:6379/0) to run a worker.", False)
    store = _service_store()
    conn = Redis.from_url(url)
    Worker([Queue(store.cfg.get("QUEUE") or "frontdoor", connection=conn)], connection=conn).work(with_scheduler=False)


@click.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check every council's audit trail (hash chain); exit 1 if any event was changed, removed or reordered."""
    from service import audit

    broken = False
    for code, result in audit.verify_all(_service_store()).items():
        if result.ok:
            click.echo(f"Audit trail of {code} intact: {result.events} events.")
        else:
            broken = True
            click.echo(f"Audit trail of {code} BROKEN at event {result.first_bad_id}: {result.reason}.", err=True)
    if broken:
        sys.exit(1)


@click.command()
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--children", default=3000, show_default=True, type=int)
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo/service-data"),
              show_default=True)
@click.option("--viewer-port", default=5006, show_default=True, type=int)
@click.option("--keep-running/--no-keep-running", default=True, show_default=True,
              help="Then start the viewer on the published release and keep both running.")
def demo(port: int, children: int, data_dir: Path, viewer_port: int, keep_running: bool) -> None:
    """Start the service on a fresh data directory, take a fake council through the whole workflow,
    then start the map viewer on the published release."""
    from service.demo import run_demo

    run_demo(port=port, children=children, data_dir=data_dir, keep_running=keep_running, viewer_port=viewer_port)


@click.command()
@click.option("--bundle", "bundles", multiple=True, type=click.Path(path_type=Path),
              help="A release zip (repeat to compare releases).")
@click.option("--api", default=None, help="The service's API, e.g. http://localhost:8000/api/v1")
@click.option("--token", default=None, envvar="FRONTDOOR_VIEWER_TOKEN",
              help="A developer token for --api (or FRONTDOOR_VIEWER_TOKEN, kept out of the process list).")
@click.option("--release", "release_ids", multiple=True, help="Release id(s) from the API (default: published ones).")
@click.option("--port", default=5006, show_default=True, type=int)
@click.option("--host", default="localhost", show_default=True)
@click.option("--max-dots", default=5000, show_default=True, type=int, help="Dots animated (a sample if more).")
@click.option("--sign-sessions", is_flag=True,
              help="Open a page only for a session id signed with FRONTDOOR_VIEWER_SECRET_KEY, as the service's "
                   "'Open it in the map viewer' link makes for signed-in users (deployments behind a proxy).")
@click.option("--prefix", default="", help="The path the viewer is served under behind a proxy, e.g. /viewer.")
@click.option("--allow-origin", "origins", multiple=True,
              help="host[:port] browsers reach the viewer at through a proxy (repeat); websockets from others are refused.")
def view(bundles: tuple[Path, ...], api: str | None, token: str | None, release_ids: tuple[str, ...], port: int,
         host: str, max_dots: int, sign_sessions: bool, prefix: str, origins: tuple[str, ...]) -> None:
    """Start the map viewer (a Bokeh server) on release bundles or the service's published releases."""
    import os

    from viewer import state

    if not bundles and not api:
        fail("give --bundle PATH (a release zip) or --api URL --token T.", False)
    if api and not token:
        fail("--api needs --token (a developer token from the service's administrator).", False)
    secret = os.environ.get("FRONTDOOR_VIEWER_SECRET_KEY", "")
    if sign_sessions and len(secret) < 32:
        fail("--sign-sessions needs FRONTDOOR_VIEWER_SECRET_KEY (32+ characters, the same as the service's).", False)
    os.environ[state.ENV_BUNDLES] = os.pathsep.join(str(Path(b).resolve()) for b in bundles)
    os.environ[state.ENV_MAX_DOTS] = str(max_dots)
    if api:
        os.environ[state.ENV_API], os.environ[state.ENV_TOKEN] = api, token
        os.environ[state.ENV_RELEASES] = ",".join(release_ids)
    state.load_all()  # check now, so that a bad bundle or token stops here with one clear message
    if state.ERRORS:
        fail(state.ERRORS[0], False)
    from viewer.app_hooks import warm_up

    warm_up()  # the port opens only when the first visitor's page will be quick
    from bokeh.application import Application
    from bokeh.application.handlers import DirectoryHandler
    from bokeh.server.server import Server

    viewer_dir = Path(state.__file__).resolve().parent
    signing = {"sign_sessions": True, "secret_key": secret.encode(), "generate_session_ids": False} if sign_sessions else {}
    server = Server({"/": Application(DirectoryHandler(filename=str(viewer_dir)))}, port=port, address=host,
                    prefix=prefix, allow_websocket_origin=[f"{host}:{port}", f"localhost:{port}", f"127.0.0.1:{port}",
                                                           *origins], **signing)
    server.start()
    click.echo(f"Frontdoor viewer: http://{host}:{port}/  ({len(state.RELEASES)} release(s); Ctrl-C to stop)")
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        click.echo("Stopping the viewer.")


@click.command()
@click.option("--url", default=None, help="Answer healthy when this address answers 200 (the service or the viewer).")
def health(url: str | None) -> None:
    """Exit 0 when this part of a deployment is healthy (Docker's HEALTHCHECK): with --url, that the address
    answers 200; without, that the database (and Redis, when FRONTDOOR_REDIS_URL is set) answer, as a worker needs."""
    import os
    import urllib.request

    try:
        if url:
            with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 (an operator's own address)
                if resp.status != 200:
                    fail(f"{url} answered {resp.status}", False, 1)
        else:
            from sqlalchemy import text

            from service.config import load_config
            from service.store import Store

            store = Store(load_config())  # no migrations: a health check only asks
            with store.read() as s:
                s.execute(text("SELECT 1"))
            store.dispose()
            if os.environ.get("FRONTDOOR_REDIS_URL"):
                import redis

                redis.Redis.from_url(os.environ["FRONTDOOR_REDIS_URL"], socket_timeout=5).ping()
    except Exception as exc:  # noqa: BLE001 (any failure is "unhealthy", said in one line)
        fail(f"unhealthy: {exc}", False, 1)
    click.echo("healthy")


COMMANDS = (serve, councils, users, worker, audit_group, demo, view, health)
