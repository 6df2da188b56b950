"""The Ofsted Annex A lists as Frontdoor reads them: headers, their aliases, code sets.

Everything the ingest needs to know about the input format is here, in one place, as data.
Header matching is on a normalised form (lower case, punctuation and extra spaces removed), so
`Date of Birth`, `DATE OF BIRTH` and `date_of_birth` all match. Code matching strips the label
prefixes councils' workbooks carry (`a) Male`, `q) 6: Police`) and accepts codes or labels
(synth.code_readers).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

# ----------------------------------------------------------------------------------------------
# Column kinds. Each kind has one parser in synth.parsing.
ID, DATE, INT, YESNO, SEX, ETHNICITY, SOURCE, NEED, ABUSE, CLOSURE, TEXT, CONTACT_OUTCOME = (
    "id",
    "date",
    "int",
    "yesno",
    "sex",
    "ethnicity",
    "source",
    "need",
    "abuse",
    "closure",
    "text",
    "contact_outcome",
)


@dataclass(frozen=True)
class Column:
    """One Annex A column: the canonical field it feeds, its header as the guidance spells it."""

    field: str
    header: str
    kind: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    # Kept columns reach the canonical tables; the others are checked for presence only and
    # dropped at once (workers' names, free text, dates we do not use).
    keep: bool = True
    # A coded column's own reader (cell text -> code, None when unrecognised); without one, the
    # reader of its kind in synth.code_readers.CODE_READERS. The SSD's coded columns bring theirs
    # (synth.ssd_schema).
    reader: Callable[[str], str | None] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class AnnexList:
    number: int
    name: str
    key_field: str  # the date that places each row in time; rows without it are rejected
    columns: tuple[Column, ...]
    sheet_aliases: tuple[str, ...] = ()
    # Natural key (besides child and key date) that identifies the same row in two workbooks.
    natural_key: tuple[str, ...] = ()
    common: tuple[Column, ...] = field(default=())

    @property
    def all_columns(self) -> tuple[Column, ...]:
        return self.common + self.columns

    @property
    def label(self) -> str:
        """How messages name the list: `List 3 (Referrals)`."""
        return f"List {self.number} ({self.name})"

    def column(self, name: str) -> Column:
        for col in self.all_columns:
            if col.field == name:
                return col
        raise KeyError(name)


def normalise_header(text: object) -> str:
    """`Referral NFA?` -> `referral nfa`; `Date_of_Birth` -> `date of birth`."""
    s = str(text).strip().lower()
    s = re.sub(r"[_\-/\\.,:;?!()\[\]'\"’‘“”&]+", " ", s)
    return re.sub(r"\s+", " ", s).strip()


# ----------------------------------------------------------------------------------------------
# The five columns every list starts with.
COMMON = (
    Column(
        "child_id",
        "Child Unique ID",
        ID,
        ("child id", "childuniqueid", "unique child id", "child identifier", "child unique identifier",
         "la child id", "child reference", "child ref", "person id", "id"),
        required=True,
    ),
    Column("sex", "Gender", SEX, ("sex", "gender sex", "sex gender", "gender identity")),
    Column("ethnicity", "Ethnicity", ETHNICITY, ("ethnic origin", "ethnicity code", "ethnic group")),
    Column("dob", "Date of Birth", DATE, ("dob", "birth date", "d o b", "date birth")),
    Column("age", "Age of Child (Years)", INT, ("age", "age of child", "age years", "age in years", "child age")),
)

TEAM = Column("team", "Allocated Team", TEXT, ("team", "allocated team name", "team name"))
WORKER = Column("worker", "Allocated Worker", TEXT, ("worker", "allocated worker name", "social worker"), keep=False)
DISABILITY = Column(
    "disability",
    "Does the Child have a Disability",
    YESNO,
    ("disability", "disabled", "does the child have a disability y n", "child has a disability"),
)

LISTS: tuple[AnnexList, ...] = (
    AnnexList(
        1,
        "Contacts",
        "contact_date",
        (
            Column("contact_date", "Date of Contact", DATE, ("contact date", "date contact"), required=True),
            Column("source", "Contact Source", SOURCE, ("source of contact", "source", "contact source code")),
            # Not in the Ofsted guidance, but many councils add it; without it a contact with no
            # referral or early help is closed as no further action.
            Column("contact_outcome", "Contact Outcome", CONTACT_OUTCOME, ("outcome of contact", "outcome")),
        ),
        sheet_aliases=("contacts", "list 1", "list1", "l1"),
        natural_key=("source",),
    ),
    AnnexList(
        2,
        "Early help",
        "eh_start",
        (
            Column("eh_start", "Assessment start date", DATE,
                   ("early help assessment start date", "eh assessment start date", "eh start date"),
                   required=True),
            Column("eh_end", "Assessment completion date", DATE,
                   ("early help assessment completion date", "eh assessment completion date", "eh end date")),
            Column("eh_org", "Organisation completing assessment", TEXT,
                   ("organisation", "organisation completing early help assessment"), keep=False),
        ),
        sheet_aliases=("early help", "list 2", "list2", "l2"),
    ),
    AnnexList(
        3,
        "Referrals",
        "referral_date",
        (
            Column("referral_date", "Date of referral", DATE, ("referral date", "date referral"), required=True),
            Column("source", "Referral Source", SOURCE, ("source of referral", "source", "referral source code")),
            Column("referral_nfa", "Referral NFA?", YESNO, ("referral nfa", "nfa", "referral no further action")),
            Column("referrals_12m", "Number of Referrals in Last 12 Months", INT,
                   ("number of referrals in last 12 months", "referrals in last 12 months",
                    "no of referrals in last 12 months"), keep=False),
            TEAM,
            WORKER,
        ),
        sheet_aliases=("referrals", "list 3", "list3", "l3"),
    ),
    AnnexList(
        4,
        "Assessments",
        "assessment_start",
        (
            DISABILITY,
            Column("assessment_start", "Continuous Assessment Start Date", DATE,
                   ("assessment start date", "continuous assessment start", "c f assessment start date",
                    "date of assessment start"), required=True),
            Column("child_seen", "Child Seen During Continuous Assessment", YESNO,
                   ("child seen during assessment", "child seen"), keep=False),
            Column("assessment_end", "Continuous Assessment Date of Authorisation", DATE,
                   ("assessment authorisation date", "date of authorisation", "assessment date of authorisation",
                    "assessment end date")),
            Column("requires_support", "Was the child assessed as requiring LA children's social care support?",
                   YESNO,
                   ("was the child assessed as requiring la childrens social care support",
                    "was the child assessed as requiring la children s social care support",
                    "assessed as requiring support", "requiring la support", "requires support",
                    "outcome requiring support")),
            TEAM,
            WORKER,
        ),
        sheet_aliases=("assessments", "list 4", "list4", "l4"),
    ),
    AnnexList(
        5,
        "Section 47 enquiries and ICPCs",
        "s47_start",
        (
            DISABILITY,
            Column("s47_start", "Strategy discussion initiating Section 47 Enquiry Start Date", DATE,
                   ("strategy discussion initiating s47 enquiry start date", "section 47 enquiry start date",
                    "s47 start date", "s47 enquiry start date", "strategy discussion date"), required=True),
            Column("icpc_unnecessary", "Was an Initial Child Protection Conference deemed unnecessary?", YESNO,
                   ("icpc deemed unnecessary", "was an icpc deemed unnecessary", "icpc unnecessary")),
            Column("icpc_date", "Date of Initial Child Protection Conference", DATE,
                   ("icpc date", "date of icpc", "initial child protection conference date")),
            Column("icpc_cp_plan", "Did the Initial Child Protection Conference Result in a Child Protection Plan",
                   YESNO, ("did the icpc result in a cp plan", "icpc resulted in cp plan", "icpc result in cp plan",
                           "icpc outcome cp plan")),
            Column("s47_12m", "Number of Section 47 Enquiries in the last 12 months", INT,
                   ("number of s47 enquiries in the last 12 months", "s47s in last 12 months"), keep=False),
            Column("icpc_12m", "Number of ICPCs in the last 12 months", INT,
                   ("icpcs in last 12 months",), keep=False),
            TEAM,
            WORKER,
        ),
        sheet_aliases=("section 47", "s47", "s47 icpc", "list 5", "list5", "l5"),
    ),
    AnnexList(
        6,
        "Children in need",
        "cin_start",
        (
            Column("disability", "Disability", YESNO, DISABILITY.aliases + ("does the child have a disability",)),
            Column("cin_start", "CIN Start Date", DATE, ("cin plan start date", "child in need start date",
                                                         "start date of cin", "cin start"), required=True),
            Column("need_code", "Primary Need Code", NEED, ("primary need", "need code", "category of need")),
            Column("last_seen", "Date Child Was Last Seen", DATE, ("date child last seen", "last seen"), keep=False),
            Column("cin_end", "CIN Closure Date", DATE, ("cin end date", "cin closure", "date of closure",
                                                         "closure date")),
            Column("closure_reason", "Reason for Closure", CLOSURE, ("closure reason", "reason closed",
                                                                     "cin closure reason")),
            Column("case_status", "Case Status", TEXT, ("status",), keep=False),
            Column("team", "Team", TEXT, TEAM.aliases + ("allocated team",)),
            Column("worker", "Worker", TEXT, WORKER.aliases + ("allocated worker",), keep=False),
        ),
        sheet_aliases=("children in need", "cin", "list 6", "list6", "l6"),
    ),
    AnnexList(
        7,
        "Child protection",
        "cp_start",
        (
            Column("disability", "Disability", YESNO, DISABILITY.aliases + ("does the child have a disability",)),
            Column("cp_start", "Child Protection Plan Start Date", DATE,
                   ("cp plan start date", "cpp start date", "date cp plan started", "cp start date"), required=True),
            Column("abuse_category", "Initial Category of Abuse", ABUSE,
                   ("initial category", "category of abuse", "initial category of abuse neglect")),
            Column("abuse_latest", "Latest Category of Abuse", ABUSE, ("latest category",), keep=False),
            Column("last_visit", "Date of the Last Statutory Visit", DATE, ("last statutory visit",), keep=False),
            Column("seen_alone", "Was the Child Seen Alone?", YESNO, ("seen alone",), keep=False),
            Column("review_date", "Date of latest review conference", DATE, ("latest review conference",),
                   keep=False),
            Column("cp_end", "Child Protection Plan End Date", DATE,
                   ("cp plan end date", "cpp end date", "cp end date", "date cp plan ended")),
            Column("epo", "Emergency Protection Order in last six months (Y/N)", YESNO,
                   ("emergency protection order in last six months", "epo"), keep=False),
            Column("previous_cp_plans", "Number of Previous Child Protection Plans", INT,
                   ("previous cp plans", "number of previous cp plans", "number of previous cpps")),
            Column("team", "Team", TEXT, TEAM.aliases + ("allocated team",)),
            Column("worker", "Worker", TEXT, WORKER.aliases + ("allocated worker",), keep=False),
        ),
        sheet_aliases=("child protection", "cp", "list 7", "list7", "l7"),
    ),
    AnnexList(
        8,
        "Children in care",
        "cla_start",
        (
            Column("uasc", "UASC (Y/N)", YESNO, ("uasc", "unaccompanied asylum seeking child", "uasc y n",
                                                 "asylum seeking")),
            Column("disability", "Disability", YESNO, DISABILITY.aliases + ("does the child have a disability",)),
            Column("cla_start", "Date Started to be Looked After", DATE,
                   ("date started looked after", "date became looked after", "cla start date",
                    "date started to be looked after", "start date of period of care"), required=True),
            Column("need_code", "Child's Category of Need", NEED, ("category of need", "childs category of need",
                                                                   "child s category of need")),
            Column("placements_12m", "Number of Placements in Last 12 Months", INT,
                   ("number of placements", "placements in last 12 months"), keep=False),
            Column("cla_end", "Date Ceased to be Looked After", DATE, ("date ceased", "cla end date",
                                                                       "date ceased looked after")),
            Column("reason_ceased", "Reason Ceased to be Looked After", TEXT, ("reason ceased", "reason episode ceased"),
                   keep=False),
            Column("missing_episodes", "Number of Missing Episodes", INT,
                   ("missing episodes", "number of episodes child has been reported missing",
                    "number of times missing", "missing episodes in last 12 months")),
            Column("absent_episodes", "Number of Absence Episodes", INT,
                   ("absent episodes", "number of times child has been reported absent"), keep=False),
            Column("team", "Team", TEXT, TEAM.aliases + ("allocated team",)),
            Column("worker", "Worker", TEXT, WORKER.aliases + ("allocated worker",), keep=False),
        ),
        sheet_aliases=("children in care", "looked after", "cla", "list 8", "list8", "l8"),
    ),
)
LISTS = tuple(AnnexList(a.number, a.name, a.key_field, a.columns, a.sheet_aliases, a.natural_key, COMMON)
              for a in LISTS)
LIST_BY_NUMBER: dict[int, AnnexList] = {a.number: a for a in LISTS}

# Lists outside the front door: recognised so that a full workbook does not produce warnings.
OUT_OF_SCOPE_SHEETS = ("list 9", "list 10", "list 11", "care leavers", "adoption", "adopters")


def header_lookup(annex_list) -> dict[str, str]:
    """Normalised header or alias -> canonical field, for one list (or one SSD table)."""
    out: dict[str, str] = {}
    for col in annex_list.all_columns:
        for name in (col.header, *col.aliases):
            out.setdefault(normalise_header(name), col.field)
    return out


# ----------------------------------------------------------------------------------------------
# Code sets (CIN census 2024).
SEX_CODES = {
    "male": "male", "m": "male", "1": "male", "boy": "male",
    "female": "female", "f": "female", "2": "female", "girl": "female",
    "not stated": "not_stated", "not known": "not_stated", "unknown": "not_stated", "0": "not_stated",
    "not recorded": "not_stated", "u": "not_stated", "unborn": "not_stated", "not stated recorded": "not_stated",
    "neither": "neither", "9": "neither", "indeterminate": "neither", "not specified": "neither",
    "other": "neither",
}
SEX_VALUES = ("male", "female", "not_stated", "neither")

ETHNICITY_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    # code: (group, labels)
    "WBRI": ("White", ("white british", "white english", "white scottish", "white welsh")),
    "WIRI": ("White", ("white irish",)),
    "WIRT": ("White", ("traveller of irish heritage", "white traveller of irish heritage")),
    "WOTH": ("White", ("any other white background", "white other")),
    "WROM": ("White", ("gypsy roma", "white gypsy roma", "gypsy roma")),
    "MWBC": ("Mixed", ("white and black caribbean", "mixed white and black caribbean")),
    "MWBA": ("Mixed", ("white and black african", "mixed white and black african")),
    "MWAS": ("Mixed", ("white and asian", "mixed white and asian")),
    "MOTH": ("Mixed", ("any other mixed background", "mixed other")),
    "AIND": ("Asian", ("indian", "asian indian")),
    "APKN": ("Asian", ("pakistani", "asian pakistani")),
    "ABAN": ("Asian", ("bangladeshi", "asian bangladeshi")),
    "AOTH": ("Asian", ("any other asian background", "asian other")),
    "BCRB": ("Black", ("caribbean", "black caribbean")),
    "BAFR": ("Black", ("african", "black african")),
    "BOTH": ("Black", ("any other black background", "black other")),
    "CHNE": ("Other", ("chinese",)),
    "OOTH": ("Other", ("any other ethnic group", "other ethnic group")),
    "REFU": ("Not known", ("refused",)),
    "NOBT": ("Not known", ("information not yet obtained", "not obtained", "not known", "unknown")),
}
ETHNICITY_GROUP_VALUES = ("White", "Mixed", "Asian", "Black", "Other", "Not known")

# Contact and referral source: code -> (group, label).
SOURCE_CODES: dict[str, tuple[str, str]] = {
    "1A": ("individual", "Individual - Family member/relative/carer"),
    "1B": ("individual", "Individual - Acquaintance (including neighbours and child minders)"),
    "1C": ("individual", "Individual - Self"),
    "1D": ("individual", "Individual - Other"),
    "2A": ("schools", "Schools"),
    "2B": ("education", "Education services"),
    "3A": ("health", "Health services - GP"),
    "3B": ("health", "Health services - Health visitor"),
    "3C": ("health", "Health services - School nurse"),
    "3D": ("health", "Health services - Other primary health services"),
    "3E": ("health", "Health services - A&E"),
    "3F": ("health", "Health services - Other"),
    "4": ("housing", "Housing"),
    "5A": ("la_services", "LA services - Social care e.g. adults social care"),
    "5B": ("la_services", "LA services - Other internal"),
    "5C": ("la_services", "LA services - External e.g. from another LA's social care"),
    "5D": ("la_services", "LA services - Early help"),
    "6": ("police", "Police"),
    "7": ("other_legal", "Other legal agency"),
    "8": ("other", "Other"),
    "9": ("anonymous", "Anonymous"),
    "10": ("unknown", "Unknown"),
}
SOURCE_GROUP_LABELS = {
    "police": "Police",
    "schools": "Schools",
    "health": "Health services",
    "la_services": "LA services",
    "individual": "Individuals",
    "other": "Other",
    "other_legal": "Other legal agency",
    "education": "Education services",
    "anonymous": "Anonymous",
    "unknown": "Unknown",
    "housing": "Housing",
}

NEED_CODES = {
    "N0": "Not stated", "N1": "Abuse or neglect", "N2": "Child's disability", "N3": "Parental illness/disability",
    "N4": "Family in acute stress", "N5": "Family dysfunction", "N6": "Socially unacceptable behaviour",
    "N7": "Low income", "N8": "Absent parenting", "N9": "Cases other than children in need",
}
ABUSE_CODES = {
    "NEG": ("neglect",), "PHY": ("physical abuse", "physical"), "SAB": ("sexual abuse", "sexual"),
    "EMO": ("emotional abuse", "emotional"), "MUL": ("multiple", "multiple categories"),
}
CLOSURE_CODES = {
    "RC1": "Adopted", "RC2": "Died", "RC3": "Child arrangements order", "RC4": "Special guardianship order",
    "RC5": "Transferred to services of another local authority", "RC6": "Transferred to adult social care",
    "RC7": "Services ceased for any other reason, including child no longer in need",
    "RC8": "Case closed after assessment, no further action",
    "RC9": "Case closed after assessment, referred to early help",
}
# Closure reason -> the exit stage it means on the map.
CLOSURE_EXIT = {"RC7": "nfa", "RC8": "nfa", "RC9": "early_help",
                "RC1": "other", "RC2": "other", "RC3": "other", "RC4": "other", "RC5": "other", "RC6": "other"}

YES_VALUES = ("yes", "y", "true", "1", "t")
NO_VALUES = ("no", "n", "false", "0", "f")

CONTACT_OUTCOMES = {
    "iag": ("information advice and guidance", "information and advice", "iag", "advice and information",
            "information advice guidance", "advice"),
    "nfa": ("no further action", "nfa", "closed", "closed no further action"),
    "early_help": ("early help", "referred to early help", "step down to early help"),
    "referral": ("referral", "referred to social care", "progress to referral", "referral to social care"),
}


# ----------------------------------------------------------------------------------------------
# Canonical tables (DESIGN.md section 3).
AGE_BANDS = ("Unborn", "Under 1", "1-4", "5-9", "10-15", "16+")
MISSING_BANDS = ("None recorded", "1", "2-5", "6+")

CHILDREN_COLUMNS = (
    "child_key", "sex", "ethnicity_group", "age_at_first_contact", "age_band", "disability", "uasc",
    "missing_episodes", "previous_cp_plans",
)
EVENTS_COLUMNS = (
    "child_key", "episode_no", "step", "stage", "date", "source", "team", "need_code", "abuse_category",
    "closure_reason", "list_no", "derived",
)
EPISODES_COLUMNS = (
    "child_key", "episode_no", "path", "days", "n_steps", "start_date", "end_date", "duration_days",
    "first_stage", "exit", "censored", "left_censored", "source", "team",
)
