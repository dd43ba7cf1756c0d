"""The short faulted run of `make test`: `make load`'s workload for about 20 s under every fault
kind at once (fixed seed), then every invariant of DESIGN.md "Faults on purpose"."""

from __future__ import annotations

import io

from benchmarks.load import LoadConfig, run

# Every kind at once: throttles and errors of each service the app calls, a latency, and the
# handlers crashing and getting batches twice. The rates are those of the long run.
FAULTS = ",".join(
    [
        "dynamodb:*:throttle:0.1",
        "dynamodb:*:error:0.02",
        "ses:*:throttle:0.3",
        "ses:*:error:0.05",
        "s3:*:error:0.05",
        "s3:*:latency100ms:0.2",
        "sqs:*:throttle:0.1",
        "cognito-idp:*:throttle:0.1",
        "lambda:*:crash:0.2",
        "lambda:*:duplicate:0.2",
    ]
)
SEED = "19"


def test_load_under_every_fault_kind_keeps_every_promise() -> None:
    out = io.StringIO()
    config = LoadConfig(
        seconds=20, users=2, devices=3, seed=int(SEED), faults=FAULTS, fault_seed=SEED
    )
    result = run(config, out)
    said = out.getvalue()
    assert result.ok, f"{result.report()}\n{said}"
    # The rules did inject (a run that met no fault would prove nothing).
    injected = {
        line.split()[0]: int(line.split()[2])
        for line in said.splitlines()
        if line.split()[:1] and line.split()[0] in FAULTS.split(",")
    }
    for rule in ("dynamodb:*:throttle:0.1", "ses:*:throttle:0.3", "lambda:*:crash:0.2"):
        assert injected.get(rule, 0) > 0, said
    assert injected.get("lambda:*:duplicate:0.2", 0) > 0, said
    assert result.recorder.requests > 50, result.report()
