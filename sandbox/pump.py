"""The event pump: feeds SQS messages, DynamoDB stream records and schedules to the app's handlers.

Each event source the app declares (`@app.on_sqs_message`, `@app.on_dynamodb_record`,
`@app.schedule`) gets a thread that reads the source in moto and calls the same Chalice handler
object Lambda would call, with an event shaped as Lambda shapes it. Results follow Lambda's
rules: reported failures (`batchItemFailures`) are retried, the rest is done.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config
from chalice import Chalice
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig
from chalice.local import LambdaContext

from sandbox import logs
from sandbox.faults import InjectedCrash
from sandbox.lambda_events import (
    Handler,
    failed_ids,
    schedule_seconds,
    scheduled_event,
    sqs_event,
    stream_event,
)

log = logging.getLogger("sandbox.pump")

# Wait this long before a failed SQS message or stream batch is tried again.
RETRY_DELAY_SECONDS = 1
# Lambda retries a stream batch until the record expires; the template caps it (infra/
# functions.yaml: MaximumRetryAttempts 10, after the first attempt), and so do we.
STREAM_MAX_ATTEMPTS = 1 + 10
_IDLE = 0.2


def _log_failure(name: str, error: Exception, then: str) -> None:
    if isinstance(error, InjectedCrash):
        # A fault on purpose: its traceback would only hide the real ones.
        log.warning("%s: %s", name, error)
    else:
        log.exception("%s raised: %s", name, then)


@dataclass
class Stats:
    """What the pump did, for tests and the log."""

    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    runs: dict[str, int] = field(default_factory=dict)


class EventPump:
    """A sandbox component: one thread per event source of the app."""

    name = "pump"

    def __init__(
        self,
        app: Chalice,
        handlers: dict[str, Handler],
        session: Any,
        region: str,
        *,
        schedule_period: float | None = None,
        wait_seconds: int = 1,
    ) -> None:
        self._app = app
        self._handlers = handlers
        self._sqs = session.client("sqs")
        # Account-based endpoints (123456789012.streams-ddb...) are unknown to moto's mock.
        self._streams = session.client(
            "dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")
        )
        self._region = region
        self._schedule_period = schedule_period
        self._wait = wait_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.stats = Stats()

    def start(self) -> None:
        for config in self._app.event_sources:
            target: Callable[[], None] | None = None
            if isinstance(config, SQSEventConfig):
                target = self._sqs_loop_for(config)
            elif isinstance(config, DynamoDBEventConfig):
                target = self._stream_loop_for(config)
            elif isinstance(config, ScheduledEventConfig):
                target = self._schedule_loop_for(config)
            if target is None:
                log.warning("the sandbox cannot feed %s events yet", type(config).__name__)
                continue
            thread = threading.Thread(
                target=self._guarded(config.name, target), name=f"pump-{config.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self._wait + 5)
        self._threads.clear()

    def fire(self, name: str) -> Any:
        """Run one scheduled handler now, as EventBridge would."""
        return self._invoke(name, scheduled_event(name, self._region))

    # -- plumbing ---------------------------------------------------------------------------

    def _guarded(self, name: str, loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    loop()
                    return
                except Exception:
                    # A broken source must not die silently: log, pause, and read it again.
                    log.exception("event source %s failed; retrying", name)
                    self._stop.wait(RETRY_DELAY_SECONDS)

        return run

    def _invoke(self, name: str, event: dict[str, Any]) -> Any:
        handler = self._handlers[name]
        context = LambdaContext(function_name=name, memory_size=512, max_runtime_ms=60_000)
        with self._lock:
            self.stats.runs[name] = self.stats.runs.get(name, 0) + 1
        with logs.handling(name):
            return handler(event, context)

    def _count(self, delivered: int = 0, failed: int = 0, dropped: int = 0) -> None:
        with self._lock:
            self.stats.delivered += delivered
            self.stats.failed += failed
            self.stats.dropped += dropped

    # -- SQS --------------------------------------------------------------------------------

    def _sqs_loop_for(self, config: SQSEventConfig) -> Callable[[], None]:
        def loop() -> None:
            queue = config.queue or str(config.queue_arn).rsplit(":", 1)[-1]
            url = self._sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            while not self._stop.is_set():
                self._sqs_batch(config, url, arn)

        return loop

    def _sqs_batch(self, config: SQSEventConfig, url: str, arn: str) -> None:
        # moto moves a message to the dead-letter queue here once its receive count is spent.
        messages = self._sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(config.batch_size, 10),
            WaitTimeSeconds=self._wait,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if messages:
            self._settle(url, messages, self._sqs_failures(config, arn, messages))

    def _sqs_failures(
        self, config: SQSEventConfig, arn: str, messages: list[dict[str, Any]]
    ) -> set[str]:
        """The ids of the messages to deliver again."""
        try:
            result = self._invoke(config.name, sqs_event(messages, arn, self._region))
        except Exception as e:
            _log_failure(config.name, e, "the whole batch will be retried")
            return {m["MessageId"] for m in messages}
        # Reporting nothing means the whole batch succeeded.
        return failed_ids(result) or set()

    def _settle(self, url: str, messages: list[dict[str, Any]], failed: set[str]) -> None:
        """Delete what was done; make what failed visible again soon."""
        done = [m for m in messages if m["MessageId"] not in failed]
        retry = [m for m in messages if m["MessageId"] in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        for m in retry:
            # Sooner than the queue's visibility timeout: the sandbox should feel quick.
            self._sqs.change_message_visibility(
                QueueUrl=url,
                ReceiptHandle=m["ReceiptHandle"],
                VisibilityTimeout=RETRY_DELAY_SECONDS,
            )
        self._count(delivered=len(done), failed=len(retry))

    # -- DynamoDB streams -------------------------------------------------------------------

    def _stream_loop_for(self, config: DynamoDBEventConfig) -> Callable[[], None]:
        def loop() -> None:
            iterators: dict[str, str | None] = {}
            while not self._stop.is_set():
                shards = self._streams.describe_stream(StreamArn=config.stream_arn)[
                    "StreamDescription"
                ]["Shards"]
                for shard in shards:
                    if shard["ShardId"] not in iterators:
                        iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                            StreamArn=config.stream_arn,
                            ShardId=shard["ShardId"],
                            ShardIteratorType="TRIM_HORIZON",
                        )["ShardIterator"]
                busy = False
                for shard_id, iterator in list(iterators.items()):
                    if iterator is None:
                        continue
                    iterators[shard_id], got = self._stream_batch(config, shard_id, iterator)
                    busy = busy or got
                if not busy:
                    self._stop.wait(_IDLE)

        return loop

    def _stream_batch(
        self, config: DynamoDBEventConfig, shard_id: str, iterator: str
    ) -> tuple[str | None, bool]:
        page = self._streams.get_records(ShardIterator=iterator, Limit=config.batch_size)
        records: list[dict[str, Any]] = page.get("Records", [])
        next_iterator: str | None = page.get("NextShardIterator")
        attempts = 0
        while records and not self._stop.is_set():
            attempts += 1
            try:
                result = self._invoke(config.name, stream_event(records, config.stream_arn))
                failed = failed_ids(result)
            except Exception as e:
                _log_failure(config.name, e, "the batch will be retried")
                failed = {records[0]["dynamodb"]["SequenceNumber"]}
            if not failed:
                self._count(delivered=len(records))
                break
            # As Lambda does: everything before the first failure is done; retry from there.
            first = min(
                i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] in failed
            )
            self._count(delivered=first)
            records = records[first:]
            if attempts >= STREAM_MAX_ATTEMPTS:
                log.error(
                    "%s: record %s failed %d times; dropped (an on-failure destination in AWS)",
                    config.name,
                    records[0]["dynamodb"]["SequenceNumber"],
                    attempts,
                )
                self._count(dropped=1)
                records = records[1:]
                attempts = 0
                continue
            self._count(failed=1)
            self._stop.wait(RETRY_DELAY_SECONDS)
        return next_iterator, bool(page.get("Records"))

    # -- schedules --------------------------------------------------------------------------

    def _schedule_loop_for(self, config: ScheduledEventConfig) -> Callable[[], None]:
        period = self._schedule_period or schedule_seconds(config.schedule_expression)

        def loop() -> None:
            next_run = time.monotonic() + period
            while not self._stop.wait(max(0.0, next_run - time.monotonic())):
                try:
                    self.fire(config.name)
                except Exception:
                    log.exception("scheduled handler %s failed", config.name)
                next_run += period

        return loop
