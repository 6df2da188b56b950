"""Releases: request, see, list, review, amend, retry, publish and withdraw; their report and files."""

from __future__ import annotations

from pathlib import Path

from service import audit
from service.governance import permissions, workflow
from service.governance.errors import Conflict, Invalid
from service.governance.permissions import in_council
from service.operations.common import new_job, require
from service.operations.models import get_model
from service.orm import Job, Release, TrainedModel, User
from service.store import Store, new_id

MAX_CHILDREN = 1_000_000
RELEASE_KINDS = ("synthetic", "aggregate")


def _check_release_fields(children, profile, kind: str = "synthetic") -> None:
    from synth.disclosure import PROFILES

    if kind not in RELEASE_KINDS:
        raise Invalid(f"unknown kind of release '{kind}'; choose synthetic (records) or aggregate (real counts "
                      "under disclosure control).")
    if kind == "aggregate":
        if children not in (None, 0):
            raise Invalid("an aggregate release holds no synthetic children: leave children out.")
    elif not isinstance(children, int) or not 1 <= children <= MAX_CHILDREN:
        raise Invalid(f"children must be a whole number from 1 to {MAX_CHILDREN:,}.")
    if profile not in PROFILES:
        raise Invalid(f"unknown disclosure profile '{profile}'; choose one of: {', '.join(PROFILES)}.")


def request_release(store: Store, runner, user: User, model_id: str, children: int | None, profile: str, purpose: str,
                    recipients: str, kind: str = "synthetic") -> tuple[Release, Job]:
    """Request a release from a model: `kind` "synthetic" (`children` synthetic children sampled from it) or
    "aggregate" (the real counts of the model's dataset under `profile`'s disclosure control; no children)."""
    require(user, "release:create")
    kind = kind or "synthetic"
    _check_release_fields(children, profile, kind)
    if kind == "aggregate":
        children = 0
    if not (purpose or "").strip() or not (recipients or "").strip():
        raise Invalid("say what the release is for (purpose) and who will receive it (recipients).")
    with store.write() as s:
        store.get(s, TrainedModel, model_id, lock=True)  # a deletion of its dataset under way finishes first
        m = get_model(store, s, user, model_id)
        permissions.check_request_release(user, m)
        r = Release(id=new_id(), council_id=user.council_id, model_id=m.id, requester_id=user.id, kind=kind, children=children, profile=profile,
                    purpose=purpose.strip(), recipients=recipients.strip(), state="draft")
        s.add(r)
        s.flush()
        audit.record(store, s, user, "release.requested", "release", r.id,
                     {"model": m.id, "kind": kind, "children": children, "profile": profile})
        workflow.transition(store, s, r, "submit", user)
        job = new_job(store, s, runner, "build_release", "release", r.id, user)
    runner.submit(job.id)
    return r, job


def get_release(store: Store, s, user: User, release_id: str, shared: bool = False) -> Release:
    """A release of the user's council they may see. With `shared` (reading only: its record and bundle, never
    acting on it), also a published aggregate release another council shares with the user's sharing council."""
    r = store.get(s, Release, release_id)
    permissions.check_view_release(user, r, _councils(store, s, user, r) if shared else None)
    return r


def _councils(store: Store, s, user: User, r: Release | None):
    """The user's council and the release's, for a rule on sharing (not looked up for one's own release)."""
    from service.orm import Council

    if r is None or in_council(user, r):
        return None
    return store.get(s, Council, user.council_id), store.get(s, Council, r.council_id)


def list_releases(store: Store, s, user: User, state: str | None = None) -> list[Release]:
    require(user, "release:list")
    council = user.council_id
    states, own = permissions.release_scope(user)
    if states is None:
        return store.releases(s, council, [state] if state else None)
    wanted = sorted(x for x in states if state in (None, x))
    rows = store.releases(s, council, wanted) if wanted else []
    if own:
        rows += store.releases(s, council, None, requester_id=user.id)
    seen, out = set(), []
    for r in sorted(rows, key=lambda r: r.created_at, reverse=True):
        if r.id not in seen and (state is None or r.state == state):
            seen.add(r.id)
            out.append(r)
    return out


def review_release(store: Store, user: User, release_id: str, decision: str, comment: str) -> Release:
    """A reviewer's decision. Approving a release whose checks include items to review needs a comment
    (the rule is in governance.workflow; the items are named from the release's disclosure report)."""
    require(user, "release:review")
    with store.write() as s:
        # Reviews of one release are decided one after another: on PostgreSQL two reviewers approving at the same
        # instant each counted the approvals without the other's (both saw one of two: never approved), and one
        # reviewer's double click counted twice. The row lock makes the second wait and see the first.
        store.get(s, Release, release_id, lock=True)
        r = get_release(store, s, user, release_id)
        items = tuple(c["title"] for c in release_findings(release_report(store, r.id))["review"])
        workflow.review(store, s, r, user, decision, comment or "", int(store.cfg["REQUIRED_APPROVALS"]), items)
    return r


def release_report(store: Store, release_id: str) -> dict | None:
    """The full disclosure report of a release as stored in the service (None before its build wrote one).
    For those who decide on it only: callers check who may read it."""
    import json

    path = store.report_path(release_id, "json")
    return json.loads(path.read_text()) if path.exists() else None


def release_findings(report: dict | None) -> dict[str, list[dict]]:
    """The report's checks by result ("review", "fail", "pass"), each with its guidance (what it protects
    against, what to look for: a report written before checks carried guidance gets it by name) and its
    measure as text."""
    from synth.disclosure.guidance import guidance_for
    from synth.disclosure.report import measure_text

    out: dict[str, list[dict]] = {"review": [], "fail": [], "pass": []}
    for c in (report or {}).get("checks", []):
        out.setdefault(c["status"], []).append({**c, "guidance": c.get("guidance") or guidance_for(c["name"]),
                                                "measure": measure_text(c.get("metric"))})
    return out


def amend_release(store: Store, runner, user: User, release_id: str, changes: dict) -> tuple[Release, Job]:
    require(user, "release:amend")
    if "children" in changes and changes["children"] is not None or "profile" in changes and changes["profile"]:
        with store.read() as s:
            r = get_release(store, s, user, release_id)
        if r.kind == "aggregate":
            _check_release_fields(changes.get("children"), changes.get("profile") or r.profile, r.kind)
        else:
            _check_release_fields(changes.get("children") or r.children, changes.get("profile") or r.profile)
    with store.write() as s:
        r = get_release(store, s, user, release_id)
        workflow.amend(store, s, r, user, changes)
        job = new_job(store, s, runner, "build_release", "release", r.id, user)
    runner.submit(job.id)
    return r, job


def build_crashed(store: Store, s, r: Release) -> bool:
    """Whether the release last ended failed because its build stopped, not because the gate decided."""
    ended = [e.action for e in store.audit_events(s, r.council_id, object_type="release", object_id=r.id)
             if e.action in ("release.gate_failed", "release.build_failed")]
    return ended[-1:] == ["release.build_failed"]


def retry_release(store: Store, runner, user: User, release_id: str) -> tuple[Release, Job]:
    """Run again the build of a release whose job stopped before the gate decided (a worker killed, a
    crash): the same request, checked from the start. A release the gate failed is not retried: amend it."""
    require(user, "release:amend")
    with store.write() as s:
        r = get_release(store, s, user, release_id)
        permissions.check_retry(user, r, r.state == "failed" and build_crashed(store, s, r))
        workflow.transition(store, s, r, "retry", user)
        r.error = None
        job = new_job(store, s, runner, "build_release", "release", r.id, user)
    runner.submit(job.id)
    return r, job


def _differencing_since_checked(store: Store, s, r: Release) -> None:
    """An aggregate release was checked against the releases of its dataset published before its build;
    one published since (approved in parallel) is set against it now, before it is served."""
    from synth.disclosure.differencing import compare

    m = store.get(s, TrainedModel, r.model_id)
    earlier = [store.release_map(x.id) for x in store.published_releases_of_dataset(s, m.dataset_id, "aggregate",
                                                                                    exclude=r.id)]
    mine = store.release_map(r.id)
    if mine is None or any(x is None for x in earlier) or not compare(mine, [x for x in earlier if x]).ok:
        raise Conflict("another aggregate release of the same dataset has been published since this one was "
                       "checked, and the two together would reveal withheld counts (or a bundle is missing); "
                       "withdraw it and request it again, so that it is checked against them.")


def publish_release(store: Store, user: User, release_id: str) -> Release:
    require(user, "release:publish")
    with store.write() as s:
        r = get_release(store, s, user, release_id)
        permissions.check_publish(user, r)
        if r.kind == "aggregate":
            _differencing_since_checked(store, s, r)
        workflow.transition(store, s, r, "publish", user)
        from service.orm import now

        r.published_at = now()
    return r


def withdraw_release(store: Store, user: User, release_id: str, reason: str = "") -> Release:
    require(user, "release:withdraw")
    with store.write() as s:
        r = get_release(store, s, user, release_id)
        permissions.check_withdraw(user, r)
        workflow.transition(store, s, r, "withdraw", user, {"reason_chars": len(reason or "")})
    return r


def open_release_viewer(store: Store, user: User, release_id: str) -> Release:
    """A signed-in user opens the map viewer on a published release: the same rule as a download, audited."""
    with store.write() as s:
        r = get_release(store, s, user, release_id, shared=True)
        permissions.check_download(user, r, _councils(store, s, user, r))
        details = {} if in_council(user, r) else {"shared_by_council": r.council_id}
        audit.record(store, s, user, "release.viewer_opened", "release", r.id, details)
    return r


def release_file_access(store: Store, user: User, release_id: str, what: str,
                        via: str = "api") -> tuple[Release, Path]:
    """The path of a release's bundle or its report (`what`: "bundle", "report_json" or "report_html"), if this
    user may have it now; audits the read (`via`: "api" or "web")."""
    with store.write() as s:
        r = get_release(store, s, user, release_id, shared=what == "bundle")
        if what == "bundle":
            permissions.check_download(user, r, _councils(store, s, user, r))
            path = store.bundle_path(r.id)
        else:
            permissions.check_read_report(user, r)
            path = store.report_path(r.id, "json" if what == "report_json" else "html")
        if not path.exists():
            raise Conflict("the release has no such file yet (its build job has not finished).")
        if what == "bundle":
            details = {} if in_council(user, r) else {"shared_by_council": r.council_id}
            audit.record(store, s, user, "release.bundle_read", "release", r.id, details)
        else:
            record_report_read(store, s, user, r, what.removeprefix("report_"), via)
    return r, path


def record_report_read(store: Store, s, user: User, r: Release, form: str, via: str) -> None:
    """Every read of a release's disclosure report is one audit action, `release.report_read`, saying in what
    form (json, html, or the release page's findings) and through what (api or web)."""
    audit.record(store, s, user, "release.report_read", "release", r.id, {"format": form, "via": via})
