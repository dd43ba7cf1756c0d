"""`make mutate`'s report: scores per module, and a survivor TESTING.md does not explain fails."""

from __future__ import annotations

from tools.mutation_report import explained, module_of, report, wrongly_killed

STATUSES = {
    "chalicelib.core.cursors.xǁCursorCodecǁencode__mutmut_1": "killed",
    "chalicelib.core.cursors.xǁCursorCodecǁencode__mutmut_2": "survived",
    "chalicelib.core.cursors.x__b64__mutmut_1": "no tests",
    "sandbox.faults.x_parse_rule__mutmut_3": "killed",
    "sandbox.faults.x_parse_rule__mutmut_4": "not checked",
}


def test_module_of_a_method_and_a_function() -> None:
    assert module_of("chalicelib.core.cursors.xǁCursorCodecǁencode__mutmut_1") == (
        "chalicelib.core.cursors"
    )
    assert module_of("sandbox.faults.x_parse_rule__mutmut_3") == "sandbox.faults"


TESTING = """# Testing

## Survivors killed by new tests

- `tests/test_cursors.py`: `chalicelib.core.cursors.xǁCursorCodecǁencode__mutmut_1`,
  `chalicelib.core.cursors.xǁCursorCodecǁencode__mutmut_2`.

## Survivors explained (equivalent)

- `chalicelib.core.cursors.x__b64__mutmut_1`: equivalent
- chalicelib.core.cursors.xǁCursorCodecǁencode__mutmut_3 without backticks

## Not yet killed or explained

- `sandbox.faults.x_parse_rule__mutmut_4`
"""


def test_explained_reads_backticked_names_of_its_own_section_only() -> None:
    assert explained(TESTING) == {"chalicelib.core.cursors.x__b64__mutmut_1"}
    assert explained("no such section `sandbox.faults.x_parse_rule__mutmut_4`") == set()


def test_a_mutant_said_to_be_killed_that_survived_is_named() -> None:
    # encode__mutmut_2 survived: the section that says a test kills it is wrong.
    assert wrongly_killed(STATUSES, TESTING) == [
        "chalicelib.core.cursors.xǁCursorCodecǁencode__mutmut_2"
    ]
    fixed = {**STATUSES, "chalicelib.core.cursors.xǁCursorCodecǁencode__mutmut_2": "killed"}
    assert wrongly_killed(fixed, TESTING) == []


def test_report_scores_each_module_and_lists_the_unexplained() -> None:
    table, unexplained = report(STATUSES, {"chalicelib.core.cursors.x__b64__mutmut_1"})
    assert "| `chalicelib.core.cursors` | 3 | 1 | 1 | 1 | 0 | 0 | 33.3% |" in table
    assert "| `sandbox.faults` | 2 | 1 | 0 | 0 | 0 | 1 | 100.0% |" in table
    assert "| all | 5 | 2 | 1 | 1 | 0 | 1 | 50.0% |" in table
    assert unexplained == ["chalicelib.core.cursors.xǁCursorCodecǁencode__mutmut_2"]


def test_report_with_every_survivor_explained_lists_none() -> None:
    known = {n for n, s in STATUSES.items() if s != "killed"}
    assert report(STATUSES, known)[1] == []
