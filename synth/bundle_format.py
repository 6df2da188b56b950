"""The release bundle: the public contract between the service and everyone outside it.

Two kinds (`datapackage.json` `frontdoor.kind`; a bundle without the field is synthetic):
- **synthetic**: the synthetic records and a map computed from them only (`map.json` `source`
  "synthetic": published without suppression or rounding, since anyone can compute it from the CSVs);
- **aggregate**: no records at all (no CSV, no table resource: `map.json` is the one data resource):
  the real dataset's counts under the profile's disclosure control (`source` "real"), the report and
  the data card. `Bundle.table` refuses on such a bundle.

A synthetic bundle is a zip holding a Frictionless data package:
- `datapackage.json`: the three tables as resources with their schemas, and a `frontdoor` section
  (release id, the dataset's lineage hash, generator and parameters, privacy budget if any, the
  disclosure threshold set, who created and approved it, and the sha256 of every file);
- `children.csv`, `episodes.csv`, `events.csv`: synthetic children and journeys;
- `map.json`: the disclosure-controlled map (nodes, moves, durations, every split and filter);
- `disclosure_report.json` and `disclosure_report.html`: what the gate found, in its public version
  (each check's result and threshold; no figure computed from the real children: their counts only
  rounded to the nearest 10, the window in months, no fidelity figures; the full report stays with
  the council's reviewers);
- `README.md`: the data card;
- `map.schema.json` and `map_fields.md`: the map's JSON Schema and field table (`synth.map_schema`);
- `events.ocel.json` and `events.xes`: the synthetic events as OCEL 2.0 and XES logs (`synth.event_logs`).
- `layout.json` (every bundle) and `journey_values.csv` (synthetic only): the stage layout and each journey's
  classification values, for map viewers (`synth.stage_layout`, `synth.journey_values`).
An aggregate bundle has the map's schema and field table but no event logs (it has no records).

Nothing in a bundle is a real figure that has not been through disclosure control: in a synthetic
bundle the tables and the map are synthetic; in an aggregate one the map's real counts are
suppressed and rounded under the profile; the window of the real records is published as months (`public_window`). `tests/integration/test_no_real_figures.py` scans every file.

CSV text cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) are prefixed with an apostrophe. `read_bundle` verifies every checksum before anything is
used (`synth.bundle`). This module holds what a bundle is: its files, table schemas, CSV encoding and
manifests (`datapackage.json`); `synth.data_card` writes its README, `synth.bundle` writes and reads it.
"""

from __future__ import annotations

import hashlib

BUNDLE_FORMAT, BUNDLE_VERSION = "frontdoor-release", 1
TABLE_FILES = ("children.csv", "episodes.csv", "events.csv")
# For developers (issue 15): the synthetic events as process-mining logs, the map's schema and field table.
EVENT_LOG_FILES = ("events.ocel.json", "events.xes")
MAP_DOC_FILES = ("map.schema.json", "map_fields.md")
# For map viewers (issue 15, synth.journey_values): the stage layout (every bundle; shared with the reviewer
# pages), and each synthetic journey's classification values (the map's own), so no viewer re-implements them.
LAYOUT_FILE, VALUES_FILE = "layout.json", "journey_values.csv"
OTHER_FILES = ("map.json", "disclosure_report.json", "disclosure_report.html", "README.md", *MAP_DOC_FILES,
               LAYOUT_FILE)
ALL_FILES = (*TABLE_FILES, *EVENT_LOG_FILES, VALUES_FILE, *OTHER_FILES)
# absent from bundles made before them: not required
LATER_FILES = frozenset((*EVENT_LOG_FILES, *MAP_DOC_FILES, LAYOUT_FILE, VALUES_FILE))
SYNTHETIC, AGGREGATE = "synthetic", "aggregate"
KINDS = (SYNTHETIC, AGGREGATE)
FILES_OF = {SYNTHETIC: ALL_FILES, AGGREGATE: OTHER_FILES}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

SCHEMAS = {
    "children.csv": [
        ("child_key", "string", "Synthetic child identifier (not a real child)"),
        ("sex", "string", "male, female, not_stated or neither"),
        ("ethnicity_group", "string", "DfE ethnicity group"),
        ("age_at_first_contact", "integer", "Age in whole years at the first event; -1 if unborn"),
        ("age_band", "string", "Age band at the first event"),
        ("disability", "string", "yes, no, or unknown (not recorded: never assessed)"),
        ("uasc", "string", "Unaccompanied asylum-seeking child: yes or no"),
        ("missing_episodes", "integer", "Missing episodes recorded while looked after"),
        ("previous_cp_plans", "integer", "Previous child protection plans"),
    ],
    "episodes.csv": [
        ("child_key", "string", "Synthetic child identifier"),
        ("episode_no", "integer", "Repeat number of this journey for the child"),
        ("path", "string", "Stages in order, joined by >"),
        ("days", "string", "Days from the journey's start to each stage, joined by ;"),
        ("n_steps", "integer", "Number of stages"),
        ("start_date", "date", "Date of the first stage"),
        ("end_date", "date", "Date of the last stage"),
        ("duration_days", "integer", "Days from first to last stage"),
        ("first_stage", "string", "First stage"),
        ("exit", "string", "Exit stage, empty if the journey was still open"),
        ("censored", "boolean", "Still open at the end of the window"),
        ("left_censored", "boolean", "Already open when the window began"),
        ("source", "string", "Contact or referral source code (CIN census)"),
        ("team", "string", "Team"),
    ],
    "events.csv": [
        ("child_key", "string", "Synthetic child identifier"),
        ("episode_no", "integer", "Repeat number"),
        ("step", "integer", "Position in the journey, from 0"),
        ("stage", "string", "Stage id (contact, referral, assessment, ...)"),
        ("date", "date", "Date the stage began"),
        ("source", "string", "Contact or referral source code"),
        ("team", "string", "Team"),
        ("need_code", "string", "Primary need code (N0-N9)"),
        ("abuse_category", "string", "Category of abuse (CP plans)"),
        ("closure_reason", "string", "Closure reason (RC1-RC9)"),
        ("list_no", "integer", "Annex A list the stage comes from"),
        ("derived", "boolean", "Exit inferred from the lists, not recorded as such"),
    ],
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def safe_csv(df) -> bytes:
    """CSV bytes with formula-like text cells neutralised (numbers and dates are left as they are)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            s = out[col]
            risky = s.str.startswith(FORMULA_START).eq(True)
            out[col] = s.where(~risky, "'" + s.astype(str))
        elif str(out[col].dtype) == "bool":
            out[col] = out[col].map({True: "true", False: "false"})
        elif str(out[col].dtype).startswith("datetime64"):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def public_window(window: dict | None) -> dict | None:
    """The window real records cover, for the public: months only (`YYYY-MM`), never a real day."""
    if not window:
        return window
    return {k: (str(v)[:7] if v else v) for k, v in window.items() if k in ("start", "end")}

def build_aggregate_manifest(release_id: str, real_lineage: str, report: dict, window: dict | None,
                             created_by_role: str | None, approved_by_roles: list[str] | None) -> dict:
    return {
        "profile": "data-package",
        "name": f"frontdoor-release-{release_id}".lower(),
        "title": f"Frontdoor aggregate release {release_id}",
        "description": "Counts of a council's real children on their journeys through the children's social care "
                       "front door, under disclosure control (threshold, rounding, secondary suppression). "
                       "Aggregate counts only: no records.",
        "licenses": [{"name": "other-closed", "title": "Terms set by the releasing council"}],
        "resources": [{"name": "map", "path": "map.json", "profile": "data-resource", "format": "json",
                       "mediatype": "application/json", "encoding": "utf-8",
                       "description": "The journey map: real counts under disclosure control (frontdoor-map)."}],
        "frontdoor": {
            "format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "release_id": release_id, "kind": AGGREGATE,
            "synthetic": False, "dataset_lineage_hash": real_lineage, "window": public_window(window),
            "threshold_set": {"name": report["threshold_set"]["name"], "version": report["threshold_set"]["version"]},
            "verdict": report["verdict"], "created_at": report["created_at"], "created_by_role": created_by_role,
            "approved_by_roles": approved_by_roles or [],
            "files": {},
        },
    }


def build_manifest(release_id: str, synth_manifest: dict, real_lineage: str, report: dict, counts: dict,
                   created_by_role: str | None, approved_by_roles: list[str] | None) -> dict:
    model = synth_manifest.get("model") or {}
    return {
        "profile": "data-package",
        "name": f"frontdoor-release-{release_id}".lower(),
        "title": f"Frontdoor synthetic release {release_id}",
        "description": "Synthetic children and journeys through a council's children's social care front door, "
                       "with a disclosure-controlled journey map. Synthetic data: no row is a real child.",
        "licenses": [{"name": "other-closed", "title": "Terms set by the releasing council"}],
        "resources": [
            {"name": name[:-4], "path": name, "profile": "tabular-data-resource", "format": "csv",
             "mediatype": "text/csv", "encoding": "utf-8",
             "schema": {"fields": [{"name": n, "type": t, "description": d} for n, t, d in SCHEMAS[name]]}}
            for name in TABLE_FILES
        ],
        "frontdoor": {
            "format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "release_id": release_id, "kind": SYNTHETIC,
            "synthetic": True,
            # Under DP not even the (keyed) hash of the input files: it is a fixed function of the data.
            "dataset_lineage_hash": None if model.get("privacy") else real_lineage,
            "synthetic_lineage_hash": synth_manifest.get("lineage_hash"),
            "generator": model.get("generator"), "parameters": model.get("spec"), "privacy": model.get("privacy"),
            "model_id": model.get("model_id"), "window": public_window(model.get("window")),
            "threshold_set": {"name": report["threshold_set"]["name"], "version": report["threshold_set"]["version"]},
            "verdict": report["verdict"], "counts": counts,
            "created_at": report["created_at"], "created_by_role": created_by_role,
            "approved_by_roles": approved_by_roles or [],
            "files": {},
        },
    }
