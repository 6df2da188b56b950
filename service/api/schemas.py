"""Marshmallow schemas for what crosses the API: requests in, resources out, and the one error shape.

Every response body is one of these (the views declare it with `@blp.response` / `@blp.alt_response`), so the
OpenAPI document (`GET /api/v1/openapi.json`) says what is sent. The vocabularies validated here (generators,
profiles, kinds, states, decisions, roles, token actions) are imported from where they are defined, never retyped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_dump, pre_dump, validate, validates_schema

from service.governance.permissions import ROLES
from service.governance.states import STATES
from service.governance.workflow import DECISIONS
from service.operations import MAX_CHILDREN, TOKEN_ACTIONS
from synth.bundle import KINDS
from synth.disclosure.profiles import PROFILES
from synth.models import GENERATORS

KIND_DESCRIPTION = ("synthetic: synthetic records sampled from the model and a map computed from them; aggregate: the "
                    "model's dataset's real counts under the profile's disclosure control (threshold, rounding, "
                    "secondary suppression), no records, checked against every earlier published release of the "
                    "same dataset")
WINDOW_DESCRIPTION = ("the extract window the council declares, YYYY-MM-DD, both days included (e.g. 2019-04-01 to "
                      "2025-03-31); required with epsilon, since a window read off the records would reveal real "
                      "dates; without epsilon optional (otherwise read from the data)")


class Timestamp(fields.DateTime):
    """A moment, written with its UTC offset (an RFC 3339 date-time, as the document's `format: date-time` says).
    The store keeps naive UTC datetimes; they are given their zone here, once, for every response."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class Text(fields.String):
    """A string a request sends: no NUL characters (PostgreSQL's text cannot store them; one was a 500)."""

    default_error_messages = {"nul": "must not contain NUL characters."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise self.make_error("nul")
        return text


class Strict(Schema):
    class Meta:
        unknown = EXCLUDE


class JobSchema(Strict):
    id = fields.String()
    kind = fields.String()
    status = fields.String(metadata={"description": "queued | running | succeeded | failed"})
    progress = fields.Integer(metadata={"description": "percent"})
    stage = fields.String()
    error = fields.String(allow_none=True)
    target_type = fields.String()
    target_id = fields.String()
    created_at = Timestamp()
    started_at = Timestamp(allow_none=True)
    finished_at = Timestamp(allow_none=True)


class DatasetSchema(Strict):
    id = fields.String()
    name = fields.String()
    status = fields.String(metadata={"description": "ingesting | ready | failed"})
    files = fields.List(fields.Dict())
    counts = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = Timestamp()


class DatasetDetailSchema(DatasetSchema):
    report = fields.Dict(allow_none=True, metadata={"description": "validation report (no cell values): lists read, "
                                                     "errors and warnings grouped (error_groups, warning_groups) "
                                                     "then row by row, list_warnings (lists missing, sheets not "
                                                     "recognised), notes"})
    training = fields.Function(
        lambda ds: (ds.report or {}).get("training"), allow_none=True,
        metadata={"type": "object", "description": "whether the dataset can train: ready (the journey model can), reasons (why not), "
                                 "generators (per generator, the reasons it cannot; empty when it can); null for a "
                                 "dataset not ingested, or ingested before this was worked out"})


class ModelCreateSchema(Strict):
    dataset_id = Text(required=True)
    generator = Text(load_default="journey", validate=validate.OneOf(GENERATORS))
    epsilon = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, min_inclusive=False))
    window_start = fields.Date(load_default=None, allow_none=True, metadata={"description": WINDOW_DESCRIPTION})
    window_end = fields.Date(load_default=None, allow_none=True, metadata={"description": WINDOW_DESCRIPTION})


class ModelSchema(Strict):
    id = fields.String()
    dataset_id = fields.String()
    generator = fields.String()
    epsilon = fields.Float(allow_none=True)
    window_start = fields.Date(allow_none=True, metadata={"description": "the declared extract window's first day"})
    window_end = fields.Date(allow_none=True, metadata={"description": "the declared extract window's last day"})
    status = fields.String(metadata={"description": "training | ready | failed"})
    privacy = fields.Dict(allow_none=True)
    training_children = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = Timestamp()


class DatasetAcceptedSchema(Strict):
    """An upload taken: the dataset, and the job that ingests it."""

    dataset = fields.Nested(DatasetSchema)
    job = fields.Nested(JobSchema)


class ModelAcceptedSchema(Strict):
    """A training taken: the model, and the job that trains it."""

    model = fields.Nested(ModelSchema)
    job = fields.Nested(JobSchema)


class ReleaseCreateSchema(Strict):
    model_id = Text(required=True)
    kind = Text(load_default="synthetic", validate=validate.OneOf(KINDS),
                         metadata={"description": KIND_DESCRIPTION})
    children = fields.Integer(load_default=None, allow_none=True, strict=True,
                              validate=validate.Range(min=1, max=MAX_CHILDREN),
                              metadata={"description": "synthetic children to sample (synthetic releases only)"})
    profile = Text(load_default="default", validate=validate.OneOf(tuple(PROFILES)))
    purpose = Text(required=True, validate=validate.Length(min=1, max=5000))
    recipients = Text(required=True, validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _children_for_the_kind(self, data: dict, **kwargs) -> None:
        if data.get("kind", "synthetic") == "synthetic" and data.get("children") is None:
            raise ValidationError("a synthetic release needs the number of synthetic children.", "children")
        if data.get("kind") == "aggregate" and data.get("children") is not None:
            raise ValidationError("an aggregate release holds no synthetic children: leave children out.", "children")


class ReleaseAmendSchema(Strict):
    children = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_CHILDREN))
    profile = Text(validate=validate.OneOf(tuple(PROFILES)))
    purpose = Text(validate=validate.Length(min=1, max=5000))
    recipients = Text(validate=validate.Length(min=1, max=2000))


class ReviewCreateSchema(Strict):
    decision = Text(required=True, validate=validate.OneOf(DECISIONS))
    comment = Text(load_default="", validate=validate.Length(max=5000))


class WithdrawSchema(Strict):
    reason = Text(load_default="", validate=validate.Length(max=5000))


class ReviewSchema(Strict):
    reviewer = fields.Function(lambda r: r.reviewer.name)
    decision = fields.String(validate=validate.OneOf(DECISIONS))
    comment = fields.String()
    release_version = fields.Integer()
    created_at = Timestamp()


@dataclass(frozen=True)
class ReleaseView:
    """A release as one user may see it: `full` (the request, its reviews) for those who decide on it, as
    permissions.can_read_report says; the rest get the public fields only. A bare release dumps public."""

    release: object
    full: bool = False


# The request and its review: for the requester and the council's reviewers and admins only.
GOVERNANCE_FIELDS = ("model_id", "requester", "purpose", "recipients", "version", "error", "approvals", "reviews",
                     "created_at", "updated_at")
_GOVERNANCE = " Only for the release's requester and the council's reviewers and admins."


class ReleaseSchema(Strict):
    """A release: the fields any role that may see it gets (developers: published ones), and GOVERNANCE_FIELDS
    for those who decide on it (dump a ReleaseView)."""

    id = fields.String()
    state = fields.String(validate=validate.OneOf(STATES))
    kind = fields.String(validate=validate.OneOf(KINDS), metadata={"description": KIND_DESCRIPTION})
    children = fields.Integer(metadata={"description": "synthetic children (0 in an aggregate release)"})
    profile = fields.String(validate=validate.OneOf(tuple(PROFILES)))
    verdict = fields.String(allow_none=True, metadata={"description": "the gate's verdict: pass | review | fail"})
    bundle_sha256 = fields.String(allow_none=True)
    bundle_bytes = fields.Integer(allow_none=True)
    published_at = Timestamp(allow_none=True)
    links = fields.Method("_links", metadata={"type": "object", "description": "where its bundle, manifest and "
                                                                               "files are"})
    model_id = fields.String(metadata={"description": "the model it is sampled from." + _GOVERNANCE})
    requester = fields.Function(lambda r: r.requester.name, metadata={"description": "who asked." + _GOVERNANCE})
    purpose = fields.String(metadata={"description": _GOVERNANCE.strip()})
    recipients = fields.String(metadata={"description": _GOVERNANCE.strip()})
    version = fields.Integer(metadata={"description": "bumped by every change to the request." + _GOVERNANCE})
    error = fields.String(allow_none=True, metadata={"description": _GOVERNANCE.strip()})
    approvals = fields.Method("_approvals", metadata={"type": "integer", "description": "approvals of this "
                                                                                       "version." + _GOVERNANCE})
    reviews = fields.List(fields.Nested(ReviewSchema), metadata={"description": _GOVERNANCE.strip()})
    created_at = Timestamp(metadata={"description": _GOVERNANCE.strip()})
    updated_at = Timestamp(metadata={"description": _GOVERNANCE.strip()})

    @pre_dump
    def _release(self, view, **kwargs):
        return getattr(view, "release", view)

    @post_dump(pass_original=True)
    def _for_whom(self, data: dict, view, **kwargs) -> dict:
        if getattr(view, "full", False):
            return data
        return {k: v for k, v in data.items() if k not in GOVERNANCE_FIELDS}

    def _links(self, r) -> dict:
        base = f"/api/v1/releases/{r.id}"
        return {"self": base, "bundle": f"{base}/bundle", "manifest": f"{base}/manifest",
                "files": f"{base}/files/{{name}}"}

    def _approvals(self, r) -> int:
        from service.governance.workflow import approvals

        return len(approvals(r))


class ReleaseListSchema(Strict):
    releases = fields.List(fields.Nested(ReleaseSchema))


class ReleaseAcceptedSchema(Strict):
    """A release request taken: the release, and the job that builds and checks it."""

    release = fields.Nested(ReleaseSchema)
    job = fields.Nested(JobSchema)


class AuditEventSchema(Strict):
    id = fields.Integer()
    at = Timestamp()
    actor = fields.String()
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    details = fields.Dict()
    hash = fields.String()


class ChainSchema(Strict):
    ok = fields.Boolean(metadata={"description": "whether every event's hash follows from the one before"})
    events = fields.Integer()
    first_bad_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)


class AuditPageSchema(Strict):
    events = fields.List(fields.Nested(AuditEventSchema))
    chain = fields.Nested(ChainSchema, metadata={"description": "the verification of the council's whole chain"})


class AuditQuerySchema(Strict):
    action = Text()
    object_type = Text()
    object_id = Text()
    actor = Text()
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))
    # Bounded by the databases' integer (SQLite and PostgreSQL: 64-bit): a larger offset was a 500 (fuzzing).
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**63 - 1))


class ReportQuerySchema(Strict):
    format = Text(load_default="html", validate=validate.OneOf(("html", "json")))


class ReleaseQuerySchema(Strict):
    state = Text(validate=validate.OneOf(STATES))


class CouncilSchema(Strict):
    code = fields.String()
    name = fields.String()
    population = fields.Integer(allow_none=True, metadata={
        "description": "children aged 0-17 in the area, as the council declares it: the denominator of rates"})
    shares_aggregates = fields.Boolean(metadata={
        "description": "whether the council shares its published aggregate releases with the councils that share "
                       "theirs (and so sees theirs)"})
    sharing_changed_at = Timestamp(allow_none=True)


class CouncilUpdateSchema(Strict):
    population = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=5_000_000))
    shares_aggregates = fields.Boolean(load_default=None, allow_none=True)


class ComparisonSchema(Strict):
    mine = fields.Dict(metadata={"description": "your council's figures from its latest published aggregate release"})
    others = fields.List(fields.Dict(), metadata={
        "description": "each other sharing council's figures, with your figures minus theirs (percentage points)"})
    pooled = fields.Dict(allow_none=True, metadata={
        "description": "the group's figures (sums of published cells; withheld where any council withheld)"})


class TeamsSchema(Strict):
    release = fields.String()
    council = fields.Dict()
    teams = fields.List(fields.Dict())


class UserSchema(Strict):
    name = fields.String()
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()
    token_expires_at = Timestamp(allow_none=True)
    created_at = Timestamp()


class TokenActionSchema(Strict):
    action = Text(required=True, validate=validate.OneOf(TOKEN_ACTIONS),
                           metadata={"description": "rotate: a new token (returned once; the old one stops working); "
                                                    "revoke: the token stops working; deactivate / activate the user"})


class TokenActionResultSchema(Strict):
    user = fields.Nested(UserSchema)
    token = fields.String(allow_none=True, metadata={"description": "the new token (rotate only), shown once"})


class HealthSchema(Strict):
    ok = fields.Boolean()
    status = fields.String(metadata={"description": "up"})


class ErrorSchema(Strict):
    """The one error shape, of every error the API gives (and of the CLI's --json errors)."""

    ok = fields.Boolean(required=True, validate=validate.Equal(False))
    status = fields.Integer(required=True, metadata={"description": "the HTTP status (the CLI: its exit code)"})
    error = fields.String(required=True, metadata={"description": "what is wrong and what to do"})
    errors = fields.Dict(keys=fields.String(), metadata={
        "description": "where each problem is, always an object: a field (or a request location: json, query, "
                       "form, files) to its messages; the CLI's row-level problems of its input files under "
                       "'input' (a list of {file, sheet, row, column, message})"})
