"""Settings read from the environment on first use and cached for the container's life."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Final

DEFAULT_REGION = "us-east-1"
# How the warmer reaches the API function: lambda:Invoke, or a call in this process (the
# sandbox, which serves the API in the same process; moto cannot run Lambda functions).
WARM_INVOKERS = ("lambda", "in-process")
LOG_LEVELS = ("INFO", "DEBUG", "WARNING", "ERROR")
# Above a sign-up's own work (~20 ms in AWS, under 100 ms in a busy sandbox): see Settings.
SIGN_UP_FLOOR_MS = 250
# Where metrics go: stdout in embedded metric format (Lambda), or a DEBUG log line (the sandbox,
# whose output a developer reads).
METRICS_OUTPUTS = ("stdout", "log")
# What .chalice/config.json holds until `make resources` writes the stage's real values.
PLACEHOLDER = "set-by-make-resources"
# Set by `make package`: the merged template replaces the stage's placeholders.
TEMPLATE_FILLS_PLACEHOLDERS = "MYTODOLIST_TEMPLATE_FILLS_PLACEHOLDERS"


# Plain classes with slots: app.py imports this module, and building a NamedTuple class costs
# every cold start a fraction of a millisecond per class (a dataclass several milliseconds: it
# imports inspect). Settings are read once per container, by settings() alone.
class Settings:
    """The stage's settings (table names are not here: PynamoDB models read theirs when their
    classes are built)."""

    stage: str
    region: str
    log_level: str
    media_bucket: str
    # The cursor key itself (local and test stages), or the Secrets Manager secret holding it
    # (deployed stages, the API function only); chalicelib.store.aws.cursor_secret reads it.
    cursor_secret: str
    cursor_secret_arn: str
    post_mails_queue_name: str
    mail_sender: str
    site_url: str
    # The API's public base URL: mails point their one-click unsubscribe header at it.
    api_url: str
    api_function_name: str
    warm_concurrency: int
    warm_invoker: str
    metrics_output: str
    # The WebSocket connect checks tokens itself (API Gateway's authorizer cannot read a query
    # string): the pool by its ARN, the app client, and the pool's JWKS when not at the issuer's
    # well-known address (the sandbox's moto).
    user_pool_arn: str
    user_pool_client_id: str
    user_pool_jwks_url: str
    # Where frames to WebSocket connections are posted, when not at the API's execute-api address
    # (the sandbox; a custom domain); chalicelib/realtime/gateway.py.
    websocket_management_url: str
    # The oldest X-Client-Version served (a release such as 2.4.0), or "" to serve every one.
    min_client_version: str
    # A sign-up answers no sooner than this (chalicelib/blog/subscribers/service.py); 0: no floor.
    sign_up_floor_ms: int
    __slots__ = tuple(__annotations__)

    def __init__(self, **values: str | int) -> None:
        missing = set(self.__slots__) - set(values)
        if missing:
            raise TypeError(f"Settings without {', '.join(sorted(missing))}")
        for name, value in values.items():
            setattr(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, name):
            raise AttributeError(f"Settings are read once: {name} cannot change")
        super().__setattr__(name, value)


class CallBudget:
    """How long one AWS call may take: per attempt, and how many attempts (the first included)."""

    __slots__ = ("connect_timeout", "max_attempts", "read_timeout")

    def __init__(self, *, connect_timeout: float, read_timeout: float, max_attempts: int) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_attempts = max_attempts

    def __repr__(self) -> str:
        return (
            f"CallBudget(connect_timeout={self.connect_timeout}, "
            f"read_timeout={self.read_timeout}, max_attempts={self.max_attempts})"
        )


# Per function (by handler name), so that one call, its retries and botocore's backoff between
# them fit inside the function's timeout in .chalice/config.json (tests/test_call_budgets.py
# proves it). The API's is tight: a client would rather get a 429 it can retry than a timeout.
CALL_BUDGETS: Final[Mapping[str, CallBudget]] = {
    "api_handler": CallBudget(connect_timeout=0.5, read_timeout=1.0, max_attempts=2),
    "make_thumbnails": CallBudget(connect_timeout=1, read_timeout=4, max_attempts=3),
    "send_welcome_mails": CallBudget(connect_timeout=1, read_timeout=5, max_attempts=3),
    "announce_posts": CallBudget(connect_timeout=1, read_timeout=5, max_attempts=3),
    "send_post_mails": CallBudget(connect_timeout=1, read_timeout=5, max_attempts=3),
    # A poke is worth little once late: short attempts, and a retried batch rather than a wait.
    "poke_devices": CallBudget(connect_timeout=0.5, read_timeout=2, max_attempts=2),
    # API Gateway waits for the WebSocket handlers; the connect path also fetches the pool's
    # keys once per container (PyJWKClient, bounded by read_timeout).
    "websocket_connect": CallBudget(connect_timeout=0.5, read_timeout=2, max_attempts=2),
    "websocket_message": CallBudget(connect_timeout=0.5, read_timeout=2, max_attempts=2),
    "websocket_disconnect": CallBudget(connect_timeout=0.5, read_timeout=2, max_attempts=2),
    # A cold API container answers a warm-up after loading its services: a second or two.
    "warm_api": CallBudget(connect_timeout=1, read_timeout=5, max_attempts=2),
}
# Outside Lambda (the sandbox, tests, scripts): moto on a busy machine can be slow.
LOCAL_CALL_BUDGET: Final = CallBudget(connect_timeout=2, read_timeout=10, max_attempts=3)


def aws_region(environ: Mapping[str, str] | None = None) -> str:
    """The region: Lambda sets AWS_REGION; botocore alone reads only AWS_DEFAULT_REGION."""
    environ = os.environ if environ is None else environ
    return environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def import_time_value(name: str, default: str) -> str:
    """A decorator argument (read when app.py is imported, as `chalice deploy` does): refuses a
    placeholder, so that a stage whose resources do not exist yet is never deployed."""
    value = os.environ.get(name, default)
    if PLACEHOLDER in value and not os.environ.get(TEMPLATE_FILLS_PLACEHOLDERS):
        raise RuntimeError(
            f"{name} is still {value!r}: this stage's resources do not exist yet. Run "
            "`make resources STAGE=<stage>` first (it writes their names into "
            ".chalice/config.json), or deploy with `make deploy STAGE=<stage>`"
        )
    return value


def check_secret(name: str, value: str) -> bytes:
    if len(value) < 32:
        # Refuses a placeholder: a guessable key would make cursors forgeable.
        raise RuntimeError(f"{name} must be at least 32 characters of random text")
    return value.encode()


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def _choice(name: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name) or choices[0]
    if value not in choices:
        raise RuntimeError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _count(name: str, default: int = 0) -> int:
    value = os.environ.get(name) or str(default)
    if not value.isdigit():
        raise RuntimeError(f"{name} must be a whole number, not {value!r}")
    return int(value)


@lru_cache(maxsize=1)
def settings() -> Settings:
    from chalicelib.core import versions  # noqa: PLC0415 - read once, not at `import app`

    return Settings(
        stage=_required("APP_STAGE"),
        region=aws_region(),
        log_level=_choice("LOG_LEVEL", LOG_LEVELS),
        media_bucket=_required("MEDIA_BUCKET_NAME"),
        cursor_secret=os.environ.get("CURSOR_SECRET", ""),
        cursor_secret_arn=os.environ.get("CURSOR_SECRET_ARN", ""),
        post_mails_queue_name=_required("POST_MAILS_QUEUE_NAME"),
        mail_sender=_required("MAIL_SENDER"),
        # Mail links are built by appending paths: a trailing slash would double them.
        site_url=_required("SITE_URL").rstrip("/"),
        # Only the mail functions need it; the others run without it.
        api_url=os.environ.get("API_URL", "").rstrip("/"),
        api_function_name=os.environ.get("API_FUNCTION_NAME", "mytodolist-dev"),
        warm_concurrency=_count("WARM_CONCURRENCY"),
        warm_invoker=_choice("WARM_INVOKER", WARM_INVOKERS),
        metrics_output=_choice("METRICS_OUTPUT", METRICS_OUTPUTS),
        user_pool_arn=os.environ.get("USER_POOL_ARN", ""),
        user_pool_client_id=os.environ.get("USER_POOL_CLIENT_ID", ""),
        user_pool_jwks_url=os.environ.get("USER_POOL_JWKS_URL", ""),
        websocket_management_url=os.environ.get("WEBSOCKET_MANAGEMENT_URL", "").rstrip("/"),
        min_client_version=versions.parse_minimum(os.environ.get("MIN_CLIENT_VERSION", "")),
        sign_up_floor_ms=_count("SIGN_UP_FLOOR_MS", SIGN_UP_FLOOR_MS),
    )


def function_handler(environ: Mapping[str, str] | None = None) -> str | None:
    """Which of the app's functions this is, from the name Lambda gives it (`chalice deploy` and
    `make package` both name them <app>-<stage>[-<handler>]); None outside Lambda."""
    name = (os.environ if environ is None else environ).get("AWS_LAMBDA_FUNCTION_NAME")
    if not name:
        return None
    suffix = name.rsplit("-", 1)[-1]
    return suffix if suffix in CALL_BUDGETS else "api_handler"


def call_budget() -> CallBudget:
    """Read apart from settings(): the models need it when their classes are built."""
    handler = function_handler()
    return LOCAL_CALL_BUDGET if handler is None else CALL_BUDGETS[handler]


def reset() -> None:
    """Forget cached settings (tests and the sandbox change the environment)."""
    settings.cache_clear()
