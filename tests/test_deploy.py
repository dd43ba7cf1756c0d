"""The deploy commands' steps against moto: stacks, artifacts, config.json, the site, Lambda.

moto's CloudFormation creates tables, queues and buckets but not Cognito, Secrets Manager,
CloudFront, SES or autoscaling resources (nor the SAM transform), so the stack tests deploy
the part of the resources template it can create; the steps after a deploy take their outputs
from that stack or from a stubbed outputs dict.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.app import CloudWatchEvent
from moto import mock_aws

from chalicelib.core.config import PLACEHOLDER
from deploy.chalice_config import (
    MissingOutput,
    environment_from_outputs,
    rewrite_stage_environment,
)
from deploy.functions import (
    FunctionError,
    event_source_settings,
    prewarm,
    scheduled_event,
    tune_event_sources,
)
from deploy.site import config_script, site_files, upload_site
from deploy.site import invalidate as invalidate_site
from deploy.stacks import (
    MAX_INLINE_TEMPLATE,
    DeployError,
    Waiting,
    deploy_stack,
    ensure_bucket,
    upload_code,
)
from deploy.template import (
    OUTPUT_FOR_VARIABLE,
    Template,
    resources_template,
)
from sandbox import site as sandbox_site

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
NOW = Waiting(delay=0, attempts=2)
# What moto's CloudFormation can create.
MOTO_TYPES = {"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket"}


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner.split(".")[0]
            elif key == "Fn::GetAtt":
                yield inner[0]
            elif key == "Fn::Sub":
                text, variables = (inner, {}) if isinstance(inner, str) else inner
                yield from re.findall(r"\$\{(?!!)([^}.]+)", text)
                yield from _refs(variables)
            else:
                yield from _refs(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _refs(inner)


def moto_subset(template: Template) -> Template:
    """The template's resources of the types moto creates, and the outputs they provide."""
    out: Template = json.loads(json.dumps(template))
    names = set(out["Parameters"])
    keep = {k: r for k, r in out["Resources"].items() if r["Type"] in MOTO_TYPES}
    for resource in keep.values():
        resource.pop("DependsOn", None)

    def known(value: Any) -> bool:
        return all(r in keep or r in names or r.startswith("AWS::") for r in _refs(value))

    while unknown := [k for k, r in keep.items() if not known(r)]:
        for logical_id in unknown:
            del keep[logical_id]
    out["Resources"] = keep
    out["Outputs"] = {k: o for k, o in out["Outputs"].items() if known(o)}
    return out


@pytest.fixture
def session() -> Iterator[boto3.Session]:
    with mock_aws():
        yield boto3.Session(region_name=REGION)


def _deploy(session: boto3.Session, template: Template, **kwargs: Any) -> dict[str, str]:
    return deploy_stack(
        session.client("cloudformation"),
        session.client("s3"),
        name="mytodolist-test-resources",
        template=template,
        region=REGION,
        waiting=NOW,
        **kwargs,
    )


def test_deploy_stack_creates_the_resources_in_moto(session: boto3.Session) -> None:
    outputs = _deploy(
        session,
        moto_subset(resources_template()),
        parameters={"Stage": "test", "MailSender": "blog@example.com"},
    )
    assert outputs["TodosTableName"] == "mytodolist-test-todos"
    assert outputs["MailSender"] == "blog@example.com"
    assert outputs["PostsStreamArn"].startswith("arn:aws:dynamodb:")
    table = session.client("dynamodb").describe_table(TableName="mytodolist-test-posts")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    queues = session.client("sqs").list_queues()["QueueUrls"]
    assert any(url.endswith("/mytodolist-test-subscribers-stream-dlq") for url in queues)


def test_deploy_stack_again_without_changes_returns_the_outputs(session: boto3.Session) -> None:
    template = moto_subset(resources_template())
    first = _deploy(session, template, parameters={"Stage": "test", "MailSender": "a@example.com"})
    # Parameters not given again keep the stack's values.
    again = _deploy(session, template, parameters={})
    assert again == first


def test_deploy_stack_refuses_parameters_the_template_lacks(session: boto3.Session) -> None:
    template = moto_subset(resources_template())
    with pytest.raises(DeployError, match="no parameters"):
        _deploy(session, template, parameters={"Stage": "test", "Nope": "1"})


def _large(template: Template) -> Template:
    big: Template = json.loads(json.dumps(template))
    big["Metadata"] = {"Padding": "x" * MAX_INLINE_TEMPLATE}
    return big


def test_deploy_stack_sends_a_large_template_through_the_bucket(session: boto3.Session) -> None:
    s3 = session.client("s3")
    ensure_bucket(s3, "mytodolist-deploy-123456789012-us-east-1", REGION)
    outputs = _deploy(
        session,
        _large(moto_subset(resources_template())),
        parameters={"Stage": "test", "MailSender": "blog@example.com"},
        bucket="mytodolist-deploy-123456789012-us-east-1",
    )
    assert outputs["TodosTableName"] == "mytodolist-test-todos"
    listed = s3.list_objects_v2(Bucket="mytodolist-deploy-123456789012-us-east-1")
    assert all(o["Key"].startswith("templates/") for o in listed["Contents"])


def test_deploy_stack_refuses_a_large_template_without_a_bucket(session: boto3.Session) -> None:
    with pytest.raises(DeployError, match="artifact bucket"):
        _deploy(session, _large(moto_subset(resources_template())), parameters={})


def test_ensure_bucket_makes_a_private_encrypted_bucket_once(session: boto3.Session) -> None:
    s3 = session.client("s3")
    ensure_bucket(s3, "artifacts-bucket", REGION)
    s3.put_object(Bucket="artifacts-bucket", Key="kept", Body=b"1")
    ensure_bucket(s3, "artifacts-bucket", REGION)
    block = s3.get_public_access_block(Bucket="artifacts-bucket")
    assert all(block["PublicAccessBlockConfiguration"].values())
    encryption = s3.get_bucket_encryption(Bucket="artifacts-bucket")
    assert encryption["ServerSideEncryptionConfiguration"]["Rules"]
    assert s3.list_objects_v2(Bucket="artifacts-bucket")["KeyCount"] == 1


def test_upload_code_points_every_function_at_one_uploaded_zip(
    session: boto3.Session, tmp_path: Path
) -> None:
    s3 = session.client("s3")
    ensure_bucket(s3, "artifacts-bucket", REGION)
    zip_path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("app.py", "app = None\n")
    function = {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "./deployment.zip"}}
    template = {"Resources": {"A": function, "B": json.loads(json.dumps(function))}}
    out = upload_code(s3, template, zip_path, "artifacts-bucket", "code/prod")
    uris = {r["Properties"]["CodeUri"] for r in out["Resources"].values()}
    (uri,) = uris
    key = uri.removeprefix("s3://artifacts-bucket/")
    assert key.startswith("code/prod/")
    assert s3.get_object(Bucket="artifacts-bucket", Key=key)["Body"].read() == zip_path.read_bytes()
    assert template["Resources"]["A"]["Properties"]["CodeUri"] == "./deployment.zip"


def _stub_outputs() -> dict[str, str]:
    """Outputs as a real resources stack gives them (moto cannot make them all)."""
    outputs = {output: f"value-of-{output}" for output in OUTPUT_FOR_VARIABLE.values()}
    outputs["CursorSecretArn"] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:c-AbCdEf"
    return outputs


def test_environment_from_outputs_gives_the_secrets_arn_to_the_api_alone() -> None:
    env = environment_from_outputs(_stub_outputs())
    assert env[""]["TODOS_TABLE_NAME"] == "value-of-TodosTableName"
    assert set(env[""]) == set(OUTPUT_FOR_VARIABLE)
    # The ARN, never the value: nothing reads the secret but the API function.
    assert env["api_handler"] == {"CURSOR_SECRET_ARN": _stub_outputs()["CursorSecretArn"]}
    assert "CURSOR_SECRET" not in env[""]


def test_environment_from_outputs_names_missing_outputs() -> None:
    outputs = _stub_outputs()
    del outputs["SiteUrl"]
    with pytest.raises(MissingOutput, match="SiteUrl"):
        environment_from_outputs(outputs)


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    shutil.copy2(ROOT / ".chalice" / "config.json", path)
    return path


def test_rewrite_replaces_the_stages_placeholders_and_nothing_else(config_copy: Path) -> None:
    before = json.loads(config_copy.read_text())
    env = environment_from_outputs(_stub_outputs())
    changed = rewrite_stage_environment("prod", env, config_copy)
    after = json.loads(config_copy.read_text())
    prod = after["stages"]["prod"]["environment_variables"]
    assert PLACEHOLDER not in json.dumps(after["stages"]["prod"])
    api = after["stages"]["prod"]["lambda_functions"]["api_handler"]["environment_variables"]
    assert api["CURSOR_SECRET_ARN"] == _stub_outputs()["CursorSecretArn"]
    assert "CURSOR_SECRET" not in prod
    assert prod["APP_STAGE"] == "prod"
    assert (
        prod["WARM_CONCURRENCY"]
        == before["stages"]["prod"]["environment_variables"]["WARM_CONCURRENCY"]
    )
    assert "CURSOR_SECRET_ARN" in changed
    assert after["stages"]["dev"] == before["stages"]["dev"]
    assert after["stages"]["test"] == before["stages"]["test"]
    assert {k: v for k, v in after.items() if k != "stages"} == {
        k: v for k, v in before.items() if k != "stages"
    }


def test_rewrite_keeps_the_files_layout(config_copy: Path) -> None:
    original = config_copy.read_text()
    rewrite_stage_environment("dev", {"": {"APP_STAGE": "dev"}}, config_copy)
    assert config_copy.read_text() == original


def test_rewrite_refuses_an_unknown_stage(config_copy: Path) -> None:
    with pytest.raises(KeyError, match="staging"):
        rewrite_stage_environment("staging", {"": {"APP_STAGE": "staging"}}, config_copy)


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "css").mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html>")
    (site / "css" / "site.css").write_text("body {}")
    (site / ".gitignore").write_text("/config.js\n")
    (site / "config.js").write_text("window.MYTODOLIST_CONFIG = {apiUrl: 'local'};")
    (site / "config.example.js").write_text("// example")
    return site


def test_upload_site_publishes_the_site_with_its_config(
    session: boto3.Session, site_dir: Path
) -> None:
    s3 = session.client("s3")
    s3.create_bucket(Bucket="site-bucket")
    s3.put_object(Bucket="site-bucket", Key="old-page.html", Body=b"gone")
    keys = upload_site(
        s3, "site-bucket", "https://abc.execute-api.us-east-1.amazonaws.com/api/", site_dir
    )
    assert sorted(keys) == ["config.js", "css/site.css", "index.html"]
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket="site-bucket")["Contents"]}
    assert listed == set(keys)
    config = s3.get_object(Bucket="site-bucket", Key="config.js")
    assert config["Body"].read() == sandbox_site.config_script(
        "https://abc.execute-api.us-east-1.amazonaws.com/api"
    )
    assert config["ContentType"] == "text/javascript; charset=utf-8"
    page = s3.get_object(Bucket="site-bucket", Key="index.html")
    assert page["ContentType"] == "text/html; charset=utf-8"
    assert page["CacheControl"] == "no-cache"
    style = s3.head_object(Bucket="site-bucket", Key="css/site.css")
    assert style["CacheControl"].startswith("public, max-age=")


def test_config_script_is_the_one_the_sandbox_serves() -> None:
    url = "https://abc.execute-api.eu-west-1.amazonaws.com/api/"
    assert config_script(url) == sandbox_site.config_script(url)


def test_site_files_are_the_whole_real_site() -> None:
    keys = {key for key, _ in site_files()}
    assert {"index.html", "post.html", "unsubscribe.html", "js/api.js", "css/site.css"} <= keys
    assert not any(key.startswith(".") or key == "config.js" for key in keys)


def _distribution(session: boto3.Session) -> str:
    cloudfront = session.client("cloudfront")
    return cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "site",
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "site",
                        "DomainName": "site.s3.us-east-1.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "site",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
        }
    )["Distribution"]["Id"]


def test_invalidate_clears_every_path_of_the_distribution(session: boto3.Session) -> None:
    cloudfront = session.client("cloudfront")
    distribution = _distribution(session)
    invalidation = invalidate_site(cloudfront, distribution)
    found = cloudfront.get_invalidation(DistributionId=distribution, Id=invalidation)
    assert found["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == ["/*"]


class _StubLambda:
    """Records invocations; answers as the warm_api function would."""

    def __init__(self, answer: dict[str, Any], error: str | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self._answer = answer
        self._error = error

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        response: dict[str, Any] = {"Payload": io.BytesIO(json.dumps(self._answer).encode())}
        if self._error:
            response["FunctionError"] = self._error
        return response


def test_prewarm_runs_the_warmer_with_a_scheduled_event() -> None:
    stub = _StubLambda({"invoked": 3, "containers": 3, "cold": 3, "failed": 0})
    report = prewarm(stub, "mytodolist-prod-warm_api", REGION)  # type: ignore[arg-type]
    assert report["containers"] == 3
    (call,) = stub.calls
    assert call["FunctionName"] == "mytodolist-prod-warm_api"
    assert call["InvocationType"] == "RequestResponse"
    # Chalice must be able to parse what the warmer receives.
    event = CloudWatchEvent(json.loads(call["Payload"]), None)
    assert event.detail_type == "Scheduled Event"


def test_prewarm_reports_a_failed_warmer() -> None:
    stub = _StubLambda({"errorMessage": "boom"}, error="Unhandled")
    with pytest.raises(FunctionError, match="boom"):
        prewarm(stub, "mytodolist-prod-warm_api", REGION)  # type: ignore[arg-type]


def test_scheduled_event_has_every_field_chalice_reads() -> None:
    event = CloudWatchEvent(scheduled_event("eu-west-1"), None)
    assert event.region == "eu-west-1"


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def _create_functions(session: boto3.Session, names: list[str]) -> None:
    """Functions as `chalice deploy` names them (moto: nothing runs them)."""
    role = session.client("iam").create_role(
        RoleName="lambda-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"})
    )["Role"]["Arn"]
    for name in names:
        session.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": _zip_bytes()},
        )


def test_tune_event_sources_gives_chalice_deploys_mappings_the_failure_settings(
    session: boto3.Session,
) -> None:
    awslambda = session.client("lambda")
    sqs = session.client("sqs")
    dynamodb = session.client("dynamodb")
    outputs = {
        "SubscribersStreamDeadLetterQueueArn": "arn:aws:sqs:us-east-1:123456789012:sub-dlq",
        "PostsStreamDeadLetterQueueArn": "arn:aws:sqs:us-east-1:123456789012:posts-dlq",
        "TodosStreamDeadLetterQueueArn": "arn:aws:sqs:us-east-1:123456789012:todos-dlq",
    }
    mappings: dict[str, str] = {}
    _create_functions(session, [f"mytodolist-test-{h}" for h in event_source_settings(outputs)])
    for handler in event_source_settings(outputs):
        name = f"mytodolist-test-{handler}"
        if handler in {"make_thumbnails", "send_post_mails"}:
            url = sqs.create_queue(QueueName=f"q-{handler}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            source = arn["Attributes"]["QueueArn"]
        else:
            table = dynamodb.create_table(
                TableName=f"t-{handler}",
                KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )
            source = table["TableDescription"]["LatestStreamArn"]
        mapping = awslambda.create_event_source_mapping(
            EventSourceArn=source, FunctionName=name, StartingPosition="TRIM_HORIZON"
        )
        mappings[handler] = mapping["UUID"]
    updated = tune_event_sources(awslambda, "test", outputs)
    assert sorted(updated) == sorted(mappings.values())
    welcome = awslambda.get_event_source_mapping(UUID=mappings["send_welcome_mails"])
    assert welcome["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert welcome["BisectBatchOnFunctionError"] is True
    assert welcome["DestinationConfig"]["OnFailure"]["Destination"].endswith(":sub-dlq")
    thumbnails = awslambda.get_event_source_mapping(UUID=mappings["make_thumbnails"])
    assert thumbnails["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_tune_event_sources_needs_chalice_deploy_first(session: boto3.Session) -> None:
    outputs = {
        "SubscribersStreamDeadLetterQueueArn": "arn:aws:sqs:us-east-1:123456789012:sub-dlq",
        "PostsStreamDeadLetterQueueArn": "arn:aws:sqs:us-east-1:123456789012:posts-dlq",
        "TodosStreamDeadLetterQueueArn": "arn:aws:sqs:us-east-1:123456789012:todos-dlq",
    }
    with pytest.raises(FunctionError, match="chalice deploy"):
        tune_event_sources(session.client("lambda"), "test", outputs)


def test_cli_refuses_an_unknown_stage() -> None:
    from deploy.__main__ import main  # noqa: PLC0415

    with pytest.raises(SystemExit, match="no stage 'staging'"):
        main(["site", "--stage", "staging"])


def test_make_resources_deploys_the_stack_and_fills_the_stage(
    session: boto3.Session, config_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import deploy.__main__ as cli  # noqa: PLC0415

    secret = session.client("secretsmanager").create_secret(
        Name="mytodolist/dev/cursor-secret", SecretString="c" * 64
    )["ARN"]
    template = moto_subset(resources_template())
    # What moto cannot create, given as the values a real stack would output.
    template["Outputs"] |= {
        "SiteUrl": {"Value": "https://d111111abcdef8.cloudfront.net"},
        "UserPoolArn": {"Value": "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_x"},
        "UserPoolClientId": {"Value": "app-client"},
        "CursorSecretArn": {"Value": secret},
    }
    monkeypatch.setattr(cli, "resources_template", lambda: template)
    monkeypatch.setattr(cli, "BUILD", tmp_path / "build")
    monkeypatch.setattr(
        cli,
        "rewrite_stage_environment",
        lambda stage, values: rewrite_stage_environment(stage, values, config_copy),
    )
    assert cli.main(["resources", "--stage", "dev", "--mail-sender", "blog@example.com"]) == 0
    written = config_copy.read_text()
    stage = json.loads(written)["stages"]["dev"]
    dev = stage["environment_variables"]
    assert PLACEHOLDER not in json.dumps(stage)
    assert dev["MEDIA_BUCKET_NAME"] == "mytodolist-dev-media-123456789012"
    assert dev["MAIL_SENDER"] == "blog@example.com"
    # The API function gets the secret's ARN; its value is written nowhere.
    assert stage["lambda_functions"]["api_handler"]["environment_variables"] == {
        "CURSOR_SECRET_ARN": secret
    }
    assert "c" * 64 not in written
    assert dev["SUBSCRIBERS_STREAM_ARN"].startswith("arn:aws:dynamodb:us-east-1:123456789012:")
    assert (tmp_path / "build" / "dev" / "resources.json").exists()


def test_make_resources_wants_a_sender_the_first_time(session: boto3.Session) -> None:
    from deploy.__main__ import main  # noqa: PLC0415

    with pytest.raises(SystemExit, match="MAIL_SENDER"):
        main(["resources", "--stage", "dev"])


def _build(tmp_path: Path, stage: str, parameters: list[str]) -> Path:
    build = tmp_path / "build"
    (build / stage).mkdir(parents=True)
    function = {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "./deployment.zip"}}
    template = {
        "Parameters": {name: {"Type": "String"} for name in ["MailSender", *parameters]},
        "Resources": {"APIHandler": function},
    }
    (build / stage / "sam.json").write_text(json.dumps(template))
    (build / stage / "deployment.zip").write_bytes(_zip_bytes())
    return build


@pytest.mark.parametrize(
    ("stage", "prewarmed"),
    [("dev", ["mytodolist-dev-warm_api"]), ("prod", [])],
    ids=["warmer", "snapstart"],
)
def test_make_deploy_uploads_deploys_publishes_and_prewarms_without_snapstart(
    session: boto3.Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stage: str,
    prewarmed: list[str],
) -> None:
    import deploy.__main__ as cli  # noqa: PLC0415

    build = _build(tmp_path, stage, ["TableBillingMode"])
    session.client("s3").create_bucket(Bucket=f"mytodolist-{stage}-site-123456789012")
    outputs = {
        "EndpointURL": "https://abc.execute-api.us-east-1.amazonaws.com/api/",
        "SiteBucketName": f"mytodolist-{stage}-site-123456789012",
        "SiteDistributionId": _distribution(session),
        "SiteUrl": "https://d111111abcdef8.cloudfront.net",
        "WarmApiName": f"mytodolist-{stage}-warm_api",
    }
    deployed: list[dict[str, Any]] = []
    warmed: list[str] = []

    def fake_deploy_stack(cfn: Any, s3: Any, **kwargs: Any) -> dict[str, str]:
        # moto's CloudFormation has no SAM transform: the stack itself is not created here.
        deployed.append(kwargs)
        return outputs

    def fake_prewarm(client: Any, warmer: str, region: str) -> dict[str, Any]:
        warmed.append(warmer)
        return {"containers": 3}

    monkeypatch.setattr(cli, "BUILD", build)
    monkeypatch.setattr(cli, "deploy_stack", fake_deploy_stack)
    monkeypatch.setattr(cli, "prewarm", fake_prewarm)
    argv = ["deploy", "--stage", stage, "--mail-sender", "blog@example.com"]
    assert cli.main([*argv, "--parameter", "TableBillingMode=PROVISIONED"]) == 0
    (call,) = deployed
    assert call["name"] == f"mytodolist-{stage}"
    assert call["parameters"] == {
        "MailSender": "blog@example.com",
        "TableBillingMode": "PROVISIONED",
    }
    code_uri = call["template"]["Resources"]["APIHandler"]["Properties"]["CodeUri"]
    assert code_uri.startswith(f"s3://mytodolist-deploy-123456789012-us-east-1/code/{stage}/")
    config = session.client("s3").get_object(
        Bucket=f"mytodolist-{stage}-site-123456789012", Key="config.js"
    )
    assert b"https://abc.execute-api.us-east-1.amazonaws.com/api" in config["Body"].read()
    invalidations = session.client("cloudfront").list_invalidations(
        DistributionId=outputs["SiteDistributionId"]
    )
    assert invalidations["InvalidationList"]["Quantity"] == 1
    # Where SnapStart is on, the warmer is off: a new container restores from the snapshot.
    assert warmed == prewarmed


def test_make_deploy_says_why_a_snapstart_stage_has_no_provisioned_concurrency(
    session: boto3.Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import deploy.__main__ as cli  # noqa: PLC0415

    monkeypatch.setattr(cli, "BUILD", _build(tmp_path, "prod", []))
    argv = ["deploy", "--stage", "prod", "--mail-sender", "blog@example.com"]
    with pytest.raises(SystemExit, match="ApiProvisionedConcurrency: prod packages with SnapStart"):
        cli.main([*argv, "--parameter", "ApiProvisionedConcurrency=2"])


def test_snapstart_is_a_stage_setting_on_for_prod_off_elsewhere(config_copy: Path) -> None:
    from deploy import snapstart  # noqa: PLC0415

    assert snapstart.enabled("prod", config_copy) is True
    assert [snapstart.enabled(s, config_copy) for s in ("dev", "test", "local")] == [False] * 3
    config = json.loads(config_copy.read_text())
    config["stages"]["dev"]["snapstart"] = "yes"
    config_copy.write_text(json.dumps(config))
    with pytest.raises(SystemExit, match=r"stages\.dev\.snapstart must be true or false"):
        snapstart.enabled("dev", config_copy)


@pytest.mark.parametrize("command", ["resources", "event-sources"])
def test_chalice_deploy_path_refuses_a_snapstart_stage(command: str) -> None:
    from deploy.__main__ import main  # noqa: PLC0415

    # Before any AWS call: no credentials, no region needed to be told.
    with pytest.raises(SystemExit, match=r'"snapstart": true.*make deploy STAGE=prod'):
        main([command, "--stage", "prod"])


def test_tune_logging_gives_chalice_deploys_functions_json_logs_and_retention(
    session: boto3.Session,
) -> None:
    from deploy.functions import tune_logging  # noqa: PLC0415

    _create_functions(session, ["mytodolist-test", "mytodolist-test-make_thumbnails"])
    awslambda = session.client("lambda")
    logs = session.client("logs")
    sent: list[dict[str, Any]] = []
    real = awslambda.update_function_configuration

    def recording(**kwargs: Any) -> Any:
        sent.append(kwargs)  # moto does not keep LoggingConfig: what was asked is checked
        return real(**kwargs)

    awslambda.update_function_configuration = recording  # type: ignore[method-assign]
    updated = tune_logging(
        awslambda, logs, "test", ["api_handler", "make_thumbnails"], level="INFO", days=30
    )
    assert updated == ["mytodolist-test", "mytodolist-test-make_thumbnails"]
    assert [c["FunctionName"] for c in sent] == updated
    assert all(c["LoggingConfig"]["LogFormat"] == "JSON" for c in sent)
    assert all(c["LoggingConfig"]["ApplicationLogLevel"] == "INFO" for c in sent)
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/mytodolist-test")
    assert {g["retentionInDays"] for g in groups["logGroups"]} == {30}
