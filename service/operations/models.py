"""Trained models: request a training (its declared window checked first), see and list them."""

from __future__ import annotations

from datetime import date

from service import audit
from service.governance import permissions
from service.governance.errors import Invalid
from service.operations.common import new_job, require
from service.operations.datasets import get_dataset
from service.orm import Dataset, Job, TrainedModel, User
from service.store import Store, new_id


def _declared_window(spec) -> tuple[date | None, date | None]:
    """Check the spec (a ModelError is Invalid) and return its declared window as the dates training will use."""
    from synth.errors import ModelError
    from synth.models import declared_window, validate_spec

    try:
        validate_spec(spec)
        window = declared_window(spec)
    except ModelError as exc:
        raise Invalid(exc.message) from None
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
            raise Invalid(cannot_train_message(generator, reasons))
        m = TrainedModel(id=new_id(), council_id=user.council_id, dataset_id=ds.id, owner_id=user.id, generator=generator, epsilon=epsilon,
                         window_start=start, window_end=end)
        s.add(m)
        job = new_job(store, s, runner, "train", "model", m.id, user)
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
