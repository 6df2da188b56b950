"""What the service does, one function per user action, each one transaction with its audit event.
The web API, the web pages and the command line all call these; none of them holds the rules."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from service import audit
from service.governance import permissions, workflow
from service.governance.errors import NotFound, WorkflowError
from service.governance.permissions import in_council
from service.orm import Dataset, Job, Release, TrainedModel, User
from service.store import Store, new_id

UPLOAD_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv")
MAX_CHILDREN = 1_000_000
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


# The role gate, before any object is looked at (every rule is in service.governance.permissions).
require = permissions.check_allowed


@dataclass
class Upload:
    filename: str
    stream: BinaryIO


def _new_job(store: Store, s, runner, kind: str, target_type: str, target_id: str, user: User) -> Job:
    """A queued job for this user, within their quota of jobs queued or running at once (one person cannot
    fill the queue: a security review sent 274 release requests in 2.5 minutes)."""
    from sqlalchemy import func, select

    limit = int(store.cfg.get("MAX_ACTIVE_JOBS_PER_USER", 3))
    active = s.scalar(select(func.count()).select_from(Job).where(
        Job.created_by == user.id, Job.status.in_(("queued", "running"))))
    if active >= limit:
        raise WorkflowError(f"you already have {active} jobs queued or running (at most {limit} at once); wait "
                            "for one to finish, then try again.", 429)
    job = Job(id=new_id(), council_id=user.council_id, kind=kind, target_type=target_type, target_id=target_id,
              created_by=user.id, backend=runner.backend)
    s.add(job)
    s.flush()
    return job


# -- datasets ---------------------------------------------------------------------------------
def upload_dataset(store: Store, runner, user: User, name: str, uploads: list[Upload],
                   dates: str = "day-first") -> tuple[Dataset, Job]:
    """Save uploaded Annex A files, check they can be read and hold Annex A lists, and start the ingest.
    Refuses (and keeps nothing) when a file is not a readable Annex A workbook or CSV. `dates`:
    'day-first' (dd/mm/yyyy, the default) or 'month-first' (text dates written mm/dd/yyyy)."""
    from synth.errors import InputFileError, ValidationError
    from synth.ingest import check_one_standard, identify_list, why_unrecognised
    from synth.readers import read_headers

    require(user, "dataset:create")
    if dates not in ("day-first", "month-first"):
        raise WorkflowError("dates must be 'day-first' (dd/mm/yyyy, the default) or 'month-first' (mm/dd/yyyy).", 422)
    name = (name or "").strip()
    if not name:
        raise WorkflowError("give the dataset a name.", 422)
    if not uploads:
        raise WorkflowError("attach at least one Annex A file (field 'file').", 422)
    tmp = store.tmp_path("upload")
    tmp.mkdir(parents=True)
    try:
        files = []
        for up in uploads:
            fname = _SAFE_NAME.sub("_", Path(up.filename or "").name).strip() or "upload"
            if not fname.lower().endswith(UPLOAD_SUFFIXES):
                raise WorkflowError(f"{fname}: not an Annex A file type; upload .xlsx workbooks or .csv files.", 415)
            dest = tmp / fname
            if dest.exists():
                raise WorkflowError(f"{fname} was attached twice; attach each file once.", 422)
            with open(dest, "wb") as out:
                shutil.copyfileobj(up.stream, out, length=1 << 20)
            files.append(dest)
        found, why, recognised = [], [], []
        for f in files:
            try:
                tables = read_headers(f)
            except InputFileError as exc:
                raise WorkflowError(exc.message, 422) from None
            for table in tables:
                annex = identify_list(table)
                if annex is None:
                    why.append(f"{table.where}: {why_unrecognised(table)}")
                else:
                    found.append(annex.number)
                    recognised.append((table, annex))
        try:  # Annex A lists or SSD tables, not both; SSD tables with the persons table
            check_one_standard(recognised)
            from synth.ssd import require_person_table
            from synth.ssd_schema import SsdTable

            require_person_table({spec.name for _, spec in recognised if isinstance(spec, SsdTable)})
        except ValidationError as exc:
            raise WorkflowError(exc.message, 422) from None
        if not found:
            raise WorkflowError("none of the files holds an Annex A list (Lists 1-8) recognisable by its headers ("
                                + "; ".join(why[:5]) + ").", 422)
        dataset_id = new_id()
        store.place(tmp, store.upload_dir(dataset_id))
    except BaseException:
        store.remove(tmp)
        raise
    try:
        with store.write() as s:
            ds = Dataset(id=dataset_id, council_id=user.council_id, name=name[:200], owner_id=user.id,
                         status="ingesting", report={"options": {"dates": dates}},
                         files=[{"name": f.name, "bytes": (store.upload_dir(dataset_id) / f.name).stat().st_size}
                                for f in files])
            s.add(ds)
            job = _new_job(store, s, runner, "ingest", "dataset", dataset_id, user)
            audit.record(store, s, user, "dataset.uploaded", "dataset", dataset_id,
                         {"files": len(files), "lists": sorted(set(found), key=str)})
    except BaseException:
        store.remove(store.upload_dir(dataset_id))
        raise
    runner.submit(job.id)
    return ds, job


def get_dataset(store: Store, s, user: User, dataset_id: str) -> Dataset:
    ds = store.get(s, Dataset, dataset_id)
    permissions.check_view_dataset(user, ds)
    return ds


def list_datasets(store: Store, s, user: User) -> list[Dataset]:
    require(user, "dataset:read")
    return store.datasets(s, user.council_id, None if permissions.sees_every(user, "dataset") else user.id)


@dataclass
class Deleted:
    dataset: Dataset
    models: int
    files: int


def delete_dataset(store: Store, user: User, dataset_id: str) -> Deleted:
    """Delete a dataset (its owner, or an admin of its council): its raw uploads, its canonical tables and the
    models trained on it (they derive from the raw records). Its record stays, emptied of its report and
    counts and marked deleted, with its audit trail; releases made from it keep their record and report.

    Refused (409) while the dataset is being ingested or a model of it trained, and while a release of it is
    in progress, in review, approved or published (withdraw it first): those rest on the dataset. Nothing is
    half-done: the files are moved out of place by rename inside the database transaction and moved back if
    it fails; they are removed once it has committed."""
    require(user, "dataset:delete")
    trash = store.tmp_path(f"deleted-{dataset_id}")
    moved: list[tuple[Path, Path]] = []
    try:
        with store.write() as s:
            # Rows locked first (PostgreSQL), so that a training or release requested meanwhile waits for this
            # and then finds the dataset or model deleted, or is seen below.
            store.get(s, Dataset, dataset_id, lock=True)
            ds = get_dataset(store, s, user, dataset_id)  # owner or admin of its council, else 404
            permissions.check_delete_dataset(user, ds)  # not while it is ingested
            models = store.models_of_dataset(s, ds.id, lock=True)
            permissions.check_delete_dataset(user, ds, models, store.releases_of_models(s, [m.id for m in models]))
            trash.mkdir(parents=True)
            for src in (store.upload_dir(ds.id), store.dataset_dir(ds.id), *(store.model_path(m.id) for m in models)):
                if src.exists():
                    dest = trash / f"{len(moved)}-{src.name}"
                    src.rename(dest)
                    moved.append((dest, src))
            files = sum(1 for p in trash.rglob("*") if p.is_file())
            ds.status, ds.report, ds.counts, ds.files, ds.error = "deleted", None, None, [], None
            for m in models:
                m.status = "deleted"
            audit.record(store, s, user, "dataset.deleted", "dataset", dataset_id,
                         {"models": len(models), "files": files})
    except BaseException:
        for dest, src in reversed(moved):
            dest.rename(src)
        store.remove(trash)
        raise
    store.remove(trash)
    return Deleted(ds, len(models), files)


# -- jobs -------------------------------------------------------------------------------------
def get_job(store: Store, s, user: User, job_id: str) -> Job:
    """A job of the user's council they may see (permissions.check_view_job)."""
    require(user, "job:read")
    job = store.get(s, Job, job_id)
    permissions.check_view_job(user, job)
    return job


# -- models -----------------------------------------------------------------------------------
def _declared_window(spec) -> tuple[date | None, date | None]:
    """Check the spec (ModelError -> 422) and return its declared window as the dates training will use."""
    from synth.errors import ModelError
    from synth.models import declared_window, validate_spec

    try:
        validate_spec(spec)
        window = declared_window(spec)
    except ModelError as exc:
        raise WorkflowError(exc.message, 422) from None
    return (None, None) if window is None else (window.start.date(), window.end.date())


def request_model(store: Store, runner, user: User, dataset_id: str, generator: str, epsilon: float | None,
                  window_start: date | str | None = None,
                  window_end: date | str | None = None) -> tuple[TrainedModel, Job]:
    """Start training. With epsilon the council must declare the extract window (window_start and
    window_end, ISO dates): a window read off the records would reveal real dates."""
    from synth.models import TrainingSpec

    require(user, "model:create")
    start, end = _declared_window(TrainingSpec(generator=generator, epsilon=epsilon,
                                               window_start=_iso(window_start), window_end=_iso(window_end)))
    with store.write() as s:
        store.get(s, Dataset, dataset_id, lock=True)  # a deletion of the dataset under way finishes first
        ds = get_dataset(store, s, user, dataset_id)
        permissions.check_train(user, ds)
        from synth.readiness import blockers, cannot_train_message

        if reasons := blockers(ds.report, generator):
            raise WorkflowError(cannot_train_message(generator, reasons), 422)
        m = TrainedModel(id=new_id(), council_id=user.council_id, dataset_id=ds.id, owner_id=user.id, generator=generator, epsilon=epsilon,
                         window_start=start, window_end=end)
        s.add(m)
        job = _new_job(store, s, runner, "train", "model", m.id, user)
        audit.record(store, s, user, "model.requested", "model", m.id,
                     {"dataset": ds.id, "generator": generator, "epsilon": epsilon,
                      "window_start": _iso(start), "window_end": _iso(end)})
    runner.submit(job.id)
    return m, job


def _iso(d: date | str | None) -> str | None:
    """A date as YYYY-MM-DD (strings pass as given, for validate_spec to judge); empty means none."""
    if d is None or d == "":
        return None
    return d.isoformat() if isinstance(d, date) else str(d).strip() or None


def get_model(store: Store, s, user: User, model_id: str) -> TrainedModel:
    m = store.get(s, TrainedModel, model_id)
    permissions.check_view_model(user, m)
    return m


def list_models(store: Store, s, user: User) -> list[TrainedModel]:
    require(user, "model:read")
    return store.models(s, user.council_id, None if permissions.sees_every(user, "model") else user.id)


# -- releases ---------------------------------------------------------------------------------
RELEASE_KINDS = ("synthetic", "aggregate")


def _check_release_fields(children, profile, kind: str = "synthetic") -> None:
    from synth.disclosure import PROFILES

    if kind not in RELEASE_KINDS:
        raise WorkflowError(f"unknown kind of release '{kind}'; choose synthetic (records) or aggregate (real counts "
                            "under disclosure control).", 422)
    if kind == "aggregate":
        if children not in (None, 0):
            raise WorkflowError("an aggregate release holds no synthetic children: leave children out.", 422)
    elif not isinstance(children, int) or not 1 <= children <= MAX_CHILDREN:
        raise WorkflowError(f"children must be a whole number from 1 to {MAX_CHILDREN:,}.", 422)
    if profile not in PROFILES:
        raise WorkflowError(f"unknown disclosure profile '{profile}'; choose one of: {', '.join(PROFILES)}.", 422)


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
        raise WorkflowError("say what the release is for (purpose) and who will receive it (recipients).", 422)
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
        job = _new_job(store, s, runner, "build_release", "release", r.id, user)
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
        job = _new_job(store, s, runner, "build_release", "release", r.id, user)
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
        job = _new_job(store, s, runner, "build_release", "release", r.id, user)
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
        raise WorkflowError("another aggregate release of the same dataset has been published since this one was "
                            "checked, and the two together would reveal withheld counts (or a bundle is missing); "
                            "withdraw it and request it again, so that it is checked against them.", 409)


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
            raise WorkflowError("the release has no such file yet (its build job has not finished).", 409)
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


# -- councils: settings, sharing of aggregates, comparison --------------------------------------
def get_council(store: Store, s, user: User):
    from service.orm import Council

    return store.get(s, Council, user.council_id)


def update_council(store: Store, user: User, population: int | None = None, shares: bool | None = None):
    """An admin declares the council's population of children (the denominator of rates per 10,000) and
    opts in to sharing its published aggregate releases with the councils that share theirs, or withdraws:
    withdrawal is at once (the next comparison anyone asks for leaves this council out) and audited."""
    from service.orm import now

    require(user, "council:manage")
    if population is not None and not (isinstance(population, int) and 1 <= population <= 5_000_000):
        raise WorkflowError("population must be a whole number of children from 1 to 5,000,000.", 422)
    with store.write() as s:
        council = get_council(store, s, user)
        if population is not None and population != council.population:
            council.population = population
            audit.record(store, s, user, "council.population_declared", "council", str(council.id),
                         {"population": population})
        if shares is not None and bool(shares) != council.shares_aggregates:
            council.shares_aggregates = bool(shares)
            council.sharing_changed_at = now()
            audit.record(store, s, user, "council.sharing_started" if shares else "council.sharing_withdrawn",
                         "council", str(council.id), {})
    return council


def _shared_map(store: Store, council, release: Release):
    from synth.comparison import SharedMap

    m = store.release_map(release.id)
    if m is None:
        raise WorkflowError(f"the bundle of {council.name}'s shared release {release.id} is missing.", 409)
    return SharedMap(council.code, council.name, council.population, release.id, m)


def compare_councils(store: Store, user: User) -> dict:
    """My council's latest published aggregate release against each other sharing council's and the pooled
    group's, computed now from the releases shared now (nothing kept: a withdrawal shows at once)."""
    from synth.comparison import compare_councils as compare

    require(user, "comparison:read")
    with store.read() as s:
        mine = get_council(store, s, user)
        if not mine.shares_aggregates:
            raise WorkflowError("your council does not share its aggregate releases, so it cannot see other "
                                "councils': an admin can opt in on the Council page.", 403)
        shared = store.shared_aggregate_releases(s)
        if mine.id not in shared:
            raise WorkflowError("your council has no published aggregate release to compare: request one (kind "
                                "aggregate) and have it reviewed and published.", 409)
        councils = {c.id: c for c in store.councils(s, sharing=True)}
        mine_map = _shared_map(store, mine, shared[mine.id])
        others = [_shared_map(store, councils[cid], r) for cid, r in sorted(shared.items()) if cid != mine.id]
    out = compare(mine_map, others)
    with store.write() as s:
        audit.record(store, s, user, "comparison.read", "council", str(user.council_id),
                     {"councils": [o.council for o in others], "releases": [o.release_id for o in others]})
    return out


def compare_teams(store: Store, user: User, release_id: str) -> dict:
    """The teams of a council side by side, from one of its aggregate releases the user may see."""
    from synth.comparison import compare_teams as teams

    with store.read() as s:
        r = get_release(store, s, user, release_id)
        council = get_council(store, s, user)
    if r.kind != "aggregate":
        raise WorkflowError("teams are compared from an aggregate release (real counts under disclosure control); "
                            "this one is synthetic.", 409)
    m = store.release_map(r.id)
    if m is None:
        raise WorkflowError("the release has no bundle yet (its build job has not finished).", 409)
    return {"release": r.id, **teams(m, council.population)}


# -- users and their tokens ---------------------------------------------------------------------
TOKEN_AUDIT = {"rotate": "user.token_rotated", "revoke": "user.token_revoked", "deactivate": "user.deactivated",
               "activate": "user.activated"}
TOKEN_ACTIONS = tuple(TOKEN_AUDIT)


def list_users(store: Store, s, admin: User) -> list[User]:
    require(admin, "user:manage")
    return store.users(s, admin.council_id)


def add_user(store: Store, actor: User | None, name: str, role: str, council_id: int | None = None) -> tuple[User, str]:
    """An admin adds a user to their council (or the command line, `actor` None, to the council it names): the
    token is returned once, stored hashed. Names are unique across the service (they sign audit rows)."""
    from service.governance.permissions import ROLES

    name = (name or "").strip()
    if not name or len(name) > 120:
        raise WorkflowError("give the user a name of 1 to 120 characters.", 422)
    if role not in ROLES:
        raise WorkflowError(f"unknown role '{role}'; choose one of: {', '.join(ROLES)}.", 422)
    if actor is not None:
        require(actor, "user:manage")
        council_id = actor.council_id
    with store.write() as s:
        if store.user_by_name(s, name):
            raise WorkflowError(f"a user called '{name}' already exists; choose another name.", 409)
        added, token = store.add_user(s, name, role, council_id)
        audit.record(store, s, actor, "user.added", "user", str(added.id), {"role": role}, council_id=council_id)
    return added, token


def change_user_token(store: Store, actor: User | None, name: str, action: str,
                      council_id: int | None = None) -> tuple[User, str | None]:
    """An admin (or the command line, `actor` None, naming the council) rotates a user's token (a new one,
    returned once; the old one stops working), revokes it (no token until rotated), deactivates or activates
    the user. Every change ends the user's web sessions and is audited; kept tokens are dropped at once."""
    from service.orm import now

    if action not in TOKEN_ACTIONS:
        raise WorkflowError(f"unknown action '{action}'; choose one of: {', '.join(TOKEN_ACTIONS)}.", 422)
    if actor is not None:
        require(actor, "user:manage")
        council_id = actor.council_id
    with store.write() as s:
        user = store.user_by_name(s, name)
        if user is None or user.council_id != council_id:
            raise NotFound("user")
        token = None
        if action == "rotate":
            token = store.new_token(user)
            user.active = True
        elif action == "revoke":
            store.revoke_token(user)
        else:
            user.active = action == "activate"
        user.sessions_valid_after = now()
        audit.record(store, s, actor, TOKEN_AUDIT[action], "user", str(user.id), {"role": user.role},
                     council_id=council_id)
    return user, token


def end_sessions(store: Store, user: User) -> None:
    """Signing out: every web session of this user begun before now is over (a copied cookie too)."""
    from service.orm import now

    with store.write() as s:
        u = store.get(s, User, user.id)
        u.sessions_valid_after = now()
        audit.record(store, s, u, "user.signed_out", "user", str(u.id), {})
