"""The release state machine as a table. Every state change goes through `transition()`.

    draft -> checking -> failed | awaiting_review -> approved -> published -> withdrawn
    failed (a build that crashed, no verdict) -> checking (retried)
    awaiting_review -> returned (back to the requester) -> checking (resubmitted)
    awaiting_review -> rejected
    approved -> withdrawn
"""

from __future__ import annotations

from dataclasses import dataclass

STATES = ("draft", "checking", "failed", "awaiting_review", "returned", "rejected", "approved", "published",
          "withdrawn")
FINAL_STATES = frozenset({"rejected", "withdrawn", "failed"})


@dataclass(frozen=True)
class Transition:
    action: str
    source: str
    target: str
    actors: frozenset[str]  # roles, "requester" (the release's requester) or "system" (a job)
    description: str


TRANSITIONS: tuple[Transition, ...] = (
    Transition("submit", "draft", "checking", frozenset({"requester"}), "the request is built and checked"),
    Transition("gate_failed", "checking", "failed", frozenset({"system"}), "the automated gate failed"),
    Transition("build_failed", "checking", "failed", frozenset({"system"}),
               "the build stopped before the gate decided (its worker died or crashed)"),
    Transition("retry", "failed", "checking", frozenset({"requester"}),
               "a build that stopped before the gate decided is run again"),
    Transition("gate_passed", "checking", "awaiting_review", frozenset({"system"}), "the gate passed; reviewers sign off"),
    Transition("approve", "awaiting_review", "awaiting_review", frozenset({"reviewer"}),
               "one approval; more are needed"),
    Transition("approve_final", "awaiting_review", "approved", frozenset({"reviewer"}),
               "the last approval needed"),
    Transition("return", "awaiting_review", "returned", frozenset({"reviewer"}), "back to the requester with comments"),
    Transition("reject", "awaiting_review", "rejected", frozenset({"reviewer"}), "refused for good"),
    Transition("amend", "returned", "checking", frozenset({"requester"}), "changed and submitted again"),
    Transition("amend", "awaiting_review", "checking", frozenset({"requester"}), "changed while in review: approvals reset"),
    Transition("publish", "approved", "published", frozenset({"requester"}), "developers can download it"),
    Transition("withdraw", "approved", "withdrawn", frozenset({"requester", "admin"}), "no longer to be published"),
    Transition("withdraw", "published", "withdrawn", frozenset({"requester", "admin"}), "its files stop being served"),
)
TABLE: dict[tuple[str, str], Transition] = {(t.source, t.action): t for t in TRANSITIONS}


def mermaid() -> str:
    """The state diagram, generated from the table (for the docs)."""
    lines = ["stateDiagram-v2", "    [*] --> draft"]
    lines += [f"    {t.source} --> {t.target}: {t.action}" for t in TRANSITIONS]
    lines += [f"    {s} --> [*]" for s in sorted(FINAL_STATES)]
    return "\n".join(lines)
