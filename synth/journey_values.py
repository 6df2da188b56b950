"""Each synthetic journey's value under every classification of the map, as the bundle publishes it
(`journey_values.csv`: child_key, episode_no, then one column per classification of map.json).

The map's views are computed from these very values (`synth.journeys.classify_episodes`), so a viewer
that filters or colours journeys by them shows the same children as the map's figures, and never
re-implements a classification (the source groups, the bands, the financial year). Synthetic releases
only: an aggregate release has no journeys to label.
"""

from __future__ import annotations

from synth import journeys

VALUES_FILE = "journey_values.csv"
LAYOUT_FILE = "layout.json"


def journey_values(children, episodes):
    """One row per journey: its key and its value under each classification (strings, as the map's views)."""
    return journeys.classify_episodes(episodes, children).sort_values(["child_key", "episode_no"], kind="mergesort")


def viewer_files(synth) -> dict[str, bytes]:
    """The files a map viewer reads besides map.json: the stage layout (every bundle) and, from the
    synthetic tables (`synth` None for an aggregate release), each journey's classification values."""
    from synth.bundle import safe_csv
    from synth.stage_layout import layout_json

    files = {LAYOUT_FILE: layout_json()}
    if synth is not None:
        files[VALUES_FILE] = safe_csv(journey_values(synth.children, synth.episodes))
    return files
