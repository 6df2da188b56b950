"""The `frontdoor` command line. Each command parses its options and calls one library function;
heavy imports happen inside the commands so that `frontdoor --help` stays instant."""

from __future__ import annotations

import json
import logging
import sys
from functools import wraps
from pathlib import Path

import click

INPUT_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")


def _fail(message: str, as_json: bool, code: int = 2, details: list | None = None) -> None:
    if as_json:
        out = {"ok": False, "status": code, "error": message}
        if details:  # the one error shape: `errors` is an object; the input files' problems are under "input"
            out["errors"] = {"input": details}
        click.echo(json.dumps(out, indent=2))
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handles_errors(fn):
    """Turn the library's errors into a one-line message (or the JSON error shape) and exit 2."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        from synth.errors import FrontdoorError

        try:
            return fn(*args, **kwargs)
        except FrontdoorError as exc:
            _fail(exc.message, kwargs.get("as_json", False), exc.exit_code, exc.details[:100])

    return wrapper


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log progress (shapes and counts, never cell values).")
def main(verbose: bool) -> None:
    """Frontdoor: synthetic journeys through children's social care, released safely."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--children", "n_children", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Children seen over the four-year window.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "ssd", "ssd-xlsx"]), default="xlsx",
              show_default=True, help="Annex A (xlsx, csv) or the SSD's tables (ssd: a CSV per table; ssd-xlsx).")
@click.option("--messy", is_flag=True, help="Add what real workbooks contain (header variants, labels, ...).")
@click.option("--periods", type=click.IntRange(min=1, max=8), default=1, show_default=True,
              help="Write one workbook per successive (overlapping) extract period.")
@click.option("--council", "profile", type=click.Choice(["shire", "moorside"]), default="shire", show_default=True,
              help="Which fake council: shire (the one models were built against) or moorside (made to differ).")
def fixtures(n_children: int, seed: int, out_dir: Path, fmt: str, messy: bool, periods: int, profile: str) -> None:
    """Write a fake council's Annex A Lists 1-8, or its SSD tables (realistic, calibrated, seeded)."""
    from fixtures.annex_a import write_council
    from fixtures.council import CouncilSpec, simulate

    if fmt.startswith("ssd") and (messy or periods > 1):
        raise click.UsageError("--messy and --periods write Annex A files; leave them out with --format ssd.")
    council = simulate(CouncilSpec(children=n_children, seed=seed, profile=profile))
    if fmt.startswith("ssd"):
        from fixtures import ssd

        paths = ssd.write_council(council, out_dir, fmt="xlsx" if fmt == "ssd-xlsx" else "csv")
    else:
        paths = write_council(council, out_dir, fmt=fmt, messy=messy, periods=periods)
    for p in paths:
        click.echo(str(p))


def _input_files(paths: tuple[Path, ...]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in INPUT_SUFFIXES and f.is_file())
            if not found:
                from synth.errors import InputFileError

                raise InputFileError(f"{p}: the folder holds no .xlsx or .csv files.")
            files.extend(found)
        else:
            files.append(p)
    return files


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Dataset directory to write (canonical tables as Parquet).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the validation report).")
@click.option("--overwrite", is_flag=True, help="Replace an existing dataset directory.")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Pseudonym key file (default: FRONTDOOR_PSEUDONYM_KEY, else ~/.config/frontdoor/pseudonym.key).")
@click.option("--month-first", is_flag=True,
              help="Read text dates as mm/dd/yyyy (US style). Without it dates are read dd/mm/yyyy, and a date "
                   "column written month-first is refused.")
@handles_errors
def ingest(paths: tuple[Path, ...], out_dir: Path, as_json: bool, overwrite: bool, key_file: Path | None,
           month_first: bool) -> None:
    """Read Annex A workbooks or CSVs (or SSD tables), validate, pseudonymise and write a dataset."""
    from synth.anonymise import load_or_create_key
    from synth.dataset import Dataset, write_dataset
    from synth.errors import DateOrderError
    from synth.ingest import ingest as run_ingest

    try:
        result = run_ingest(_input_files(paths), load_or_create_key(key_file), month_first=month_first)
    except DateOrderError as exc:
        if month_first:
            raise
        raise DateOrderError(exc.message + " Or, if every text date in the files is written month-first, ingest "
                             "again with --month-first.", details=exc.details) from None
    report = result.report.to_dict()
    manifest = {**result.manifest, "report": report}
    write_dataset(out_dir, Dataset(result.children, result.events, result.episodes, manifest,
                                   result.report.issue_table()), overwrite=overwrite)
    if as_json:
        click.echo(json.dumps({"ok": True, "dataset": str(out_dir), "lineage_hash": result.manifest["lineage_hash"],
                               **report}, indent=2, default=str))
        return
    click.echo(f"Dataset written to {out_dir}")
    for n, s in report["lists"].items():
        click.echo(f"  {'List ' + n if n.isdigit() else n} ({s['name']}): {s['rows_read']} rows read, {s['rows_rejected']} rejected, "
                   f"{s['duplicates_dropped']} duplicates dropped")
    click.echo(f"  {report['children']} children, {report['events']} events, {report['episodes']} episodes")
    click.echo(f"  {report['errors_total']} errors, {report['warnings_total']} warnings (see --json for details)")
    for warning in report["list_warnings"]:
        click.echo(f"  warning: {warning}")
    for group in report["error_groups"][:10]:
        click.echo(f"  error: {_where(group)}{group['summary']}")
    for note in report["notes"]:
        click.echo(f"  note: {note}")
    training = report.get("training") or {}
    if training and not training["ready"]:
        click.echo("  cannot train the journey model: " + " ".join(training["reasons"]))


def _where(issue: dict) -> str:
    parts = [issue.get("file"), f"sheet '{issue['sheet']}'" if issue.get("sheet") else None]
    return ", ".join(p for p in parts if p) + (": " if any(parts) else "")


@main.command()
@click.argument("dataset_dir", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the journey graph as one JSON object.")
@click.option("--by", "by", default=None, help="Split by a classification (repeat, age_band, sex, ...).")
@handles_errors
def journeys(dataset_dir: Path, as_json: bool, by: str | None) -> None:
    """Print the journey map of a dataset: nodes, edges, shares and durations."""
    from synth import journeys as jr
    from synth.dataset import read_dataset
    from synth.errors import FrontdoorError

    if by is not None and by not in jr.CLASSIFICATIONS:
        raise FrontdoorError(f"unknown classification '{by}'; choose one of: {', '.join(jr.CLASSIFICATIONS)}")
    ds = read_dataset(dataset_dir)
    nodes, edges = jr.flow_tables(ds.events, ds.episodes, ds.children, by=by)
    summary = jr.summary(ds.events, ds.episodes, ds.children)
    if as_json:
        click.echo(json.dumps({"ok": True, "classification": by, "summary": summary,
                               "nodes": _records(nodes), "edges": _records(edges)}, indent=2, default=str))
        return
    click.echo(f"{summary['children']} children, {summary['episodes']} journeys, {summary['events']} events "
               f"({summary['first_date']} to {summary['last_date']})")
    click.echo("Headline rates: " + ", ".join(f"{k} {v:.3g}" for k, v in summary["rates"].items()))
    click.echo("")
    head = ["from", "to", "moves", "children", "share", "median days", "P25-P75"]
    if by:
        head.insert(0, by)
    rows = [[*( [r[by]] if by else []), r["source"], r["target"], f"{r['moves']:,}", f"{r['children']:,}",
             f"{r['share']:.1%}", f"{r['median_days']:.0f}", f"{r['p25_days']:.0f}-{r['p75_days']:.0f}"]
            for r in edges.to_dict("records")]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    for line in [head, *rows]:
        click.echo("  ".join(str(x).ljust(w) for x, w in zip(line, widths)))


def _signing_key(key_file: Path | None = None) -> bytes:
    from synth.anonymise import load_or_create_key
    from synth.models import signing_key_from

    return signing_key_from(load_or_create_key(key_file))


@main.command()
@click.argument("dataset_dir", type=click.Path(path_type=Path))
@click.option("--generator", default="journey", show_default=True, help="journey, sdv-par or sdv-hma.")
@click.option("--epsilon", type=float, default=None, help="Differential privacy budget (journey only).")
@click.option("--delta", type=float, default=None, help="DP delta (default 1e-6 with --epsilon).")
@click.option("--window-start", metavar="YYYY-MM-DD", default=None,
              help="First day of the extract window you declare; required with --epsilon (a window read off "
                   "the records would reveal real dates). Without it the window is read from the data.")
@click.option("--window-end", metavar="YYYY-MM-DD", default=None,
              help="Last day of the declared extract window; required with --epsilon.")
@click.option("--attributes", default="gaussian_copula", show_default=True,
              help="Child attribute synthesizer: gaussian_copula or ctgan.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Epochs for CTGAN or PAR.")
@click.option("--min-children", type=click.IntRange(min=1), default=20, show_default=True,
              help="Children a context needs before the journey model uses it.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Model file.")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def train(dataset_dir: Path, generator: str, epsilon: float | None, delta: float | None, window_start: str | None,
          window_end: str | None, attributes: str, epochs: int | None, min_children: int, seed: int, out: Path,
          as_json: bool) -> None:
    """Train a generator on a dataset's training children (a third is held out). With --epsilon, declare
    the extract window (--window-start, --window-end)."""
    from synth.dataset import read_dataset
    from synth.models import TrainingSpec, fit_model, validate_spec
    from synth.readiness import check_trainable

    spec = TrainingSpec(generator=generator, epsilon=epsilon, delta=delta, attributes=attributes, epochs=epochs,
                        min_children=min_children, seed=seed, window_start=window_start, window_end=window_end)
    validate_spec(spec)
    dataset = read_dataset(dataset_dir)
    check_trainable(dataset.children, dataset.events, dataset.episodes, dataset.lineage_hash, generator)
    model = fit_model(dataset, spec)
    model.save(out, _signing_key())
    info = model.describe()
    if as_json:
        click.echo(json.dumps({"ok": True, "model": str(out), **info}, indent=2, default=str))
        return
    private = f", differentially private (epsilon {epsilon})" if epsilon else ", not differentially private"
    click.echo(f"Model {info['model_id']} ({generator}{private}) trained on {info['training_children']} children; "
               f"written to {out}")


@main.command()
@click.argument("model_path", type=click.Path(path_type=Path))
@click.option("--children", "n_children", type=int, required=True, help="Synthetic children to sample.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--overwrite", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def sample(model_path: Path, n_children: int, seed: int, out_dir: Path, overwrite: bool, as_json: bool) -> None:
    """Sample synthetic children and journeys into a dataset directory (marked synthetic)."""
    from synth.errors import ModelError
    from synth.models import load_model
    from synth.synthetic import write_synthetic

    if n_children < 1:
        raise ModelError(f"cannot sample {n_children} children: ask for at least 1.")
    model = load_model(model_path, _signing_key())
    tables = model.sample(n_children, seed)
    write_synthetic(out_dir, tables, model, seed, overwrite=overwrite)
    summary = {"children": len(tables.children), "events": len(tables.events), "episodes": len(tables.episodes)}
    if as_json:
        click.echo(json.dumps({"ok": True, "dataset": str(out_dir), **summary}, indent=2))
        return
    click.echo(f"{summary['children']} synthetic children, {summary['episodes']} journeys written to {out_dir}")


@main.command()
@click.argument("dataset_dir", type=click.Path(path_type=Path))
@click.argument("synth_dir", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def evaluate(dataset_dir: Path, synth_dir: Path, as_json: bool) -> None:
    """Fidelity of a synthetic dataset to the real one it was trained on."""
    from synth.synthetic import evaluate_against

    result = evaluate_against(dataset_dir, synth_dir)
    if as_json:
        click.echo(json.dumps({"ok": True, **result}, indent=2, default=_jsonable))
        return
    for name, t in result["targets"].items():
        click.echo(f"{name}: {t['value']:.4g} (target {t['target']}) {'met' if t['met'] else 'NOT met'}")


@main.command()
@click.argument("dataset_dir", type=click.Path(path_type=Path))
@click.argument("synth_dir", type=click.Path(path_type=Path))
@click.option("--profile", default="default", show_default=True, help="default, dfe, opensafely or acro.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for disclosure_report.json/.html and map.json.")
@click.option("--no-fidelity", is_flag=True, help="Skip the fidelity figures (faster).")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def check(dataset_dir: Path, synth_dir: Path, profile: str, out_dir: Path, no_fidelity: bool, as_json: bool) -> None:
    """Run the release gate. Exit 0: all pass; 1: a check failed; 3: none failed, some need review."""
    from synth.disclosure import get_profile, run_gate
    from synth.synthetic import read_pair

    get_profile(profile)
    real, synth = read_pair(dataset_dir, synth_dir)
    result = run_gate(real, synth, profile, fidelity=not no_fidelity)
    _write_report_dir(out_dir, result)
    d = result.report.to_dict()
    if as_json:
        click.echo(json.dumps({"ok": True, "report_dir": str(out_dir), **d}, indent=2, default=_jsonable))
    else:
        click.echo(f"Verdict: {d['verdict'].upper()} ({d['counts']['pass']} passed, {d['counts']['review']} to review, "
                   f"{d['counts']['fail']} failed). Report: {out_dir / 'disclosure_report.html'}")
        for c in d["checks"]:
            click.echo(f"  {c['status'].upper():6} {c['title']}")
    sys.exit({"pass": 0, "fail": 1, "review": 3}[d["verdict"]])


def _write_report_dir(out_dir: Path, result) -> None:
    import shutil
    import uuid

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.with_name(f".{out_dir.name}.{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        (tmp / "disclosure_report.json").write_text(result.report.to_json())
        (tmp / "disclosure_report.html").write_text(result.report.to_html())
        (tmp / "map.json").write_text(json.dumps(result.map_json, indent=1))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@main.command()
@click.argument("dataset_dir", type=click.Path(path_type=Path))
@click.argument("synth_dir", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="BUNDLE.zip")
@click.option("--profile", default="default", show_default=True)
@click.option("--release-id", default=None, help="Default: a new random id.")
@click.option("--json", "as_json", is_flag=True)
@handles_errors
def bundle(dataset_dir: Path, synth_dir: Path, out: Path, profile: str, release_id: str | None, as_json: bool) -> None:
    """Run the gate and, unless a check fails, write the release bundle (a Frictionless data package)."""
    import uuid

    from synth.bundle import write_bundle
    from synth.disclosure import get_profile, run_gate
    from synth.synthetic import read_pair

    get_profile(profile)
    real, synth = read_pair(dataset_dir, synth_dir)
    rid = release_id or uuid.uuid4().hex[:12]
    result = run_gate(real, synth, profile, release={"release_id": rid})
    if result.verdict == "fail":
        failed = [c.title for c in result.report.checks if c.status == "fail"]
        _fail(f"the release gate failed ({'; '.join(failed)}); no bundle was written.", as_json, code=1)
    write_bundle(out, synth, result.map_json, result.report, rid, real.lineage_hash)
    if as_json:
        click.echo(json.dumps({"ok": True, "bundle": str(out), "release_id": rid, "verdict": result.verdict}))
    else:
        click.echo(f"Release {rid} ({result.verdict}) written to {out}")


# ----------------------------------------------------------------------------------------------
# The service.
def _service_store():
    from service.config import load_config
    from service.store import Store

    store = Store(load_config())
    store.init()
    return store


@main.command()
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


@main.group()
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
        _fail("a council code is 2 to 40 letters, digits, '-' or '_' (e.g. E08000025).", False)
    store = _service_store()
    with store.write() as s:
        if store.council_by_code(s, code):
            _fail(f"a council with code '{code}' already exists.", False)
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


@main.group()
def users() -> None:
    """Manage users and their API tokens."""


def _council_for(store, s, code: str | None):
    """The council a command acts in: the one named, or the only one there is."""
    if code:
        council = store.council_by_code(s, code)
        if council is None:
            _fail(f"no council with code '{code}'; `frontdoor councils list` shows them.", False)
        return council
    every = store.councils(s)
    if len(every) > 1:
        _fail("this service holds several councils: say which with --council CODE.", False)
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
        _fail(exc.message, False)
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
            _fail(f"no user called '{name}'; `frontdoor users list` shows them.", False)
        council_id = user.council_id
    try:
        _, token = operations.change_user_token(store, None, name, action, council_id=council_id)
    except WorkflowError as exc:
        _fail(exc.message, False)
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


@main.command()
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
        _fail("set FRONTDOOR_REDIS_URL (e.g. redis://localhost:6379/0) to run a worker.", False)
    store = _service_store()
    conn = Redis.from_url(url)
    Worker([Queue(store.cfg.get("QUEUE") or "frontdoor", connection=conn)], connection=conn).work(with_scheduler=False)


@main.group("audit")
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


@main.command()
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


@main.command()
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
        _fail("give --bundle PATH (a release zip) or --api URL --token T.", False)
    if api and not token:
        _fail("--api needs --token (a developer token from the service's administrator).", False)
    secret = os.environ.get("FRONTDOOR_VIEWER_SECRET_KEY", "")
    if sign_sessions and len(secret) < 32:
        _fail("--sign-sessions needs FRONTDOOR_VIEWER_SECRET_KEY (32+ characters, the same as the service's).", False)
    os.environ[state.ENV_BUNDLES] = os.pathsep.join(str(Path(b).resolve()) for b in bundles)
    os.environ[state.ENV_MAX_DOTS] = str(max_dots)
    if api:
        os.environ[state.ENV_API], os.environ[state.ENV_TOKEN] = api, token
        os.environ[state.ENV_RELEASES] = ",".join(release_ids)
    state.load_all()  # check now, so that a bad bundle or token stops here with one clear message
    if state.ERRORS:
        _fail(state.ERRORS[0], False)
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


@main.command()
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
                    _fail(f"{url} answered {resp.status}", False, 1)
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
        _fail(f"unhealthy: {exc}", False, 1)
    click.echo("healthy")


def _jsonable(v):
    import numpy as np

    if isinstance(v, np.integer | np.bool_):
        return v.item()
    if isinstance(v, np.floating):
        return float(v)
    return str(v)


def _records(df) -> list[dict]:
    import numpy as np

    out = df.replace({np.nan: None}).to_dict("records")
    return [{k: (float(v) if isinstance(v, np.floating) else int(v) if isinstance(v, np.integer) else v)
             for k, v in r.items()} for r in out]


if __name__ == "__main__":
    main()
