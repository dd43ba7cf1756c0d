"""`chalice package` with the merge template: one stack per stage, in build/<stage>/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from deploy import ROOT
from deploy.template import Template, merge_template, write_json

CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
BUILD = ROOT / "build"
TEMPLATE_FILE = "sam.json"
ZIP_FILE = "deployment.zip"
MERGE_FILE = "merge.json"


@dataclass(frozen=True)
class Package:
    stage: str
    directory: Path

    @property
    def template_path(self) -> Path:
        return self.directory / TEMPLATE_FILE

    @property
    def zip_path(self) -> Path:
        return self.directory / ZIP_FILE

    def template(self) -> Template:
        data: Template = json.loads(self.template_path.read_text())
        return data


def stage_environment(stage: str, config_file: Path = CHALICE_CONFIG) -> dict[str, str]:
    """The stage's environment variables as Chalice applies them: top level, then the stage."""
    config = json.loads(config_file.read_text())
    if stage not in config.get("stages", {}):
        raise SystemExit(f"no stage {stage!r} in {config_file}")
    env: dict[str, str] = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


def _chalice(*args: str, project_dir: Path) -> None:
    chalice = Path(sys.executable).with_name("chalice")
    command = [str(chalice), "--project-dir", str(project_dir), "package", *args]
    # Packaging talks to no AWS service, but botocore wants a region to build its session.
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    print("+ chalice", " ".join(command[1:]), file=sys.stderr)
    subprocess.run(command, check=True, env=env)  # noqa: S603 - our own venv's chalice


def package(stage: str, out_dir: Path | None = None, project_dir: Path = ROOT) -> Package:
    """Package twice: once plain, to learn the functions and routes Chalice generates, then
    with the merge template computed from them."""
    directory = out_dir or BUILD / stage
    directory.mkdir(parents=True, exist_ok=True)
    for stale in (TEMPLATE_FILE, ZIP_FILE, MERGE_FILE):
        (directory / stale).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="chalice-plain-") as plain:
        _chalice("--stage", stage, plain, project_dir=project_dir)
        chalice_template = json.loads((Path(plain) / TEMPLATE_FILE).read_text())
    merge = merge_template(
        stage, chalice_template, stage_environment(stage, project_dir / ".chalice/config.json")
    )
    merge_path = write_json(merge, directory / MERGE_FILE)
    _chalice(
        "--stage",
        stage,
        "--merge-template",
        str(merge_path),
        str(directory),
        project_dir=project_dir,
    )
    return Package(stage=stage, directory=directory)
