"""Faults on purpose: the rules of SANDBOX_FAULTS, which calls they hit, and what each injected.

A rule is `SERVICE:OPERATION:KIND:RATE`. AWS services (`dynamodb`, `s3`, `sqs`, `ses`,
`cognito-idp`) take `throttle`, `error` or `latency<N>ms`; the middleware in front of moto
(sandbox.aws_faults) asks `Faults.aws_call` what to do with each call. `lambda` takes `crash`
or `duplicate`, applied by the wrapper `with_faults` puts around each handler the pump invokes.
Rules are drawn from one random generator per rule, seeded from SANDBOX_FAULT_SEED: the same
calls in the same order meet the same faults.
"""

from __future__ import annotations

import copy
import difflib
import functools
import logging
import math
import re
import secrets
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from random import Random
from typing import Any

log = logging.getLogger("sandbox.faults")

AWS_SERVICES = ("dynamodb", "s3", "sqs", "ses", "cognito-idp")
LAMBDA = "lambda"
AWS_KINDS = ("throttle", "error")
LAMBDA_KINDS = ("crash", "duplicate")
# A delay longer than a minute would outlast every call budget: it is a mistake, not a fault.
MAX_LATENCY_MS = 60_000
# S3's browser upload (a presigned POST) is no API operation in botocore's model.
EXTRA_OPERATIONS = {"s3": ("PostObject",)}
SPEC_VARIABLE = "SANDBOX_FAULTS"
SEED_VARIABLE = "SANDBOX_FAULT_SEED"

_LATENCY = re.compile(r"latency(\d+)ms")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Handler = Callable[[dict[str, Any], Any], Any]


class FaultSpecError(ValueError):
    """A SPEC with a malformed rule; the message names every bad rule and why."""


@dataclass(frozen=True)
class Rule:
    service: str
    operation: str  # an API or handler name, or "*"
    kind: str  # throttle, error, latency, crash or duplicate
    rate: float
    delay_ms: int = 0

    @property
    def text(self) -> str:
        kind = f"latency{self.delay_ms}ms" if self.kind == "latency" else self.kind
        return f"{self.service}:{self.operation}:{kind}:{self.rate:g}"

    def applies_to(self, service: str, operation: str) -> bool:
        return self.service == service and self.operation in ("*", operation)


@functools.cache
def operations(service: str) -> frozenset[str]:
    """The API names of an AWS service, from botocore's model of it."""
    from botocore.session import get_session  # noqa: PLC0415 - loads JSON models: only here

    names = get_session().get_service_model(service).operation_names
    return frozenset([*names, *EXTRA_OPERATIONS.get(service, ())])


def _unknown(what: str, name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"{what} {name!r}" + (f" (did you mean {close[0]}?)" if close else "")


def _rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not 0 <= rate <= 1:  # also refuses nan
        raise ValueError(f"RATE {text!r} is not a number from 0 to 1")
    return rate


def _kind(service: str, text: str) -> tuple[str, int]:
    if service == LAMBDA:
        if text not in LAMBDA_KINDS:
            raise ValueError(f"lambda faults are {' or '.join(LAMBDA_KINDS)}, not {text!r}")
        return text, 0
    latency = _LATENCY.fullmatch(text)
    if latency:
        delay = int(latency.group(1))
        if not 1 <= delay <= MAX_LATENCY_MS:
            raise ValueError(f"a latency is 1 to {MAX_LATENCY_MS} ms, not {delay}")
        return "latency", delay
    if text not in AWS_KINDS:
        raise ValueError(f"{service} faults are throttle, error or latency<N>ms, not {text!r}")
    return text, 0


def _operation(service: str, text: str, handlers: Collection[str] | None) -> str:
    if text == "*":
        return text
    if service == LAMBDA:
        if not _NAME.fullmatch(text):
            raise ValueError(f"{text!r} is not a handler name")
        if handlers is not None and text not in handlers:
            names = ", ".join(sorted(handlers))
            raise ValueError(
                f"{_unknown('the app has no handler', text, handlers)}; it has {names}"
            )
        return text
    known = operations(service)
    if text not in known:
        raise ValueError(_unknown(f"{service} has no operation", text, known))
    return text


def parse_rule(text: str, handlers: Collection[str] | None = None) -> Rule:
    """One rule; ValueError says what is wrong with it. `handlers` are the names `lambda`
    rules may use (None: any name)."""
    parts = text.split(":")
    if len(parts) != 4:
        raise ValueError("a rule is SERVICE:OPERATION:KIND:RATE")
    service, operation, kind, rate = (p.strip() for p in parts)
    if service != LAMBDA and service not in AWS_SERVICES:
        raise ValueError(f"SERVICE {service!r} is none of {', '.join((*AWS_SERVICES, LAMBDA))}")
    kind_name, delay = _kind(service, kind)
    return Rule(service, _operation(service, operation, handlers), kind_name, _rate(rate), delay)


def parse_spec(spec: str, handlers: Collection[str] | None = None) -> tuple[Rule, ...]:
    """The rules of a comma-separated SPEC (blank: none); FaultSpecError names each bad one."""
    rules: list[Rule] = []
    problems: list[str] = []
    for text in spec.split(","):
        if not text.strip():
            continue
        try:
            rules.append(parse_rule(text.strip(), handlers))
        except ValueError as e:
            problems.append(f"bad fault rule {text.strip()!r}: {e}")
    if problems:
        raise FaultSpecError("; ".join(problems))
    return tuple(rules)


@dataclass
class _Armed:
    """A rule in force: its own random draws, and how many calls it met and faulted."""

    rule: Rule
    random: Random
    calls: int = 0
    injected: int = 0

    def fires(self) -> bool:
        self.calls += 1
        hit = self.rule.rate > 0 and self.random.random() < self.rule.rate
        self.injected += hit
        return hit


@dataclass(frozen=True)
class AwsFault:
    """What to do with one AWS call: wait `delay_ms`, then answer with `answer`'s error, if any
    (`pick`, from 0 to 1, chooses the item a transaction's throttling names)."""

    delay_ms: int = 0
    answer: Rule | None = None
    pick: float = 0.0


@dataclass
class Faults:
    """The rules in force, shared by the AWS middleware and the pump (one per sandbox)."""

    seed: str = field(default_factory=lambda: str(secrets.randbelow(10**9)))
    handlers: Collection[str] | None = None
    _armed: list[_Armed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], handlers: Collection[str] | None = None
    ) -> Faults:
        """The rules SANDBOX_FAULTS names, seeded by SANDBOX_FAULT_SEED (random when unset)."""
        return cls.start(environ.get(SPEC_VARIABLE, ""), environ.get(SEED_VARIABLE, ""), handlers)

    @classmethod
    def start(cls, spec: str, seed: str = "", handlers: Collection[str] | None = None) -> Faults:
        faults = cls(handlers=handlers) if not seed.strip() else cls(seed.strip(), handlers)
        faults.set(spec)
        return faults

    @property
    def active(self) -> bool:
        return bool(self._armed)

    @property
    def spec(self) -> str:
        return ",".join(a.rule.text for a in self._armed)

    def expect_handlers(self, names: Collection[str]) -> None:
        """Name the app's handlers once it is loaded: a `lambda` rule must name one of them."""
        self.handlers = frozenset(names)
        parse_spec(self.spec, self.handlers)

    def set(self, spec: str) -> list[dict[str, Any]]:
        """Replace the rules (their counts start at 0); a bad SPEC changes nothing."""
        rules = parse_spec(spec, self.handlers)
        armed = [_Armed(r, Random(f"{self.seed}/{i}/{r.text}")) for i, r in enumerate(rules)]
        with self._lock:
            self._armed = armed
        return self.report()

    def clear(self) -> list[dict[str, Any]]:
        """Remove every rule; what the removed rules had injected."""
        report = self.report()
        with self._lock:
            self._armed = []
        return report

    def report(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"rule": a.rule.text, "calls": a.calls, "injected": a.injected} for a in self._armed
            ]

    def aws_call(self, service: str, operation: str) -> AwsFault:
        """Draw every rule that applies: the latency rules that fire add up, and the first
        throttle or error rule that fires answers the call."""
        delay = 0
        answer: Rule | None = None
        pick = 0.0
        with self._lock:
            for armed in self._armed:
                rule = armed.rule
                if not rule.applies_to(service, operation):
                    continue
                if rule.kind == "latency":
                    delay += rule.delay_ms if armed.fires() else 0
                elif answer is None and armed.fires():
                    answer, pick = rule, armed.random.random()
        return AwsFault(delay, answer, pick)

    def invocation(self, handler: str) -> frozenset[str]:
        """The lambda faults (crash, duplicate) that fire for one invocation of `handler`."""
        with self._lock:
            fired = [
                a.rule.kind for a in self._armed if a.rule.applies_to(LAMBDA, handler) and a.fires()
            ]
        return frozenset(fired)


class InjectedCrash(Exception):
    """The sandbox failed an invocation after its handler ran, as a timeout would."""


def merge_results(first: Any, second: Any) -> Any:
    """Two deliveries of one batch: an item either reported as failed comes again."""
    failures: list[Any] = []
    for result in (first, second):
        if isinstance(result, dict):
            failures.extend(f for f in result.get("batchItemFailures", []) if f not in failures)
    if not any(isinstance(r, dict) and "batchItemFailures" in r for r in (first, second)):
        return second
    return {"batchItemFailures": failures}


def with_faults(name: str, handler: Handler, faults: Faults) -> Handler:
    """`handler` as the pump should invoke it under the `lambda` rules."""

    def invoke(event: dict[str, Any], context: Any) -> Any:
        kinds = faults.invocation(name)
        # A copy: the second delivery must see the event as Lambda sent it.
        again = copy.deepcopy(event) if "duplicate" in kinds else None
        result = handler(event, context)
        if again is not None:
            log.info("fault: %s gets the same batch a second time", name)
            result = merge_results(result, handler(again, context))
        if "crash" in kinds:
            raise InjectedCrash(f"fault: {name} crashed after it ran; the batch comes again")
        return result

    return invoke


def faulted_handlers(handlers: Mapping[str, Handler], faults: Faults) -> dict[str, Handler]:
    return {name: with_faults(name, handler, faults) for name, handler in handlers.items()}
