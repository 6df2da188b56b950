"""Marshmallow schemas for what crosses the API: requests in, resources out."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from service.operations import MAX_CHILDREN

GENERATORS = ("journey", "sdv-par", "sdv-hma")
PROFILES = ("default", "dfe", "opensafely", "acro")
KINDS = ("synthetic", "aggregate")
KIND_DESCRIPTION = ("synthetic: synthetic records sampled from the model and a map computed from them; aggregate: the "
                    "model's dataset's real counts under the profile's disclosure control (threshold, rounding, "
                    "secondary suppression), no records, checked against every earlier published release of the "
                    "same dataset")
WINDOW_DESCRIPTION = ("the extract window the council declares, YYYY-MM-DD, both days included (e.g. 2019-04-01 to "
                      "2025-03-31); required with epsilon, since a window read off the records would reveal real "
                      "dates; without epsilon optional (otherwise read from the data)")


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
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


class DatasetSchema(Strict):
    id = fields.String()
    name = fields.String()
    status = fields.String(metadata={"description": "ingesting | ready | failed"})
    files = fields.List(fields.Dict())
    counts = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()


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
    dataset_id = fields.String(required=True)
    generator = fields.String(load_default="journey", validate=validate.OneOf(GENERATORS))
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
    created_at = fields.DateTime()


class ReleaseCreateSchema(Strict):
    model_id = fields.String(required=True)
    kind = fields.String(load_default="synthetic", validate=validate.OneOf(KINDS),
                         metadata={"description": KIND_DESCRIPTION})
    children = fields.Integer(load_default=None, allow_none=True, strict=True,
                              validate=validate.Range(min=1, max=MAX_CHILDREN),
                              metadata={"description": "synthetic children to sample (synthetic releases only)"})
    profile = fields.String(load_default="default", validate=validate.OneOf(PROFILES))
    purpose = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    recipients = fields.String(required=True, validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _children_for_the_kind(self, data: dict, **kwargs) -> None:
        if data.get("kind", "synthetic") == "synthetic" and data.get("children") is None:
            raise ValidationError("a synthetic release needs the number of synthetic children.", "children")
        if data.get("kind") == "aggregate" and data.get("children") is not None:
            raise ValidationError("an aggregate release holds no synthetic children: leave children out.", "children")


class ReleaseAmendSchema(Strict):
    children = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_CHILDREN))
    profile = fields.String(validate=validate.OneOf(PROFILES))
    purpose = fields.String(validate=validate.Length(min=1, max=5000))
    recipients = fields.String(validate=validate.Length(min=1, max=2000))


class ReviewCreateSchema(Strict):
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "return", "reject")))
    comment = fields.String(load_default="", validate=validate.Length(max=5000))


class WithdrawSchema(Strict):
    reason = fields.String(load_default="", validate=validate.Length(max=5000))


class ReviewSchema(Strict):
    reviewer = fields.Function(lambda r: r.reviewer.name)
    decision = fields.String()
    comment = fields.String()
    release_version = fields.Integer()
    created_at = fields.DateTime()


class ReleasePublicSchema(Strict):
    """What any role that may see a release (developers: published ones) gets."""

    id = fields.String()
    state = fields.String()
    kind = fields.String(metadata={"description": KIND_DESCRIPTION})
    children = fields.Integer(metadata={"description": "synthetic children (0 in an aggregate release)"})
    profile = fields.String()
    verdict = fields.String(allow_none=True)
    bundle_sha256 = fields.String(allow_none=True)
    bundle_bytes = fields.Integer(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    links = fields.Method("_links")

    def _links(self, r) -> dict:
        base = f"/api/v1/releases/{r.id}"
        return {"self": base, "bundle": f"{base}/bundle", "manifest": f"{base}/manifest",
                "files": f"{base}/files/{{name}}"}


class ReleaseSchema(ReleasePublicSchema):
    """The governance view (requester, reviewers, admins)."""

    model_id = fields.String()
    requester = fields.Function(lambda r: r.requester.name)
    purpose = fields.String()
    recipients = fields.String()
    version = fields.Integer()
    error = fields.String(allow_none=True)
    approvals = fields.Method("_approvals")
    reviews = fields.List(fields.Nested(ReviewSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def _approvals(self, r) -> int:
        from service.governance.workflow import approvals

        return len(approvals(r))


class AuditEventSchema(Strict):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    details = fields.Dict()
    hash = fields.String()


class AuditQuerySchema(Strict):
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    actor = fields.String()
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


class ReleaseQuerySchema(Strict):
    state = fields.String(validate=validate.OneOf(("draft", "checking", "failed", "awaiting_review", "returned",
                                                   "rejected", "approved", "published", "withdrawn")))


class CouncilSchema(Strict):
    code = fields.String()
    name = fields.String()
    population = fields.Integer(allow_none=True, metadata={
        "description": "children aged 0-17 in the area, as the council declares it: the denominator of rates"})
    shares_aggregates = fields.Boolean(metadata={
        "description": "whether the council shares its published aggregate releases with the councils that share "
                       "theirs (and so sees theirs)"})
    sharing_changed_at = fields.DateTime(allow_none=True)


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
    role = fields.String()
    active = fields.Boolean()
    token_expires_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class TokenActionSchema(Strict):
    action = fields.String(required=True, validate=validate.OneOf(("rotate", "revoke", "deactivate", "activate")),
                           metadata={"description": "rotate: a new token (returned once; the old one stops working); "
                                                    "revoke: the token stops working; deactivate / activate the user"})


class TokenActionResultSchema(Strict):
    user = fields.Nested(UserSchema)
    token = fields.String(allow_none=True, metadata={"description": "the new token (rotate only), shown once"})
