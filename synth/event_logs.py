"""A synthetic bundle's events as process-mining event logs: OCEL 2.0 (JSON) and IEEE 1849 XES.

Both are made from the bundle's synthetic tables only (the frames `synth.bundle.write_bundle` writes
as `children.csv`, `episodes.csv`, `events.csv`), never from real records: `check_synthetic` refuses
tables whose child keys are not the generators' synthetic keys (`syn0005-0000001`; a real child's
pseudonym is 16 hex digits), so a real dataset passed by mistake stops the bundle instead of leaking.

- **OCEL 2.0 JSON** (`events.ocel.json`): object types `child` and `journey` (one per episode, related
  to its child), one event type per stage (named by the stage's label), each event related to its child
  and its journey. The published schema types every attribute value as a string, so numbers and
  booleans are written as text; their declared types (`integer`, `boolean`) are in `eventTypes` and
  `objectTypes`. Static object attributes carry the time 1970-01-01T00:00:00Z, as the specification
  does for values set once.
- **XES** (`events.xes`): one trace per journey (`concept:name` `<child_key>/<episode_no>`) with the
  child's attributes, one event per stage (`concept:name` the stage label, `time:timestamp` the day,
  `org:group` the team), in journey order. Written without a namespace, as the IEEE 1849-2016 XSD
  declares none.

Events of one day share a timestamp (records are dated to the day); `step` keeps their order.
The logs are built as strings, column by column (no loop over rows; each distinct value's text made once),
and encoded 50,000 rows at a time so that memory stays near the size of the log itself: 150,000 children in
seconds (`tests/integration/test_bundle_exports.py` prints the times).
"""

from __future__ import annotations

import io
import json
import re
from html import escape

import numpy as np
import pandas as pd

from synth.errors import BundleError
from synth.stages import STAGE_LABELS, STAGES

SYNTHETIC_KEY = re.compile(r"^[a-z]{3}[0-9]{4}-[0-9]{7}$")
STATIC_TIME = "1970-01-01T00:00:00Z"
CHUNK_ROWS = 50_000  # rows made and encoded at a time: bounds the memory of a log of any size

# (column, OCEL/XES type) of each table carried into the logs.
CHILD_ATTRIBUTES = [("sex", "string"), ("ethnicity_group", "string"), ("age_at_first_contact", "integer"),
                    ("age_band", "string"), ("disability", "string"), ("uasc", "string"),
                    ("missing_episodes", "integer"), ("previous_cp_plans", "integer")]
JOURNEY_ATTRIBUTES = [("episode_no", "integer"), ("first_stage", "string"), ("exit", "string"),
                      ("censored", "boolean"), ("left_censored", "boolean"), ("source", "string"),
                      ("team", "string")]
EVENT_ATTRIBUTES = [("stage", "string"), ("step", "integer"), ("source", "string"), ("team", "string"),
                    ("need_code", "string"), ("abuse_category", "string"), ("closure_reason", "string"),
                    ("list_no", "integer"), ("derived", "boolean")]
XES_TAG = {"string": "string", "integer": "int", "boolean": "boolean"}


def check_synthetic(**tables: pd.DataFrame) -> None:
    """Refuse anything but synthetic children: every child key of every table must be a generator's synthetic key."""
    for name, df in tables.items():
        keys = df["child_key"].astype(str)
        bad = ~keys.str.match(SYNTHETIC_KEY.pattern)
        if bad.any():
            raise BundleError(f"{name}: {int(bad.sum()):,} of {len(df):,} rows have a child key that is not a "
                              f"synthetic one (first at row {int(np.flatnonzero(bad.to_numpy())[0]) + 2} of "
                              f"{name}.csv, column child_key); event logs are made from synthetic records only.")


def check_events(events: pd.DataFrame) -> None:
    """Every event needs its stage and its date (a log has no way to say "unknown")."""
    for col in ("stage", "date", "episode_no", "step"):
        missing = events[col].isna().to_numpy()
        if missing.any():
            raise BundleError(f"events: {int(missing.sum()):,} rows have no {col} (first at row "
                              f"{int(np.flatnonzero(missing)[0]) + 2} of events.csv, column {col}); every event of "
                              "an event log needs one.")


def _text(value, kind: str) -> str:
    """One value as text: integers without a decimal point, booleans as true/false."""
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "integer":
        return str(int(value))
    return str(value)


def _encode(s: pd.Series, fn) -> pd.Series:
    """`fn` applied once per distinct value (escaping), mapped back onto the column."""
    u = s.dropna().unique()
    return s.map(dict(zip(u, (fn(v) for v in u)))).astype(object)  # object even when all missing


def _iso(dates: pd.Series) -> pd.Series:
    """ISO 8601 UTC timestamps, formatted once per distinct day."""
    return _encode(pd.to_datetime(dates), lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _ordered(events: pd.DataFrame) -> pd.DataFrame:
    return events.sort_values(["child_key", "episode_no", "step"], kind="mergesort").reset_index(drop=True)


def _journey_ids(df: pd.DataFrame) -> pd.Series:
    return df["child_key"].astype(str) + "/" + df["episode_no"].astype(np.int64).astype(str)


# ------------------------------------------------------------------------------------------------ OCEL 2.0
def _ocel_attributes(df: pd.DataFrame, spec: list[tuple[str, str]], time: str | None) -> pd.Series:
    """Each row's `"attributes":[...]` JSON (missing values left out)."""
    suffix = f',"time":"{time}"}}' if time else "}"
    out = pd.Series("", index=df.index)
    for col, kind in spec:  # each distinct value's whole piece made once, then one concatenation per column
        piece = _encode(df[col], lambda v, c=col, k=kind: f',{{"name":"{c}","value":{json.dumps(_text(v, k))}{suffix}')
        out = out + piece.fillna("")
    return '"attributes":[' + out.str[1:] + "]"


def _types(names: list[str], spec: list[tuple[str, str]]) -> list[dict]:
    return [{"name": n, "attributes": [{"name": c, "type": k} for c, k in spec]} for n in names]


def _event_rows(ev: pd.DataFrame) -> pd.Series:
    """OCEL JSON of events (`ev.index` numbers them: ids e1, e2, ...)."""
    label = _encode(ev["stage"].map(STAGE_LABELS).fillna(ev["stage"]), json.dumps)
    # Synthetic keys (checked) need no JSON escaping.
    return ('{"id":"e' + pd.Series((ev.index + 1).astype(str), index=ev.index) + '","type":' + label +
            ',"time":"' + _iso(ev["date"]) + '",' + _ocel_attributes(ev, EVENT_ATTRIBUTES, None) +
            ',"relationships":[{"objectId":"' + ev["child_key"] + '","qualifier":"child"},{"objectId":"' +
            _journey_ids(ev) + '","qualifier":"journey"}]}')


def _child_rows(kids: pd.DataFrame) -> pd.Series:
    return ('{"id":"' + kids["child_key"] + '","type":"child",' + _ocel_attributes(kids, CHILD_ATTRIBUTES, STATIC_TIME)
            + ',"relationships":[]}')


def _journey_rows(eps: pd.DataFrame) -> pd.Series:
    return ('{"id":"' + _journey_ids(eps) + '","type":"journey",' +
            _ocel_attributes(eps, JOURNEY_ATTRIBUTES, STATIC_TIME) + ',"relationships":[{"objectId":"' +
            eps["child_key"] + '","qualifier":"journey of"}]}')


def _write_rows(out: io.BytesIO, frames: list[tuple[pd.DataFrame, object]], sep: str) -> None:
    """Rows of each frame, made and encoded `CHUNK_ROWS` at a time (bounded memory), joined by `sep`."""
    first = True
    for df, make in frames:
        for i in range(0, len(df), CHUNK_ROWS):
            rows = make(df.iloc[i:i + CHUNK_ROWS])
            out.write(((("" if first else sep) + sep.join(rows.tolist()))).encode("utf-8"))
            first = False


def ocel_json(children: pd.DataFrame, episodes: pd.DataFrame, events: pd.DataFrame) -> bytes:
    """The synthetic tables as an OCEL 2.0 JSON log (UTF-8 bytes)."""
    check_synthetic(children=children, episodes=episodes, events=events)
    check_events(events)
    stage_labels = [STAGE_LABELS[s] for s in STAGES]
    head = {"objectTypes": _types(["child"], CHILD_ATTRIBUTES) + _types(["journey"], JOURNEY_ATTRIBUTES),
            "eventTypes": _types(stage_labels, EVENT_ATTRIBUTES)}
    out = io.BytesIO()
    out.write((json.dumps(head)[:-1] + ',"objects":[').encode())
    _write_rows(out, [(children.reset_index(drop=True), _child_rows), (episodes.reset_index(drop=True), _journey_rows)],
                ",\n")
    out.write(b'],"events":[')
    _write_rows(out, [(_ordered(events), _event_rows)], ",\n")
    out.write(b"]}\n")
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ XES
XES_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Frontdoor synthetic journeys: IEEE 1849 XES; every child in it is synthetic. -->
<log xes.version="1.0">
<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
<global scope="trace"><string key="concept:name" value="UNKNOWN"/></global>
<global scope="event"><string key="concept:name" value="UNKNOWN"/><date key="time:timestamp" value="1970-01-01T00:00:00Z"/></global>
<classifier name="Activity" keys="concept:name"/>
<string key="concept:name" value="Frontdoor synthetic journeys"/>
"""


def _xes_attributes(df: pd.DataFrame, spec: list[tuple[str, str]], rename: dict[str, str] | None = None) -> pd.Series:
    out = pd.Series("", index=df.index)
    for col, kind in spec:
        key = (rename or {}).get(col, col)
        piece = _encode(df[col], lambda v, k=key, t=XES_TAG[kind], kd=kind:
                        f'<{t} key="{k}" value="{escape(_text(v, kd), quote=True)}"/>')
        out = out + piece.fillna("")
    return out


def _trace_heads(children: pd.DataFrame, episodes: pd.DataFrame) -> pd.Series:
    """Each journey's `<trace>` opening with its attributes and its child's, by journey id."""
    eps = episodes.merge(children, on="child_key", how="left", suffixes=("", "_child"))
    ids = _journey_ids(eps)
    heads = ('<trace><string key="concept:name" value="' + ids + '"/><string key="child" value="' + eps["child_key"] +
             '"/>' + _xes_attributes(eps, JOURNEY_ATTRIBUTES + CHILD_ATTRIBUTES) + "\n")
    return pd.Series(heads.to_numpy(), index=ids.to_numpy()).groupby(level=0).first()


def xes(children: pd.DataFrame, episodes: pd.DataFrame, events: pd.DataFrame) -> bytes:
    """The synthetic tables as an XES log (UTF-8 bytes): one trace per journey."""
    check_synthetic(children=children, episodes=episodes, events=events)
    check_events(events)
    ev = _ordered(events)
    jid = _journey_ids(ev)
    ev["_first"] = jid.ne(jid.shift()).to_numpy()
    ev["_last"] = jid.ne(jid.shift(-1)).to_numpy()
    heads = _trace_heads(children, episodes)

    def rows(part: pd.DataFrame) -> pd.Series:
        ids = _journey_ids(part)
        label = _encode(part["stage"].map(STAGE_LABELS).fillna(part["stage"]), lambda v: escape(v, quote=True))
        event_xml = ('<event><string key="concept:name" value="' + label + '"/><date key="time:timestamp" value="' +
                     _iso(part["date"]) + '"/>' + _xes_attributes(part, EVENT_ATTRIBUTES, {"team": "org:group"}) +
                     "</event>\n")
        opening = ids.map(heads).fillna('<trace><string key="concept:name" value="' + ids + '"/>\n')
        return opening.where(part["_first"], "") + event_xml + np.where(part["_last"], "</trace>\n", "")

    out = io.BytesIO()
    out.write(XES_HEAD.encode())
    _write_rows(out, [(ev, rows)], "")
    out.write(b"</log>\n")
    return out.getvalue()
