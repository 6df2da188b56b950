"""Reading a coded cell of an Annex A list: a code, a label or both (`q) 6: Police`, `Female`,
`2A`) -> the canonical code of its code set (synth.schema), or None where it is none of them. One
reader per coded column kind (CODE_READERS); the SSD's own coded columns bring theirs."""

from __future__ import annotations

import re

from synth.schema import (
    ABUSE,
    ABUSE_CODES,
    CLOSURE,
    CLOSURE_CODES,
    CONTACT_OUTCOME,
    CONTACT_OUTCOMES,
    ETHNICITY,
    ETHNICITY_GROUPS,
    NEED,
    NEED_CODES,
    NO_VALUES,
    SEX,
    SEX_CODES,
    SOURCE,
    SOURCE_CODES,
    YES_VALUES,
    YESNO,
    normalise_header,
)

LABEL_PREFIX = re.compile(r"^\s*[a-z]{1,2}\)\s*", re.IGNORECASE)
CODE_PREFIX = re.compile(r"^\s*([0-9]{1,2}[a-z]?|[a-z]{2,4}[0-9]?)\s*[:\-–]\s+", re.IGNORECASE)


def _strip_label(value: str) -> str:
    return LABEL_PREFIX.sub("", value).strip()


def _code_and_label(value: str) -> tuple[str | None, str]:
    """`q) 6: Police` -> ("6", "police"); `Female` -> (None, "female")."""
    v = _strip_label(value)
    m = CODE_PREFIX.match(v)
    if m:
        return m.group(1).upper(), normalise_header(v[m.end():])
    return None, normalise_header(v)


def _lookup_table(codes: dict[str, object], labels: dict[str, str]) -> dict[str, str]:
    out = {normalise_header(c): c for c in codes}
    out.update(labels)
    return out


_SOURCE_LOOKUP = _lookup_table(SOURCE_CODES, {normalise_header(lbl): c for c, (_, lbl) in SOURCE_CODES.items()})
_SOURCE_LOOKUP.update({normalise_header(g): c for c, g in (
    ("6", "police"), ("2A", "school"), ("2A", "schools"), ("4", "housing"), ("9", "anonymous"), ("10", "unknown"),
    ("8", "other"), ("7", "other legal agency"), ("2B", "education services"), ("3F", "health"),
    ("3F", "health services"), ("1D", "individual"), ("5B", "la services"))})
_ETHNICITY_LOOKUP = _lookup_table(ETHNICITY_GROUPS, {
    normalise_header(lbl): c for c, (_, lbls) in ETHNICITY_GROUPS.items() for lbl in lbls})
_NEED_LOOKUP = _lookup_table(NEED_CODES, {normalise_header(lbl): c for c, lbl in NEED_CODES.items()})
_ABUSE_LOOKUP = _lookup_table(ABUSE_CODES, {normalise_header(lbl): c for c, lbls in ABUSE_CODES.items()
                                            for lbl in lbls})
_CLOSURE_LOOKUP = _lookup_table(CLOSURE_CODES, {normalise_header(lbl): c for c, lbl in CLOSURE_CODES.items()})
_OUTCOME_LOOKUP = {normalise_header(lbl): c for c, lbls in CONTACT_OUTCOMES.items() for lbl in lbls}


def _read_coded(value: str, lookup: dict[str, str]) -> str | None:
    code, label = _code_and_label(value)
    if code is not None and normalise_header(code) in lookup:
        return lookup[normalise_header(code)]
    if label in lookup:
        return lookup[label]
    whole = normalise_header(_strip_label(value))
    return lookup.get(whole)


def read_sex(value: str) -> str | None:
    code, label = _code_and_label(value)
    for key in (code, label, normalise_header(_strip_label(value))):
        if key is not None and normalise_header(key) in SEX_CODES:
            return SEX_CODES[normalise_header(key)]
    return None


def read_ethnicity(value: str) -> str | None:
    """Any accepted form -> the DfE ethnicity *group* (the code itself is not kept)."""
    code = _read_coded(value, _ETHNICITY_LOOKUP)
    return ETHNICITY_GROUPS[code][0] if code else None


def read_source(value: str) -> str | None:
    return _read_coded(value, _SOURCE_LOOKUP)


def read_need(value: str) -> str | None:
    return _read_coded(value, _NEED_LOOKUP)


def read_abuse(value: str) -> str | None:
    return _read_coded(value, _ABUSE_LOOKUP)


def read_closure(value: str) -> str | None:
    return _read_coded(value, _CLOSURE_LOOKUP)


def read_yesno(value: str) -> str | None:
    v = normalise_header(_strip_label(value))
    if v in YES_VALUES:
        return "yes"
    if v in NO_VALUES:
        return "no"
    return None


def read_contact_outcome(value: str) -> str | None:
    return _read_coded(value, _OUTCOME_LOOKUP)


CODE_READERS = {
    SEX: read_sex,
    ETHNICITY: read_ethnicity,
    SOURCE: read_source,
    NEED: read_need,
    ABUSE: read_abuse,
    CLOSURE: read_closure,
    YESNO: read_yesno,
    CONTACT_OUTCOME: read_contact_outcome,
}
