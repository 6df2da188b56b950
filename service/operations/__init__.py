"""What the service does, one function per user action, each one transaction with its audit event.
The web API, the web pages and the command line all call these; none of them holds the rules (those are in
service.governance). One module per object; this package re-exports every action, so callers write
`operations.upload_dataset(...)`. `operations.audit` is the audit module the actions write through
(`audit.record`, looked up at each call, so patching it reaches every action)."""

from __future__ import annotations

from service import audit
from service.operations.common import new_job, require
from service.operations.councils import compare_councils, compare_teams, get_council, update_council
from service.operations.datasets import (
                                         UPLOAD_SUFFIXES,
                                         Deleted,
                                         Upload,
                                         delete_dataset,
                                         get_dataset,
                                         list_datasets,
                                         upload_dataset,
)
from service.operations.jobs import get_job
from service.operations.models import get_model, list_models, request_model
from service.operations.releases import (
                                         MAX_CHILDREN,
                                         RELEASE_KINDS,
                                         amend_release,
                                         build_crashed,
                                         get_release,
                                         list_releases,
                                         open_release_viewer,
                                         publish_release,
                                         record_report_read,
                                         release_file_access,
                                         release_findings,
                                         release_report,
                                         request_release,
                                         retry_release,
                                         review_release,
                                         withdraw_release,
)
from service.operations.users import TOKEN_ACTIONS, TOKEN_AUDIT, add_user, change_user_token, end_sessions, list_users

__all__ = [
    "MAX_CHILDREN", "RELEASE_KINDS", "TOKEN_ACTIONS", "TOKEN_AUDIT", "UPLOAD_SUFFIXES", "Deleted", "Upload",
    "add_user", "amend_release", "audit", "build_crashed", "change_user_token", "compare_councils", "compare_teams",
    "delete_dataset", "end_sessions", "get_council", "get_dataset", "get_job", "get_model", "get_release",
    "list_datasets", "list_models", "list_releases", "list_users", "new_job", "open_release_viewer",
    "publish_release", "record_report_read", "release_file_access", "release_findings", "release_report",
    "request_model", "request_release", "require", "retry_release", "review_release", "update_council",
    "upload_dataset", "withdraw_release",
]
