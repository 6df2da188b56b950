"""Recognising what a sheet or CSV file holds: which Annex A list (by its headers, then its sheet or
file name), or which table of the Standard Safeguarding Dataset; refusing an upload that mixes the
two standards; and saying why a table was not recognised."""

from __future__ import annotations

from pathlib import Path

from synth.errors import ValidationError
from synth.readers import RawTable
from synth.schema import LISTS, AnnexList, header_lookup, normalise_header
from synth.ssd_schema import SSD_TABLES, SsdTable


def column_positions(table: RawTable, annex: AnnexList | SsdTable) -> dict[str, int]:
    lookup = header_lookup(annex)
    found: dict[str, int] = {}
    for pos, header in enumerate(table.headers):
        name = lookup.get(normalise_header(header))
        if name is not None and name not in found:
            found[name] = pos
    return found


def identify_list(table: RawTable) -> AnnexList | SsdTable | None:
    """The Annex A list a table holds, judged by its headers (then its sheet or file name); or, for a
    table of the Standard Safeguarding Dataset, which SSD table it is."""
    if not table.headers:
        return None
    common = {c.field for c in LISTS[0].common}
    where = normalise_header(f"{table.sheet or ''} {Path(table.file).stem}")
    best, best_key = None, (0, 0)
    for annex in LISTS:
        found = column_positions(table, annex)
        if annex.key_field not in found:
            continue
        named = any(normalise_header(a) in where for a in annex.sheet_aliases)
        key = (len(set(found) - common), int(named))
        if key > best_key:
            best, best_key = annex, key
    return best or identify_ssd_table(table)


def identify_ssd_table(table: RawTable) -> SsdTable | None:
    """The SSD table a table holds: the one most of whose columns it has (its id or person id among
    them), then the one it is named for (`ssd_contacts.csv`, a sheet `ssd_contacts`)."""
    if not table.headers:
        return None
    names = {normalise_header(table.sheet or ""), normalise_header(Path(table.file).stem)}
    best, best_key = None, (1, 0)
    for spec in SSD_TABLES:
        found = column_positions(table, spec)
        if spec.key not in found and "child_id" not in found:
            continue
        key = (len(found), int(normalise_header(spec.name) in names))
        if key > best_key:
            best, best_key = spec, key
    return best


def standard(spec: AnnexList | SsdTable) -> str:
    return "SSD" if isinstance(spec, SsdTable) else "Annex A"


def check_one_standard(found: list[tuple[RawTable, AnnexList | SsdTable]]) -> None:
    """Refuse an upload that mixes Annex A lists and SSD tables: they describe the same children in
    two shapes, and combining them would count every child's work twice."""
    first: dict[str, RawTable] = {}
    for table, spec in found:
        first.setdefault(standard(spec), table)
    if len(first) > 1:
        ssd, annex = first["SSD"], first["Annex A"]
        raise ValidationError(
            f"{ssd.where} is a Standard Safeguarding Dataset (SSD) table but {annex.where} is an Annex A list; "
            "one upload holds one standard. Upload either the Annex A lists or the SSD tables (as two datasets "
            "if you hold both).",
            details=[{"file": t.file, "sheet": t.sheet, "row": None, "column": None,
                      "message": f"{std} input"} for std, t in sorted(first.items())])


def why_unrecognised(table: RawTable) -> str:
    if not table.headers:
        return ("no Annex A header row (such as 'Child Unique ID', 'Gender', 'Date of Birth') and no SSD table "
                "header (such as 'pers_person_id')")
    keys = ", ".join(f"'{a.column(a.key_field).header}'" for a in LISTS[:4])
    return f"has Annex A columns but no list's date column (such as {keys})"
