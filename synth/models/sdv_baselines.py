"""SDV's own generators on the same tables, kept as baselines (and as options).

- sdv-par: `PARSynthesizer` on the event log, one sequence per child (sequence index: days since
  the window began), the child's attributes as context columns.
- sdv-hma: `HMASynthesizer` on two tables, children (parent) and events (child).

Both produce events with a stage and a date; those are linked into episodes by the same rules
as real data (synth.journeys), so nothing is forced to follow the grammar: that is what the
benchmark measures. Details Annex A carries beyond stage and date (sources, teams, codes) are
not modelled by the baselines and are left empty.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from synth.journeys import age_band, link_episodes
from synth.models.attributes import sdv_from_bytes, sdv_to_bytes
from synth.models.base import Generator, SyntheticTables, Window
from synth.models.prepare import prepare_children
from synth.schema import CHILDREN_COLUMNS, EVENTS_COLUMNS
from synth.stages import STAGE_ORDER, STAGES

CONTEXT = ("sex", "ethnicity_group", "age_at_first_contact", "disability", "uasc", "missing_episodes",
           "previous_cp_plans")
EPOCH = pd.Timestamp("1970-01-01")


def _event_rows(children: pd.DataFrame, events: pd.DataFrame, window: Window, threshold: int) -> pd.DataFrame:
    kids = prepare_children(children, threshold)
    ev = events[["child_key", "stage", "date"]].copy()
    ev["day"] = (ev["date"] - window.start).dt.days.astype(float)
    ev = ev.drop(columns="date").merge(kids, on="child_key", how="inner")
    for col in CONTEXT:
        ev[col] = ev[col].astype(str)
    return ev


def _to_tables(raw: pd.DataFrame, window: Window, prefix: str) -> SyntheticTables:
    """Sampled (child, stage, day) rows -> canonical tables, linked by the same rules as real data."""
    raw = raw[raw["stage"].isin(STAGES)].copy()
    raw["day"] = pd.to_numeric(raw["day"], errors="coerce").fillna(0).round().astype(np.int64)
    codes, uniques = pd.factorize(raw["child_key"].astype(str))
    keys = np.char.add(prefix, np.char.zfill((np.arange(len(uniques)) + 1).astype(str), 7)).astype(object)
    raw["child_key"] = keys[codes]
    raw["date"] = window.start + pd.to_timedelta(raw["day"], unit="D")
    raw["rank"] = raw["stage"].map(STAGE_ORDER)
    raw = raw.sort_values(["child_key", "date", "rank"], kind="mergesort").reset_index(drop=True)
    for col in ("source", "team", "need_code", "abuse_category", "closure_reason"):
        raw[col] = None
    raw["list_no"] = np.int8(0)
    raw["derived"] = False
    events, episodes = link_episodes(raw)
    events = events[list(EVENTS_COLUMNS)]
    kids = raw.drop_duplicates("child_key")[["child_key", *CONTEXT]].reset_index(drop=True)
    for col in ("age_at_first_contact", "missing_episodes", "previous_cp_plans"):
        kids[col] = pd.to_numeric(kids[col], errors="coerce").round().astype("Int64")
    kids["age_band"] = age_band(kids["age_at_first_contact"]).astype(str)
    kids["missing_episodes"] = kids["missing_episodes"].fillna(0).astype(int)
    kids["previous_cp_plans"] = kids["previous_cp_plans"].fillna(0).astype(int)
    children = kids[list(CHILDREN_COLUMNS)]
    return SyntheticTables(children, events, episodes)


class PARBaseline(Generator):
    name = "sdv-par"

    def __init__(self, params: dict, synthesizer):
        self.params = params
        self.synthesizer = synthesizer
        self.window = Window.from_dict(params["window"])

    @classmethod
    def fit(cls, children, events, episodes, window: Window, spec) -> PARBaseline:
        from sdv.metadata import Metadata
        from sdv.sequential import PARSynthesizer

        rows = _event_rows(children, events, window, spec.rare_threshold)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            md = Metadata.detect_from_dataframes({"events": rows})
            md.update_column("child_key", table_name="events", sdtype="id")
            md.update_column("stage", table_name="events", sdtype="categorical")
            md.update_column("day", table_name="events", sdtype="numerical")
            for col in CONTEXT:
                md.update_column(col, table_name="events", sdtype="categorical")
            md.set_sequence_key("child_key", table_name="events")
            md.set_sequence_index("day", table_name="events")
            np.random.seed(spec.seed)
            import torch

            torch.manual_seed(spec.seed)
            synth = PARSynthesizer(md, context_columns=list(CONTEXT), epochs=spec.epochs or 64, cuda=False)
            synth.fit({"events": rows})
        return cls({"window": window.to_dict(), "epochs": spec.epochs or 64}, synth)

    def sample(self, n_children: int, seed: int) -> SyntheticTables:
        import torch

        np.random.seed(seed)
        torch.manual_seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.synthesizer.sample_sequences(num_sequences=n_children)
        out = out["events"] if isinstance(out, dict) else out
        return _to_tables(out, self.window, f"par{seed % 10000:04d}-")

    def state(self):
        return self.params, {"synthesizer.pkl": sdv_to_bytes(self.synthesizer)}

    @classmethod
    def from_state(cls, params, files):
        return cls(params, sdv_from_bytes(files["synthesizer.pkl"]))


class HMABaseline(Generator):
    name = "sdv-hma"

    def __init__(self, params: dict, synthesizer):
        self.params = params
        self.synthesizer = synthesizer
        self.window = Window.from_dict(params["window"])

    @classmethod
    def fit(cls, children, events, episodes, window: Window, spec) -> HMABaseline:
        from sdv.metadata import Metadata
        from sdv.multi_table import HMASynthesizer

        kids = prepare_children(children, spec.rare_threshold)
        for col in CONTEXT:
            kids[col] = kids[col].astype(str)
        ev = events[["child_key", "stage", "date"]].copy()
        ev["day"] = (ev["date"] - window.start).dt.days.astype(float)
        ev = ev.drop(columns="date")
        ev = ev[ev["child_key"].isin(kids["child_key"])].reset_index(drop=True)
        ev.insert(0, "event_id", np.arange(len(ev)))
        tables = {"children": kids, "events": ev}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            md = Metadata.detect_from_dataframes(tables, infer_keys=None)
            md.update_column("child_key", table_name="children", sdtype="id")
            md.set_primary_key("child_key", table_name="children")
            for col in CONTEXT:
                md.update_column(col, table_name="children", sdtype="categorical")
            md.update_column("event_id", table_name="events", sdtype="id")
            md.set_primary_key("event_id", table_name="events")
            md.update_column("child_key", table_name="events", sdtype="id")
            md.update_column("stage", table_name="events", sdtype="categorical")
            md.update_column("day", table_name="events", sdtype="numerical")
            md.add_relationship(parent_table_name="children", child_table_name="events",
                                parent_primary_key="child_key", child_foreign_key="child_key")
            np.random.seed(spec.seed)
            synth = HMASynthesizer(md, verbose=False)
            synth.fit(tables)
        return cls({"window": window.to_dict()}, synth)

    def sample(self, n_children: int, seed: int) -> SyntheticTables:
        np.random.seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.synthesizer.sample(num_rows=n_children, main_table_name="children")
        kids, ev = out["children"], out["events"]
        raw = ev.merge(kids, on="child_key", how="inner")
        return _to_tables(raw, self.window, f"hma{seed % 10000:04d}-")

    def state(self):
        return self.params, {"synthesizer.pkl": sdv_to_bytes(self.synthesizer)}

    @classmethod
    def from_state(cls, params, files):
        return cls(params, sdv_from_bytes(files["synthesizer.pkl"]))
