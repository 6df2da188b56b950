"""The guides in docs/ say what the code does: the reviewers' table of checks is the guidance the reports
carry, and every check the gate can make has guidance."""

from __future__ import annotations

from pathlib import Path

from synth.disclosure.guidance import GUIDANCE, markdown_table

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_reviewers_guide_holds_the_guidance_the_reports_carry():
    text = (DOCS / "reviewers.md").read_text()
    table = text.split("<!-- guidance:start -->\n", 1)[1].split("<!-- guidance:end -->", 1)[0]
    assert table == markdown_table(), "regenerate the table: python -c 'from synth.disclosure.guidance import " \
                                      "markdown_table; print(markdown_table())'"


def test_every_guide_exists_and_links_resolve():
    for name in ("operators.md", "reviewers.md", "data-owners.md", "developers.md", "security-review.md"):
        assert (DOCS / name).is_file(), name
    root = DOCS.parent
    for guide in DOCS.glob("*.md"):
        for part in guide.read_text().split("`")[1::2]:
            if part.startswith(("tests/", "synth/", "service/", "examples/", "deploy/")) and "::" not in part \
                    and " " not in part and "*" not in part:
                assert (root / part).exists(), f"{guide.name} names {part}, which does not exist"


def test_every_check_has_guidance():
    import inspect

    import synth.disclosure as disclosure

    source = "".join(inspect.getsource(m) for m in (disclosure.records, disclosure.aggregates, disclosure.extremes,
                                                     disclosure.membership, disclosure.differencing))
    import re

    names = set(re.findall(r'Check\(\s*"([a-z_]+)"', source))
    assert names, "the check names are found in the gate's source"
    assert names <= set(GUIDANCE), f"checks without guidance: {sorted(names - set(GUIDANCE))}"
