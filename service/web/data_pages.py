"""Pages of data owners: datasets (upload, validation report, errors.csv), training, jobs and models.
Thin views: each calls service.operations and renders a template."""

from __future__ import annotations

import csv
import io

from flask import Response, flash, g, redirect, request, url_for

from service import operations
from service.governance import permissions
from service.governance.workflow import WorkflowError
from service.web.page_context import _fail_page, _runner, _store, bp, render_page, signed_in


@bp.route("/datasets", methods=["GET", "POST"])
@signed_in
def datasets():
    store = _store()
    form = {"name": "", "dates": "day-first"}
    error = None
    if request.method == "POST":
        form["name"] = request.form.get("name", "")
        form["dates"] = request.form.get("dates") or "day-first"
        uploads = [operations.Upload(f.filename, f.stream) for f in request.files.getlist("file") if f.filename]
        try:
            ds, job = operations.upload_dataset(store, _runner(), g.web_user, form["name"], uploads, form["dates"])
            return redirect(url_for("web.job_page", job_id=job.id))
        except WorkflowError as exc:
            error = exc.message
    try:
        with store.read() as s:
            rows = operations.list_datasets(store, s, g.web_user)
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Datasets")
    return render_page("datasets.html", "Datasets", status=422 if error else 200, datasets=rows, form=form,
                       error=error, all_datasets=permissions.sees_every(g.web_user, "dataset"),
                       can_upload=permissions.may(g.web_user, "dataset:create"),
                       deletable={d.id for d in rows if permissions.can_delete_dataset(g.web_user, d)})


@bp.route("/datasets/<dataset_id>")
@signed_in
def dataset_page(dataset_id: str):
    store = _store()
    try:
        with store.read() as s:
            ds = operations.get_dataset(store, s, g.web_user, dataset_id)
            models = store.models_of_dataset(s, ds.id)
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Dataset")
    return render_page("dataset.html", ds.name, ds=ds, models=models, report=ds.report or {})


@bp.route("/datasets/<dataset_id>/errors.csv")
@signed_in
def dataset_errors(dataset_id: str):
    store = _store()
    try:
        with store.read() as s:
            ds = operations.get_dataset(store, s, g.web_user, dataset_id)
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Dataset")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["severity", "rows affected", "file", "sheet", "row", "column", "message"])
    report = ds.report or {}
    for kind in ("error", "warning"):  # grouped first: one line per message, column and sheet, with its rows
        for e in report.get(f"{kind}_groups", []):
            w.writerow([_cell(x) for x in (kind, e.get("count"), e.get("file"), e.get("sheet"), e.get("rows"),
                                           e.get("column"), e.get("message"))])
    _issue_rows(buf, store, ds)
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="validation-{dataset_id}.csv"'})


def _issue_rows(buf, store, ds) -> None:
    """Row by row after the groups: every row for a dataset that keeps them (synth.dataset.read_issues), else
    the report's first ones; no cell a spreadsheet would run as a formula."""
    import pandas as pd

    from synth.bundle import FORMULA_START
    from synth.dataset import read_issues

    every = read_issues(store.dataset_dir(ds.id)) if ds.status == "ready" else None
    if every is None:
        report = ds.report or {}
        every = pd.DataFrame([{**e, "severity": kind[:-1]} for kind in ("errors", "warnings")
                              for e in report.get(kind, [])], columns=["severity", "file", "sheet", "row", "column",
                                                                       "message"])
    out = every.assign(count=1)[["severity", "count", "file", "sheet", "row", "column", "message"]].astype(object)
    for col in ("file", "sheet", "column", "message"):
        text = out[col].where(out[col].notna(), "").astype(str)
        out[col] = text.where(~text.str.startswith(FORMULA_START), "'" + text)
    out.to_csv(buf, header=False, index=False, lineterminator="\r\n")


def _cell(value):
    """A CSV cell that a spreadsheet will not run as a formula (a sheet or file name may start with '=')."""
    from synth.bundle import FORMULA_START

    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


@bp.route("/datasets/<dataset_id>/train", methods=["POST"])
@signed_in
def train(dataset_id: str):
    store = _store()
    eps_text = request.form.get("epsilon", "").strip()
    try:
        epsilon = float(eps_text) if eps_text else None
    except ValueError:
        flash("Epsilon must be a number, for example 1 or 4; leave it empty for no differential privacy.", "error")
        return redirect(url_for("web.dataset_page", dataset_id=dataset_id))
    window = (request.form.get("window_start", "").strip(), request.form.get("window_end", "").strip())
    try:
        _, job = operations.request_model(store, _runner(), g.web_user, dataset_id,
                                          request.form.get("generator", "journey"), epsilon, *window)
    except WorkflowError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web.dataset_page", dataset_id=dataset_id))
    return redirect(url_for("web.job_page", job_id=job.id))


@bp.route("/jobs/<job_id>")
@signed_in
def job_page(job_id: str):
    store = _store()
    from service.jobs import reap_stale_jobs

    reap_stale_jobs(store)
    try:
        with store.read() as s:
            job = operations.get_job(store, s, g.web_user, job_id)
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Job")
    links = {"dataset": url_for("web.dataset_page", dataset_id=job.target_id),
             "model": url_for("web.model_page", model_id=job.target_id),
             "release": url_for("web.release_page", release_id=job.target_id)}
    return render_page("job.html", "Progress", job=job, next_url=links.get(job.target_type),
                       refresh=2 if job.status in ("queued", "running") else None)


@bp.route("/models/<model_id>")
@signed_in
def model_page(model_id: str):
    store = _store()
    try:
        with store.read() as s:
            m = operations.get_model(store, s, g.web_user, model_id)
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Model")
    return render_page("model.html", "Model", model=m, form={},
                       can_request_release=permissions.can_request_release(g.web_user, m))
