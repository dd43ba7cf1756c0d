"""`python -m sandbox faults [set SPEC | clear]`: the running sandbox's fault rules and counts."""

from __future__ import annotations

import os
from typing import Any

from sandbox.endpoints import call_sandbox, read_endpoints
from sandbox.faults import SEED_VARIABLE
from sandbox.settings import ENDPOINTS_FILE, sandbox_dir

HELP = """\
Rules are comma-separated SERVICE:OPERATION:KIND:RATE. SERVICE dynamodb, s3, sqs, ses or
cognito-idp, OPERATION an API name (PutItem, SendRawEmail...) or *, KIND throttle, error or
latency<N>ms; or SERVICE lambda, OPERATION a handler name or *, KIND crash or duplicate.
RATE is the share of calls (or invocations) hit, from 0 to 1.

examples:
  python -m sandbox faults set 'dynamodb:*:throttle:0.1,ses:SendRawEmail:error:0.3'
  python -m sandbox faults set 'lambda:send_welcome_mails:crash:0.2,s3:*:latency200ms:0.5'
  python -m sandbox faults
  python -m sandbox faults clear"""


def table(report: list[dict[str, Any]], seed: str) -> str:
    """Each rule, the calls it met and the faults it injected, and the seed of the draws."""
    if not report:
        return "no fault rules (set some with `python -m sandbox faults set SPEC`)"
    width = max(len("RULE"), *(len(r["rule"]) for r in report))
    lines = [f"{'RULE':<{width}}  {'CALLS':>8}  {'INJECTED':>8}"]
    lines += [f"{r['rule']:<{width}}  {r['calls']:>8}  {r['injected']:>8}" for r in report]
    lines.append(f"seed {seed} (repeat a run with {SEED_VARIABLE}={seed})")
    return "\n".join(lines)


def faults(command: str | None, spec: str = "") -> str:
    """Show (None), `set` or `clear` the running sandbox's rules; what to print."""
    aws = read_endpoints(sandbox_dir(os.environ) / ENDPOINTS_FILE)["aws_endpoint_url"]
    if command == "set":
        answer = call_sandbox(aws, "faults", method="POST", data=spec)
    elif command == "clear":
        answer = call_sandbox(aws, "faults/clear", method="POST")
        if not answer["rules"]:
            return "no fault rules were set"
        return "fault rules cleared; they had injected:\n" + table(answer["rules"], answer["seed"])
    else:
        answer = call_sandbox(aws, "faults")
    return table(answer["rules"], answer["seed"])
