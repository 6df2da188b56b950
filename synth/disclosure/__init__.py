"""The release gate: disclosure checks on synthetic records and on every published aggregate.

    result = run_gate(real_dataset, synthetic_dataset, profile_name="default")
    result.report.verdict        # pass | review | fail
    result.report.to_html()      # for the governance reviewer
    result.map_json              # the map the release publishes (computed from the synthetic records)

    result = run_aggregate_gate(real_dataset, "default", earlier_maps=[...])
    result.map_json              # real counts under disclosure control, checked against earlier releases
"""

from synth.disclosure.gate import GateResult, run_aggregate_gate, run_gate
from synth.disclosure.profiles import PROFILES, Profile, get_profile
from synth.disclosure.report import DisclosureReport

__all__ = ["PROFILES", "DisclosureReport", "GateResult", "Profile", "get_profile", "run_aggregate_gate",
           "run_gate"]
