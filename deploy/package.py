"""`chalice package` with the merge template: one stack per stage, in build/<stage>/."""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from chalicelib.core.config import TEMPLATE_FILLS_PLACEHOLDERS
from deploy import ROOT, snapstart
from deploy.template import Template, merge_template, write_json

CHALICE_CONFIG = ROOT / ".chalice" / "config.json"
BUILD = ROOT / "build"
TEMPLATE_FILE = "sam.json"
ZIP_FILE = "deployment.zip"
MERGE_FILE = "merge.json"
# Chalice's own template, before the merge: what the merge template is computed from.
CHALICE_FILE = "chalice.json"
# What the python3.12 Lambda runtime already has, with its bytecode: shipped again in the zip,
# they would shadow it, double its size and be compiled on every cold start.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


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

    def chalice_template(self) -> Template:
        data: Template = json.loads((self.directory / CHALICE_FILE).read_text())
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
    # The merge template gives every placeholder its resource: app.py may be imported with them.
    env[TEMPLATE_FILLS_PLACEHOLDERS] = "1"
    print("+ chalice", " ".join(command[1:]), file=sys.stderr)
    subprocess.run(command, check=True, env=env)  # noqa: S603 - our own venv's chalice


def package(stage: str, out_dir: Path | None = None, project_dir: Path = ROOT) -> Package:
    """Package twice: once plain, to learn the functions and routes Chalice generates, then
    with the merge template computed from them."""
    directory = out_dir or BUILD / stage
    directory.mkdir(parents=True, exist_ok=True)
    for stale in (TEMPLATE_FILE, ZIP_FILE, MERGE_FILE, CHALICE_FILE):
        (directory / stale).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="chalice-plain-") as plain:
        _chalice("--stage", stage, plain, project_dir=project_dir)
        chalice_template = json.loads((Path(plain) / TEMPLATE_FILE).read_text())
    write_json(chalice_template, directory / CHALICE_FILE)
    config_file = project_dir / ".chalice" / "config.json"
    env = stage_environment(stage, config_file)
    merge = merge_template(stage, chalice_template, env)
    if snapstart.enabled(stage, config_file):
        merge = snapstart.apply(merge, chalice_template)
        functions = ", ".join(snapstart.snapstart_functions(chalice_template))
        print(
            f"{stage}: SnapStart on {functions}, called through their alias "
            f"{snapstart.ALIAS!r}; the warmer is off (its schedule is DISABLED, "
            f"WARM_CONCURRENCY={env.get('WARM_CONCURRENCY', '0')} is not used)",
            file=sys.stderr,
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
    slim_and_precompile(directory / ZIP_FILE)
    return Package(stage=stage, directory=directory)


def _runtime_provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    return any(
        top == p or top.startswith((f"{p}-", f"{p}.", f"python_{p}-")) for p in RUNTIME_PROVIDED
    )


def slim_and_precompile(zip_path: Path) -> None:
    """Drop what the runtime provides and add bytecode for every module left.

    Lambda's code directory is read-only, so Python cannot cache bytecode there: without .pyc
    files in the zip every cold start compiles every module it imports. Unchecked-hash .pyc
    files never go stale against zip timestamps (the package is immutable anyway).
    """
    if sys.version_info[:2] != (3, 12):
        raise RuntimeError("package with Python 3.12: the bytecode must match the runtime")
    with tempfile.TemporaryDirectory(prefix="package-") as scratch:
        root = Path(scratch)
        with zipfile.ZipFile(zip_path) as source:
            kept = [i for i in source.infolist() if not _runtime_provided(i.filename)]
            for info in kept:
                source.extract(info, root)
        tag = sys.implementation.cache_tag
        for path in sorted(root.rglob("*.py")):
            target = Path(importlib.util.cache_from_source(str(path)))
            if tag in target.name:
                py_compile.compile(
                    str(path),
                    cfile=str(target),
                    dfile=str(path.relative_to(root)),
                    doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                )
        rebuilt = zip_path.with_suffix(".tmp")
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as target_zip:
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                name = path.relative_to(root).as_posix()
                info = zipfile.ZipInfo.from_file(path, name)
                # Keep the executable bits chalice set; Lambda needs read access for all.
                info.external_attr = (path.stat().st_mode | 0o444) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with path.open("rb") as data:
                    target_zip.writestr(info, data.read())
        shutil.move(rebuilt, zip_path)
