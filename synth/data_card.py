"""The data card: a release bundle's README.md, and the words for its differential privacy (shared with the
disclosure report). Text only, from the manifest and the public report (`DisclosureReport.public_dict`)."""

from __future__ import annotations

import math


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
