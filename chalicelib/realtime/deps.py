"""The real-time services, each imported and built on first use, then reused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.core import service

if TYPE_CHECKING:
    from chalicelib.realtime.connections import ConnectionService
    from chalicelib.realtime.pokes import PokeService
    from chalicelib.web.tokens import TokenVerifier


@service
def verifier() -> TokenVerifier:
    """The pool's token checks; PyJWT is imported here, on the connect path only."""
    from chalicelib.core.config import call_budget, settings  # noqa: PLC0415
    from chalicelib.web.tokens import TokenVerifier  # noqa: PLC0415 - keeps cold start lean

    config = settings()
    return TokenVerifier.for_pool(
        config.user_pool_arn,
        config.user_pool_client_id,
        jwks_url=config.user_pool_jwks_url,
        timeout=call_budget().read_timeout,
    )


@service
def connections() -> ConnectionService:
    from chalicelib.realtime.connections import ConnectionService  # noqa: PLC0415

    # Looked up on each connect, so that a test may replace the verifier.
    return ConnectionService(verifier)


@service
def pokes() -> PokeService:
    from chalicelib.realtime.pokes import PokeService  # noqa: PLC0415 - keeps cold start lean

    return PokeService(connections())
