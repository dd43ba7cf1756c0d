"""The `chalice deploy` path: a stage's environment in .chalice/config.json from stack outputs."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from deploy.package import CHALICE_CONFIG
from deploy.template import API_OUTPUT_FOR_VARIABLE, OUTPUT_FOR_VARIABLE

# Chalice's name for the API function in config.json's lambda_functions.
API_HANDLER = "api_handler"


class MissingOutput(Exception):
    """The stack has no output the app needs: an old stack, or the wrong one."""


def environment_from_outputs(outputs: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Every variable the resources stack provides: the stage's, and the API function's own
    (the cursor secret's ARN, never its value)."""
    wanted = {**OUTPUT_FOR_VARIABLE, **API_OUTPUT_FOR_VARIABLE}
    missing = sorted(output for output in wanted.values() if output not in outputs)
    if missing:
        raise MissingOutput(f"the stack has no outputs {', '.join(missing)}")
    return {
        "": {name: outputs[output] for name, output in OUTPUT_FOR_VARIABLE.items()},
        API_HANDLER: {name: outputs[output] for name, output in API_OUTPUT_FOR_VARIABLE.items()},
    }


def rewrite_stage_environment(
    stage: str, values: Mapping[str, Mapping[str, str]], config_file: Path = CHALICE_CONFIG
) -> list[str]:
    """Set the stage's variables ("") and its functions' own ones to these values, leave every
    other key and stage alone, and keep the file's layout (two-space JSON). Returns the names
    whose value changed."""
    config = json.loads(config_file.read_text())
    stages = config.get("stages", {})
    if stage not in stages:
        raise KeyError(f"no stage {stage!r} in {config_file}")
    changed: list[str] = []
    for function, variables in values.items():
        scope = stages[stage]
        if function:
            scope = scope.setdefault("lambda_functions", {}).setdefault(function, {})
        env = scope.setdefault("environment_variables", {})
        changed += [name for name, value in variables.items() if env.get(name) != value]
        env.update(variables)
    text = json.dumps(config, indent=2, ensure_ascii=False) + "\n"
    # Written whole or not at all: a half-written config.json breaks every chalice command.
    fd, tmp = tempfile.mkstemp(dir=config_file.parent, prefix=".config-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    Path(tmp).chmod(config_file.stat().st_mode & 0o777)
    Path(tmp).replace(config_file)
    return sorted(changed)
