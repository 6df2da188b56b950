"""The `frontdoor` command line. Each command parses its options and calls one library function;
heavy imports happen inside the commands so that `frontdoor --help` stays instant. The library's
commands (fixtures to bundle) are here; the service's (serve, users, ...) in service.cli_service."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from service.cli_errors import fail, handles_errors
from service.cli_service import COMMANDS as SERVICE_COMMANDS

INPUT_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")


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
        fail(f"the release gate failed ({'; '.join(failed)}); no bundle was written.", as_json, code=1)
    write_bundle(out, synth, result.map_json, result.report, rid, real.lineage_hash)
    if as_json:
        click.echo(json.dumps({"ok": True, "bundle": str(out), "release_id": rid, "verdict": result.verdict}))
    else:
        click.echo(f"Release {rid} ({result.verdict}) written to {out}")


for _command in SERVICE_COMMANDS:
    main.add_command(_command)


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
