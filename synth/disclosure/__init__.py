"""The release gate: disclosure checks on synthetic records and on every published aggregate.

    result = run_gate(real_dataset, synthetic_dataset, profile_name="default")
    result.report.verdict        # pass | review | fail
    result.report.to_html()      # for the governance reviewer
    result.map_json              # the disclosure-controlled map the release publishes
"""

from synth.disclosure.gate import GateResult, run_gate
from synth.disclosure.profiles import PROFILES, Profile, get_profile
from synth.disclosure.report import DisclosureReport

__all__ = ["PROFILES", "DisclosureReport", "GateResult", "Profile", "get_profile", "run_gate"]
