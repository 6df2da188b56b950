"""Governance refuses by kind and knows nothing of HTTP; the web layer's one table answers each kind with its
status (the API's error shape and the pages alike)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from service.api.refusals import STATUS, status_of
from service.api.responses import WHY
from service.governance import errors
from service.governance.errors import REFUSALS, Conflict, NotAllowed, NotFound, WorkflowError

ROOT = Path(__file__).resolve().parents[2]
GOVERNANCE = sorted((ROOT / "service" / "governance").glob("*.py"))
WEB = {"flask", "flask_smorest", "werkzeug", "http"}


def _every_kind(cls=WorkflowError) -> set[type]:
    """Every kind of refusal the service defines (not those a test derives)."""
    found = {k for sub in cls.__subclasses__() for k in {sub} | _every_kind(sub)}
    return {k for k in found if k.__module__.startswith("service.")}


def test_every_kind_of_refusal_has_a_status_and_the_api_documents_it():
    kinds = _every_kind()
    assert kinds == set(REFUSALS), "list every kind in errors.REFUSALS"
    for kind in kinds:
        status = status_of(kind("why"))
        assert 400 <= status < 500 and status in WHY, (kind.__name__, status)
    assert set(STATUS) == kinds


def test_a_refusal_derived_from_a_kind_is_answered_as_that_kind():
    class StillIngesting(Conflict):
        pass

    assert status_of(StillIngesting("wait")) == 409
    assert status_of(NotAllowed("no")) == 403 and status_of(NotFound("release")) == 404


@pytest.mark.parametrize("path", GOVERNANCE, ids=lambda p: p.name)
def test_a_governance_module_imports_nothing_of_the_web(path):
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    bad = {n for n in names if n.split(".")[0] in WEB or n.startswith(("service.api", "service.web"))}
    assert not bad, f"{path.name} imports {bad}"


def test_importing_governance_loads_no_web_framework():
    code = ("import sys, service.governance.errors, service.governance.permissions, service.governance.states, "
            f"service.governance.workflow; print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & {WEB!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_no_refusal_carries_a_status_or_is_raised_without_its_kind():
    with pytest.raises(TypeError):
        Conflict("the old way", 409)
    bare = []
    for path in (ROOT / "service").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "WorkflowError":
                bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bare, f"raise a kind of refusal (errors.{', errors.'.join(k.__name__ for k in REFUSALS)}): {bare}"
    assert errors.WorkflowError is WorkflowError
