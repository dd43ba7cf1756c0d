"""AWS clients built with botocore on first use and cached (boto3 is never imported), each
bounded by the function's call budget, their credentials looked up on their first request; and
the cursor secret, read once per container. `forget_secrets` and `close_connections` are what a
container restored from a SnapStart snapshot runs before its first request."""

from __future__ import annotations

import threading
import weakref
from typing import Any

from botocore.config import Config
from botocore.session import get_session

from chalicelib.core import service
from chalicelib.core.config import call_budget, check_secret, settings
from chalicelib.store.credentials import defer

# botocore sessions are not thread-safe: clients are built from the one session under this lock
# (Lambda runs one thread; the sandbox serves requests on several).
_LOCK = threading.RLock()
# Every client built (ours and PynamoDB's), to close their pooled connections after a restore.
_BUILT: weakref.WeakSet[Any] = weakref.WeakSet()


@service
def session() -> Any:
    """The process's one botocore session, for every client and every PynamoDB connection: each
    new session would load credentials, endpoints and service data again."""
    built = get_session()
    defer(built)
    return built


def client(service: str, endpoint_url: str | None = None) -> Any:
    """A client of the service; `endpoint_url` names one for services that have no regional
    endpoint of their own (the WebSocket API's @connections)."""
    with _LOCK:
        return _client(service, endpoint_url)


def bind(connection: Any) -> None:
    """Give a PynamoDB connection the shared session (PynamoDB keeps one per thread and offers
    no way to pass one in) and build its client now, under the lock."""
    local = connection._local  # noqa: SLF001
    if getattr(local, "session", None) is None:
        with _LOCK:
            local.session = session()
            _BUILT.add(connection.client)  # built here, not later outside the lock


@service
def _client(service: str, endpoint_url: str | None) -> Any:
    # botocore reads AWS_ENDPOINT_URL itself, which is how the sandbox points us at moto.
    extra = {"s3": {"addressing_style": "path"}} if service == "s3" else {}
    budget = call_budget()
    config = Config(
        signature_version="s3v4" if service == "s3" else None,
        connect_timeout=budget.connect_timeout,
        read_timeout=budget.read_timeout,
        retries={"mode": "standard", "total_max_attempts": budget.max_attempts},
        **extra,  # type: ignore[arg-type]
    )
    built = session().create_client(
        service, region_name=settings().region, config=config, endpoint_url=endpoint_url
    )
    _BUILT.add(built)
    return built


@service
def cursor_secret() -> bytes:
    """The key that signs pagination cursors: the value itself on local and test stages, else
    read from Secrets Manager on first use (only the API function is given its ARN)."""
    config = settings()
    if config.cursor_secret:
        return check_secret("CURSOR_SECRET", config.cursor_secret)
    if not config.cursor_secret_arn:
        raise RuntimeError("set CURSOR_SECRET_ARN (deployed stages) or CURSOR_SECRET (local)")
    answer = client("secretsmanager").get_secret_value(SecretId=config.cursor_secret_arn)
    return check_secret("the secret at CURSOR_SECRET_ARN", answer["SecretString"])


def forget_secrets() -> None:
    """Forget the cursor key and the AWS credentials: both are looked up again when needed."""
    cursor_secret.cache_clear()
    with _LOCK:
        session().get_credentials().forget()


def close_connections() -> None:
    """Close every built client's pooled connections (they reopen on the next request): a
    snapshot's sockets are not this container's."""
    with _LOCK:
        for built in list(_BUILT):
            built.close()
