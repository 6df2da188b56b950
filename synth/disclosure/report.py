"""The DisclosureReport: what the gate found, as JSON and as a standalone HTML page a governance
reviewer can read in five minutes (verdict first, then each check, then how faithful the data is).

Two versions:
- the full report (`to_dict`, `to_json`, `to_html`) for the council's reviewers inside the service and
  for the data owner's `frontdoor check`: every check's measure and details, the exact sizes of the
  training and held-out parts, and the fidelity figures, all computed from the real children;
- the public report (`public_dict`, `public_json`, `public_html`) that a release bundle carries: the
  verdict, the threshold set, and each check's result, threshold and a plain-words explanation, with
  no figure computed from real data. The real children's counts are given only rounded to the
  nearest 10 ("about"), the window only as months, and there is no fidelity section.

The page needs no internet: styles are inline and the one chart is inline SVG.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from synth.bundle import bound_text, cells_text, epsilon_in_words
from synth.disclosure.profiles import Profile
from synth.disclosure.records import Check

REPORT_FORMAT, REPORT_VERSION = "frontdoor-disclosure-report", 1
KIND_WORDS = {"synthetic": "Synthetic records", "aggregate": "Aggregate counts from real data"}
VERDICT_WORDS = {
    "pass": "Pass: every automated check passed. A reviewer still has to sign the release off.",
    "review": "Review: no check failed, but some need a person's judgement (marked Review below).",
    "fail": "Fail: at least one check failed. This release cannot be published as it is.",
}
# The public report: a check's explanation when the check gives none without real figures.
PUBLIC_WORDS = {
    "pass": "{title}: passed. The check's measure is within the threshold shown.",
    "review": "{title}: to review. The check's measure lies between its pass and fail thresholds, so the council's "
              "reviewers judge it before the release can be approved.",
    "fail": "{title}: failed. The check's measure is beyond its fail threshold; a release with a failed check is not "
            "published.",
}
FIDELITY_NOTE = ("How faithful the synthetic data is to the council's real records is measured against the real data "
                 "and assessed by the council's reviewers inside the service. Those figures are computed from real "
                 "children, so they are not published with the release.")
PUBLIC_NOTE = ("This is the public version of the disclosure report. It gives each check's result and threshold but "
               "no figure computed from the real children: counts of real children are rounded to the nearest 10 and "
               "the window is given in months. The full report stays with the council's reviewers.")
ROUND_REAL_TOTALS = 10  # DfE convention for totals
# Release facts the public report may carry, and how: as they are (not derived from real children),
# rounded (counts of real children), or in months (the window the real records cover).
PUBLIC_FACTS = {"release_id": "as is", "version": "as is", "synthetic_children": "as is", "generator": "as is",
                "differential_privacy": "as is", "threshold_set": "as is", "trained_on_children": "rounded",
                "held_out_children": "rounded", "dataset_lineage": "as is", "window": "months", "kind": "as is",
                "earlier_releases": "as is", "trained_on_children_dp": "as is"}
# Under differential privacy no real count is published, rounded or not: the noisy one instead.
# The lineage hash is a fixed function of the input files (keyed, but not noisy): withheld too.
DP_WITHHELD = ("trained_on_children", "held_out_children", "dataset_lineage")  # an aggregate release's real_children stays inside (the map has it, controlled)


def about(n: int, base: int = ROUND_REAL_TOTALS) -> str:
    """A count of real children for the public: rounded to the nearest `base` (halves up), said so."""
    r = int(math.floor(n / base + 0.5)) * base
    return f"about {r:,}" if r else f"fewer than {base // 2 + (base % 2)}"


def months(text) -> str | None:
    """'2019-04-03 to 2023-03-30' -> '2019-04 to 2023-03' (no exact day of a real record)."""
    found = re.findall(r"(\d{4}-\d{2})(?:-\d{2})?", str(text or ""))
    return " to ".join(found[:2]) if found else None


def public_release_facts(release: dict, threshold_set: str | None = None) -> dict:
    """The release facts fit for developers: unknown facts are left out."""
    out = {}
    private = "trained_on_children_dp" in release
    for key, value in release.items():
        how = PUBLIC_FACTS.get(key)
        if private and key in DP_WITHHELD:
            continue
        if how == "as is" and not isinstance(value, dict | list):
            out[key] = value
        elif how == "rounded" and isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = about(int(value))
        elif how == "months" and value is not None:
            out[key] = months(value)
    if threshold_set and "threshold_set" not in out:
        out["threshold_set"] = threshold_set
    return out


def public_explanation(check: Check) -> str:
    return getattr(check, "public_explanation", None) or PUBLIC_WORDS.get(check.status, "{title}.").format(
        title=check.title)


@dataclass
class DisclosureReport:
    profile: Profile
    checks: list[Check]
    release: dict = field(default_factory=dict)
    fidelity: dict | None = None
    privacy: dict | None = None  # the model's DP accounting (noise scales only: public)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def verdict(self) -> str:
        statuses = {c.status for c in self.checks}
        return "fail" if "fail" in statuses else "review" if "review" in statuses else "pass"

    def to_dict(self) -> dict:
        return {
            "format": REPORT_FORMAT, "version": REPORT_VERSION, "created_at": self.created_at,
            "verdict": self.verdict,
            "threshold_set": {"name": self.profile.name, "version": self.profile.version,
                              "description": self.profile.description, "thresholds": self.profile.to_dict()},
            "counts": {s: sum(c.status == s for c in self.checks) for s in ("pass", "review", "fail")},
            "release": self.release,
            "checks": [c.to_dict() for c in self.checks],
            "fidelity": self.fidelity,
            "privacy": self.privacy,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=_json_default)

    def to_html(self) -> str:
        return render_html(self.to_dict())

    # -- the public version (for a release bundle) -------------------------------------------
    def public_dict(self) -> dict:
        """What developers may see: no measure, no details, no fidelity, real counts rounded."""
        ts = self.profile
        return {
            "format": REPORT_FORMAT, "version": REPORT_VERSION, "public": True, "created_at": self.created_at,
            "verdict": self.verdict,
            "threshold_set": {"name": ts.name, "version": ts.version, "description": ts.description,
                              "thresholds": ts.to_dict()},
            "counts": {s: sum(c.status == s for c in self.checks) for s in ("pass", "review", "fail")},
            "release": public_release_facts(self.release, f"{ts.name} version {ts.version}"),
            "checks": [{"name": c.name, "title": c.title, "group": c.group, "status": c.status,
                        "threshold": c.threshold, "explanation": public_explanation(c)} for c in self.checks],
            "note": PUBLIC_NOTE,
            "fidelity_note": FIDELITY_NOTE,
            "privacy": self.privacy,
        }

    def public_json(self) -> str:
        return json.dumps(self.public_dict(), indent=2, default=_json_default)

    def public_html(self) -> str:
        return render_html(self.public_dict())


def _json_default(v):
    try:
        import numpy as np

        if isinstance(v, np.integer | np.bool_):
            return v.item()
        if isinstance(v, np.floating):
            return float(v)
    except ImportError:  # pragma: no cover
        pass
    return str(v)


CSS = """
body{font-family:Arial,Helvetica,sans-serif;color:#0b0c0c;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}
h1{font-size:2rem;margin-bottom:.5rem}h2{font-size:1.5rem;margin-top:2rem;border-bottom:2px solid #0b0c0c}
.verdict{border:4px solid #0b0c0c;padding:1rem;font-size:1.2rem;margin:1rem 0}
.verdict strong{font-size:1.6rem;display:block}
.pass{border-color:#00703c}.review{border-color:#f47738}.fail{border-color:#d4351c}
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border-bottom:1px solid #b1b4b6;padding:.4rem;text-align:left;vertical-align:top}
th{background:#f3f2f1}.tag{font-weight:bold;padding:0 .3rem;border:2px solid}
.tag.pass{color:#00703c}.tag.review{color:#8a3f00}.tag.fail{color:#d4351c}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:bold}
.small{color:#505a5f;font-size:.9rem}
"""


def measure_text(v) -> str:
    """A check's measure for people: a count as a whole number ("12", never "12.000"), a share or risk to
    three significant figures, "-" when the check has none."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:.3g}"


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return measure_text(v)
    return html.escape(str(v))


def _guidance_html(c: dict) -> str:
    """What a check protects against and what to look for, under the finding of a check to review or failed."""
    g = c.get("guidance")
    if not g or c["status"] == "pass":
        return ""
    return (f"<p class='small'><strong>Protects against:</strong> {html.escape(g['protects_against'])}<br>"
            f"<strong>What to look for:</strong> {html.escape(g['look_for'])}</p>")


def _share_chart(shares: list[dict]) -> str:
    """Horizontal bars: real vs synthetic share of each common journey (inline SVG)."""
    if not shares:
        return "<p>No journey is common enough to be shown.</p>"
    bar_h, gap, label_w, width = 12, 10, 330, 640
    top = max(max(s["real"], s["synthetic"]) for s in shares) or 1
    scale = (width - label_w - 60) / top
    rows = []
    for i, s in enumerate(shares):
        y = i * (2 * bar_h + gap) + 20
        label = html.escape(s["path"].replace(">", " > "))
        rows.append(f'<text x="0" y="{y + bar_h}" font-size="11">{label[:60]}</text>'
                    f'<rect x="{label_w}" y="{y}" width="{s["real"] * scale:.1f}" height="{bar_h}" fill="#1d70b8"/>'
                    f'<text x="{label_w + s["real"] * scale + 4:.1f}" y="{y + bar_h - 2}" font-size="10">'
                    f'{s["real"]:.1%} real</text>'
                    f'<rect x="{label_w}" y="{y + bar_h}" width="{s["synthetic"] * scale:.1f}" height="{bar_h}" '
                    f'fill="#f47738"/><text x="{label_w + s["synthetic"] * scale + 4:.1f}" y="{y + 2 * bar_h - 2}" '
                    f'font-size="10">{s["synthetic"]:.1%} synthetic</text>')
    h = len(shares) * (2 * bar_h + gap) + 30
    return (f'<svg role="img" aria-label="Share of children on each common journey, real and synthetic" '
            f'width="{width}" height="{h}">{"".join(rows)}</svg>')


def render_html(d: dict) -> str:
    """The page for a report dict: the full one (`to_dict`) or the public one (`public_dict`)."""
    verdict = d["verdict"]
    public = bool(d.get("public"))
    rel = d.get("release") or {}
    facts = "".join(f"<dt>{html.escape(str(k).replace('_', ' ').capitalize())}</dt><dd>{_fmt(v)}</dd>"
                    for k, v in rel.items() if not isinstance(v, dict | list))

    def measure(c: dict) -> str:
        return "" if public else f"<td>{_fmt(c['metric'])}</td>"

    check_rows = "".join(
        f"<tr><td><span class='tag {c['status']}'>{c['status'].upper()}</span></td><td><strong>"
        f"{html.escape(c['title'])}</strong><br><span class='small'>{html.escape(c['group'])} check</span></td>"
        f"<td>{html.escape(c['explanation'])}{_guidance_html(c)}</td>{measure(c)}<td>{html.escape(c['threshold'])}</td></tr>"
        for c in sorted(d["checks"], key=lambda c: {"fail": 0, "review": 1, "pass": 2}[c["status"]]))
    ts = d["threshold_set"]
    counts = d["counts"]
    kind = rel.get("kind") or "synthetic"
    kind_line = (f'<p class="kind" id="release-kind"><strong>Kind of release: {html.escape(KIND_WORDS.get(kind, kind))}'
                 "</strong>. " + ("Counts of the council's real children under disclosure control; no records."
                                  if kind == "aggregate" else "Made-up children and journeys, and a map computed from "
                                  "them.") + "</p>")
    if public:
        heading, intro = "Disclosure report (public version)", f'<p>{html.escape(d.get("note") or PUBLIC_NOTE)}</p>'
        found, measure_head = "What it checks", ""
        fidelity = (f"<h2>How faithful the synthetic data is</h2>"
                    f"<p>{html.escape(d.get('fidelity_note') or FIDELITY_NOTE)}</p>")
    else:
        heading, intro, found, measure_head = "Disclosure report", "", "What it found", "<th>Measure</th>"
        fidelity = _fidelity_html(d.get("fidelity") or {}, ts)
    if kind == "aggregate":
        fidelity = ""
        about_checks = ("Aggregate checks cover every number the release publishes (the map, its splits and filters), "
                        "and the differencing check sets them against every earlier published release of the same "
                        "data so that no withheld count can be worked out by subtraction.")
    else:
        about_checks = ("Record checks ask whether a synthetic child could be traced to a real one; they compare the "
                        "synthetic children with the real children the generator learnt from, and with real children "
                        "it never saw. The map is computed from the synthetic children only.")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{heading}: {html.escape(str(rel.get('release_id', 'release')))}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body><main>
<h1>{heading}</h1>
<p class="small">Created {html.escape(d['created_at'])}. Threshold set <strong>{html.escape(ts['name'])}</strong>
version {html.escape(ts['version'])}: {html.escape(ts['description'])}</p>{kind_line}{intro}
<div class="verdict {verdict}" role="status"><strong>{verdict.upper()}</strong>{html.escape(VERDICT_WORDS[verdict])}
<br><span class="small">{counts['pass']} passed, {counts['review']} to review, {counts['fail']} failed.</span></div>
<h2>The release</h2><dl>{facts}</dl>
<h2>Checks</h2>
<p>{about_checks}</p>
<table><thead><tr><th>Result</th><th>Check</th><th>{found}</th>{measure_head}<th>Threshold</th></tr></thead>
<tbody>{check_rows}</tbody></table>
{_privacy_html(d.get("privacy"))}
{fidelity}
</main></body></html>
"""


def _privacy_html(privacy: dict | None) -> str:
    if not privacy:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(str(m['what']))}</td><td>{cells_text(m)}</td><td>{m['sensitivity']:g}</td>"
        f"<td>{m['epsilon']:.4f}</td><td>{m['scale']:.1f}</td><td>"
        f"{bound_text(m).replace('+/-', '&plusmn;')}</td></tr>"
        for m in privacy.get("measurements") or [])
    noisy = privacy.get("training_children_noisy")
    n_text = (f"<p>Children learnt from, as a noisy count: about {noisy:,} (&plusmn;{privacy.get('training_children_bound95', 0):.0f}"
              " at 95%).</p>" if noisy is not None else "")
    return (f'<h2 id="differential-privacy">Differential privacy</h2><p>{html.escape(epsilon_in_words(privacy["epsilon"]))}'
            f"</p>{n_text}<table><thead><tr><th>What was measured</th><th>Cells</th><th>Sensitivity</th>"
            "<th>Epsilon</th><th>Noise scale</th><th>95% error bound per cell</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _fidelity_html(fid: dict, ts: dict) -> str:
    fid_rows = ""
    if fid:
        items = [
            ("Journeys that follow the process rules", fid.get("validity")),
            ("Largest error in the chance of each next step", (fid.get("next_stage_error") or {}).get("max")),
            ("Difference in common journeys (total variation, top 20)", (fid.get("journey_tvd") or {}).get("top20")),
            ("Moves whose median days are within 10%", (fid.get("durations") or {}).get("median_days_within_10pct")),
            ("Re-referrals within 12 months, real", (fid.get("rereferral_12m") or {}).get("real")),
            ("Re-referrals within 12 months, synthetic", (fid.get("rereferral_12m") or {}).get("synthetic")),
            ("Child attributes quality (SDMetrics, 0-1)", fid.get("attribute_quality")),
            ("Prediction on unseen children, synthetic vs real training (AUC ratio)",
             (fid.get("utility") or {}).get("ratio")),
        ]
        fid_rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in items)
    chart = _share_chart(fid.get("journey_shares") or [])
    return f"""<h2>How faithful the synthetic data is</h2>
<table><tbody>{fid_rows or '<tr><td>Not measured for this release.</td></tr>'}</tbody></table>
<h3>Common journeys, real and synthetic</h3>{chart}
<p class="small">Real shares are shown only for journeys taken by at least {ts['thresholds']['min_cell']} real children,
rounded to 0.1%.</p>"""
