"""`make mutate`'s report: scores per module, and a survivor TESTING.md does not explain fails."""

from __future__ import annotations

from tools.mutation_report import explained, module_of, report

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


def test_explained_reads_backticked_mutant_names_only() -> None:
    text = (
        "- `chalicelib.core.cursors.x__b64__mutmut_1`: equivalent\n"
        "- chalicelib.core.cursors.xǁCursorCodecǁencode__mutmut_2 without backticks\n"
    )
    assert explained(text) == {"chalicelib.core.cursors.x__b64__mutmut_1"}


def test_report_scores_each_module_and_lists_the_unexplained() -> None:
    table, unexplained = report(STATUSES, {"chalicelib.core.cursors.x__b64__mutmut_1"})
    assert "| `chalicelib.core.cursors` | 3 | 1 | 1 | 1 | 0 | 0 | 33.3% |" in table
    assert "| `sandbox.faults` | 2 | 1 | 0 | 0 | 0 | 1 | 100.0% |" in table
    assert "| all | 5 | 2 | 1 | 1 | 0 | 1 | 50.0% |" in table
    assert unexplained == ["chalicelib.core.cursors.xǁCursorCodecǁencode__mutmut_2"]


def test_report_with_every_survivor_explained_lists_none() -> None:
    known = {n for n, s in STATUSES.items() if s != "killed"}
    assert report(STATUSES, known)[1] == []
