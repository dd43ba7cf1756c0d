"""Domain errors raised by services; the API layer maps them to HTTP statuses in one table."""

from typing import Any


class DomainError(Exception):
    """Base class: the message is safe to show to a client developer."""


class ValidationError(DomainError):
    """The input is malformed, of the wrong type, or outside the limits."""


class NotFound(DomainError):
    """The item does not exist or belongs to someone else."""


class Conflict(DomainError):
    """The request conflicts with the current state (taken slug, reused idempotency key)."""


class PreconditionFailed(DomainError):
    """An If-Match version is stale, or the item already exists (If-None-Match: *).

    `current` is the item as it is now (or its tombstone), so a client resolves the conflict
    without another request; the API sends it as `Current` in the error envelope.
    """

    def __init__(self, message: str, current: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.current = current


class PreconditionRequired(DomainError):
    """A write that must be conditional came without If-Match or If-None-Match."""


class Gone(DomainError):
    """What the client holds (a sync token) is older than what the server still keeps."""


class PayloadTooLarge(DomainError):
    """The request body is over the limit."""


class UnsupportedMediaType(DomainError):
    """The request body is not in a content type the route accepts."""


class Unauthorized(DomainError):
    """No identity, or an identity that cannot be trusted."""


class Forbidden(DomainError):
    """The caller is known but not allowed to do this."""


class Throttled(DomainError):
    """Storage is throttling us even after retries; the client should back off and retry."""


class UpgradeRequired(DomainError):
    """The client is older than the oldest version the stage serves; `minimum` is that one."""

    def __init__(self, message: str, minimum: str) -> None:
        super().__init__(message)
        self.minimum = minimum


class Unavailable(DomainError):
    """A service we need failed (a 5xx, a timeout) even after retries; retry after a pause."""
