"""The JSON Schema of a bundle's `map.json` (format `frontdoor-map`, version 1), and its field table.

One source for both: every field's description below is what the bundle's `map_fields.md` prints, so
the documentation a developer reads cannot drift from the schema their validator checks. Every bundle
carries the schema as `map.schema.json` (`tests/integration/test_bundle_exports.py` validates every
kind of bundle's map against it). A new field in `map.json` must be added here, or that test fails:
objects are closed (`additionalProperties: false`) so that nothing published goes undocumented.

Plain data, no imports beyond json: `synth.bundle` (read by the viewer) uses it.
"""

from __future__ import annotations

import json

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:frontdoor:map:1"


def _count(what: str) -> dict:
    return {"type": ["integer", "null"], "minimum": 0,
            "description": f"{what}; null where withheld (`suppressed` true)."}


def _days(what: str) -> dict:
    return {"type": ["number", "null"], "minimum": 0,
            "description": f"{what}, in days; null where not published (too few children, or withheld)."}


STAGE = {
    "type": "object", "additionalProperties": False, "required": ["id", "label", "exit", "lane"],
    "description": "One stage of the front door (a station of the map).",
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z0-9_]+$",
               "description": "Stage id, as in `events.csv` `stage` (contact, referral, assessment, ...)."},
        "label": {"type": "string", "description": "The stage's name for people (\"C&F assessment\")."},
        "exit": {"type": "boolean", "description": "True where a journey can end at this stage."},
        "lane": {"enum": ["front_door", "district"],
                 "description": "The team that owns the stage: the Front Door team or the district teams."},
    },
}

CLASSIFICATION = {
    "type": "object", "additionalProperties": False, "required": ["label", "values"],
    "description": "A way to split the children (sex, age band, repeat number, ...).",
    "properties": {
        "label": {"type": "string", "description": "The classification's name for people."},
        "values": {"type": "array", "items": {"type": "string"}, "uniqueItems": True,
                   "description": "Its values; view `<name>=<value>` holds the map of each."},
    },
}

NODE = {
    "type": "object", "additionalProperties": False, "required": ["stage", "children", "suppressed"],
    "description": "Children who reached a stage in the view.",
    "properties": {
        "stage": {"type": "string", "description": "Stage id (see `stages`)."},
        "children": _count("Children who reached the stage at least once"),
        "suppressed": {"type": "boolean", "description": "True where the count is withheld by disclosure control."},
    },
}

EDGE = {
    "type": "object", "additionalProperties": False,
    "required": ["source", "target", "children", "suppressed", "moves", "share", "median_days", "p25_days",
                 "p75_days", "mean_days", "durations_suppressed"],
    "description": "A route: moves from one stage to the next within a journey.",
    "properties": {
        "source": {"type": "string", "description": "Stage id the move leaves."},
        "target": {"type": "string", "description": "Stage id the move reaches."},
        "children": _count("Children who took the route at least once"),
        "suppressed": {"type": "boolean", "description": "True where the route's counts are withheld."},
        "moves": _count("Moves along the route (a child can take it more than once)"),
        "share": {"type": ["number", "null"], "minimum": 0, "maximum": 1,
                  "description": "Moves along the route over the published moves out of its source stage (0-1); "
                                 "null where withheld. Withheld routes are left out of the denominator."},
        "median_days": _days("Median time from the source stage to the target"),
        "p25_days": _days("25th percentile of that time"),
        "p75_days": _days("75th percentile of that time"),
        "mean_days": _days("Mean of that time (also withheld where two children dominate the sum)"),
        "durations_suppressed": {"type": "boolean",
                                 "description": "True where an aggregate release withholds the durations."},
    },
}

TOP_JOURNEY = {
    "type": "object", "additionalProperties": False, "required": ["path", "children"],
    "description": "One of the most common journeys in the view.",
    "properties": {
        "path": {"type": "string", "description": "Stages in order, joined by `>` (as `episodes.csv` `path`)."},
        "children": {"type": "integer", "minimum": 0, "description": "Children who followed it."},
    },
}

VIEW = {
    "type": "object", "additionalProperties": False,
    "required": ["classification", "value", "children", "suppressed", "nodes", "edges", "top_journeys"],
    "description": "The map of all children (`all`) or of one value of a classification (`sex=female`).",
    "properties": {
        "classification": {"type": ["string", "null"],
                           "description": "The classification's name; null for the view of all children."},
        "value": {"type": ["string", "null"], "description": "The classification's value; null for `all`."},
        "children": _count("Children in the view"),
        "suppressed": {"type": "boolean", "description": "True where the view's total is withheld."},
        "nodes": {"type": "array", "items": NODE, "description": "One entry per stage."},
        "edges": {"type": "array", "items": EDGE,
                  "description": "One entry per route of the whole map (zero where none in the view)."},
        "top_journeys": {"type": "array", "items": TOP_JOURNEY, "maxItems": 20,
                         "description": "Up to 20 most common journeys, most common first."},
    },
}

MAP_SCHEMA = {
    "$schema": SCHEMA_DIALECT,
    "$id": SCHEMA_ID,
    "title": "Frontdoor journey map (map.json)",
    "description": "Children on their journeys through a council's children's social care front door: stages, "
                   "routes between them with durations, and the most common journeys, for all children and for "
                   "each value of every classification. In a synthetic release every figure is computed from the "
                   "bundle's synthetic records; in an aggregate release they are real counts under disclosure "
                   "control (withheld below a threshold, rounded).",
    "type": "object", "additionalProperties": False,
    "required": ["format", "version", "profile", "source", "kind", "window", "stages", "classifications", "views"],
    "properties": {
        "format": {"const": "frontdoor-map", "description": "Always `frontdoor-map`."},
        "version": {"const": 1, "description": "The format's version; a reader refuses versions it does not know."},
        "profile": {
            "type": "object", "additionalProperties": False, "required": ["name", "version"],
            "description": "The disclosure rules the release was checked under.",
            "properties": {"name": {"type": "string", "description": "Profile name (default, dfe, opensafely, acro)."},
                           "version": {"type": "string", "description": "The rules' version."}},
        },
        "source": {"enum": ["synthetic", "real"],
                   "description": "`synthetic`: computed from the bundle's synthetic records, nothing withheld; "
                                  "`real`: a council's real counts under disclosure control."},
        "kind": {"enum": ["synthetic", "aggregate"], "description": "The kind of release (as `datapackage.json`)."},
        "window": {
            "type": ["object", "null"], "additionalProperties": False,
            "description": "The months the council's records cover (null where not known).",
            "properties": {"start": {"type": ["string", "null"], "pattern": "^[0-9]{4}-[0-9]{2}$",
                                     "description": "First month, YYYY-MM."},
                           "end": {"type": ["string", "null"], "pattern": "^[0-9]{4}-[0-9]{2}$",
                                   "description": "Last month, YYYY-MM."}},
        },
        "stages": {"type": "array", "items": STAGE, "minItems": 1, "description": "Every stage, in map order."},
        "classifications": {"type": "object", "additionalProperties": CLASSIFICATION,
                            "description": "Classification name -> its label and values."},
        "views": {"type": "object", "required": ["all"], "additionalProperties": VIEW,
                  "propertyNames": {"pattern": "^(all|[a-z_]+=.+)$"},
                  "description": "View id (`all`, or `<classification>=<value>`) -> its map."},
    },
}


def schema_json() -> bytes:
    return json.dumps(MAP_SCHEMA, indent=1).encode()


def _type_text(node: dict) -> str:
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "enum" in node:
        return " or ".join(f"`{v}`" for v in node["enum"])
    types = node.get("type", "object")
    return " or ".join(types) if isinstance(types, list) else types


def _rows(node: dict, path: str) -> list[tuple[str, str, str]]:
    rows = [(path, _type_text(node), node.get("description", ""))] if path else []
    for name, child in (node.get("properties") or {}).items():
        rows += _rows(child, f"{path}.{name}" if path else name)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        key = "<view>" if path == "views" else "<name>"
        rows += _rows(extra, f"{path}.{key}")
    items = node.get("items")
    if isinstance(items, dict):
        rows += [(f"{path}[]{r[0][len(path):]}", r[1], r[2]) for r in _rows(items, path)[1:]]
    return rows


def fields_markdown() -> str:
    """The field table of `map.json`, from the schema's descriptions (the bundle's `map_fields.md`)."""
    rows = "\n".join(f"| `{p}` | {t} | {d.replace('|', '/')} |" for p, t, d in _rows(MAP_SCHEMA, ""))
    return f"""# map.json: the fields

{MAP_SCHEMA['description']}

The JSON Schema (draft 2020-12) is `map.schema.json` beside this file: validate with any JSON Schema
library; in Python: `jsonschema.validate(json.load(open("map.json")), json.load(open("map.schema.json")))`.
Objects are closed: a field not listed here is not in the format.

| field | type | meaning |
|---|---|---|
{rows}

Other files of a synthetic bundle: `children.csv`, `episodes.csv`, `events.csv` (their schemas in
`datapackage.json`), and the same synthetic events as an object-centric event log (`events.ocel.json`,
OCEL 2.0 JSON) and as an IEEE 1849 XES log (`events.xes`), for process-mining tools.
"""
