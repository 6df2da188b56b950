"""Schemathesis against the service's own OpenAPI document, once per role (issue 17).

Every operation in `GET /api/v1/openapi.json` gets generated requests, valid (positive) and invalid
(negative), with the role's token, through the Flask app (schemathesis' WSGI transport), on a service that holds
a published release: path ids are sometimes the real dataset, model, release, job and file, so the responses
checked include real resources, not only 404s. Each response must not be a 5xx, must have a status code and
content type the document declares for the operation, and must match the schema declared for that status.
Every failure is collected (not only the first) so that one run names each class of violation.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.service.conftest import close_env, make_env, published_release

pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Per operation and role: about 28 operations, so a few hundred cases per role. FRONTDOOR_FUZZ_SCALE=10 runs ten
# times as many, for a deeper look than CI's; FRONTDOOR_FUZZ_BACKEND=postgres (with FRONTDOOR_TEST_DATABASE_URL) fuzzes
# the service on PostgreSQL instead of SQLite.
SCALE = int(os.environ.get("FRONTDOOR_FUZZ_SCALE", "1"))
POSITIVE_EXAMPLES = 12 * SCALE
NEGATIVE_EXAMPLES = 6 * SCALE
# Developers first and admins last: the data owner (the requester) and the admin may withdraw the release,
# and the admin may rotate the spare user's token, which would leave less for the others to see.
ROLE_USERS = {"developer": "dev", "reviewer": "rev1", "data_owner": "owner", "admin": "admin"}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory, council_file):
    env = make_env(tmp_path_factory.mktemp("svc_fuzz"), os.environ.get("FRONTDOOR_FUZZ_BACKEND", "sqlite"))
    # An aggregate release: built in seconds (a synthetic one takes longer), and the teams comparison needs one.
    ids = published_release(env, council_file, kind="aggregate")
    with env.store.write() as s:
        env.store.add_user(s, "spare", "developer")  # the one user whose token the admin's cases may change
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", env.app)
    real = {"dataset_id": ids["dataset"], "model_id": ids["model"], "release_id": ids["release"],
            "job_id": ids["job"], "name": "spare"}
    manifest = env.client.get(f"/api/v1/releases/{ids['release']}/manifest", headers=env.h("dev")).get_json()
    by_type = {name.rsplit(".", 1)[-1]: name for name in sorted(manifest["frontdoor"]["files"])}
    yield env, schema, real, sorted(by_type.values())  # one file of each type in the bundle
    close_env(env)


def _operations(schema):
    for result in schema.get_all_operations():
        yield result.ok()


def _fuzz(operation, headers: dict, real: dict, files: list[str], failures: list, counts: Counter) -> None:
    names = [p.name for p in operation.path_parameters]
    fixed = [{n: real[n] for n in names if n in real}]
    if operation.path.endswith("/files/{name}"):
        fixed = [{**fixed[0], "name": name} for name in files]
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    strategies += [operation.as_strategy(GenerationMode.POSITIVE, path_parameters=f) for f in fixed if f]

    def call(case) -> None:
        counts["cases"] += 1
        response = case.call(headers=headers)
        counts[response.status_code // 100] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            failures.extend((operation.label, response.status_code, f) for f in group.exceptions)
        except Failure as failure:
            failures.append((operation.label, response.status_code, failure))

    common = {"deadline": None, "database": None, "derandomize": True, "phases": [Phase.explicit, Phase.generate],
              "suppress_health_check": list(HealthCheck)}
    def run(strategy, examples: int) -> None:
        given(case=strategy)(settings(max_examples=examples, **common)(lambda case: call(case)))()

    run(st.one_of(strategies), POSITIVE_EXAMPLES)
    try:
        run(operation.as_strategy(GenerationMode.NEGATIVE), NEGATIVE_EXAMPLES)
    except Unsatisfiable:  # nothing in the operation can be made invalid (no parameters, no body)
        counts["no negative cases"] += 1


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_every_response_is_as_documented(fuzzed, role):
    env, schema, real, files = fuzzed
    headers = env.h(ROLE_USERS[role])
    failures: list = []
    counts: Counter = Counter()
    started = time.perf_counter()
    for operation in _operations(schema):
        _fuzz(operation, headers, real, files, failures, counts)
    seconds = time.perf_counter() - started
    print(f"\n{role}: {counts['cases']} cases in {seconds:.1f} s; by status class "
          f"{ {f'{k}xx': counts[k] for k in range(1, 6) if counts[k]} }; {len(failures)} failures")
    unique = {}
    for label, status, failure in failures:
        unique.setdefault((label, status, failure.title), failure.message.splitlines()[:6])
    report = "\n".join(f"{label} -> {status}: {title}\n    " + "\n    ".join(lines)
                       for (label, status, title), lines in sorted(unique.items()))
    assert counts["cases"] >= 200, counts
    assert counts[5] == 0 and not failures, f"{len(unique)} unique failures for {role}:\n{report}"
