"""Deleting a dataset from the pages: a page saying what will go, and the form that does it (CSRF-checked
like every form; the rule, the permission and the audit event are in `operations.delete_dataset`)."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for

from service import operations
from service.governance import permissions
from service.governance.workflow import WorkflowError
from service.web import _fail_page, _store, bp, render_page, signed_in


@bp.route("/datasets/<dataset_id>/delete", methods=["GET", "POST"])
@signed_in
def delete_dataset_page(dataset_id: str):
    store = _store()
    if request.method == "POST":
        try:
            done = operations.delete_dataset(store, g.web_user, dataset_id)
        except WorkflowError as exc:
            flash(exc.message[:1].upper() + exc.message[1:], "error")
            return redirect(url_for("web.delete_dataset_page", dataset_id=dataset_id))
        models = f" and {done.models} model{'s' if done.models != 1 else ''} trained on it" if done.models else ""
        flash(f"Dataset '{done.dataset.name}' is deleted: its uploaded files, its tables{models}.", "notice")
        return redirect(url_for("web.datasets"))
    try:
        permissions.check_allowed(g.web_user, "dataset:delete")
        with store.read() as s:
            ds = operations.get_dataset(store, s, g.web_user, dataset_id)
            models = store.models_of_dataset(s, ds.id)
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Delete a dataset")
    return render_page("dataset_delete.html", f"Delete {ds.name}", ds=ds,
                       models=[m for m in models if m.status != "deleted"])
