"""`make mutate`'s report: mutmut's verdicts per module, and every surviving mutant that TESTING.md
does not explain (then it fails: a survivor is killed by a new test or explained in one line)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTING = ROOT / "TESTING.md"
# What mutmut reports for a mutant that no test failed on: each needs a test or an explanation.
NOT_KILLED = ("survived", "no tests", "timeout", "suspicious", "skipped")
# mutmut names a mutant <module>.x_<function>__mutmut_<n>, or <module>.xǁ<Class>ǁ<method>__...
_NAME = re.compile(r"^(?P<module>[\w.]+?)\.x[_ǁ](?P<function>.+)__mutmut_(?P<n>\d+)$")


def verdicts() -> dict[str, str]:
    """Every mutant's status, as `mutmut results --all true` prints it."""
    done = subprocess.run(  # noqa: S603 - our own venv's mutmut, fixed arguments
        [str(Path(sys.executable).parent / "mutmut"), "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    out: dict[str, str] = {}
    for line in done.stdout.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and _NAME.match(name):
            out[name] = status
    return out


KILLED_SECTION = "## Survivors killed by new tests"
EXPLAINED_SECTION = "## Survivors explained"


def named(text: str, heading: str) -> set[str]:
    """The mutants one section of TESTING.md names in backticks (up to the next heading)."""
    _, found, rest = text.partition(f"\n{heading}")
    body = rest.split("\n## ", 1)[0] if found else ""
    return set(re.findall(r"`([\w.ǁ]+__mutmut_\d+)`", body))


def explained(text: str) -> set[str]:
    """The mutants TESTING.md explains as equivalent."""
    return named(text, EXPLAINED_SECTION)


def wrongly_killed(statuses: dict[str, str], text: str) -> list[str]:
    """The mutants TESTING.md says a new test kills, which mutmut did not see killed."""
    return sorted(n for n in named(text, KILLED_SECTION) if statuses.get(n) in NOT_KILLED)


def module_of(name: str) -> str:
    match = _NAME.match(name)
    return match.group("module") if match else name


def report(statuses: dict[str, str], known: set[str]) -> tuple[str, list[str]]:
    """The score table, and the mutants not killed that TESTING.md does not explain."""
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in statuses.items():
        by_module[module_of(name)][status] += 1
    lines = [
        "| module | mutants | killed | survived | no tests | timeout | not run yet | score |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    total: Counter[str] = Counter()
    for module in sorted(by_module):
        counts = by_module[module]
        total += counts
        lines.append(_row(f"`{module}`", counts))
    lines.append(_row("all", total))
    unexplained = sorted(n for n, s in statuses.items() if s in NOT_KILLED and n not in known)
    return "\n".join(lines), unexplained


def _row(label: str, counts: Counter[str]) -> str:
    """One line of the table; the score is killed over the mutants that were run."""
    mutants = sum(counts.values())
    killed = counts["killed"] + counts["caught by type check"]
    run = mutants - counts["not checked"]
    score = f"{100 * killed / run:.1f}%" if run else "-"
    return (
        f"| {label} | {mutants} | {killed} | {counts['survived']} | {counts['no tests']} "
        f"| {counts['timeout']} | {counts['not checked']} | {score} |"
    )


def main() -> int:
    statuses = verdicts()
    if not statuses:
        print("mutation report: no mutants found; run `make mutate` first", file=sys.stderr)
        return 1
    text = TESTING.read_text()
    table, unexplained = report(statuses, explained(text))
    print(table)
    wrong = wrongly_killed(statuses, text)
    for name in wrong:
        print(f"TESTING.md says a test kills {name}, but it {statuses[name]}")
    if unexplained:
        print(f"\n{len(unexplained)} mutants not killed and not explained in TESTING.md:")
        for name in unexplained:
            print(f"  {name}: {statuses[name]} (see: mutmut show {name})")
    if unexplained or wrong:
        return 1
    print("\nEvery mutant not killed is explained in TESTING.md.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
