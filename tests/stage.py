"""The test stage's environment: .chalice/config.json's `test` variables and fake AWS keys."""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


def stage_environment(endpoint: str | None = None, key: str = "testing") -> dict[str, str]:
    """The test stage's variables with fake credentials, and moto's endpoint if one is given."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env: dict[str, str] = dict(config["stages"]["test"]["environment_variables"])
    env.update(
        {
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": key,
            "AWS_SESSION_TOKEN": key,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
    )
    if endpoint is not None:
        env["AWS_ENDPOINT_URL"] = endpoint
        # Nothing may ask an instance-metadata service for other credentials.
        env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def use_stage_environment(
    endpoint: str | None = None,
    key: str = "testing",
    environ: MutableMapping[str, str] = os.environ,
) -> None:
    """Put the test stage into `environ`, first dropping every AWS_ variable (a profile, another
    endpoint) that could take a call somewhere else."""
    for name in [n for n in environ if n.startswith("AWS_")]:
        del environ[name]
    environ.update(stage_environment(endpoint, key))
