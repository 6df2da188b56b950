"""Pages of the council: its settings (population, sharing), the comparison with sharing councils, and
its teams side by side. Thin views: every rule is in service.operations."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for

from service import operations
from service.governance import permissions
from service.governance.workflow import WorkflowError
from service.web import _fail_page, _store, bp, render_page, signed_in
from synth.stages import STAGE_LABELS


def _label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage)


@bp.route("/council", methods=["GET", "POST"])
@signed_in
def council_page():
    store = _store()
    if request.method == "POST":
        population = request.form.get("population", "").strip()
        shares = request.form.get("shares_aggregates")
        try:
            operations.update_council(store, g.web_user, int(population.replace(",", "")) if population else None,
                                      None if shares is None else shares == "yes")
            flash("The council's settings are saved.", "notice")
        except ValueError:
            flash("The population must be a whole number of children, for example 118000.", "error")
        except WorkflowError as exc:
            flash(exc.message, "error")
        return redirect(url_for("web.council_page"))
    with store.read() as s:
        council = operations.get_council(store, s, g.web_user)
    return render_page("council.html", council.name, council=council,
                       can_manage=permissions.may(g.web_user, "council:manage"),
                       can_compare=permissions.may(g.web_user, "comparison:read"))


@bp.route("/comparison")
@signed_in
def comparison_page():
    try:
        data = operations.compare_councils(_store(), g.web_user)
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Comparison")
    return render_page("comparison.html", "Comparison with other councils", data=data, label=_label)


@bp.route("/releases/<release_id>/teams")
@signed_in
def teams_page(release_id: str):
    try:
        data = operations.compare_teams(_store(), g.web_user, release_id)
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Teams")
    return render_page("teams.html", "Teams side by side", data=data, label=_label)


@bp.route("/users", methods=["GET", "POST"])
@signed_in
def users_page():
    store = _store()
    new_token = None
    if request.method == "POST":
        try:
            if request.form.get("action") == "add":
                changed, new_token = operations.add_user(store, g.web_user, request.form.get("name", ""),
                                                         request.form.get("role", ""))
                flash(f"{changed.name} is added ({changed.role.replace('_', ' ')}).", "notice")
            else:
                changed, new_token = operations.change_user_token(store, g.web_user, request.form.get("name", ""),
                                                                  request.form.get("action", ""))
                flash(f"{changed.name}: done ({request.form.get('action')}).", "notice")
        except WorkflowError as exc:
            flash(exc.message, "error")
        if new_token is None:
            return redirect(url_for("web.users_page"))
    try:
        with store.read() as s:
            rows = operations.list_users(store, s, g.web_user)
    except WorkflowError as exc:
        return _fail_page(exc, "message.html", "Users")
    from service.governance.permissions import ROLES

    return render_page("users.html", "Users", users=rows, new_token=new_token, roles=ROLES,
                       token_for=request.form.get("name", "").strip() if new_token else None)
