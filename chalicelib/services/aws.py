"""AWS clients built with botocore on first use and cached (boto3 is never imported)."""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.config import Config
from botocore.session import get_session

from chalicelib.config import settings


@cache
def client(service: str) -> Any:
    # botocore reads AWS_ENDPOINT_URL itself, which is how the sandbox points us at moto.
    extra = {"s3": {"addressing_style": "path"}} if service == "s3" else {}
    config = Config(
        signature_version="s3v4" if service == "s3" else None,
        retries={"mode": "standard", "max_attempts": 3},
        **extra,  # type: ignore[arg-type]
    )
    return get_session().create_client(service, region_name=settings().region, config=config)


def reset() -> None:
    client.cache_clear()
