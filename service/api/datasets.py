from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from service import operations
from service.api.context import runner, store, user
from service.api.responses import errors
from service.api.schemas import DatasetAcceptedSchema, DatasetDetailSchema, DatasetSchema
from service.governance.errors import UnsupportedType

blp = Blueprint("datasets", __name__, url_prefix="/api/v1/datasets",
                description="Annex A uploads (data owners): validated, pseudonymised, never served back")


@blp.route("")
class Datasets(MethodView):
    @blp.response(200, DatasetSchema(many=True))
    @errors(blp, 403)
    def get(self):
        """Your datasets (all datasets for admins)."""
        with store().read() as s:
            return operations.list_datasets(store(), s, user())

    @blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["name", "file"],
        "properties": {"name": {"type": "string"}, "file": {"type": "array", "items": {"type": "string",
                                                                                       "format": "binary"}},
                       "dates": {"type": "string", "enum": ["day-first", "month-first"], "default": "day-first",
                                 "description": "how the files write text dates: day-first (dd/mm/yyyy, as Annex "
                                                "A guidance) or month-first (mm/dd/yyyy). A date column written "
                                                "the other way is refused, never read with day and month "
                                                "swapped."}}}}}})
    @blp.response(202, DatasetAcceptedSchema)
    @errors(blp, 403, 413, 415, 422, 429, 507)
    def post(self):
        """Upload one or more Annex A files (`file` parts) with a `name`; the ingest runs as a job (202)."""
        if not request.content_type or not request.content_type.startswith("multipart/form-data"):
            raise UnsupportedType("upload as multipart/form-data with a 'name' field and one or more 'file' parts.")
        uploads = [operations.Upload(f.filename, f.stream) for f in request.files.getlist("file")]
        ds, job = operations.upload_dataset(store(), runner(), user(), request.form.get("name", ""), uploads,
                                            request.form.get("dates") or "day-first")
        return {"dataset": ds, "job": job}


@blp.route("/<dataset_id>")
class DatasetItem(MethodView):
    @blp.response(200, DatasetDetailSchema)
    @errors(blp, 403, 404)
    def get(self, dataset_id: str):
        """One dataset with its validation report (rows read and rejected, errors by file/sheet/row/column)."""
        with store().read() as s:
            return operations.get_dataset(store(), s, user(), dataset_id)

    @blp.response(204)
    @errors(blp, 403, 404, 409, 507)
    def delete(self, dataset_id: str):
        """Delete a dataset (its owner or an admin): its uploads, tables and the models trained on it; its record
        and audit trail stay. 409 while it is ingested or trained on, or while a release of it is in progress, in
        review, approved or published (withdraw it first)."""
        operations.delete_dataset(store(), user(), dataset_id)
