"""The front-door stages and the grammar of journeys through them (DOMAIN.md section 3).

One place for stage ids, their order, which stages end a journey and which moves are allowed.
Fixtures simulate with it, ingest links events with it, generators sample with it and the
evaluation measures validity against it.
"""

from __future__ import annotations

# Process order: also the tie-break for several events of one child on one day.
STAGES: tuple[str, ...] = (
    "contact",
    "iag",
    "early_help",
    "referral",
    "assessment",
    "strategy",
    "s47",
    "icpc",
    "cin_plan",
    "cp_plan",
    "cla",
    "nfa",
    "other",
)
STAGE_ORDER: dict[str, int] = {stage: i for i, stage in enumerate(STAGES)}

STAGE_LABELS: dict[str, str] = {
    "contact": "Contact",
    "iag": "Information, advice and guidance",
    "early_help": "Early help",
    "referral": "Referral",
    "assessment": "C&F assessment",
    "strategy": "Strategy discussion",
    "s47": "Section 47 enquiry",
    "icpc": "Initial CP conference",
    "cin_plan": "CIN plan",
    "cp_plan": "CP plan",
    "cla": "Looked after",
    "nfa": "Closed / no further action",
    "other": "Other exit",
}

# A journey (episode) starts here, unless it was already open when the observed window began.
START_STAGES: frozenset[str] = frozenset({"contact", "referral"})

# Stages that always end a journey.
HARD_EXITS: frozenset[str] = frozenset({"iag", "nfa", "other"})

# Early help ends a journey unless the child steps up (a contact or referral) soon after.
SOFT_EXIT: str = "early_help"
STEP_UP_DAYS: int = 183

EXIT_STAGES: frozenset[str] = HARD_EXITS | {SOFT_EXIT}

# Allowed next stages within one journey.
GRAMMAR: dict[str, frozenset[str]] = {
    "contact": frozenset({"contact", "iag", "nfa", "early_help", "referral"}),
    "referral": frozenset({"nfa", "assessment", "strategy"}),
    "assessment": frozenset({"nfa", "early_help", "cin_plan", "strategy", "cla", "other"}),
    "strategy": frozenset({"s47"}),
    "s47": frozenset({"icpc", "cin_plan", "nfa", "early_help", "cla"}),
    "icpc": frozenset({"cp_plan", "cin_plan", "nfa"}),
    "cp_plan": frozenset({"cin_plan", "nfa", "cla", "other"}),
    "cin_plan": frozenset({"nfa", "early_help", "strategy", "cla", "other"}),
    "cla": frozenset({"other", "nfa"}),
    "early_help": frozenset({"contact", "referral"}),
    "iag": frozenset(),
    "nfa": frozenset(),
    "other": frozenset(),
}

# Contacts that are not followed by anything within this many days get an exit on the day.
CONTACT_LINK_DAYS: int = 30
# An assessment belongs to a referral when it starts within this many days of it.
ASSESSMENT_LINK_DAYS: int = 7


def is_valid_path(stages: list[str] | tuple[str, ...], left_censored: bool = False) -> bool:
    """True when a journey starts where journeys start and every move is allowed."""
    if not stages:
        return False
    if not left_censored and stages[0] not in START_STAGES:
        return False
    if any(s not in STAGE_ORDER for s in stages):
        return False
    return all(b in GRAMMAR[a] for a, b in zip(stages, stages[1:]))


def allowed_edges() -> frozenset[tuple[str, str]]:
    """Every (from, to) pair the grammar allows."""
    return frozenset((a, b) for a, nxt in GRAMMAR.items() for b in nxt)
