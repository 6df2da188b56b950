"""Server-rendered pages for data owners, reviewers, admins and developers (same Flask app).

Sign-in exchanges an API token for a session cookie (HttpOnly, SameSite=Strict, Secure over
HTTPS, expiring after SESSION_MINUTES). Every form carries the session's CSRF token and a one-time
form id: a post without the token is refused, and the same form sent twice is done once. Views
stay thin: each calls one function in service.operations and renders a template.
"""

from __future__ import annotations

import csv
import html
import io
import secrets
import time
from functools import wraps

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from markupsafe import Markup

from service import audit, operations
from service.governance import permissions
from service.governance.workflow import WorkflowError, approvals
from service.orm import Release, TrainedModel
from synth.stages import STAGE_LABELS

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/web")
MAX_USED_FORMS = 200
# Pages: everything from this site only, no scripts at all (none of the pages has one); inline styles for
# the progress bar; images as data: URIs (the map picture is inline SVG).
PAGE_CSP = ("default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'")
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


def _store():
    return current_app.extensions["frontdoor"].store


def _runner():
    return current_app.extensions["frontdoor"].runner


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_field() -> Markup:
    return Markup(f'<input type="hidden" name="csrf_token" value="{csrf_token()}">'
                  f'<input type="hidden" name="form_id" value="{secrets.token_urlsafe(12)}">')


@bp.before_app_request
def _load_user():
    g.web_user = None
    if request.path.startswith("/api/"):
        return None
    uid, started = session.get("uid"), session.get("started", 0)
    minutes = int(current_app.config["FRONTDOOR"]["SESSION_MINUTES"])
    if uid and time.time() - started > minutes * 60:
        session.clear()
        flash("Your session expired. Sign in again.", "error")
        return None
    if uid:
        store = _store()
        with store.read() as s:
            from service.orm import User

            user = s.get(User, uid)
            if user is None or not user.active or _session_ended(user, started):
                session.clear()
                return None
            _ = user.council.name  # loaded now: the header names the user's council
            g.web_user = user
    return None


def _session_ended(user, started: float) -> bool:
    """Whether the user signed out (or their token changed) after this session began."""
    from datetime import UTC

    after = user.sessions_valid_after
    return after is not None and after.replace(tzinfo=UTC).timestamp() >= started


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, else the home page. Browsers drop tabs and
    newlines from addresses and read a backslash as a slash, so "/\t/evil.example" would become
    "//evil.example" (another site): any control character or backslash, or a scheme or host, is refused."""
    from urllib.parse import urlsplit

    home = url_for("web.home")
    if not target or any(ord(c) < 0x21 or c in "\\\x7f" for c in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return home
    return target


@bp.before_request
def _check_csrf():
    if request.method != "POST":
        return None
    sent = request.form.get("csrf_token", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        return render_page("message.html", "Form refused", status=400,
                           error="This form could not be accepted (its security token is missing or out of date). "
                                 "Go back, reload the page and try again.")
    form_id = request.form.get("form_id", "")
    used = session.get("used_forms", [])
    if form_id and form_id in used:
        flash("That form had already been sent; it was not done twice.", "notice")
        return redirect(request.referrer or url_for("web.home"))
    if form_id:
        session["used_forms"] = (used + [form_id])[-MAX_USED_FORMS:]
    return None


def signed_in(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if g.web_user is None:
            return redirect(url_for("web.login", next=request.path))
        return view(*args, **kwargs)

    return wrapper


@bp.app_context_processor
def _menu() -> dict:
    """The pages the menu offers the signed-in user (base.html gets booleans, never a role)."""
    user = g.get("web_user")
    return {"menu": permissions.menu(user) if user is not None else {}}


def render_page(template: str, title: str, status: int = 200, **context):
    return render_template(template, title=title, user=g.get("web_user"), csrf_field=csrf_field, **context), status


def _fail_page(exc: WorkflowError, template: str, title: str, **context):
    return render_page(template, title, status=exc.status if exc.status < 500 else 400, error=exc.message, **context)


# -- signing in -------------------------------------------------------------------------------
@bp.route("/")
def home():
    if g.web_user is None:
        return redirect(url_for("web.login"))
    if permissions.may(g.web_user, "dataset:create"):  # data owners start from their datasets
        return redirect(url_for("web.datasets"))
    if permissions.may(g.web_user, "release:review"):  # reviewers from what awaits them
        return redirect(url_for("web.review_queue"))
    return redirect(url_for("web.releases"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_page("login.html", "Sign in")
    token = request.form.get("token", "").strip()
    store = _store()
    signins = current_app.extensions["frontdoor_signins"]
    wait = signins.retry_after(request.remote_addr or "")
    if wait is not None:
        resp = render_page("login.html", "Sign in", status=429,
                           error=f"Too many failed sign-ins from your address. Try again in {wait} seconds.")
        return resp[0], resp[1], {"Retry-After": str(wait)}
    with store.read() as s:
        user = store.user_by_token(s, token) if token else None
    if user is None:
        signins.failed(request.remote_addr or "", "web")
        return render_page("login.html", "Sign in", status=401,
                           error="That token is not valid or has expired. Check it, or ask an administrator for a "
                                 "new one.")
    session.clear()
    session.update(uid=user.id, started=time.time(), csrf=secrets.token_urlsafe(32))
    session.permanent = True
    return redirect(safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
def logout():
    if g.web_user is not None:
        operations.end_sessions(_store(), g.web_user)
    session.clear()
    flash("You have signed out.", "notice")
    return redirect(url_for("web.login"))


# -- data owners: datasets, training ----------------------------------------------------------
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


# -- releases ---------------------------------------------------------------------------------
@bp.route("/models/<model_id>/release", methods=["POST"])
@signed_in
def request_release(model_id: str):
    store = _store()
    form = {k: request.form.get(k, "") for k in ("kind", "children", "profile", "purpose", "recipients")}
    kind = form["kind"] or "synthetic"
    try:
        children = int(form["children"]) if form["children"].strip() else (None if kind == "aggregate" else 0)
    except ValueError:
        children = -1
    try:
        _, job = operations.request_release(store, _runner(), g.web_user, model_id, children,
                                            form["profile"] or "default", form["purpose"], form["recipients"], kind)
    except WorkflowError as exc:
        try:
            with store.read() as s:
                m = operations.get_model(store, s, g.web_user, model_id)
        except WorkflowError:
            return _fail_page(exc, "message.html", "Model")
        return render_page("model.html", "Model", status=exc.status, model=m, form=form, error=exc.message,
                           can_request_release=permissions.can_request_release(g.web_user, m))
    return redirect(url_for("web.job_page", job_id=job.id))


@bp.route("/releases")
@signed_in
def releases():
    store = _store()
    with store.read() as s:
        rows = operations.list_releases(store, s, g.web_user)
    return render_page("releases.html", "Releases", releases=rows, kind_labels=KIND_LABELS)


@bp.route("/reviews")
@signed_in
def review_queue():
    store = _store()
    with store.read() as s:
        rows = operations.list_releases(store, s, g.web_user, "awaiting_review")
    return render_page("releases.html", "Awaiting review", releases=rows, queue=True, kind_labels=KIND_LABELS)


KIND_LABELS = {"synthetic": "Synthetic records", "aggregate": "Aggregate counts from real data"}
KIND_TEXTS = {
    "synthetic": "children and journeys made up by a generator trained on the council's records, and a map computed "
                 "from those synthetic children only. No row is a real child.",
    "aggregate": "counts of the council's real children under the disclosure rules (threshold, rounding, secondary "
                 "suppression), with no records, checked against every earlier published release of the same data.",
}


def _release_context(store, s, r: Release) -> dict:
    """What the release page shows. Who asked, why, for whom, the reviews, the history, the report and the map
    are for those who decide on the release (its requester, reviewers, admins), as in the API; others see what
    it is. What the user may do to it: service.governance.permissions, as booleans for the template."""
    user = g.web_user
    full = permissions.can_read_report(user, r)
    events = store.audit_events(s, r.council_id, object_type="release", object_id=r.id) if full else []
    model = store.get(s, TrainedModel, r.model_id)
    report = operations.release_report(store, r.id) if full else None
    kind = r.kind or "synthetic"
    can_download = permissions.can_download(user, r)
    return {
        "r": r, "full": full, "history": events, "model": model, "report": report,
        "findings": operations.release_findings(report),
        "kind_label": KIND_LABELS.get(kind, kind), "kind_text": KIND_TEXTS.get(kind, ""),
        "approvals": len(approvals(r)), "required": int(current_app.config["FRONTDOOR"]["REQUIRED_APPROVALS"]),
        "can_review": permissions.can_review(user, r),
        "can_publish": permissions.can_publish(user, r),
        "can_withdraw": permissions.can_withdraw(user, r),
        # The page offers the change form once the release is returned (a change while in review: the API).
        "can_amend": r.state == "returned" and permissions.can_amend(user, r),
        "can_retry": permissions.can_retry(user, r, r.state == "failed" and operations.build_crashed(store, s, r)),
        "can_download": can_download,
        "viewer_link": can_download and bool(current_app.config["FRONTDOOR"].get("VIEWER_URL")
                                             and current_app.config["FRONTDOOR"].get("VIEWER_SECRET_KEY")),
        "map_svg": _map_svg(store, r) if full else None,
    }


@bp.route("/releases/<release_id>")
@signed_in
def release_page(release_id: str):
    store = _store()
    try:
        with store.read() as s:
            r = operations.get_release(store, s, g.web_user, release_id)
            ctx = _release_context(store, s, r)
            _ = [rv.reviewer.name for rv in r.reviews], r.requester.name
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Release")
    if ctx["report"] is not None:
        with store.write() as s:
            operations.record_report_read(store, s, g.web_user, r, "page", "web")
    return render_page("release.html", f"Release {r.id}", **ctx)


@bp.route("/releases/<release_id>/report.html")
@signed_in
def release_report(release_id: str):
    try:
        _, path = operations.release_file_access(_store(), g.web_user, release_id, "report_html", via="web")
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Report")
    resp = send_file(path, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = REPORT_CSP
    return resp


@bp.route("/releases/<release_id>/bundle.zip")
@signed_in
def release_bundle(release_id: str):
    try:
        r, path = operations.release_file_access(_store(), g.web_user, release_id, "bundle", via="web")
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Download")
    return send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=f"frontdoor-release-{r.id}.zip", etag=r.bundle_sha256)


@bp.route("/releases/<release_id>/review", methods=["POST"])
@signed_in
def review(release_id: str):
    try:
        operations.review_release(_store(), g.web_user, release_id, request.form.get("decision", ""),
                                  request.form.get("comment", ""))
    except WorkflowError as exc:
        store = _store()
        with store.read() as s:
            try:
                r = operations.get_release(store, s, g.web_user, release_id)
            except WorkflowError:
                return _fail_page(exc, "message.html", "Review")
            ctx = _release_context(store, s, r)
            _ = [rv.reviewer.name for rv in r.reviews], r.requester.name
        return render_page("release.html", f"Release {release_id}", status=exc.status, error=exc.message,
                           comment=request.form.get("comment", ""), **ctx)
    flash("Your review has been recorded.", "notice")
    return redirect(url_for("web.release_page", release_id=release_id))


@bp.route("/releases/<release_id>/<action>", methods=["POST"])
@signed_in
def release_action(release_id: str, action: str):
    store = _store()
    try:
        if action == "publish":
            operations.publish_release(store, g.web_user, release_id)
            flash("The release is published: developers can download it now.", "notice")
        elif action == "withdraw":
            operations.withdraw_release(store, g.web_user, release_id, request.form.get("reason", ""))
            flash("The release is withdrawn: its files are no longer served.", "notice")
        elif action == "retry":
            _, job = operations.retry_release(store, _runner(), g.web_user, release_id)
            return redirect(url_for("web.job_page", job_id=job.id))
        elif action == "amend":
            changes = {k: request.form.get(k) or None for k in ("purpose", "recipients", "profile")}
            if request.form.get("children"):
                changes["children"] = int(request.form["children"])
            _, job = operations.amend_release(store, _runner(), g.web_user, release_id, changes)
            return redirect(url_for("web.job_page", job_id=job.id))
        else:
            abort(404)
    except (WorkflowError, ValueError) as exc:
        flash(exc.message if isinstance(exc, WorkflowError) else "Children must be a whole number.", "error")
    return redirect(url_for("web.release_page", release_id=release_id))


# -- audit ------------------------------------------------------------------------------------
@bp.route("/audit")
@signed_in
def audit_page():
    store = _store()
    try:
        permissions.check_allowed(g.web_user, "audit:read")
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Audit trail")
    filters = {k: request.args.get(k) or None for k in ("action", "object_type", "object_id", "actor")}
    with store.read() as s:
        events = store.audit_events(s, g.web_user.council_id, limit=500, **filters)
    return render_page("audit.html", "Audit trail", events=events, filters=filters,
                       chain=audit.verify(store, g.web_user.council_id))


def _map_svg(store, r: Release) -> Markup | None:
    """A static picture of the release's map (from its map.json), for the reviewer's page."""
    import json
    import zipfile

    path = store.bundle_path(r.id)
    if not path.exists():
        return None
    with zipfile.ZipFile(path) as zf:
        m = json.loads(zf.read("map.json"))
    view = m["views"]["all"]
    from synth.stage_layout import svg_xy

    xy = svg_xy(940, 350, margin=45)  # the map viewer's layout (one place: synth.stage_layout)
    top = max([e["children"] or 0 for e in view["edges"]] or [1])
    parts = []
    for e in view["edges"]:
        (x0, y0), (x1, y1) = xy[e["source"]], xy[e["target"]]
        w = 1 if e["children"] is None else 1 + 9 * (e["children"] / top) ** 0.5
        dash = ' stroke-dasharray="4 3"' if e["children"] is None else ""
        parts.append(f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#1d70b8" stroke-opacity="0.6" '
                     f'stroke-width="{w:.1f}"{dash}><title>{html.escape(STAGE_LABELS.get(e["source"], e["source"]))} to '
                     f'{html.escape(STAGE_LABELS.get(e["target"], e["target"]))}: '
                     f'{e["children"] if e["children"] is not None else "suppressed"} children</title></line>')
    for n in view["nodes"]:
        x, y = xy[n["stage"]]
        lines = _wrap(STAGE_LABELS.get(n["stage"], n["stage"]))
        label = "".join(f'<tspan x="{x}" dy="{0 if i == 0 else 12}">{html.escape(t)}</tspan>' for i, t in enumerate(lines))
        count = "suppressed" if n["children"] is None else f'{n["children"]:,}'
        parts.append(f'<circle cx="{x}" cy="{y}" r="12" fill="#fff" stroke="#0b0c0c" stroke-width="2"/>'
                     f'<text x="{x}" y="{y - 17 - 12 * (len(lines) - 1)}" text-anchor="middle" font-size="11" stroke="#fff" stroke-width="3" paint-order="stroke">{label}</text>'
                     f'<text x="{x}" y="{y + 27}" text-anchor="middle" font-size="11" fill="#505a5f">{count}</text>')
    return Markup(f'<svg role="img" aria-label="The release\'s journey map: stages and the routes between them" '
                  f'viewBox="0 0 940 350" width="100%">{"".join(parts)}</svg>')


def _wrap(label: str, width: int = 14) -> list[str]:
    """A stage's label in lines of about `width` characters (the map's columns are narrow)."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [label]


def init_app(app: Flask) -> None:
    cfg = app.config["FRONTDOOR"]
    public = cfg.get("PUBLIC_URL") or ""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=public.startswith("https://"),
        SESSION_COOKIE_NAME="frontdoor_session",
        PERMANENT_SESSION_LIFETIME=int(cfg["SESSION_MINUTES"]) * 60,
    )
    from service.web import council_pages, dataset_pages, viewer_pages  # noqa: F401  (their routes are on bp)

    app.register_blueprint(bp)

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        if public.startswith("https://"):
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        # Whatever a signed-in person (or a token) was shown is kept by no cache, shared or local; files
        # with ETags say "private, no-cache" themselves (revalidated each time).
        if request.headers.get("Authorization") or g.get("web_user") is not None:
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp
