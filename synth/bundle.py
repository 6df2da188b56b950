"""Writing and reading release bundles: the public contract between the service and everyone outside it.

What a bundle holds (its files, table schemas, kinds, manifest) is described in `synth.bundle_format`; its
README (the data card) is written by `synth.data_card`. This module puts them together into a zip
(`write_bundle`, atomically) and opens one again (`read_bundle`: every checksum verified before anything is
used). The names of those modules are importable from here too: the viewer and the service read the format
through `synth.bundle` only. This module imports nothing heavy: the viewer reads bundles through it.
"""

from __future__ import annotations

import io
import json
import os
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

from synth.bundle_format import (  # noqa: F401  (public names of the format, importable from synth.bundle)
    AGGREGATE,
    ALL_FILES,
    BUNDLE_FORMAT,
    BUNDLE_VERSION,
    EVENT_LOG_FILES,
    FILES_OF,
    FORMULA_START,
    KINDS,
    LATER_FILES,
    LAYOUT_FILE,
    MAP_DOC_FILES,
    OTHER_FILES,
    SCHEMAS,
    SYNTHETIC,
    TABLE_FILES,
    VALUES_FILE,
    build_aggregate_manifest,
    build_manifest,
    public_window,
    safe_csv,
    sha256,
)
from synth.data_card import (  # noqa: F401
    aggregate_data_card,
    bound_text,
    cells_text,
    data_card,
    epsilon_in_words,
    privacy_card,
)
from synth.errors import BundleError  # noqa: F401  (raised here; callers import it from synth.bundle)


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
