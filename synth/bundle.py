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
used. This module imports nothing heavy: the viewer reads bundles through it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from synth.errors import BundleError

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


def epsilon_in_words(epsilon: float) -> str:
    """What epsilon means, for a reviewer or a developer who has not met differential privacy."""
    factor = math.exp(epsilon)
    return (f"The generator was trained with differential privacy, epsilon {epsilon:g}. Whatever any one child's "
            f"records hold, training with or without that child makes any result (this model, this release, any "
            f"figure computed from them) at most {factor:.1f} times more likely (e to the power {epsilon:g}). The "
            "smaller epsilon, the less any one child can show through, and the noisier the counts the generator "
            "learnt from. Each of those counts carries noise of the scale below: with 95% chance a count is within "
            "the bound of the true one.")


def cells_text(measurement: dict) -> str:
    return "not published" if measurement.get("cells") is None else f"{measurement['cells']:,}"


def bound_text(measurement: dict) -> str:
    b = measurement.get("bound95")
    return f"+/-{b:.0f}" if b is not None else "selection"


def privacy_card(privacy: dict) -> str:
    """The data card's differential privacy section: epsilon in words, each measurement's error bar."""
    rows = "\n".join(f"| {m['what']} | {cells_text(m)} | {m['sensitivity']:g} | {m['scale']:.1f} | "
                     f"{bound_text(m)} |"
                     for m in privacy.get("measurements") or [])
    noisy = privacy.get("training_children_noisy")
    n_text = (f"\nThe generator learnt from about {noisy:,} children (a noisy count, +/-"
              f"{privacy.get('training_children_bound95', 0):.0f} at 95%).\n" if noisy is not None else "")
    return f"""
## Differential privacy
{epsilon_in_words(privacy['epsilon'])}
{n_text}
| what was measured | cells | sensitivity | noise scale | 95% error bound per cell |
|---|---|---|---|---|
{rows}
"""


def data_card(manifest: dict, report: dict) -> str:
    """The README of a bundle, from its manifest and the public report (`DisclosureReport.public_dict`)."""
    f = manifest["frontdoor"]
    dp = f.get("privacy")
    dp_text = (f"Trained with differential privacy (epsilon {dp['epsilon']}, delta {dp['delta']})." if dp else
               "The generator is not differentially private; the disclosure checks below are the protection.")
    checks = "\n".join(f"- {c['status'].upper()}: {c['title']} - {c['explanation']}" for c in report["checks"])
    counts = f["counts"]
    rel = report.get("release") or {}
    w = f.get("window") or {}
    window_text = (f"in the months {w['start']} to {w['end']}" if w.get("start") and w.get("end") else
                   "over the period the council's records cover")
    privacy_text = privacy_card(dp) if dp else ""
    trained = (f"\n- The generator learnt from {rel['trained_on_children']} of the council's children; "
               f"{rel['held_out_children']} more were held out to test it (rounded to the nearest 10)."
               if rel.get("trained_on_children") and rel.get("held_out_children") else "")
    return f"""# Frontdoor release {f['release_id']}

**Synthetic data.** Every child in this release is made up by a generator trained on a council's records of
children's social care front-door journeys (Ofsted Annex A lists). No row is a real child; child keys start
with `syn`. The numbers in `map.json` are computed from these synthetic children only, so they are published
without suppression or rounding: anyone can compute them from the tables.

## What it is
- {counts['children']:,} synthetic children, {counts['episodes']:,} journeys, {counts['events']:,} events,
  {window_text}.
- Generator: `{f['generator']}`. {dp_text}{trained}
- Tables: `children.csv`, `episodes.csv`, `events.csv` (schemas in `datapackage.json`); the map: `map.json`
  (its fields: `map_fields.md`; its JSON Schema: `map.schema.json`); the same events for process-mining tools:
  `events.ocel.json` (OCEL 2.0 JSON) and `events.xes` (IEEE 1849 XES).
- For map viewers: `journey_values.csv` (each journey's value under every classification of the map: the values
  its views were computed from; keyed by `child_key` and `episode_no`) and `layout.json` (where each stage sits).

## What it is not
- Not real records, and not a sample of them: do not use it to find, count or contact real children.
- Not official statistics: rates in it resemble the council's. How closely is measured against the real records
  by the council's reviewers inside the service; those figures are not published.
- Not a source of real figures: nothing in it is a count or rate of real children that has not been through
  disclosure control.
- Not everything Annex A holds: workers, free text, dates of birth and real identifiers were never used.

## How it was checked
Disclosure threshold set `{f['threshold_set']['name']}` version {f['threshold_set']['version']}.
Verdict: **{report['verdict'].upper()}**.
{checks}

Requested by a {f.get('created_by_role') or 'data owner'}; approved by: {', '.join(f.get('approved_by_roles') or []) or 'not yet approved'}.
Public report (results and thresholds, no real figures): `disclosure_report.html`. Checksums of every file:
`datapackage.json`.
{privacy_text}"""


def aggregate_data_card(manifest: dict, report: dict) -> str:
    """The README of an aggregate bundle: real counts under disclosure control, no records."""
    f = manifest["frontdoor"]
    checks = "\n".join(f"- {c['status'].upper()}: {c['title']} - {c['explanation']}" for c in report["checks"])
    w = f.get("window") or {}
    window_text = (f"in the months {w['start']} to {w['end']}" if w.get("start") and w.get("end") else
                   "over the period the council's records cover")
    ts = report["threshold_set"]["thresholds"]
    return f"""# Frontdoor release {f['release_id']}

**Aggregate counts from real data.** This release holds counts of a council's real children on their journeys
through the children's social care front door (Ofsted Annex A lists), {window_text}, under disclosure control.
It holds **no records**: no child, journey or event, real or synthetic, is in it.

## What it is
- `map.json`: children per stage and per move between stages, durations of the moves, and the most common
  journeys, for all children and for each value of every classification (sex, age band, repeat, year, ...).
- Every count went through the disclosure rules `{f['threshold_set']['name']}` version
  {f['threshold_set']['version']}: counts below {ts['min_cell']} withheld, counts rounded to the nearest
  {ts['round_counts']} and totals to the nearest {ts['round_totals']} (1: not rounded), secondary suppression so that
  no withheld count can be worked out from a total, medians only over {ts['min_children_for_median']} or more
  children. A withheld count is `null` with `suppressed` true. Its fields: `map_fields.md`; its JSON Schema:
  `map.schema.json`.
- `layout.json`: where each stage sits on the map (the viewer's and the reviewer pages' layout).
- It was checked against every earlier published release of the same data: no withheld count can be recovered
  by subtracting one release from another.

## What it is not
- Not records: there are no tables to download, and nothing in it identifies a child.
- Not exact: rounded counts do not add up exactly, and withheld counts are missing on purpose.
- Not official statistics, and not everything Annex A holds: workers, free text, dates of birth and real
  identifiers were never used.

## How it was checked
Disclosure threshold set `{f['threshold_set']['name']}` version {f['threshold_set']['version']}.
Verdict: **{report['verdict'].upper()}**.
{checks}

Requested by a {f.get('created_by_role') or 'data owner'}; approved by: {', '.join(f.get('approved_by_roles') or []) or 'not yet approved'}.
Public report (results and thresholds): `disclosure_report.html`. Checksums of every file: `datapackage.json`.
"""


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


def developer_files(synth) -> dict[str, bytes]:
    """The map's JSON Schema and field table (every bundle), and, from the synthetic tables only (never real
    records: `synth.event_logs.check_synthetic`), the events as OCEL 2.0 JSON and XES logs."""
    from synth import event_logs, map_schema

    files = {"map.schema.json": map_schema.schema_json(), "map_fields.md": map_schema.fields_markdown().encode()}
    if synth is not None:
        files["events.ocel.json"] = event_logs.ocel_json(synth.children, synth.episodes, synth.events)
        files["events.xes"] = event_logs.xes(synth.children, synth.episodes, synth.events)
    return files


def write_bundle(out: Path, synth, map_json: dict, report, release_id: str, real_lineage: str,
                 created_by_role: str | None = "data owner", approved_by_roles: list[str] | None = None,
                 kind: str | None = None, publisher: str | None = None) -> Path:
    """Write the release zip atomically (a temporary name, then rename). The bundle carries the public
    version of the report (`report.public_dict()`); keep the full one (`report.to_json()`) for reviewers.

    `kind` "synthetic" (`synth`: the synthetic dataset) or "aggregate" (`synth` None: no records; the map
    holds real counts under disclosure control). Default: from `map_json["kind"]`, else synthetic.
    `publisher`: the releasing council's name, for people telling two councils' releases apart."""
    out = Path(out)
    kind = kind or map_json.get("kind") or SYNTHETIC
    if kind not in KINDS:
        raise BundleError(f"unknown kind of release '{kind}'; choose synthetic or aggregate.")
    expected_source = "real" if kind == AGGREGATE else "synthetic"
    if map_json.get("source", "synthetic") != expected_source:
        raise BundleError(f"a {kind} release publishes a map of {expected_source} counts; this map's source is "
                          f"'{map_json.get('source')}'.")
    if kind == AGGREGATE and synth is not None:
        raise BundleError("an aggregate release carries no records: pass no synthetic dataset (None).")
    if kind == SYNTHETIC and synth is None:
        raise BundleError("a synthetic release needs its synthetic dataset.")
    report_dict = report.public_dict()
    map_json = {**map_json, "kind": kind, "window": public_window(map_json.get("window"))}
    files = {}
    if kind == SYNTHETIC:
        counts = {"children": len(synth.children), "episodes": len(synth.episodes), "events": len(synth.events)}
        manifest = build_manifest(release_id, synth.manifest, real_lineage, report_dict, counts, created_by_role,
                                  approved_by_roles)
        files = {"children.csv": safe_csv(synth.children), "episodes.csv": safe_csv(synth.episodes),
                 "events.csv": safe_csv(synth.events)}
    else:
        manifest = build_aggregate_manifest(release_id, real_lineage, report_dict, map_json.get("window"),
                                            created_by_role, approved_by_roles)
    files |= {
        "map.json": json.dumps(map_json, indent=1).encode(),
        "disclosure_report.json": report.public_json().encode(),
        "disclosure_report.html": report.public_html().encode(),
    }
    card = aggregate_data_card if kind == AGGREGATE else data_card
    files["README.md"] = card(manifest, report_dict).encode()
    files |= developer_files(synth if kind == SYNTHETIC else None)
    from synth.journey_values import viewer_files

    files |= viewer_files(synth if kind == SYNTHETIC else None)
    if publisher:
        manifest["frontdoor"]["publisher"] = publisher
        manifest["title"] = f"{manifest['title']} from {publisher}"
    manifest["frontdoor"]["files"] = {name: sha256(data) for name, data in files.items()}
    for res in manifest["resources"]:
        res["hash"] = f"sha256:{manifest['frontdoor']['files'][res['path']]}"
        res["bytes"] = len(files[res["path"]])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("datapackage.json", json.dumps(manifest, indent=2))
            for name in FILES_OF[kind]:
                zf.writestr(name, files[name])
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


@dataclass
class Bundle:
    """A verified release bundle. Tables are read on demand (pandas is imported only then)."""

    path: Path
    manifest: dict
    files: dict[str, bytes]

    @property
    def release_id(self) -> str:
        return self.manifest["frontdoor"]["release_id"]

    @property
    def kind(self) -> str:
        """"synthetic" (records, and a map computed from them) or "aggregate" (real counts, no records)."""
        return self.manifest["frontdoor"].get("kind") or SYNTHETIC

    @property
    def map(self) -> dict:
        return json.loads(self.files["map.json"])

    @property
    def report(self) -> dict:
        return json.loads(self.files["disclosure_report.json"])

    def table(self, name: str):
        import pandas as pd

        if self.kind == AGGREGATE:
            raise BundleError(f"release {self.release_id} is an aggregate release (real counts under disclosure "
                              f"control): it has no records, so no table '{name}'; read its map (map.json).")
        if name not in ("children", "episodes", "events"):
            raise BundleError(f"no table '{name}' in a release bundle; use children, episodes or events.")
        fields = {f["name"]: f["type"] for f in
                  next(r for r in self.manifest["resources"] if r["name"] == name)["schema"]["fields"]}
        dates = [n for n, t in fields.items() if t == "date"]
        df = pd.read_csv(io.BytesIO(self.files[f"{name}.csv"]), dtype={n: str for n, t in fields.items()
                                                                        if t == "string"},
                         parse_dates=dates, keep_default_na=False, na_values=[""])
        for n, t in fields.items():
            if t == "boolean":
                df[n] = df[n].astype(str).str.lower().eq("true")
        return df


def read_bundle(path: Path) -> Bundle:
    """Open a release zip and verify it: every expected file present, every checksum right."""
    path = Path(path)
    if not path.is_file():
        raise BundleError(f"{path}: no such release bundle.")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "datapackage.json" not in names:
                raise BundleError(f"{path}: not a Frontdoor release bundle (no datapackage.json).")
            manifest = json.loads(zf.read("datapackage.json"))
            f = manifest.get("frontdoor") or {}
            if f.get("format") != BUNDLE_FORMAT:
                raise BundleError(f"{path}: not a Frontdoor release bundle.")
            if f.get("version") != BUNDLE_VERSION:
                raise BundleError(f"{path}: a release bundle version this viewer cannot read ({f.get('version')}).")
            kind = f.get("kind") or SYNTHETIC
            if kind not in KINDS:
                raise BundleError(f"{path}: a kind of release this viewer cannot read ('{kind}').")
            expected = FILES_OF[kind]
            missing = [n for n in expected if n not in names and n not in LATER_FILES]
            if missing:
                raise BundleError(f"{path}: the bundle is incomplete; missing {', '.join(missing)}.")
            records = set(TABLE_FILES) | set(EVENT_LOG_FILES) | {VALUES_FILE}
            if kind == AGGREGATE and names & records:
                raise BundleError(f"{path}: an aggregate release must carry no records, but this one has "
                                  f"{', '.join(sorted(names & records))}.")
            files = {}
            for name in (n for n in expected if n in names):
                data = zf.read(name)
                if sha256(data) != f.get("files", {}).get(name):
                    raise BundleError(f"{path}: {name} does not match its checksum: the bundle has been changed or "
                                      "damaged since it was released. Download it again.")
                files[name] = data
    except zipfile.BadZipFile:
        raise BundleError(f"{path}: not a readable zip file; download the release bundle again.") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BundleError(f"{path}: the bundle's datapackage.json is damaged; download it again.") from None
    return Bundle(path, manifest, files)
