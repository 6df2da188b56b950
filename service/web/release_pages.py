"""Pages of releases: requesting one, the lists and the review queue, the release page (findings first),
its report and bundle, reviews and the requester's actions. Thin views: each calls service.operations."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, request, send_file, url_for

from service import operations
from service.api.refusals import status_of
from service.governance import permissions
from service.governance.workflow import WorkflowError, approvals
from service.orm import Release, TrainedModel
from service.web.headers import REPORT_CSP
from service.web.map_picture import map_svg
from service.web.page_context import _fail_page, _runner, _store, bp, render_page, signed_in


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
        return render_page("model.html", "Model", status=status_of(exc), model=m, form=form, error=exc.message,
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
        "map_svg": map_svg(store, r) if full else None,
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
        return render_page("release.html", f"Release {release_id}", status=status_of(exc), error=exc.message,
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
