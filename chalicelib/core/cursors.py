"""Opaque pagination cursors: signed, and bound to the caller and the listing they were made for."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

from chalicelib.core.errors import ValidationError
from chalicelib.core.validation import total

# Far longer than any cursor we make (a signed key of a few short strings).
MAX_CURSOR = 2048


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Encodes a DynamoDB key (string attributes only) with an HMAC over key and scope."""

    def __init__(
        self,
        secret: bytes | Callable[[], bytes],
        *,
        noun: str = "cursor",
        source: str = "the next_cursor of the previous page",
    ) -> None:
        # A callable is asked on first use: services built where no cursor is ever made (the
        # thumbnail worker) never read the secret.
        self._secret = secret
        self._invalid = f"{noun} is invalid: pass back {source} unchanged"
        self._foreign = f"{noun} was made for another listing or another user"

    def _sign(self, payload: bytes) -> bytes:
        if callable(self._secret):
            self._secret = self._secret()
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:16]

    def encode(self, key: dict[str, str], scope: str) -> str:
        payload = json.dumps({"k": key, "s": scope}, separators=(",", ":"), sort_keys=True)
        raw = payload.encode()
        return f"{_b64(raw)}.{_b64(self._sign(raw))}"

    @total
    def decode(self, cursor: str, scope: str) -> dict[str, str]:
        if not cursor or len(cursor) > MAX_CURSOR:
            raise ValidationError(self._invalid)
        try:
            body, sig = cursor.split(".")
            raw = _unb64(body)
            given = _unb64(sig)
        except (ValueError, binascii.Error) as e:
            raise ValidationError(self._invalid) from e
        if not hmac.compare_digest(given, self._sign(raw)):
            raise ValidationError(self._invalid)
        data: Any = json.loads(raw)
        if data.get("s") != scope:
            raise ValidationError(self._foreign)
        key = data.get("k")
        if not isinstance(key, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in key.items()
        ):
            raise ValidationError(self._invalid)
        return key
