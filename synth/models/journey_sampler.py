"""The journey model's sampler: first episodes, each episode walked through the stages to an exit
or the window's end (next stage by backed-off lookup, days drawn within learnt bounds), repeat
episodes after a gap, then the details of every event (sources, teams, codes, list numbers).

Only moves the grammar allows have counts, an episode ends (END) only at an exit stage and days
are never negative, so every sampled journey follows the grammar with non-decreasing dates."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synth.models import prepare
from synth.models.base import Window
from synth.models.journey_lookup import Lookup
from synth.models.journey_vocab import (
    DAY_BINS,
    DISABILITY_TOKS,
    DP_DAY_BINS,
    END,
    LC_OFFSET_BINS,
    LC_START,
    START,
    START_BIN_DAYS,
    TOK,
    TOKENS,
    VOCAB,
    bin_of,
    encode,
)

HOLD = -1  # a sampled "next" that keeps the episode open where it is (no training child left that context)
MAX_CHAIN = 40  # moves per sampled episode before it is cut off (as if still open)


def _draw_in_bins(rng: np.random.Generator, bins: np.ndarray, edges: np.ndarray,
                  low: np.ndarray | None = None, high: np.ndarray | None = None) -> np.ndarray:
    """A day drawn uniformly within each bin; with `low` / `high`, within the part of the bin
    between them (both included), so no draw passes a learnt bound."""
    lo, hi = edges[bins], edges[bins + 1]
    if low is not None:
        lo = np.maximum(lo, low)
    if high is not None:
        hi = np.maximum(np.minimum(hi, high + 1), lo + 1)
    days = lo + np.floor(rng.random(len(bins)) * (hi - lo)).astype(np.int64)
    if low is not None or high is not None:
        days = np.clip(days, low if low is not None else days, high if high is not None else days)
    return days


class JourneySampler:
    """Walks synthetic episodes through the stages, vectorised over episodes, from a journey
    model's parameters and tables (plain or private: `params["private"]`)."""

    def __init__(self, params: dict, tables: dict[str, pd.DataFrame], window: Window):
        self.params = params
        self.tables = tables
        self.window = window
        levels = tuple(tuple(x) for x in self.params["levels"])
        self.next_stage = Lookup(self.tables["transitions"], levels, list(TOKENS), "next")
        self.next_stage.set_factors(self.tables.get("rake"))
        self.next_stage.set_adjust(self.tables.get("source_factors"))
        dlevels = tuple(tuple(x) for x in self.params["duration_levels"])
        self.day_bins = np.array(self.params.get("day_bins", DAY_BINS), dtype=np.int64)
        self._days = Lookup(self.tables["durations"], dlevels, list(range(len(self.day_bins) - 1)), "bin")
        self._day_bounds = None
        if "duration_bounds" in self.tables:  # [cur, next] -> lowest and highest day a move may take
            b = self.tables["duration_bounds"]
            lo = np.zeros((len(TOKENS), len(TOKENS)), dtype=np.int64)
            hi = np.full((len(TOKENS), len(TOKENS)), int(self.day_bins[-1]), dtype=np.int64)
            ci, ni = b["cur"].map(TOK).to_numpy(dtype=np.int64), b["next"].map(TOK).to_numpy(dtype=np.int64)
            lo[ci, ni], hi[ci, ni] = b["lo"].to_numpy(dtype=np.int64), b["hi"].to_numpy(dtype=np.int64)
            self._day_bounds = (lo, hi)
        self._details = {}
        for (field, context), d in self.tables["details"].groupby(["field", "context"]):
            counts = d["count"].to_numpy(float)
            if counts.sum() > 0:
                self._details.setdefault(field, {})[context] = (d["value"].to_numpy(dtype=object), counts / counts.sum())
        starts = self.tables["starts"]
        self._starts = {k: t.sort_values("bin") for k, t in starts.groupby("kind")}
        rep_table = self.tables["repeats"]
        self._repeat_p = dict(zip(rep_table["history"], rep_table["p"]))
        self._in_window = dict(zip(rep_table["history"], rep_table["in_window"].fillna(False).astype(bool)))
        self._gaps = {h: t.sort_values("bin") for h, t in self.tables["gaps"].groupby("history")}

    def sample_journeys(self, rng: np.random.Generator, ctx: pd.DataFrame) -> pd.DataFrame:
        """Episodes walked for each row of `ctx` (age band, intensity): events with `child` (the row),
        episode_no, step, stage, prev, day (days since 1970) and history, sorted."""
        n_children = len(ctx)
        child_codes = {v: encode(ctx[v], v) for v in ("age_band", "intensity")}
        disability = (encode(ctx["disability"], "disability")
                      if "disability" in ctx and "disability" in self.params.get("context", ()) else None)
        intensity = ctx["intensity"].to_numpy().astype(str)
        w_start = (self.window.start - pd.Timestamp("1970-01-01")).days
        w_end = (self.window.end - pd.Timestamp("1970-01-01")).days

        # First episodes.
        child = np.arange(n_children)
        lc = rng.random(n_children) < self.params["lc_share"]
        start_day = np.zeros(n_children, dtype=np.int64)
        for level in np.unique(intensity):
            sel = np.flatnonzero(intensity == level)
            start_day[sel] = self._draw_hist(rng, f"first|{level}", len(sel))
        start_day = np.minimum(w_start + start_day, w_end)
        start_day[lc] = w_start - self._draw_offsets(rng, "lc_offset", int(lc.sum()))
        history = np.full(n_children, "1", dtype=object)
        episode_no = np.ones(n_children, dtype=np.int64)
        referred_before = np.zeros(n_children, dtype=np.int64)  # per child: episodes that reached a referral
        dp = self.params["private"]

        ages = ctx["age_band"].to_numpy().astype(str)
        records = []
        while len(child):
            sources = self._episode_sources(rng, history, lc, ages[child])
            ev, exited, end_day, referred = self._walk(rng, child, episode_no, history, lc, start_day,
                                                       child_codes, w_end, w_start, sources, disability)
            records.append(ev)
            # Another episode after an exit, with a gap; only inside the window.
            referred_before[child[referred]] += 1
            if dp:
                nxt_hist = np.where(referred, "2y", "2n").astype(object)
            else:
                nxt_hist = prepare.history_label(episode_no + 1, referred_before[child])
            keyed = np.char.add(np.char.add(nxt_hist.astype(str), "|"), intensity[child])
            known = pd.Series(keyed).isin(self._repeat_p.keys()).to_numpy()
            key = np.where(known, keyed, nxt_hist.astype(str))
            p = pd.Series(key).map(self._repeat_p).fillna(0.0).to_numpy()
            within = pd.Series(key).map(self._in_window).fillna(False).to_numpy(dtype=bool)
            again = exited & (rng.random(len(child)) < p)
            gap = np.zeros(len(child), dtype=np.int64)
            for k in np.unique(key[again]):
                sel = np.flatnonzero(again & (key == k))
                limit = (w_end - end_day[sel]) if within[sel[0]] else None
                gap[sel] = np.maximum(1, self._draw_gap(rng, k, len(sel), limit))
            new_start = end_day + gap
            again &= new_start <= w_end
            child, episode_no, history = child[again], episode_no[again] + 1, nxt_hist[again].astype(object)
            start_day, lc = new_start[again], np.zeros(int(again.sum()), dtype=bool)
        return pd.concat(records, ignore_index=True).sort_values(["child", "episode_no", "step"], kind="mergesort")

    def _episode_sources(self, rng, history: np.ndarray, lc: np.ndarray,
                         ages: np.ndarray | None = None) -> np.ndarray | None:
        """Each starting episode's source group (None for a model that draws sources afterwards):
        given the child's age band and the episode's history where the model learnt them
        (`detail_counts`: contexts of min_children children), else by the age band alone, else by
        history alone. Who refers a child depends on its age (schools refer school-age children),
        and so, through the age effects on every later stage, does what follows: drawn by history
        alone, the sources were spread evenly over the ages (at Moorside 31% of the synthetic
        school-referred S47s were of children under 5, 6% of the real ones), and the synthetic
        S47 -> ICPC gap between sources was about a third of the real one."""
        if "source" not in self.params.get("context", ()) or "source_group" not in self._details:
            return None
        ctx = np.where(lc, "LC", history.astype(str)).astype(object)
        wide = np.full(len(ctx), "*", dtype=object)
        if ages is None or not self.params.get("source_by_age"):
            return self._detail(rng, "source_group", ctx, wide)
        aged = np.char.add(np.char.add("a:", ages.astype(str)), "|")
        out = self._detail(rng, "source_group", np.char.add(aged, ctx.astype(str)).astype(object),
                           np.char.add(aged, "*").astype(object))
        miss = np.flatnonzero(pd.isna(out))
        if len(miss):
            out[miss] = self._detail(rng, "source_group", ctx[miss], wide[miss])
        return out

    def _walk(self, rng, child, episode_no, history, lc, start_day, child_codes, w_end, w_start,
              sources: np.ndarray | None = None, disability: np.ndarray | None = None):
        """Walk a batch of episodes (one per child) from their start to an exit or the window end.

        Under DP, of an episode open before the window only its start is dated before it, as in an
        extract: its first step is drawn from the durations that reach into the window (and, should
        none, on the window's first day). The non-private model learns durations out of open episodes
        in their own context (already those that reached the window), so it draws them as learnt."""
        n = len(child)
        prev = np.full(n, TOK[START])
        cur = np.where(lc, TOK[LC_START], TOK[START])
        day = start_day.astype(np.int64).copy()
        hist_codes = encode(history, "history")
        src_codes = encode(sources, "source") if sources is not None else None
        unrecorded = len(VOCAB["disability"])  # the code of "*": below the lists that record it
        step = np.zeros(n, dtype=np.int64)
        exited = np.zeros(n, dtype=bool)
        referred = np.zeros(n, dtype=bool)
        active = np.ones(n, dtype=bool)
        out = []
        first = True
        while active.any():
            idx = np.flatnonzero(active)
            codes = {"prev": prev[idx], "cur": cur[idx], "history": hist_codes[idx],
                     **{v: c[child[idx]] for v, c in child_codes.items()}}
            if src_codes is not None:
                codes["source"] = src_codes[idx]
            if disability is not None:
                codes["disability"] = np.where(np.isin(cur[idx], DISABILITY_TOKS), disability[child[idx]], unrecorded)
            # A stage no training child ever left (say, looked after where care is where the front
            # door's journey ends) is where a sampled episode stays: it is left open, never sent on
            # by a move nobody made.
            nxt = self.next_stage.sample(rng, codes, fallback=lambda miss: np.full(len(miss), HOLD))
            ends = nxt == TOK[END]
            exited[idx[ends]] = True
            keep = ~ends & (nxt != HOLD)
            go = idx[keep]
            nx = nxt[keep]
            if first:
                days = np.zeros(len(go), dtype=np.int64)
            else:
                dcodes = {"prev": prev[go], "cur": cur[go], "next": nx}
                low = high = within = None
                if self._day_bounds is not None:
                    low, high = self._day_bounds[0][cur[go], nx], self._day_bounds[1][cur[go], nx]
                # An episode open before the window was still open when it began: its first step is
                # drawn from the durations that reach into the window.
                before = np.maximum(w_start - day[go], 0) if self.params["private"] else np.zeros(len(go), np.int64)
                if (before > 0).any():
                    low = before if low is None else np.maximum(low, before)
                    high = np.maximum(np.full(len(go), int(self.day_bins[-1])) if high is None else high, low)
                if low is not None:
                    within = (bin_of(low, self.day_bins), bin_of(high, self.day_bins))
                bins = self._days.sample(rng, dcodes, fallback=lambda miss: np.zeros(len(miss), dtype=np.int64),
                                         within=within)
                days = _draw_in_bins(rng, bins, self.day_bins, low, high)
            new_day = day[go] + days
            if self.params["private"] and not first:
                new_day = np.maximum(new_day, w_start)
            inside = new_day <= w_end
            if self.params.get("max_episode_days") is not None:
                inside &= new_day - start_day[go] <= self.params["max_episode_days"]
            go, nx, new_day = go[inside], nx[inside], new_day[inside]
            stage_names = np.array(TOKENS, dtype=object)[nx]
            out.append(pd.DataFrame({"child": child[go], "episode_no": episode_no[go], "step": step[go],
                                     "stage": stage_names, "prev": np.array(TOKENS, dtype=object)[cur[go]],
                                     "day": new_day, "history": history[go],
                                     **({"source_group": sources[go]} if sources is not None else {})}))
            referred[go[stage_names == "referral"]] = True
            prev[go], cur[go], day[go] = cur[go], nx, new_day
            step[go] += 1
            active[:] = False
            active[go] = True
            active &= step < MAX_CHAIN
            first = False
        ev = pd.concat(out, ignore_index=True) if out else pd.DataFrame(
            columns=["child", "episode_no", "step", "stage", "prev", "day", "history"])
        last_day = ev.groupby("child")["day"].max().reindex(child).to_numpy() if len(ev) else start_day
        return ev, exited, np.where(np.isnan(last_day.astype(float)), start_day, last_day).astype(np.int64), referred

    def _draw_hist(self, rng, kind: str, n: int) -> np.ndarray:
        t = self._starts.get(kind)
        base, _, level = kind.partition("|")
        if level.isdigit():  # back off to "this intensity or more", then less and less
            for k in range(int(level), 0, -1):
                if t is None or t["count"].sum() <= 0:
                    t = self._starts.get(f"{base}|ge{k}")
        if t is None or t["count"].sum() <= 0:
            t = self._starts.get(base)
        if t is None or t["count"].sum() <= 0 or n == 0:
            return np.zeros(n, dtype=np.int64)
        width = int(t["width"].iloc[0]) if "width" in t else START_BIN_DAYS
        p = t["count"].to_numpy(float)
        b = rng.choice(t["bin"].to_numpy(), size=n, p=p / p.sum())
        return b * width + rng.integers(0, width, n)

    def _draw_offsets(self, rng, kind: str, n: int) -> np.ndarray:
        t = self._starts.get(kind)
        if t is None or t["count"].sum() <= 0 or n == 0:
            return np.ones(n, dtype=np.int64)
        p = t["count"].to_numpy(float)
        bins = rng.choice(t["bin"].to_numpy(), size=n, p=p / p.sum())
        top = t["hi"].iloc[0] if "hi" in t else np.nan
        high = None if pd.isna(top) else np.full(n, int(top), dtype=np.int64)
        return np.maximum(1, _draw_in_bins(rng, bins, LC_OFFSET_BINS, high=high))

    def _draw_gap(self, rng, history: str, n: int, limit: np.ndarray | None = None) -> np.ndarray:
        """Days between episodes; with `limit`, drawn from the gaps that fit in that many days."""
        t = self._gaps.get(history)
        if t is None or t["count"].sum() <= 0:
            t = self._gaps.get(history.split("|")[0])
        if t is None or t["count"].sum() <= 0:
            t = self.tables["gaps"].groupby("bin", as_index=False)["count"].sum()
            if "hi" in self.tables["gaps"]:
                t["hi"] = self.tables["gaps"]["hi"].max()
        top = t["hi"].iloc[0] if "hi" in t and len(t) else np.nan
        high = None if pd.isna(top) else np.full(n, int(top), dtype=np.int64)
        p = t["count"].to_numpy(float)
        if p.sum() <= 0:
            return np.full(n, 180, dtype=np.int64)
        edges = DP_DAY_BINS if self.params["private"] else DAY_BINS
        cdf = np.cumsum(p) / p.sum()
        fits = np.ones(n) if limit is None else cdf[bin_of(np.maximum(limit, 1), edges)]
        bins = t["bin"].to_numpy()[np.minimum(np.searchsorted(cdf, rng.random(n) * fits, side="right"), len(cdf) - 1)]
        days = _draw_in_bins(rng, bins, edges, high=high)
        return days if limit is None else np.minimum(days, np.maximum(limit, 1))

    def _detail(self, rng, field: str, contexts: np.ndarray, fallbacks: np.ndarray | None = None) -> np.ndarray:
        """Draw one detail value per row given its context (falling back to the wider context)."""
        out = np.full(len(contexts), None, dtype=object)
        dist = self._details.get(field)
        if not dist or not len(contexts):
            return out
        inv, uniq = pd.factorize(pd.Series(contexts).astype(str))  # hashing, not sorting, the text
        first = np.unique(inv, return_index=True)[1]
        order = np.argsort(inv, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(inv, minlength=len(uniq)))])
        for i, c in enumerate(uniq):
            d = dist.get(c)
            if d is None and fallbacks is not None:
                d = dist.get(str(fallbacks[first[i]]))
            if d is None:
                continue
            values, p = d
            sel = order[bounds[i]:bounds[i + 1]]
            out[sel] = values[rng.choice(len(values), size=len(sel), p=p)]
        return out

    def with_details(self, rng, ev: pd.DataFrame, n_children: int) -> pd.DataFrame:
        move = (ev["prev"].astype(str) + ">" + ev["stage"].astype(str)).to_numpy()
        wide = ("*>" + ev["stage"].astype(str)).to_numpy()

        def clean(values: np.ndarray) -> np.ndarray:
            return np.where(np.isin(values.astype(str), ["=none", "None"]), None, values)

        # Source: one per episode, on its contacts and referrals.
        first = (ev["step"] == 0).to_numpy()
        ep_ctx = (ev.loc[first, "stage"].astype(str) + "|" + ev.loc[first, "history"].astype(str)).to_numpy()
        ep_wide = (ev.loc[first, "stage"].astype(str) + "|*").to_numpy()
        if "source_group" in ev:  # walked with: its code within the group
            group_ctx = ("g:" + ev.loc[first, "source_group"].astype(str)).to_numpy()
            ep_source = clean(self._detail(rng, "source", group_ctx, ep_ctx))
        else:
            ep_source = clean(self._detail(rng, "source", ep_ctx, ep_wide))
        src = ep_source[np.cumsum(first) - 1]
        ev["source"] = np.where(ev["stage"].isin(["contact", "referral"]), src, None)
        # Teams: a home team per child, and per stage whether the event is with it.
        home = clean(self._detail(rng, "home_team", np.full(n_children, "*", dtype=object)))
        label = self._detail(rng, "team_label", move, wide).astype(object)
        team = np.where(label == "=home", home[ev["child"].to_numpy()], label)
        ev["team"] = clean(np.where(pd.isna(team), "=none", team).astype(object))
        for field in ("need_code", "abuse_category", "closure_reason"):
            ev[field] = clean(self._detail(rng, field, move, wide))
        lists = self._detail(rng, "list_no", move, wide)
        ev["list_no"] = pd.to_numeric(pd.Series(lists), errors="coerce").fillna(0).astype(np.int8).to_numpy()
        ev["derived"] = pd.Series(self._detail(rng, "derived", move, wide)).eq("1").to_numpy()
        return ev
