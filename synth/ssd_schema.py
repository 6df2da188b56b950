"""The D2I Standard Safeguarding Dataset (SSD) tables as Frontdoor reads them: columns and code sets.

The SSD (Data to Insight, https://github.com/data-to-insight/ssd-data-model) is a set of relational
tables a council builds inside its own case-management database with one SQL script and extracts
from it. The tables and column names here follow that repository as of commit 4987c73 (July 2026):
the specification's object files (`data/objects/ssd_*.yml`), the deployed SystemC/Liquidlogic
extract (`deployment_extracts/systemc/live/ssd_deployment_proc_files/procs/*.sql`, SSD release 1.4.5
of 2025-07-14 by `deployment_extracts/ssd_version_history.yml`), and the column lists of
`analysis/ddl_reference/ddl_compare_column_matrix.csv`, which compares the Mosaic, SystemC and
Eclipse extracts (Mosaic spells `cinp_cin_plan_id` `cin_plan_id`; both are read). Only the tables
the front door needs are read:

| table | columns read (others are recognised and dropped) |
|---|---|
| ssd_person | pers_person_id, pers_sex, pers_gender, pers_ethnicity, pers_dob, pers_expected_dob |
| ssd_contacts | cont_contact_id, cont_person_id, cont_contact_date, cont_contact_source_code, cont_contact_outcome_json |
| ssd_early_help_episodes | earl_episode_id, earl_person_id, earl_episode_start_date, earl_episode_end_date |
| ssd_cin_episodes (referrals) | cine_referral_id, cine_person_id, cine_referral_date, cine_cin_primary_need_code, cine_referral_source_code, cine_referral_nfa, cine_close_reason, cine_close_date, cine_referral_team |
| ssd_cin_assessments | cina_assessment_id, cina_person_id, cina_referral_id, cina_assessment_start_date, cina_assessment_auth_date, cina_assessment_outcome_json, cina_assessment_outcome_nfa, cina_assessment_team |
| ssd_s47_enquiry | s47e_s47_enquiry_id, s47e_referral_id, s47e_person_id, s47e_s47_start_date, s47e_s47_end_date, s47e_s47_nfa, s47e_s47_outcome_json, s47e_s47_completed_by_team |
| ssd_initial_cp_conference | icpc_icpc_id, icpc_s47_enquiry_id, icpc_person_id, icpc_icpc_date, icpc_icpc_outcome_cp_flag, icpc_icpc_team |
| ssd_cin_plans | cinp_cin_plan_id, cinp_referral_id, cinp_person_id, cinp_cin_plan_start_date, cinp_cin_plan_end_date, cinp_cin_plan_team |
| ssd_cp_plans | cppl_cp_plan_id, cppl_referral_id, cppl_icpc_id, cppl_person_id, cppl_cp_plan_start_date, cppl_cp_plan_end_date, cppl_cp_plan_initial_category |
| ssd_cla_episodes | clae_cla_episode_id, clae_person_id, clae_cla_episode_start_date, clae_cla_episode_start_reason, clae_cla_primary_need_code, clae_cla_episode_ceased_date, clae_cla_episode_ceased_reason, clae_cla_id, clae_entered_care_date |
| ssd_disability | disa_table_id, disa_person_id, disa_disability_code |
| ssd_immigration_status | immi_immigration_status_id, immi_person_id, immi_immigration_status |
| ssd_missing | miss_table_id, miss_person_id, miss_missing_episode_start_date, miss_missing_episode_type |
| ssd_department | dept_team_id, dept_team_name (team ids in the other tables are shown by name) |

Names, UPNs, NHS numbers, legacy ids, workers, comments and the dates the map does not use are
listed so that a table is recognised with them, and dropped when it is read (`keep=False`).
Code sets are the CIN census / SSDA903 ones the specification names: sex F/M/U, gender 00/01/02/09,
the DfE ethnicity codes (the specification's `CNHE` for Chinese is read as `CHNE`), contact and
referral source (CIN census), primary need N0-N9, closure reasons RC1-RC9, categories of abuse as
the extract writes them (`Neglect`, `Multiple: ...`), SSDA903 episode start reasons (S, L, P, T, B,
U) and reasons ceased (X1, E11 ...), disability codes (NONE, MOB, ... DDA), missing episode types
(M missing, A away), and the outcome columns' JSON flags (`{"NFA_FLAG": "Y", ...}`, keys quoted or
not, values Y/N).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from synth.code_readers import read_abuse, read_ethnicity, read_sex, read_yesno
from synth.schema import (
    ABUSE,
    CLOSURE,
    DATE,
    ETHNICITY,
    ID,
    NEED,
    SEX,
    SOURCE,
    TEXT,
    YESNO,
    Column,
    header_lookup,
    normalise_header,
)

SSD_SPEC = "D2I Standard Safeguarding Dataset, release 1.4.5 (data-to-insight/ssd-data-model)"

# Kinds of the SSD's own coded columns (each column brings its reader).
GENDER, OUTCOME, CLA_START, CLA_CEASED, DISABILITY_CODE, IMMIGRATION, MISSING_TYPE = (
    "ssd_gender", "ssd_outcome", "ssd_cla_start", "ssd_cla_ceased", "ssd_disability", "ssd_immigration",
    "ssd_missing_type")


# ----------------------------------------------------------------------------------------------
# Readers: cell text -> code, or None when the text is not a recognised value.
def read_gender(value: str) -> str | None:
    """`pers_gender`: 00 not known, 01 male, 02 female, 09 self-described (10-99 local sub-codes of 9)."""
    v = value.strip()
    if v.isdigit():
        n = int(v)
        return read_sex(str(n if n < 10 else 9))
    return read_sex(v)


def read_ssd_ethnicity(value: str) -> str | None:
    return read_ethnicity("CHNE" if value.strip().upper() == "CNHE" else value)


def read_ssd_abuse(value: str) -> str | None:
    """`Neglect`, `Physical abuse`, ..., or `Multiple: Neglect, Emotional abuse` (-> MUL)."""
    if normalise_header(value).startswith("multiple"):
        return "MUL"
    return read_abuse(value)


_FLAG = re.compile(r'"?([A-Za-z_]+)"?\s*:\s*("([^"]*)"|[^,}\s]*)')


def outcome_flags(value: str) -> dict[str, str] | None:
    """`{"NFA_FLAG": "Y", "ADVICE_FLAG": "", ...}` (or the guidance's unquoted keys) -> {key: 'yes'|'no'}.
    Flags left blank are left out; None when the text is not such an object."""
    text = value.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    found = _FLAG.findall(text)
    if not found and text[1:-1].strip():
        return None
    out = {}
    for key, raw, quoted in found:
        text = quoted if raw.startswith('"') else raw
        flag = read_yesno(text) if text else None
        if flag is not None and key.upper().endswith("_FLAG"):
            out[key.upper()] = flag
    return out


# What each outcome column's flags mean on the map. The first rule whose flag says yes decides;
# a JSON value with no flag set is `open` (no outcome recorded yet), which the ingest blanks.
CONTACT_OUTCOME_RULES = (
    (("NEW_REFERRAL_FLAG", "EXISTING_REFERRAL_FLAG", "CP_ENQUIRY_FLAG"), "referral"),
    (("ADVICE_FLAG",), "iag"),
    (("NFA_FLAG",), "nfa"),
    # Some other outcome was recorded (the SSD has no early help flag): the contact was decided and
    # not closed, so no exit is inferred for it (as for an Annex A contact passed to early help).
    (("OTHER_OUTCOMES_EXIST_FLAG", "NON_AGENCY_ADOPTION_FLAG", "PRIVATE_FOSTERING_FLAG", "MISSING_FLAG",
      "OLA_CP_FLAG"), "other"),
)
ASSESSMENT_OUTCOME_RULES = (
    (("NFA_FLAG", "NFA_S47_END_FLAG"), "nfa"),
    (("STRATEGY_DISCUSSION_FLAG", "CLA_REQUEST_FLAG", "PROV_OF_SERVICES_FLAG", "PROV_OF_SB_CARE_FLAG",
      "LEGAL_ACTION_FLAG", "SPECIALIST_ASSESSMENT_FLAG", "PRIVATE_FOSTERING_FLAG"), "services"),
)
S47_OUTCOME_RULES = (
    (("CP_CONFERENCE_FLAG",), "icpc"),
)
OPEN = "open"
NO_ICPC = "no_icpc"


def _outcome_reader(rules, no_flag: dict[str, str] | None = None):
    def read(value: str) -> str | None:
        flags = outcome_flags(value)
        if flags is None:
            return None
        for keys, outcome in rules:
            if any(flags.get(k) == "yes" for k in keys):
                return outcome
        for key, outcome in (no_flag or {}).items():
            if flags.get(key) == "no":
                return outcome
        return OPEN

    return read


read_contact_outcome = _outcome_reader(CONTACT_OUTCOME_RULES)
read_assessment_outcome = _outcome_reader(ASSESSMENT_OUTCOME_RULES)
# An S47 whose CP_CONFERENCE_FLAG says N was completed without a conference.
read_s47_outcome = _outcome_reader(S47_OUTCOME_RULES, {"CP_CONFERENCE_FLAG": NO_ICPC})

CLA_START_REASONS = ("S", "L", "P", "T", "B", "U")
CLA_CEASED_REASONS = ("X1", "E11", "E12", "E2", "E3", "E4A", "E4B", "E13", "E41", "E45", "E46", "E47", "E48",
                      "E5", "E6", "E7", "E9", "E14", "E15", "E16", "E17", "E8")
DISABILITY_CODES = ("NONE", "MOB", "HAND", "PC", "INC", "COMM", "LD", "HEAR", "VIS", "BEH", "CON", "AUT", "DDA")


def _code_reader(codes: tuple[str, ...]):
    lookup = {c.upper(): c for c in codes}

    def read(value: str) -> str | None:
        v = value.strip().upper()
        return lookup.get(v) or lookup.get(v.split()[0].rstrip(":-–")) if v else None

    return read


read_cla_start = _code_reader(CLA_START_REASONS)
read_cla_ceased = _code_reader(CLA_CEASED_REASONS)
_read_disability = _code_reader(DISABILITY_CODES)
NO_DISABILITY = "NO DISABILITY"


def read_disability_code(value: str) -> str | None:
    return "NONE" if normalise_header(value) in ("no disability", "none") else _read_disability(value)


def read_immigration(value: str) -> str | None:
    """Any status is accepted; only whether it says unaccompanied asylum-seeking child is kept."""
    v = normalise_header(value)
    return "uasc" if v in ("uasc", "1") or "unaccompanied" in v else "other"


def read_missing_type(value: str) -> str | None:
    v = normalise_header(value)
    if v in ("m", "missing", "missing from care", "missing from home"):
        return "missing"
    if v in ("a", "away", "absent", "away from placement without authorisation"):
        return "away"
    return None


# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SsdTable:
    """One SSD table: its columns (the same Column records the Annex A lists use)."""

    name: str  # the table name, e.g. ssd_contacts; also how files and sheets are named
    title: str
    key: str  # field of the primary key
    columns: tuple[Column, ...]
    # (end, start) fields: the end may not come before the start.
    date_order: tuple[tuple[str, str], ...] = ()

    @property
    def number(self) -> str:
        """The key of the table's counts in the ingest report (Annex A lists use their number)."""
        return self.name

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self.columns

    @property
    def label(self) -> str:
        return f"SSD table {self.name} ({self.title})"

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.field == name:
                return col
        raise KeyError(name)


def _id(field: str, header: str, required: bool = False, aliases: tuple[str, ...] = ()) -> Column:
    return Column(field, header, ID, aliases, required=required)


def _drop(header: str, kind: str = TEXT) -> Column:
    return Column(f"_{header}", header, kind, keep=False)


def _person(prefix: str) -> Column:
    return _id("child_id", f"{prefix}_person_id", required=True)


SSD_TABLES: tuple[SsdTable, ...] = (
    SsdTable("ssd_person", "persons", "child_id", (
        _id("child_id", "pers_person_id", required=True),
        Column("sex", "pers_sex", SEX),
        Column("gender", "pers_gender", GENDER, reader=read_gender),
        Column("ethnicity", "pers_ethnicity", ETHNICITY, reader=read_ssd_ethnicity),
        Column("dob", "pers_dob", DATE),
        Column("expected_dob", "pers_expected_dob", DATE),
        *(_drop(h) for h in ("pers_legacy_id", "pers_upn", "pers_forename", "pers_surname", "pers_single_unique_id",
                             "pers_common_child_id", "pers_upn_unknown", "pers_send_flag", "pers_death_date",
                             "pers_is_mother", "pers_nationality")),
    )),
    SsdTable("ssd_contacts", "contacts", "contact_id", (
        _id("contact_id", "cont_contact_id", required=True),
        _person("cont"),
        Column("contact_date", "cont_contact_date", DATE, required=True),
        Column("source", "cont_contact_source_code", SOURCE),
        _drop("cont_contact_source_desc"),
        Column("contact_outcome", "cont_contact_outcome_json", OUTCOME, reader=read_contact_outcome),
    )),
    SsdTable("ssd_early_help_episodes", "early help episodes", "eh_id", (
        _id("eh_id", "earl_episode_id", required=True),
        _person("earl"),
        Column("eh_start", "earl_episode_start_date", DATE, required=True),
        Column("eh_end", "earl_episode_end_date", DATE),
        *(_drop(h) for h in ("earl_episode_reason", "earl_episode_end_reason", "earl_episode_organisation",
                             "earl_episode_worker_id")),
    ), (("eh_end", "eh_start"),)),
    SsdTable("ssd_cin_episodes", "referrals (CIN episodes)", "referral_id", (
        _id("referral_id", "cine_referral_id", required=True),
        _person("cine"),
        Column("referral_date", "cine_referral_date", DATE, required=True),
        Column("need_code", "cine_cin_primary_need_code", NEED),
        Column("source", "cine_referral_source_code", SOURCE),
        _drop("cine_referral_source_desc"),
        _drop("cine_referral_outcome_json"),
        Column("referral_nfa", "cine_referral_nfa", YESNO),
        Column("closure_reason", "cine_close_reason", CLOSURE),
        Column("close_date", "cine_close_date", DATE),
        _id("team", "cine_referral_team"),
        _drop("cine_referral_worker_id"),
    ), (("close_date", "referral_date"),)),
    SsdTable("ssd_cin_assessments", "assessments", "assessment_id", (
        _id("assessment_id", "cina_assessment_id", required=True),
        _person("cina"),
        _id("referral_id", "cina_referral_id"),
        Column("assessment_start", "cina_assessment_start_date", DATE, required=True),
        _drop("cina_assessment_child_seen"),
        Column("assessment_end", "cina_assessment_auth_date", DATE),
        Column("outcome", "cina_assessment_outcome_json", OUTCOME, reader=read_assessment_outcome),
        Column("outcome_nfa", "cina_assessment_outcome_nfa", YESNO),
        _id("team", "cina_assessment_team"),
        _drop("cina_assessment_worker_id"),
    ), (("assessment_end", "assessment_start"),)),
    SsdTable("ssd_s47_enquiry", "section 47 enquiries", "s47_id", (
        _id("s47_id", "s47e_s47_enquiry_id", required=True),
        _id("referral_id", "s47e_referral_id"),
        _person("s47e"),
        Column("s47_start", "s47e_s47_start_date", DATE, required=True),
        Column("s47_end", "s47e_s47_end_date", DATE),
        Column("s47_nfa", "s47e_s47_nfa", YESNO),
        Column("outcome", "s47e_s47_outcome_json", OUTCOME, reader=read_s47_outcome),
        _drop("s47e_s47_completed_by_worker_id"),
        _id("team", "s47e_s47_completed_by_team"),
    ), (("s47_end", "s47_start"),)),
    SsdTable("ssd_initial_cp_conference", "initial child protection conferences", "icpc_id", (
        _id("icpc_id", "icpc_icpc_id", required=True),
        _drop("icpc_icpc_meeting_id"),
        _id("s47_id", "icpc_s47_enquiry_id"),
        _person("icpc"),
        _drop("icpc_cp_plan_id"),
        _drop("icpc_referral_id"),
        _drop("icpc_icpc_transfer_in"),
        _drop("icpc_icpc_target_date"),
        # Blank for a conference not yet held: such rows are not placed on the map.
        Column("icpc_date", "icpc_icpc_date", DATE),
        Column("icpc_cp_plan", "icpc_icpc_outcome_cp_flag", YESNO),
        _drop("icpc_icpc_outcome_json"),
        _id("team", "icpc_icpc_team"),
        _drop("icpc_icpc_worker_id"),
    )),
    SsdTable("ssd_cin_plans", "CIN plans", "cin_plan_id", (
        _id("cin_plan_id", "cinp_cin_plan_id", required=True, aliases=("cin_plan_id",)),  # Mosaic's spelling
        _id("referral_id", "cinp_referral_id"),
        _person("cinp"),
        Column("cin_start", "cinp_cin_plan_start_date", DATE, required=True),
        Column("cin_end", "cinp_cin_plan_end_date", DATE),
        _id("team", "cinp_cin_plan_team"),
        _drop("cinp_cin_plan_worker_id"),
    ), (("cin_end", "cin_start"),)),
    SsdTable("ssd_cp_plans", "child protection plans", "cp_plan_id", (
        _id("cp_plan_id", "cppl_cp_plan_id", required=True),
        _id("referral_id", "cppl_referral_id"),
        _id("icpc_id", "cppl_icpc_id"),
        _person("cppl"),
        Column("cp_start", "cppl_cp_plan_start_date", DATE, required=True),
        Column("cp_end", "cppl_cp_plan_end_date", DATE),
        _drop("cppl_cp_plan_ola"),
        Column("abuse_category", "cppl_cp_plan_initial_category", ABUSE, reader=read_ssd_abuse),
        _drop("cppl_cp_plan_latest_category"),
    ), (("cp_end", "cp_start"),)),
    SsdTable("ssd_cla_episodes", "looked-after episodes", "cla_episode_id", (
        _id("cla_episode_id", "clae_cla_episode_id", required=True),
        _person("clae"),
        Column("episode_start", "clae_cla_episode_start_date", DATE, required=True),
        Column("start_reason", "clae_cla_episode_start_reason", CLA_START, reader=read_cla_start),
        Column("need_code", "clae_cla_primary_need_code", NEED),
        Column("episode_end", "clae_cla_episode_ceased_date", DATE),
        Column("ceased_reason", "clae_cla_episode_ceased_reason", CLA_CEASED, reader=read_cla_ceased),
        _id("cla_id", "clae_cla_id"),
        _drop("clae_referral_id"),
        _drop("clae_cla_placement_id"),
        Column("entered_care", "clae_entered_care_date", DATE),
        _drop("clae_cla_last_iro_contact_date"),
    ), (("episode_end", "episode_start"),)),
    SsdTable("ssd_disability", "disabilities", "disability_row", (
        _person("disa"),
        _id("disability_row", "disa_table_id", required=True),
        Column("disability_code", "disa_disability_code", DISABILITY_CODE, reader=read_disability_code),
    )),
    SsdTable("ssd_immigration_status", "immigration statuses", "status_id", (
        _person("immi"),
        _id("status_id", "immi_immigration_status_id", required=True),
        Column("immigration_status", "immi_immigration_status", IMMIGRATION, reader=read_immigration),
        _drop("immi_immigration_status_start_date"),
        _drop("immi_immigration_status_end_date"),
    )),
    SsdTable("ssd_missing", "missing episodes", "missing_row", (
        _id("missing_row", "miss_table_id", required=True),
        _person("miss"),
        Column("missing_start", "miss_missing_episode_start_date", DATE, required=True),
        Column("missing_type", "miss_missing_episode_type", MISSING_TYPE, reader=read_missing_type),
        _drop("miss_missing_episode_end_date"),
        _drop("miss_missing_rhi_offered"),
        _drop("miss_missing_rhi_accepted"),
    )),
    SsdTable("ssd_department", "teams", "team_id", (
        _id("team_id", "dept_team_id", required=True),
        Column("team_name", "dept_team_name", TEXT, required=True),
        _drop("dept_team_parent_id"),
        _drop("dept_team_parent_name"),
    )),
)
SSD_BY_NAME: dict[str, SsdTable] = {t.name: t for t in SSD_TABLES}
# Tables that place a child at a stage (the others describe people or teams).
ACTIVITY_TABLES = ("ssd_contacts", "ssd_early_help_episodes", "ssd_cin_episodes", "ssd_cin_assessments",
                   "ssd_s47_enquiry", "ssd_initial_cp_conference", "ssd_cin_plans", "ssd_cp_plans",
                   "ssd_cla_episodes")


SSD_HEADERS: frozenset[str] = frozenset(h for t in SSD_TABLES for h in header_lookup(t))


def prepare_raw(table, spec: SsdTable) -> None:
    """Cell values that mean something in the SSD but a blank anywhere else: `disa_disability_code`
    NONE (no disability) would read as an empty cell, so it is spelled out before validation."""
    if spec.name != "ssd_disability":
        return
    lookup = header_lookup(spec)
    for pos, header in enumerate(table.headers):
        if lookup.get(normalise_header(header)) == "disability_code" and str(pos) in table.data:
            col = table.data[str(pos)]
            table.data[str(pos)] = col.where(~col.astype(str).str.strip().str.upper().eq("NONE"), NO_DISABILITY)
