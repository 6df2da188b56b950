"""Build a new visualisation from a Frontdoor release bundle: where children go after each stage.

A worked example for developers. It needs only Python and Bokeh (`pip install bokeh`), not Frontdoor:

    python examples/build_visualisation.py release.zip --out stage_flows.html [--view sex=female]

It opens the bundle (a zip), checks every file against the sha256 in `datapackage.json`, reads
`map.json` (its fields: `map_fields.md` in the bundle; its JSON Schema: `map.schema.json`), and draws one
bar per stage: the share of the moves out of that stage taken by each route, labelled with the route's
median days. Withheld routes (aggregate releases) are left out and the bar says so. The result is one
standalone HTML file: open it in a browser. Exit status 0 when written, 2 when the bundle cannot be read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path


class BundleProblem(Exception):
    pass


def read_verified(path: Path) -> dict[str, bytes]:
    """Every file of the bundle, each checked against the checksum its datapackage.json records."""
    try:
        with zipfile.ZipFile(path) as zf:
            files = {name: zf.read(name) for name in zf.namelist()}
    except (OSError, zipfile.BadZipFile) as e:
        raise BundleProblem(f"{path}: not a readable release bundle ({e}).") from None
    if "datapackage.json" not in files:
        raise BundleProblem(f"{path}: no datapackage.json; this is not a Frontdoor release bundle.")
    sums = json.loads(files["datapackage.json"]).get("frontdoor", {}).get("files", {})
    for name, expected in sums.items():
        if name not in files or hashlib.sha256(files[name]).hexdigest() != expected:
            raise BundleProblem(f"{path}: {name} is missing or does not match its checksum; download it again.")
    if "map.json" not in sums:
        raise BundleProblem(f"{path}: the bundle has no map.json.")
    return files


def stage_flows(map_json: dict, view: str = "all") -> list[dict]:
    """One row per route with a published share: source and target labels, share and median days."""
    if view not in map_json["views"]:
        raise BundleProblem(f"no view '{view}' in this map; views are 'all' and <classification>=<value>, e.g. "
                            f"{', '.join(list(map_json['views'])[1:4])}.")
    label = {s["id"]: s["label"] for s in map_json["stages"]}
    rows = []
    for e in map_json["views"][view]["edges"]:
        if e["share"] is None or not e["moves"]:
            continue
        rows.append({"source": label[e["source"]], "target": label[e["target"]], "share": e["share"],
                     "moves": e["moves"], "median_days": e["median_days"]})
    return rows


def withheld_out_of(map_json: dict, view: str) -> set[str]:
    label = {s["id"]: s["label"] for s in map_json["stages"]}
    return {label[e["source"]] for e in map_json["views"][view]["edges"] if e["suppressed"]}


def figure(rows: list[dict], title: str, withheld: set[str]):
    from bokeh.models import ColumnDataSource, HoverTool, LabelSet
    from bokeh.plotting import figure as bokeh_figure

    order = []
    for r in rows:
        if r["source"] not in order:
            order.append(r["source"])
    ticks = [f"{s} (some routes withheld)" if s in withheld else s for s in order]
    tick_of = dict(zip(order, ticks))
    left: dict[str, float] = {}
    data = {k: [] for k in ("stage", "target", "left", "right", "mid", "share", "moves", "median_days", "text")}
    for r in sorted(rows, key=lambda r: (order.index(r["source"]), -r["share"])):
        start = left.get(r["source"], 0.0)
        left[r["source"]] = start + r["share"]
        days = "" if r["median_days"] is None else f" {r['median_days']:g}d"
        data["stage"].append(tick_of[r["source"]])
        data["target"].append(r["target"])
        data["left"].append(start)
        data["right"].append(start + r["share"])
        data["mid"].append(start + r["share"] / 2)
        data["share"].append(r["share"])
        data["moves"].append(r["moves"])
        data["median_days"].append(r["median_days"])
        data["text"].append(f"{r['target']}{days}" if r["share"] >= 0.12 else "")
    source = ColumnDataSource(data, name="stage_flows")
    fig = bokeh_figure(y_range=list(reversed(ticks)), x_range=(0, 1), height=60 + 40 * len(ticks), width=1000,
                       title=title, toolbar_location=None, x_axis_label="share of moves out of the stage")
    fig.hbar(y="stage", left="left", right="right", height=0.8, source=source, line_color="white",
             fill_color="#4a7fb5", fill_alpha=0.8)
    fig.add_layout(LabelSet(x="mid", y="stage", text="text", source=source, text_align="center",
                            text_baseline="middle", text_font_size="9pt", text_color="white"))
    fig.add_tools(HoverTool(tooltips=[("from", "@stage"), ("to", "@target"), ("share", "@share{0.0%}"),
                                      ("moves", "@moves"), ("median days", "@median_days")]))
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="a release bundle (zip) downloaded from Frontdoor")
    parser.add_argument("--out", type=Path, default=Path("stage_flows.html"), help="the HTML file to write")
    parser.add_argument("--view", default="all", help="'all' or <classification>=<value>, e.g. sex=female")
    args = parser.parse_args(argv)
    try:
        files = read_verified(args.bundle)
        map_json = json.loads(files["map.json"])
        rows = stage_flows(map_json, args.view)
    except BundleProblem as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    release = json.loads(files["datapackage.json"])["frontdoor"]["release_id"]
    title = f"Where children go after each stage: release {release}, view {args.view}"
    html = file_html(figure(rows, title, withheld_out_of(map_json, args.view)), INLINE, title)
    args.out.write_text(html, encoding="utf-8")
    print(f"wrote {args.out}: {len(rows)} routes out of {len({r['source'] for r in rows})} stages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
