"""infra/: resources.yaml as the sandbox reads it, and the resources stack deploys build on it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pynamodb.attributes import TTLAttribute

from chalicelib.store.models import ALL_MODELS
from deploy.checks import cfn_lint
from deploy.template import (
    API_OUTPUT_FOR_VARIABLE,
    API_VARIABLES,
    OUTPUT_FOR_VARIABLE,
    RESOURCES,
    STAGE_VARIABLES,
    Template,
    load_yaml,
    resources_template,
    write_json,
)

ROOT = Path(__file__).resolve().parent.parent

# What resources.yaml had before the deployment work: the sandbox and the tests rely on them.
SANDBOX_IDS = {
    "EditorsGroup",
    "IdempotencyTable",
    "MailDeliveriesTable",
    "MailSenderIdentity",
    "MediaBucket",
    "PhotosTable",
    "PostMailsDeadLetterQueue",
    "PostMailsQueue",
    "PostsTable",
    "SubscribersTable",
    "ThumbnailsDeadLetterQueue",
    "ThumbnailsQueue",
    "ThumbnailsQueuePolicy",
    "TodosTable",
    "UserPool",
    "UserPoolClient",
}
SANDBOX_OUTPUTS = {
    "IdempotencyTableName",
    "MailDeliveriesTableName",
    "MediaBucketName",
    "PhotosTableName",
    "PostMailsQueueArn",
    "PostMailsQueueName",
    "PostsStreamArn",
    "PostsTableName",
    "SubscribersStreamArn",
    "SubscribersTableName",
    "ThumbnailsQueueArn",
    "ThumbnailsQueueName",
    "TodosTableName",
    "UserPoolArn",
    "UserPoolClientId",
    "UserPoolId",
}
# sandbox/resources.py resolves these and no other intrinsics, and takes one of each of these.
SANDBOX_INTRINSICS = {"Fn::Sub", "Ref", "Fn::GetAtt"}
SANDBOX_SINGLETONS = (
    "AWS::S3::Bucket",
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolClient",
    "AWS::SES::EmailIdentity",
)


@pytest.fixture(scope="module")
def base() -> Template:
    return load_yaml(RESOURCES)


@pytest.fixture(scope="module")
def deployed() -> Template:
    return resources_template()


def _of_type(template: Template, kind: str) -> dict[str, Template]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _intrinsics(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.startswith("Fn::") or key == "Ref":
                yield key
            yield from _intrinsics(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _intrinsics(inner)


def test_resources_yaml_keeps_every_logical_id_and_output_the_sandbox_uses(base: Template) -> None:
    assert set(base["Resources"]) >= SANDBOX_IDS
    assert set(base["Outputs"]) >= SANDBOX_OUTPUTS


def test_resources_yaml_stays_within_what_the_sandbox_resolves(base: Template) -> None:
    used = {name for res in base["Resources"].values() for name in _intrinsics(res)}
    assert used <= SANDBOX_INTRINSICS
    for kind in SANDBOX_SINGLETONS:
        assert len(_of_type(base, kind)) == 1, kind


def test_deployed_resources_keep_the_sandbox_definitions(
    base: Template, deployed: Template
) -> None:
    assert set(deployed["Resources"]) >= set(base["Resources"])
    assert set(deployed["Outputs"]) >= set(base["Outputs"])
    for logical_id, resource in base["Resources"].items():
        props = deployed["Resources"][logical_id].get("Properties", {})
        for key, value in resource.get("Properties", {}).items():
            if key not in {"BillingMode", "GlobalSecondaryIndexes"}:
                assert props[key] == value, (logical_id, key)


@pytest.mark.parametrize(
    "table",
    sorted(_of_type(resources_template(), "AWS::DynamoDB::Table")),
)
def test_table_is_on_demand_by_default_provisioned_by_condition(
    deployed: Template, table: str
) -> None:
    props = deployed["Resources"][table]["Properties"]
    assert props["BillingMode"] == {
        "Fn::If": ["ProvisionedCapacity", "PROVISIONED", "PAY_PER_REQUEST"]
    }
    assert deployed["Parameters"]["TableBillingMode"]["Default"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    for index in props.get("GlobalSecondaryIndexes", []):
        assert index["ProvisionedThroughput"]["Fn::If"][0] == "ProvisionedCapacity"


def test_provisioned_capacity_autoscales_every_table_and_global_index(deployed: Template) -> None:
    targets = _of_type(deployed, "AWS::ApplicationAutoScaling::ScalableTarget")
    policies = _of_type(deployed, "AWS::ApplicationAutoScaling::ScalingPolicy")
    wanted = set()
    for logical_id, table in _of_type(deployed, "AWS::DynamoDB::Table").items():
        units = ("Read", "Write")
        wanted |= {(f"table/${{{logical_id}}}", f"dynamodb:table:{u}CapacityUnits") for u in units}
        for index in table["Properties"].get("GlobalSecondaryIndexes", []):
            resource = f"table/${{{logical_id}}}/index/{index['IndexName']}"
            wanted |= {(resource, f"dynamodb:index:{u}CapacityUnits") for u in units}
    found = {
        (t["Properties"]["ResourceId"]["Fn::Sub"], t["Properties"]["ScalableDimension"])
        for t in targets.values()
    }
    assert found == wanted
    assert all(
        t["Condition"] == "ProvisionedCapacity" for t in [*targets.values(), *policies.values()]
    )
    assert {p["Properties"]["ScalingTargetId"]["Ref"] for p in policies.values()} == set(targets)


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_table_ttl_is_the_models_ttl_attribute(deployed: Template, model: Any) -> None:
    ttl = [name for name, attr in model.get_attributes().items() if isinstance(attr, TTLAttribute)]
    suffix = model.Meta.table_name.removeprefix("mytodolist-test-")
    (table,) = [
        res["Properties"]
        for res in _of_type(deployed, "AWS::DynamoDB::Table").values()
        if res["Properties"]["TableName"] == {"Fn::Sub": f"mytodolist-${{Stage}}-{suffix}"}
    ]
    expected = {"AttributeName": ttl[0], "Enabled": True} if ttl else None
    assert table.get("TimeToLiveSpecification") == expected


def test_tables_with_handlers_stream_both_images(deployed: Template) -> None:
    for table in ("PostsTable", "SubscribersTable"):
        spec = deployed["Resources"][table]["Properties"]["StreamSpecification"]
        assert spec == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_media_bucket_is_private_encrypted_and_notifies_the_thumbnail_queue(
    deployed: Template,
) -> None:
    props = deployed["Resources"]["MediaBucket"]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert "POST" in props["CorsConfiguration"]["CorsRules"][0]["AllowedMethods"]
    (queue,) = props["NotificationConfiguration"]["QueueConfigurations"]
    assert queue["Queue"] == {"Fn::GetAtt": ["ThumbnailsQueue", "Arn"]}
    assert queue["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "uploads/"}]


def test_media_bucket_expires_the_uploads_the_worker_tags_as_failed(deployed: Template) -> None:
    from chalicelib.photos.thumbnails import EXPIRY_TAG  # noqa: PLC0415

    rules = deployed["Resources"]["MediaBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (rule,) = [r for r in rules if "TagFilters" in r]
    assert rule["Prefix"] == "uploads/"
    assert rule["TagFilters"] == [{"Key": EXPIRY_TAG[0], "Value": EXPIRY_TAG[1]}]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] > 0


def test_every_queue_that_receives_work_has_a_dead_letter_queue(deployed: Template) -> None:
    for name in ("ThumbnailsQueue", "PostMailsQueue"):
        redrive = deployed["Resources"][name]["Properties"]["RedrivePolicy"]
        target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert deployed["Resources"][target]["Type"] == "AWS::SQS::Queue"


def test_site_is_served_only_through_its_distribution(deployed: Template) -> None:
    resources = deployed["Resources"]
    bucket = resources["SiteBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    config = resources["SiteDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    assert origin["DomainName"] == {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]}
    assert config["DefaultRootObject"] == "index.html"
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SiteResponseHeadersPolicy"}
    headers = resources["SiteResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = headers["SecurityHeadersConfig"]
    assert "frame-ancestors 'none'" in security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    allow, *_ = resources["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    source = allow["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert source.endswith(":distribution/${SiteDistribution}")


def test_identity_pool_users_may_only_put_under_their_own_prefix(deployed: Template) -> None:
    resources = deployed["Resources"]
    assert resources["IdentityPool"]["Properties"]["AllowUnauthenticatedIdentities"] is False
    role = resources["IdentityPoolUploaderRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["StringEquals"] == {
        "cognito-identity.amazonaws.com:aud": {"Ref": "IdentityPool"}
    }
    assert trust["Condition"]["ForAnyValue:StringLike"] == {
        "cognito-identity.amazonaws.com:amr": "authenticated"
    }
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "s3:PutObject"
    assert statement["Resource"]["Fn::Sub"].endswith(
        ":s3:::${MediaBucket}/uploads/${!cognito-identity.amazonaws.com:sub}/*"
    )
    roles = resources["IdentityPoolRoles"]["Properties"]["Roles"]
    assert roles == {"authenticated": {"Fn::GetAtt": ["IdentityPoolUploaderRole", "Arn"]}}


def test_cursor_secret_is_generated_never_a_parameter(deployed: Template) -> None:
    secret = deployed["Resources"]["CursorSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    assert not any("secret" in name.lower() for name in deployed["Parameters"])


def _variables_the_app_reads() -> set[str]:
    pattern = re.compile(
        r"(?:environ\.get|_required|_choice|_count|import_time_value)\(\s*\"([A-Z][A-Z0-9_]+)\""
    )
    sources = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    found = {name for path in sources for name in pattern.findall(path.read_text())}
    # Set by the Lambda runtime itself.
    return {name for name in found if not name.startswith("AWS_")}


# Read by the app but never deployed: the key itself on local and test stages (deployed ones
# give the API its ARN), and the sandbox's choices of warm-up invoker and metrics output.
LOCAL_ONLY = frozenset(
    {
        "CURSOR_SECRET",
        "WARM_INVOKER",
        "METRICS_OUTPUT",
        # The sandbox's own JWKS and @connections; deployed stages derive both.
        "USER_POOL_JWKS_URL",
        "WEBSOCKET_MANAGEMENT_URL",
        # Where `chalice local --stage local` looks for the running sandbox (the shell's).
        "SANDBOX_DIR",
    }
)


def test_every_variable_the_app_reads_has_a_source(deployed: Template) -> None:
    variables = _variables_the_app_reads() - LOCAL_ONLY
    provided = (
        set(OUTPUT_FOR_VARIABLE) | set(API_OUTPUT_FOR_VARIABLE) | STAGE_VARIABLES | API_VARIABLES
    )
    assert variables, "the scan found no variables: the pattern is out of date"
    assert variables <= provided
    for output in [*OUTPUT_FOR_VARIABLE.values(), *API_OUTPUT_FOR_VARIABLE.values()]:
        assert output in deployed["Outputs"], output


def test_every_stage_of_the_chalice_config_names_every_variable() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for stage, spec in config["stages"].items():
        names = set(spec["environment_variables"])
        for function in spec.get("lambda_functions", {}).values():
            names |= set(function.get("environment_variables", {}))
        # LOG_LEVEL has a default (INFO); deployed stages set it (STAGE_VARIABLES). The test stage
        # leaves MIN_CLIENT_VERSION unset: its tests set it, and a stage value would override them.
        optional = LOCAL_ONLY | {"CURSOR_SECRET_ARN", "LOG_LEVEL"}
        optional |= {"MIN_CLIENT_VERSION"} if stage == "test" else set()
        assert names >= _variables_the_app_reads() - optional, stage
        # The cursor key itself (test), or the API function's secret by its ARN (deployed); the
        # local stage takes the running sandbox's key (chalicelib/local_stage.py).
        assert stage == "local" or names & {"CURSOR_SECRET", "CURSOR_SECRET_ARN"}, stage


def test_cfn_lint_finds_nothing_in_the_resource_templates(
    deployed: Template, tmp_path: Path
) -> None:
    composed = write_json(deployed, tmp_path / "resources.json")
    assert cfn_lint(RESOURCES, composed) == []
