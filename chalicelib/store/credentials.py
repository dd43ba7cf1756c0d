"""AWS credentials looked up on a client's first signed request, not when the client is built.

botocore resolves credentials in `create_client`. Under Lambda SnapStart the clients are built
before the snapshot (chalicelib/snapstart.py), and credentials read then would sit in every
restored container, to expire there; so the session's credential provider answers with this
stand-in, which asks botocore's own provider chain on first use and forgets what it found when
told to (after a restore).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from botocore.credentials import create_credential_resolver
from botocore.exceptions import NoCredentialsError


class DeferredCredentials:
    """What botocore's signer asks of credentials (`get_frozen_credentials`, the account id
    for endpoint rules), answered by the credentials the default chain finds on first use."""

    # botocore records how credentials were found; "explicit" would claim keys in code.
    method = "deferred"

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load
        self._found: Any = None
        self._lock = threading.Lock()

    def _credentials(self) -> Any:
        with self._lock:
            if self._found is None:
                found = self._load()
                if found is None:
                    raise NoCredentialsError()
                self._found = found
            return self._found

    @property
    def resolved(self) -> bool:
        return self._found is not None

    def get_frozen_credentials(self) -> Any:
        return self._credentials().get_frozen_credentials()

    def get_deferred_property(self, name: str) -> Callable[[], Any]:
        return lambda: getattr(self._credentials(), name, None)

    @property
    def access_key(self) -> str:
        return str(self._credentials().access_key)

    @property
    def secret_key(self) -> str:
        return str(self._credentials().secret_key)

    @property
    def token(self) -> str | None:
        token = self._credentials().token
        return None if token is None else str(token)

    def forget(self) -> None:
        """Look them up again on the next request (a restored container has its own)."""
        with self._lock:
            self._found = None


class DeferringResolver:
    """The session's `credential_provider` component: hands out one DeferredCredentials that
    consults botocore's default provider chain (environment, container, config files...)."""

    def __init__(self, session: Any) -> None:
        self.credentials = DeferredCredentials(
            lambda: create_credential_resolver(session).load_credentials()
        )

    def load_credentials(self) -> DeferredCredentials:
        return self.credentials


def defer(session: Any) -> DeferredCredentials:
    """Make the session's clients look their credentials up on first use; returns the handle."""
    resolver = DeferringResolver(session)
    session.register_component("credential_provider", resolver)
    return resolver.credentials
