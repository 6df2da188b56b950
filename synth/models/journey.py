"""The journey generator: child attributes by an attribute synthesizer, journeys by a model that
keeps the front door's process structure.

What it learns (all as tables of counts, saved as Parquet, no pickles):
- next-stage counts given the context (previous stage, stage, the episode's history and a few
  child attributes), at several levels of detail; a context is used only when it holds at least
  `min_children` children, otherwise the model backs off to less context;
- day histograms per move (and per previous stage where data allows), over fixed bins;
- when first episodes start, how many were already open when the window began, the chance of
  another episode after one ends (corrected for the window's end) and the gaps between them;
- no rare value: move durations, gaps between episodes and how long before the window an open
  episode began are top-coded (durations also bottom-coded) at the 10th most extreme child's
  value, every day bin kept holds at least 10 children (fewer: merged with the bins below), a
  sampled value never passes its bound, and an episode is cut (left open) before it would outlast
  the 10th longest child's (synth.models.journey_tails; the release gate checks the same, in
  synth.disclosure.extremes);
- factors by (stage, source group, next stage) on the levels that back off past the source, so a
  referral source's effect on what follows is kept where contexts are too small to hold it;
- details: sources per episode (by age band and history), a home team per child and how each
  stage's team relates to it, need codes, categories of abuse, closure reasons, list numbers and
  derived flags.

Sampling (synth.models.journey_sampler) walks every synthetic episode through the stages at once
(vectorised over episodes). Only moves the grammar allows have counts, an episode ends (END) only at
an exit stage and days are never negative, so every sampled journey follows the grammar with
non-decreasing dates.
With a privacy budget the tables are measured instead by synth.models.private_journey (public
domains, bounded contributions, OpenDP noise), child attributes and journey summaries come from an
MST model (synth.models.mst), and each synthetic child takes a sampled journey whose summary
matches its record (synth.models.journey_match).

This module holds the model and its public interface (fit, sample, save and load); the parts live
beside it: journey_vocab (tokens, contexts, day bins), journey_tables and journey_tails (the count
tables, with no rare value), journey_details (event details), journey_rake (raking the sampler),
journey_lookup and journey_sampler (sampling), journey_match (DP: records meet journeys).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.errors import ModelError
from synth.journeys import age_band as to_age_band
from synth.journeys import episodes_from_events, source_group
from synth.models import prepare
from synth.models.attributes import COLUMNS as ATTRIBUTE_COLUMNS
from synth.models.attributes import RecordedAttributes, SDVAttributes
from synth.models.base import Generator, SyntheticTables, Window, frame_bytes, frame_from_bytes
from synth.models.journey_details import detail_counts
from synth.models.journey_match import match_journeys, not_recorded
from synth.models.journey_rake import RAKE_ROUNDS, rake
from synth.models.journey_sampler import JourneySampler
from synth.models.journey_tables import duration_counts, repeat_counts, start_counts, training_moves, transition_counts
from synth.models.journey_tails import pooled_bounds
from synth.models.journey_vocab import DAY_BINS, DURATION_LEVELS, LEVELS, TAIL_CHILDREN
from synth.models.privacy import PrivacyBudget
from synth.schema import CHILDREN_COLUMNS, EVENTS_COLUMNS


class JourneyModel(Generator):
    name = "journey"

    def __init__(self, params: dict, tables: dict[str, pd.DataFrame], attributes):
        self.params = params
        self.tables = tables
        self.attributes = attributes
        self.window = Window.from_dict(params["window"])
        self.recorded = RecordedAttributes(tables["recorded"])
        self.sampler = JourneySampler(params, tables, self.window)

    # ------------------------------------------------------------------------------------------
    # Fitting.
    @classmethod
    def fit(cls, children: pd.DataFrame, events: pd.DataFrame, episodes: pd.DataFrame, window: Window,
            spec, budget: PrivacyBudget | None = None) -> JourneyModel:
        if budget is not None:  # differentially private: its own measurements (synth.models.private_journey)
            from synth.models.private_journey import fit_private

            return cls(*fit_private(children, events, window, spec, budget))
        tail = TAIL_CHILDREN
        kids = prepare.prepare_children(children, spec.rare_threshold)
        ev = prepare.prepare_events(events, spec.rare_threshold).sort_values(
            ["child_key", "episode_no", "step"], kind="mergesort").reset_index(drop=True)
        eps = episodes.sort_values(["child_key", "episode_no"], kind="mergesort").reset_index(drop=True)
        eps["history"] = prepare.history(eps)
        eps["source_group"] = source_group(eps["source"]).to_numpy()
        kids["intensity"] = prepare.intensity(eps, kids["child_key"])
        ctx = prepare.child_context(kids)
        moves = training_moves(ev, eps, ctx.assign(disability=kids["disability"].astype(str).to_numpy()), window)

        tables: dict[str, pd.DataFrame] = {}
        tables["transitions"], source_factors = transition_counts(moves, spec.min_children)
        if source_factors is not None:
            tables["source_factors"] = source_factors
        tables["durations"], tables["duration_bounds"] = duration_counts(moves, spec.min_children, tail)
        starts, lc_share = start_counts(eps, window, kids, tail)
        tables["starts"] = starts
        tables["repeats"], tables["gaps"] = repeat_counts(eps, window, kids, tail)
        eps["age_band"] = eps["child_key"].map(ctx.set_index("child_key")["age_band"]).to_numpy()
        tables["details"] = detail_counts(ev, eps, spec.min_children)
        reached = prepare.reach(ev, kids["child_key"])
        tables["recorded"] = RecordedAttributes.fit(kids, reached, spec.rare_threshold).table
        attributes = SDVAttributes(spec.attributes, columns=(*ATTRIBUTE_COLUMNS, "intensity")).fit(
            kids, epochs=spec.epochs, seed=spec.seed)
        params = {
            "window": window.to_dict(), "min_children": spec.min_children, "lc_share": lc_share,
            "private": False, "attributes": spec.attributes, "context": ["source", "disability"],
            "source_by_age": True,  # episode source groups drawn by age band (see JourneySampler._episode_sources)
            "levels": [list(x) for x in (*LEVELS, LEVELS[-1])],  # the last: every move (see journey_tables.level_rows)
            "duration_levels": [list(x) for x in DURATION_LEVELS],
            "day_bins": DAY_BINS.tolist(), "privacy": None,
            "dropped_moves": int(moves.attrs.get("dropped", 0)),
            "tail_children": tail,
            # An episode is cut (left open) before it would outlast the tail-th longest child's.
            "max_episode_days": pooled_bounds(
                eps["duration_days"].to_numpy(dtype=np.int64), eps["child_key"].to_numpy(), tail)[1],
        }
        model = cls(params, tables, attributes)
        model.tables["rake"], margins = rake(model.sampler, model.recorded, np.random.default_rng(spec.seed), ctx,
                                            moves, spec.min_children)
        model.params["raked"] = {"margins": ["|".join(m) for m in margins], "rounds": RAKE_ROUNDS}
        return model

    # ------------------------------------------------------------------------------------------
    # Persistence.
    def state(self) -> tuple[dict, dict[str, bytes]]:
        files = {f"{name}.parquet": frame_bytes(t) for name, t in self.tables.items()}
        if isinstance(self.attributes, SDVAttributes):
            files["attributes.pkl"] = self.attributes.to_bytes()
        else:
            self.params["mst"] = self.attributes.state
        return self.params, files

    @classmethod
    def from_state(cls, params: dict, files: dict[str, bytes]) -> JourneyModel:
        tables = {name[: -len(".parquet")]: frame_from_bytes(data) for name, data in files.items()
                  if name.endswith(".parquet")}
        if params["attributes"] == "dp_marginals":
            raise ModelError("this model was trained with an earlier differential privacy method whose guarantee did "
                             "not hold (data-dependent preprocessing); train it again.")
        if params["attributes"] == "mst":
            from synth.models.mst import MSTChildren

            attributes = MSTChildren(params["mst"])
        else:
            attributes = SDVAttributes.from_bytes(params["attributes"], files["attributes.pkl"],
                                                  (*ATTRIBUTE_COLUMNS, "intensity"))
        return cls(params, tables, attributes)

    def privacy(self) -> dict | None:
        return self.params.get("privacy")

    # ------------------------------------------------------------------------------------------
    # Sampling.
    def sample(self, n_children: int, seed: int) -> SyntheticTables:
        rng = np.random.default_rng(seed)
        attrs = self.attributes.sample(n_children, seed)
        keys = np.char.add(f"syn{seed % 10000:04d}-", np.char.zfill(np.arange(1, n_children + 1).astype(str), 7))
        attrs.insert(0, "child_key", keys.astype(object))
        attrs["age_band"] = to_age_band(attrs["age_at_first_contact"]).astype(str)
        if self.params["private"]:
            # A pool of journeys, three per child; each child takes one whose summary matches its record.
            pool = self.sampler.sample_journeys(rng, pd.DataFrame({"age_band": np.full(3 * n_children, "*"),
                                                                    "intensity": "*"}))
            events = match_journeys(rng, attrs, pool)
        else:
            latent = self.recorded.draw_disability(attrs["age_band"].to_numpy(), rng)
            events = self.sampler.sample_journeys(rng, prepare.child_context(attrs).assign(disability=latent))
        events = self.sampler.with_details(rng, events.reset_index(drop=True), n_children)
        events["child_key"] = keys.astype(object)[events["child"].to_numpy()]
        events["date"] = pd.Timestamp("1970-01-01") + pd.to_timedelta(events["day"], unit="D")
        events = events[list(EVENTS_COLUMNS)].reset_index(drop=True)
        episodes = episodes_from_events(events)
        attrs = attrs[attrs["child_key"].isin(events["child_key"])].reset_index(drop=True)
        reached = prepare.reach(events, attrs["child_key"])
        if self.params["private"]:  # the record drew them; a list the journey never reached records nothing
            children = not_recorded(attrs, reached)
        else:
            given = {"disability": latent[pd.Index(keys).get_indexer(attrs["child_key"])]}
            children = self.recorded.fill(attrs, reached, rng, given=given)
        children = children[list(CHILDREN_COLUMNS)]
        return SyntheticTables(children, events, episodes)
