from __future__ import annotations

import json
import zipfile

from flask import Response, current_app, request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from service import operations
from service.api.context import runner, store, user
from service.api.responses import errors
from service.api.schemas import (
    ReleaseAcceptedSchema,
    ReleaseAmendSchema,
    ReleaseCreateSchema,
    ReleaseListSchema,
    ReleaseQuerySchema,
    ReleaseSchema,
    ReleaseView,
    ReportQuerySchema,
    ReviewCreateSchema,
    WithdrawSchema,
)
from service.governance import permissions
from service.governance.errors import NotFound

blp = Blueprint("releases", __name__, url_prefix="/api/v1/releases",
                description="Release requests, reviews, publication, and published releases for developers")
CHUNK = 256 * 1024
# The content type each file of a bundle is served with, by its extension ("": any other). The IEEE 1849 XES log
# is XML and the standard registers no type of its own: served as XML (RFC 7303), as XES files are in practice.
FILE_TYPES = {"csv": "text/csv", "json": "application/json", "html": "text/html", "md": "text/markdown",
              "xes": "application/xml", "": "application/octet-stream"}


def _view(r) -> ReleaseView:
    full = permissions.can_read_report(user(), r)  # those who decide on it see the request in full
    return ReleaseView(r, full)


def _published_listing(state: str | None) -> Response:
    def build() -> dict:
        with store().read() as s:
            return ReleaseListSchema().dump({"releases": [
                ReleaseView(r) for r in operations.list_releases(store(), s, user(), "published")]})

    if state not in (None, "published"):
        body, etag = json.dumps(ReleaseListSchema().dump({"releases": []})).encode(), ""
    else:
        catalogue = current_app.extensions["frontdoor"].published_catalogue
        body, etag = catalogue.get(user().council_id, store().release_catalogue_version(), build)
    if etag and etag in request.if_none_match:
        return Response(status=304, headers={"ETag": f'"{etag}"'})
    resp = Response(body, mimetype="application/json")
    if etag:
        resp.set_etag(etag)
    return resp


@blp.route("")
class Releases(MethodView):
    @blp.arguments(ReleaseQuerySchema, location="query")
    @blp.response(200, ReleaseListSchema)
    @blp.alt_response(304, description="not modified since the ETag sent in If-None-Match (developers' listing)")
    @errors(blp, 422)
    def get(self, q: dict):
        """Releases you may see: developers see published ones only."""
        if permissions.sees_public_releases_only(user()):
            return _published_listing(q.get("state"))
        with store().read() as s:
            rows = operations.list_releases(store(), s, user(), q.get("state"))
            return {"releases": [_view(r) for r in rows]}

    @blp.arguments(ReleaseCreateSchema)
    @blp.response(202, ReleaseAcceptedSchema)
    @errors(blp, 400, 403, 404, 409, 422, 429, 507)
    def post(self, body: dict):
        """Request a release from a trained model; it is built and checked as a job (202). `kind` synthetic
        (default: `children` synthetic children) or aggregate (the dataset's real counts under disclosure
        control, no records, checked against its earlier published releases; no `children`)."""
        r, job = operations.request_release(store(), runner(), user(), body["model_id"], body["children"],
                                            body["profile"], body["purpose"], body["recipients"], body["kind"])
        with store().read() as s:
            return {"release": _view(operations.get_release(store(), s, user(), r.id)), "job": job}


@blp.route("/<release_id>")
class ReleaseItem(MethodView):
    @blp.response(200, ReleaseSchema)
    @errors(blp, 403, 404)
    def get(self, release_id: str):
        """A release you may see (staff of a sharing council also see the published aggregate releases other
        sharing councils share)."""
        with store().read() as s:
            return _view(operations.get_release(store(), s, user(), release_id, shared=True))

    @blp.arguments(ReleaseAmendSchema)
    @blp.response(202, ReleaseAcceptedSchema)
    @errors(blp, 400, 403, 404, 409, 422, 429, 507)
    def patch(self, body: dict, release_id: str):
        """Change a returned (or in-review) request; approvals reset and it is checked again (202)."""
        r, job = operations.amend_release(store(), runner(), user(), release_id, body)
        with store().read() as s:
            return {"release": _view(operations.get_release(store(), s, user(), r.id)), "job": job}


@blp.route("/<release_id>/reviews")
class Reviews(MethodView):
    @blp.arguments(ReviewCreateSchema)
    @blp.response(201, ReleaseSchema)
    @errors(blp, 400, 403, 404, 409, 422, 507)
    def post(self, body: dict, release_id: str):
        """Approve, return (with a comment, to the requester) or reject. Reviewers only; never your own."""
        operations.review_release(store(), user(), release_id, body["decision"], body["comment"])
        with store().read() as s:
            return _view(operations.get_release(store(), s, user(), release_id))


@blp.route("/<release_id>/publish")
class Publish(MethodView):
    @blp.response(200, ReleaseSchema)
    @errors(blp, 403, 404, 409, 507)
    def post(self, release_id: str):
        """Publish an approved release (its requester)."""
        operations.publish_release(store(), user(), release_id)
        with store().read() as s:
            return _view(operations.get_release(store(), s, user(), release_id))


@blp.route("/<release_id>/retry")
class Retry(MethodView):
    @blp.response(202, ReleaseAcceptedSchema)
    @errors(blp, 403, 404, 409, 429, 507)
    def post(self, release_id: str):
        """Run again the build of a release that stopped before the gate decided (its requester); 202 with the job."""
        r, job = operations.retry_release(store(), runner(), user(), release_id)
        with store().read() as s:
            return {"release": _view(operations.get_release(store(), s, user(), r.id)), "job": job}


@blp.route("/<release_id>/withdraw")
class Withdraw(MethodView):
    @blp.arguments(WithdrawSchema)
    @blp.response(200, ReleaseSchema)
    @errors(blp, 400, 403, 404, 409, 422, 507)
    def post(self, body: dict, release_id: str):
        """Withdraw a release: its files stop being served; its record stays."""
        operations.withdraw_release(store(), user(), release_id, body.get("reason", ""))
        with store().read() as s:
            return _view(operations.get_release(store(), s, user(), release_id))


@blp.route("/<release_id>/report")
class Report(MethodView):
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.doc(responses={"200": {"description": "the report", "content": {
        "text/html": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}}})
    @errors(blp, 403, 404, 409, 422, 507)
    def get(self, q: dict, release_id: str):
        """The disclosure report (HTML; `?format=json` for JSON). Requester, reviewers, admins."""
        kind = "report_json" if q["format"] == "json" else "report_html"
        _, path = operations.release_file_access(store(), user(), release_id, kind)
        resp = send_file(path, mimetype="application/json" if kind == "report_json" else "text/html")
        resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
        return resp


@blp.route("/<release_id>/bundle")
class BundleDownload(MethodView):
    @blp.doc(responses={
        "200": {"description": "the bundle", "headers": {"ETag": {"schema": {"type": "string"}}},
                "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}},
        "304": {"description": "not modified since the ETag sent in If-None-Match"}})
    @errors(blp, 403, 404, 409, 410, 507)
    def get(self, release_id: str):
        """The release bundle (zip), streamed, with an ETag (its sha256)."""
        r, path = operations.release_file_access(store(), user(), release_id, "bundle")
        resp = send_file(path, mimetype="application/zip", as_attachment=True,
                         download_name=f"frontdoor-release-{r.id}.zip", etag=r.bundle_sha256, conditional=True,
                         max_age=0)
        resp.headers["Cache-Control"] = "private, no-cache"
        return resp


def _zip_member(release_id: str, name: str) -> tuple[str, str, object]:
    r, path = operations.release_file_access(store(), user(), release_id, "bundle")
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("datapackage.json"))
    if name == "datapackage.json":
        import hashlib

        data = json.dumps(manifest, indent=2).encode()
        return hashlib.sha256(data).hexdigest(), "application/json", data
    sha = manifest["frontdoor"]["files"].get(name)
    if sha is None:
        raise NotFound(message=f"a release has no file '{name}'; see its manifest for the files there are.")
    return sha, _mimetype(name), path


def _mimetype(name: str) -> str:
    return FILE_TYPES.get(name.rsplit(".", 1)[-1], FILE_TYPES[""])


@blp.route("/<release_id>/manifest")
class Manifest(MethodView):
    @blp.doc(responses={"200": {"description": "datapackage.json (Frictionless Data Package)",
                                "content": {"application/json": {"schema": {"type": "object"}}}}})
    @errors(blp, 403, 404, 409, 410, 507)
    def get(self, release_id: str):
        """The release's datapackage.json: its files, schemas and checksums."""
        sha, _, data = _zip_member(release_id, "datapackage.json")
        return Response(data, mimetype="application/json", headers={"ETag": f'"{sha}"'})


@blp.route("/<release_id>/files/<name>")
class ReleaseFile(MethodView):
    @blp.doc(responses={
        "200": {"description": "the file as it is in the bundle (its manifest says which there are)",
                "content": {t: {"schema": {"type": "string", "format": "binary"} if t != "application/json" else {}}
                            for t in FILE_TYPES.values()}},
        "304": {"description": "not modified since the ETag sent in If-None-Match"}})
    @errors(blp, 403, 404, 409, 410, 507)
    def get(self, release_id: str, name: str):
        """One file of a release (children.csv, events.csv, map.json, ...), streamed, with an ETag."""
        sha, mimetype, source = _zip_member(release_id, name)
        if request.if_none_match and sha in request.if_none_match:
            return Response(status=304, headers={"ETag": f'"{sha}"'})
        if isinstance(source, bytes):
            return Response(source, mimetype=mimetype, headers={"ETag": f'"{sha}"'})

        def stream():
            with zipfile.ZipFile(source) as zf, zf.open(name) as f:
                while chunk := f.read(CHUNK):
                    yield chunk

        return Response(stream(), mimetype=mimetype, headers={"ETag": f'"{sha}"', "Cache-Control": "private, no-cache",
                                                               "Content-Disposition": f'inline; filename="{name}"'})
