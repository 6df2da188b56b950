"""Child attributes, in two parts.

- Attributes every Annex A list records for every child (sex, ethnicity group, age): an SDV
  single-table synthesizer (GaussianCopula or CTGAN). Under DP all of them come from the MST model
  with the journey summary instead (synth.models.mst); only the public domains below are used.
- Attributes recorded only by the lists a journey reached (disability from List 4 on, UASC and
  missing episodes in List 8, previous CP plans in List 7): drawn after the journey, from their
  distribution among real children whose journeys went as far (`RecordedAttributes`). A
  synthetic child never assessed has disability "unknown", as a real one would.

SDV is imported only when an SDV synthesizer is fitted or loaded.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from synth.errors import ModelError

COLUMNS = ("sex", "ethnicity_group", "age_at_first_contact")
NUMERICAL = ("age_at_first_contact",)
TABLE = "children"
# Public domains of the DP model's child records (so that releasing them reveals nothing by its keys).
DP_DOMAINS = {
    "sex": ("male", "female", "not_stated", "neither"),
    "ethnicity_group": ("White", "Mixed", "Asian", "Black", "Other", "Not known"),
    "disability": ("yes", "no", "unknown"),
    "uasc": ("yes", "no"),
    "age_at_first_contact": tuple(range(-1, 18)),
    "missing_episodes": tuple(range(0, 11)),
    "previous_cp_plans": tuple(range(0, 6)),
}


class SDVAttributes:
    """An SDV single-table synthesizer over the child attributes."""

    def __init__(self, kind: str, synthesizer=None, columns: tuple[str, ...] = COLUMNS):
        if kind not in ("gaussian_copula", "ctgan"):
            raise ModelError(f"unknown attribute synthesizer '{kind}'; use gaussian_copula or ctgan.")
        self.kind = kind
        self.synthesizer = synthesizer
        self.columns = tuple(columns)

    def fit(self, children: pd.DataFrame, epochs: int | None = None, seed: int = 0) -> SDVAttributes:
        from sdv.metadata import Metadata
        from sdv.single_table import CTGANSynthesizer, GaussianCopulaSynthesizer

        # Ages and counts are small whole numbers with spikes (most children have no missing
        # episodes): modelled as categories, their distributions are kept exactly.
        data = children[list(self.columns)].astype(str)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            metadata = Metadata.detect_from_dataframes({TABLE: data})
            for col in self.columns:
                metadata.update_column(col, table_name=TABLE, sdtype="categorical")
            if self.kind == "gaussian_copula":
                synth = GaussianCopulaSynthesizer(metadata, enforce_min_max_values=True, enforce_rounding=True)
            else:
                synth = CTGANSynthesizer(metadata, epochs=epochs or 100, enable_gpu=False)
            np.random.seed(seed)  # SDV's fitting draws from the global generators
            if self.kind == "ctgan":
                import torch

                torch.manual_seed(seed)
            synth.fit({TABLE: data})
        self.synthesizer = synth
        return self

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # SDV 2.0 has no public seed for sampling; its private setter makes samples reproducible.
            self.synthesizer._set_random_state(seed)
            out = self.synthesizer.sample(n)
        out = out[TABLE] if isinstance(out, dict) else out
        for col in NUMERICAL:
            out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
        return out[list(self.columns)].reset_index(drop=True)

    def to_bytes(self) -> bytes:
        return sdv_to_bytes(self.synthesizer)

    @classmethod
    def from_bytes(cls, kind: str, data: bytes, columns: tuple[str, ...] = COLUMNS) -> SDVAttributes:
        return cls(kind, sdv_from_bytes(data), columns)


def sdv_to_bytes(synthesizer) -> bytes:
    """An SDV synthesizer as bytes (SDV saves with cloudpickle)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthesizer.pkl"
        synthesizer.save(str(path))
        return path.read_bytes()


def sdv_from_bytes(data: bytes):
    """Only ever called on bytes from a model file whose signature has been verified."""
    from sdv.utils import load_synthesizer

    fd, name = tempfile.mkstemp(suffix=".pkl")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_synthesizer(name)
    finally:
        os.unlink(name)


# What a child has when their journeys never reached the list that records an attribute.
NOT_RECORDED = {"disability": "unknown", "uasc": "no", "missing_episodes": 0, "previous_cp_plans": 0}
# Recorded attribute -> (which reach flag records it, the child attributes its distribution may depend on)
RECORDED = {
    "disability": ("assessed", ("age_band",)),
    "care": ("cla", ("sex", "age_band")),  # UASC status and missing episodes, drawn together
    "previous_cp_plans": ("cp", ()),
}


class RecordedAttributes:
    """Attributes Annex A records only once a journey reaches a list: drawn given the journey."""

    def __init__(self, table: pd.DataFrame):
        self.table = table  # field, context, value, count

    @staticmethod
    def _values(children: pd.DataFrame) -> dict[str, pd.Series]:
        return {
            "disability": children["disability"].astype(str),
            "care": children["uasc"].astype(str) + "|" + children["missing_episodes"].astype(int).astype(str),
            "previous_cp_plans": children["previous_cp_plans"].astype(int).astype(str),
        }

    @classmethod
    def fit(cls, children: pd.DataFrame, reached: pd.DataFrame, threshold: int) -> RecordedAttributes:
        from synth.journeys import age_band

        kids = children.merge(reached, on="child_key")
        kids["age_band"] = age_band(kids["age_at_first_contact"]).astype(str)
        values = cls._values(kids)
        parts = []
        for field, (flag, context_cols) in RECORDED.items():
            sub = kids[kids[flag]]
            v = values[field][kids[flag]]
            c = v.value_counts()
            parts.append(pd.DataFrame({"field": field, "context": "*", "value": c.index, "count": c.to_numpy()}))
            if context_cols:
                ctx = sub[list(context_cols)].astype(str).agg("|".join, axis=1)
                per = pd.DataFrame({"context": ctx, "value": v}).groupby(["context", "value"]).size().rename("count")
                per = per.reset_index()
                big = per.groupby("context")["count"].transform("sum") >= threshold
                parts.append(per[big].assign(field=field))
        return cls(pd.concat(parts, ignore_index=True)[["field", "context", "value", "count"]])

    def draw_disability(self, age_bands: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A disability for every child as the lists would record it were the child assessed (by
        age band): the journey model walks with it once a journey reaches those lists."""
        t = self.table[self.table["field"] == "disability"]
        out = np.full(len(age_bands), "unknown", dtype=object)
        bands = np.asarray(age_bands).astype(str)
        for band in np.unique(bands):
            sel = np.flatnonzero(bands == band)
            d = t[t["context"] == band]
            if d.empty or d["count"].sum() <= 0:
                d = t[t["context"] == "*"]
            if d.empty or d["count"].sum() <= 0:
                continue
            p = d["count"].to_numpy(float)
            out[sel] = d["value"].to_numpy(dtype=object)[rng.choice(len(d), size=len(sel), p=p / p.sum())]
        return out

    def fill(self, children: pd.DataFrame, reached: pd.DataFrame, rng: np.random.Generator,
             given: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
        """`children` with disability, uasc, missing_episodes and previous_cp_plans set; a field in
        `given` (one value per child, e.g. the disability a journey walked with) is recorded as given
        for the children whose journeys reached its list."""
        from synth.journeys import age_band

        out = children.copy()
        for col, value in NOT_RECORDED.items():
            out[col] = value
        r = reached.set_index("child_key").reindex(out["child_key"])
        bands = age_band(out["age_at_first_contact"]).astype(str)
        given = given or {}
        for field, (flag, context_cols) in RECORDED.items():
            rows = np.flatnonzero(r[flag].fillna(False).to_numpy())
            if not len(rows):
                continue
            if field in given:
                out.loc[out.index[rows], field] = np.asarray(given[field], dtype=object)[rows]
                continue
            t = self.table[self.table["field"] == field]
            ctx = (out.iloc[rows][[c for c in context_cols if c != "age_band"]].astype(str)
                   .assign(age_band=bands.iloc[rows].to_numpy())[list(context_cols)].agg("|".join, axis=1)
                   if context_cols else pd.Series("*", index=out.index[rows]))
            drawn = np.full(len(rows), None, dtype=object)
            for c in ctx.unique():
                sel = np.flatnonzero(ctx.to_numpy() == c)
                d = t[t["context"] == c]
                if d.empty or d["count"].sum() <= 0:
                    d = t[t["context"] == "*"]
                if d.empty or d["count"].sum() <= 0:
                    continue
                p = d["count"].to_numpy(float)
                drawn[sel] = d["value"].to_numpy(dtype=object)[rng.choice(len(d), size=len(sel), p=p / p.sum())]
            ok = np.array([v is not None for v in drawn])
            target_rows = rows[ok]
            if field == "care":
                parts = pd.Series(drawn[ok]).str.split("|", expand=True)
                out.loc[out.index[target_rows], "uasc"] = parts[0].to_numpy()
                out.loc[out.index[target_rows], "missing_episodes"] = parts[1].astype(int).to_numpy()
            elif field == "previous_cp_plans":
                out.loc[out.index[target_rows], field] = pd.Series(drawn[ok]).astype(int).to_numpy()
            else:
                out.loc[out.index[target_rows], field] = drawn[ok]
        out["missing_episodes"] = out["missing_episodes"].astype(int)
        out["previous_cp_plans"] = out["previous_cp_plans"].astype(int)
        return out
