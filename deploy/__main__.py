"""`python -m deploy {package,deploy,resources,site,event-sources,lint} --stage STAGE`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import boto3
from botocore.exceptions import NoCredentialsError

from deploy import APP_NAME, ROOT, checks, snapstart
from deploy.chalice_config import (
    MissingOutput,
    environment_from_outputs,
    rewrite_stage_environment,
)
from deploy.functions import FunctionError, prewarm, tune_event_sources, tune_logging
from deploy.package import BUILD, CHALICE_CONFIG, Package, package, stage_environment
from deploy.site import invalidate, upload_site
from deploy.stacks import (
    DeployError,
    artifact_bucket_name,
    deploy_stack,
    ensure_bucket,
    needs_bucket,
    outputs,
    stack_status,
    upload_code,
)
from deploy.template import FUNCTIONS, RESOURCES, load_yaml, resources_template, write_json


def packaged_stack(stage: str) -> str:
    return f"{APP_NAME}-{stage}"


def resources_stack(stage: str) -> str:
    return f"{APP_NAME}-{stage}-resources"


def _parameters(pairs: Sequence[str], mail_sender: str | None) -> dict[str, str]:
    given: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--parameter wants KEY=VALUE, not {pair!r}")
        given[key] = value
    if mail_sender:
        given["MailSender"] = mail_sender
    return given


def _session(region: str | None) -> boto3.Session:
    # The Lambda-style AWS_REGION too: boto3 itself only reads AWS_DEFAULT_REGION.
    region = region or os.environ.get("AWS_REGION")
    session = boto3.Session(region_name=region) if region else boto3.Session()
    if not session.region_name:
        raise SystemExit("no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION")
    return session


def _require_sender(session: boto3.Session, stack: str, given: dict[str, str], stage: str) -> None:
    if "MailSender" not in given and stack_status(session.client("cloudformation"), stack) is None:
        raise SystemExit(
            f"the first deploy of {stage} needs the blog's sender address: MAIL_SENDER=... "
            "(SES sends it a verification mail)"
        )


def cmd_package(args: argparse.Namespace) -> int:
    built = package(args.stage)
    return _check(built)


def _check(built: Package) -> int:
    zipped, unzipped = checks.zip_sizes(built.zip_path)
    print(
        f"{built.directory}: deployment.zip {zipped / 1e6:.1f} MB, {unzipped / 1e6:.1f} MB unzipped"
    )
    found = checks.problems(built) + checks.cfn_lint(built.template_path)
    for problem in found:
        print(f"package check: {problem}", file=sys.stderr)
    return 1 if found else 0


def cmd_deploy(args: argparse.Namespace) -> int:
    built = Package(args.stage, BUILD / args.stage)
    if not built.template_path.exists():
        raise SystemExit(f"no {built.template_path}: run `make package STAGE={args.stage}` first")
    session = _session(args.region)
    region = str(session.region_name)
    stack = packaged_stack(args.stage)
    given = _parameters(args.parameter, args.mail_sender)
    _require_sender(session, stack, given, args.stage)
    s3 = session.client("s3")
    bucket = _artifact_bucket(session, args.artifact_bucket, needed=True)
    assert bucket is not None  # needed=True always names one
    template = upload_code(s3, built.template(), built.zip_path, bucket, f"code/{args.stage}")
    _refuse_missing_parameters(template, given, args.stage)
    outs = _deploy(session, stack, template, given, bucket)
    print(f"API: {outs['EndpointURL']}")
    _publish_site(session, outs, outs["EndpointURL"])
    if snapstart.enabled(args.stage):
        print("pre-warm: none (SnapStart: new containers restore from the version's snapshot)")
        return 0
    report = prewarm(session.client("lambda"), outs["WarmApiName"], region)
    print(f"pre-warm: {json.dumps(report)}")
    return 0


def _refuse_missing_parameters(template: dict[str, Any], given: dict[str, str], stage: str) -> None:
    """Say why a parameter is not in this stage's package before CloudFormation refuses it."""
    missing = sorted(set(given) - set(template.get("Parameters", {})))
    if not missing:
        return
    why = ""
    if set(missing) & set(snapstart.DROPPED_PARAMETERS) and snapstart.enabled(stage):
        why = (
            f": {stage} packages with SnapStart, which excludes provisioned concurrency and "
            f'replaces the warmer (set "snapstart": false for the stage in .chalice/config.json '
            "to use them)"
        )
    raise SystemExit(f"the {stage} package has no parameter {', '.join(missing)}{why}")


def _refuse_snapstart(stage: str) -> None:
    """The `chalice deploy` path publishes no version and no alias: SnapStart would be lost."""
    if snapstart.enabled(stage):
        raise SystemExit(
            f'stage {stage} has "snapstart": true, which only the packaged path can deploy '
            f"(chalice deploy publishes no version or alias, so every call would run $LATEST, "
            f'cold). Use make deploy STAGE={stage}, or set "snapstart": false for {stage} in '
            ".chalice/config.json to deploy it with chalice deploy and the warmer."
        )


def _artifact_bucket(session: boto3.Session, given: str | None, *, needed: bool) -> str | None:
    """The bucket CloudFormation reads templates and code from, created if missing."""
    region = str(session.region_name)
    bucket = given
    if bucket is None and needed:
        account = session.client("sts").get_caller_identity()["Account"]
        bucket = artifact_bucket_name(account, region)
    if bucket is not None:
        ensure_bucket(session.client("s3"), bucket, region)
    return bucket


def _deploy(
    session: boto3.Session,
    stack: str,
    template: dict[str, Any],
    parameters: dict[str, str],
    bucket: str | None,
) -> dict[str, str]:
    return deploy_stack(
        session.client("cloudformation"),
        session.client("s3"),
        name=stack,
        template=template,
        parameters=parameters,
        region=str(session.region_name),
        bucket=bucket,
    )


def _publish_site(session: boto3.Session, outs: dict[str, str], api_url: str) -> None:
    keys = upload_site(session.client("s3"), outs["SiteBucketName"], api_url)
    invalidation = invalidate(session.client("cloudfront"), outs["SiteDistributionId"])
    print(f"site: {len(keys)} files, invalidation {invalidation}: {outs['SiteUrl']}")


def cmd_resources(args: argparse.Namespace) -> int:
    _refuse_snapstart(args.stage)
    session = _session(args.region)
    stack = resources_stack(args.stage)
    given = {"Stage": args.stage, **_parameters(args.parameter, args.mail_sender)}
    _require_sender(session, stack, given, args.stage)
    template = resources_template()
    write_json(template, BUILD / args.stage / "resources.json")
    bucket = _artifact_bucket(session, args.artifact_bucket, needed=needs_bucket(template))
    outs = _deploy(session, stack, template, given, bucket)
    # Names and ARNs only: the cursor secret stays in Secrets Manager (the API reads it).
    env = environment_from_outputs(outs)
    api_url = _chalice_api_url(args.stage)
    if api_url:
        # Mails link their one-click unsubscribe to the API: known after the first deploy.
        env[""]["API_URL"] = api_url.rstrip("/")
    changed = rewrite_stage_environment(args.stage, env)
    print(f".chalice/config.json, stage {args.stage}: set {', '.join(changed) or 'nothing new'}")
    print(
        f"next: .venv/bin/chalice deploy --stage {args.stage}, then python -m deploy "
        f"event-sources --stage {args.stage} and python -m deploy site --stage {args.stage}"
    )
    if not api_url:
        print("after the first chalice deploy, run this again (it sets API_URL) and redeploy")
    return 0


def _chalice_api_url(stage: str) -> str | None:
    deployed = ROOT / ".chalice" / "deployed" / f"{stage}.json"
    if not deployed.exists():
        return None
    data: dict[str, Any] = json.loads(deployed.read_text())
    for resource in data.get("resources", []):
        if resource.get("resource_type") == "rest_api":
            return str(resource["rest_api_url"])
    return None


def cmd_site(args: argparse.Namespace) -> int:
    session = _session(args.region)
    cfn = session.client("cloudformation")
    for stack in (packaged_stack(args.stage), resources_stack(args.stage)):
        if stack_status(cfn, stack) is not None:
            outs = outputs(cfn, stack)
            break
    else:
        raise SystemExit(f"no stack for {args.stage}: run make deploy or make resources first")
    api_url = args.api_url or outs.get("EndpointURL") or _chalice_api_url(args.stage)
    if not api_url:
        raise SystemExit("no API URL: pass --api-url, or run chalice deploy first")
    _publish_site(session, outs, api_url)
    return 0


def cmd_event_sources(args: argparse.Namespace) -> int:
    _refuse_snapstart(args.stage)
    session = _session(args.region)
    outs = outputs(session.client("cloudformation"), resources_stack(args.stage))
    updated = tune_event_sources(session.client("lambda"), args.stage, outs)
    print(f"updated {len(updated)} event sources")
    config = json.loads(CHALICE_CONFIG.read_text())
    level = stage_environment(args.stage).get("LOG_LEVEL") or "INFO"
    # The packaged stack's default retention (LogRetentionDays in infra/functions.yaml).
    days = int(load_yaml(FUNCTIONS)["Parameters"]["LogRetentionDays"]["Default"])
    functions = tune_logging(
        session.client("lambda"),
        session.client("logs"),
        args.stage,
        sorted(config["lambda_functions"]),
        level=level,
        days=days,
    )
    print(f"JSON logs at {level}, kept {days} days: {', '.join(functions)}")
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    composed = write_json(resources_template(), BUILD / args.stage / "resources.json")
    templates = [RESOURCES, composed]
    packaged = BUILD / args.stage / "sam.json"
    if packaged.exists():
        templates.append(packaged)
    found = checks.cfn_lint(*templates)
    for line in found:
        print(line)
    names = ", ".join(str(t.relative_to(ROOT)) for t in templates)
    print(f"cfn-lint: {len(found)} findings in {names}")
    return 1 if found else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    specs = {
        "package": (cmd_package, "chalice package with the merge template, then checks"),
        "deploy": (cmd_deploy, "deploy the packaged stack, publish the site, pre-warm"),
        "resources": (cmd_resources, "deploy the resources stack, write .chalice/config.json"),
        "site": (cmd_site, "publish site/ with config.js and invalidate CloudFront"),
        "event-sources": (cmd_event_sources, "after chalice deploy: event source failure settings"),
        "lint": (cmd_lint, "cfn-lint on the templates"),
    }
    for name, (handler, help_text) in specs.items():
        command = commands.add_parser(name, help=help_text)
        command.set_defaults(handler=handler)
        command.add_argument("--stage", required=True)
        command.add_argument("--region")
        if name in {"deploy", "resources"}:
            command.add_argument("--mail-sender", help="MailSender; required on the first deploy")
            command.add_argument(
                "--parameter",
                action="append",
                default=[],
                metavar="KEY=VALUE",
                help="a template parameter, e.g. TableBillingMode=PROVISIONED",
            )
            command.add_argument("--artifact-bucket", help="S3 bucket for code and templates")
        if name == "site":
            command.add_argument("--api-url")
    args = parser.parse_args(argv)
    stage_environment(args.stage)  # an unknown stage stops here, before any AWS call
    try:
        result: int = args.handler(args)
    except (DeployError, FunctionError, MissingOutput, NoCredentialsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
