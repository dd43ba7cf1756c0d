"""`chalice package` with the merge template: one stack that wires every handler, within limits.

Packaging runs once per session (a few seconds), from a copy of the project so that concurrent
runs and the developer's .chalice/deployments cache never meet.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig

from app import app
from chalicelib.core import config
from deploy.checks import (
    MAX_ENVIRONMENT_BYTES,
    MAX_UNZIPPED_BYTES,
    MAX_ZIP_BYTES,
    cfn_lint,
    environment_bytes,
    problems,
    zip_sizes,
)
from deploy.package import Package, package, stage_environment
from deploy.snapstart import invocation_problems
from deploy.template import (
    CACHED_ROUTES,
    OUTPUT_FOR_VARIABLE,
    PUBLIC_POSTS,
    WEBSOCKET_FUNCTIONS,
    Template,
    handler_name,
    merge_template,
    resources_template,
    serverless_functions,
)

ROOT = Path(__file__).resolve().parent.parent
STAGE = "prod"
STAGE_ORIGIN = "https://todo.example.org"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Package:
    project = tmp_path_factory.mktemp("project")
    shutil.copy2(ROOT / "app.py", project)
    shutil.copy2(ROOT / "requirements.txt", project)
    shutil.copytree(
        ROOT / "chalicelib", project / "chalicelib", ignore=shutil.ignore_patterns("__pycache__")
    )
    (project / ".chalice").mkdir()
    for path in (ROOT / ".chalice").glob("*.json"):
        shutil.copy2(path, project / ".chalice")
    # The stage names its web client's origin (every stage in the repository says "*", which a
    # hard-coded "*" would match as well).
    config_file = project / ".chalice" / "config.json"
    config = json.loads(config_file.read_text())
    config["stages"][STAGE]["environment_variables"]["CORS_ALLOW_ORIGIN"] = STAGE_ORIGIN
    config_file.write_text(json.dumps(config))
    return package(STAGE, tmp_path_factory.mktemp("build"), project_dir=project)


@pytest.fixture(scope="module")
def template(built: Package) -> Template:
    return built.template()


def _function_for(template: Template, handler: str) -> Template:
    (function,) = [f for f in serverless_functions(template).values() if handler_name(f) == handler]
    return function


def _events(function: Template, kind: str) -> list[Template]:
    return [e["Properties"] for e in function["Properties"]["Events"].values() if e["Type"] == kind]


def _logical_id_named(kind: str, name_key: str, name: str) -> str:
    """The resource of the template whose name, for the test stage, is `name`."""
    resources: dict[str, Template] = resources_template()["Resources"]
    (found,) = [
        str(logical_id)
        for logical_id, res in resources.items()
        if res["Type"] == kind
        and res["Properties"][name_key]["Fn::Sub"].replace("${Stage}", "test") == name
    ]
    return found


def test_package_zip_is_within_the_size_limits(built: Package) -> None:
    zipped, unzipped = zip_sizes(built.zip_path)
    assert zipped <= MAX_ZIP_BYTES
    assert unzipped <= MAX_UNZIPPED_BYTES


def test_package_zip_holds_the_app_and_no_dev_tooling(built: Package) -> None:
    with zipfile.ZipFile(built.zip_path) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    assert {"app.py", "chalicelib", "PIL", "pynamodb", "nh3"} <= tops
    assert not tops & {"tests", "sandbox", "deploy", "benchmarks", "tools", "moto", "pytest"}


def test_package_checks_find_nothing(built: Package) -> None:
    assert problems(built) == []


def test_package_tests_know_every_kind_of_event_source_the_app_has() -> None:
    known = (SQSEventConfig, DynamoDBEventConfig, ScheduledEventConfig)
    assert all(isinstance(source, known) for source in app.event_sources)


@pytest.mark.parametrize(
    "source", [s for s in app.event_sources if isinstance(s, SQSEventConfig)], ids=lambda s: s.name
)
def test_package_wires_each_queue_handler_with_batch_failures(
    template: Template, source: SQSEventConfig
) -> None:
    (event,) = _events(_function_for(template, source.name), "SQS")
    queue = _logical_id_named("AWS::SQS::Queue", "QueueName", str(source.queue))
    assert event["Queue"] == {"Fn::Sub": f"${{{queue}.Arn}}"}
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["BatchSize"] == source.batch_size


@pytest.mark.parametrize(
    "source",
    [s for s in app.event_sources if isinstance(s, DynamoDBEventConfig)],
    ids=lambda s: s.name,
)
def test_package_wires_each_stream_handler_to_its_table_with_failure_settings(
    template: Template, source: DynamoDBEventConfig
) -> None:
    (event,) = _events(_function_for(template, source.name), "DynamoDB")
    table_name = re.search(r":table/([^/]+)/stream/", source.stream_arn)
    assert table_name is not None
    table = _logical_id_named("AWS::DynamoDB::Table", "TableName", table_name.group(1))
    assert event["Stream"] == {"Fn::GetAtt": [table, "StreamArn"]}
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["BisectBatchOnFunctionError"] is True
    assert 0 < event["MaximumRetryAttempts"] <= 10
    assert 60 <= event["MaximumRecordAgeInSeconds"] <= 86400
    destination = event["DestinationConfig"]["OnFailure"]
    dlq = destination["Destination"]["Fn::GetAtt"][0]
    assert template["Resources"][dlq]["Type"] == "AWS::SQS::Queue"
    assert destination["Type"] == "SQS"


def _dev_merge(built: Package) -> Template:
    """What `make package STAGE=dev` would merge (SnapStart off), from the same Chalice template."""
    return merge_template("dev", built.chalice_template(), stage_environment("dev"))


def test_package_schedules_the_warmer_where_snapstart_is_off(built: Package) -> None:
    (source,) = [s for s in app.event_sources if isinstance(s, ScheduledEventConfig)]
    merge = _dev_merge(built)
    (event,) = merge["Resources"]["WarmApi"]["Properties"]["Events"].values()
    assert event["Properties"]["State"] == {"Fn::If": ["WarmerOn", "ENABLED", "DISABLED"]}
    # dev's WARM_CONCURRENCY is above 0: its schedule is on unless provisioned concurrency is.
    assert merge["Parameters"]["WarmerSchedule"]["Default"] == "ENABLED"
    assert source.name == "warm_api"


def test_package_turns_the_warmer_off_where_snapstart_is_on(template: Template) -> None:
    (source,) = [s for s in app.event_sources if isinstance(s, ScheduledEventConfig)]
    (event,) = _events(_function_for(template, source.name), "Schedule")
    assert event["Schedule"] == "rate(5 minutes)"
    assert event["State"] == "DISABLED"
    assert "WarmerSchedule" not in template["Parameters"]


def test_package_authorizer_is_the_stacks_user_pool(template: Template) -> None:
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    authorizer = body["securityDefinitions"]["CognitoUserPool"]["x-amazon-apigateway-authorizer"]
    assert authorizer["providerARNs"] == [{"Fn::GetAtt": ["UserPool", "Arn"]}]
    private = [
        (path, method)
        for path, operations in body["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    ]
    assert ("/todos", "get") in private


def test_package_caches_only_the_public_blog_reads(template: Template) -> None:
    settings = template["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    cached = {(s["ResourcePath"], s["HttpMethod"]) for s in settings if s["CachingEnabled"]}
    assert cached == {("/~1posts", "GET"), ("/~1posts~1{slug}", "GET"), ("/~1feed.xml", "GET")}
    (default,) = [s for s in settings if s["ResourcePath"] == "/*"]
    assert default["HttpMethod"] == "*"
    assert default["CachingEnabled"] is False
    assert all("ThrottlingBurstLimit" in s and "ThrottlingRateLimit" in s for s in settings)
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    for path, method in CACHED_ROUTES:
        assert "security" not in body["paths"][path][method], "a cached route must be public"


def test_package_throttles_public_posts_tighter_than_the_default(template: Template) -> None:
    settings = template["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    tight = {
        (s["ResourcePath"], s["HttpMethod"])
        for s in settings
        if s["ThrottlingRateLimit"] == {"Ref": "PublicPostThrottlingRateLimit"}
        and s["ThrottlingBurstLimit"] == {"Ref": "PublicPostThrottlingBurstLimit"}
    }
    assert tight == {
        ("/~1subscriptions", "POST"),
        ("/~1subscriptions~1confirm", "POST"),
        ("/~1subscriptions~1unsubscribe", "POST"),
    }
    parameters = template["Parameters"]
    assert (
        parameters["PublicPostThrottlingRateLimit"]["Default"]
        < parameters["ApiThrottlingRateLimit"]["Default"]
    )
    assert (
        parameters["PublicPostThrottlingBurstLimit"]["Default"]
        < parameters["ApiThrottlingBurstLimit"]["Default"]
    )
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    for path in PUBLIC_POSTS:
        assert "security" not in body["paths"][path]["post"], "only public routes"


def test_package_waf_rate_rule_is_a_parameter_off_by_default(template: Template) -> None:
    assert template["Parameters"]["WafRateLimit"]["Default"] == 0
    acl = template["Resources"]["ApiWebAcl"]
    association = template["Resources"]["ApiWebAclAssociation"]
    assert acl["Condition"] == association["Condition"] == "WafOn"
    (rule,) = acl["Properties"]["Rules"]
    assert rule["Action"] == {"Block": {}}
    assert rule["Statement"]["RateBasedStatement"] == {
        "Limit": {"Ref": "WafRateLimit"},
        "AggregateKeyType": "IP",
    }
    assert "${RestAPI}" in association["Properties"]["ResourceArn"]["Fn::Sub"]


def test_package_gives_the_mail_functions_the_api_url(template: Template) -> None:
    for logical_id, function in serverless_functions(template).items():
        variables = function["Properties"]["Environment"]["Variables"]
        if handler_name(function) == "app":
            assert "API_URL" not in variables or variables["API_URL"] == {"Ref": "AWS::NoValue"}, (
                logical_id
            )
        else:
            assert "${RestAPI}" in variables["API_URL"]["Fn::Sub"], logical_id


@pytest.mark.parametrize(("path", "method"), sorted(CACHED_ROUTES))
def test_package_cache_key_holds_path_query_and_if_none_match(
    template: Template, path: str, method: str
) -> None:
    operation = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"][path][
        method
    ]
    keys = operation["x-amazon-apigateway-integration"]["cacheKeyParameters"]
    wanted = {f"method.request.path.{name}" for name in re.findall(r"\{(\w+)\}", path)}
    wanted |= {f"method.request.querystring.{q}" for q in CACHED_ROUTES[path, method]}
    wanted.add("method.request.header.If-None-Match")
    assert set(keys) == wanted
    declared = {(p["in"], p["name"]) for p in operation["parameters"]}
    assert len(declared) == len(keys)


GATEWAY_RESPONSES = {
    "DEFAULT_4XX": (None, "BadRequestError"),
    "DEFAULT_5XX": (None, "InternalServerError"),
    "UNAUTHORIZED": (401, "UnauthorizedError"),
    "ACCESS_DENIED": (403, "ForbiddenError"),
    "MISSING_AUTHENTICATION_TOKEN": (404, "NotFoundError"),
    "THROTTLED": (429, "TooManyRequestsError"),
}


@pytest.mark.parametrize("kind", sorted(GATEWAY_RESPONSES))
def test_package_gateway_responses_use_the_error_envelope_with_cors(
    template: Template, kind: str
) -> None:
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    response = body["x-amazon-apigateway-gateway-responses"][kind]
    status, code = GATEWAY_RESPONSES[kind]
    assert response.get("statusCode") == status
    rendered = response["responseTemplates"]["application/json"].replace(
        "$context.error.messageString", '"what API Gateway says"'
    )
    assert json.loads(rendered)["Code"] == code
    assert set(json.loads(rendered)) == {"Code", "Message"}
    headers = response["responseParameters"]
    assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == f"'{STAGE_ORIGIN}'"


def test_package_preflights_allow_the_stages_origin(template: Template) -> None:
    paths = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    origins = {
        path: response["responseParameters"]["method.response.header.Access-Control-Allow-Origin"]
        for path, item in paths.items()
        if "options" in item
        for response in item["options"]["x-amazon-apigateway-integration"]["responses"].values()
    }
    assert len(origins) == len(paths)
    assert set(origins.values()) == {f"'{STAGE_ORIGIN}'"}


def test_package_names_functions_as_chalice_deploy_does(template: Template) -> None:
    # The one IAM policy names the functions and their log groups this way.
    for logical_id, function in serverless_functions(template).items():
        # A WebSocket function is named after its route (websocket_connect), as chalice deploy does.
        handler = WEBSOCKET_FUNCTIONS.get(logical_id) or handler_name(function)
        suffix = "" if handler == "app" else f"-{handler}"
        assert function["Properties"]["FunctionName"] == {
            "Fn::Sub": f"mytodolist-${{Stage}}{suffix}"
        }
        log_group = template["Resources"][f"{logical_id}LogGroup"]["Properties"]
        assert log_group["LogGroupName"] == {
            "Fn::Sub": f"/aws/lambda/mytodolist-${{Stage}}{suffix}"
        }


def test_package_environment_comes_from_the_stack_and_fits(template: Template) -> None:
    for logical_id, function in serverless_functions(template).items():
        variables = function["Properties"]["Environment"]["Variables"]
        for name in OUTPUT_FOR_VARIABLE:
            assert isinstance(variables[name], dict), (logical_id, name)
        # The secret's ARN for the API alone (it reads the value itself), no value anywhere.
        arn = variables.get("CURSOR_SECRET_ARN")
        assert arn == ({"Ref": "CursorSecret"} if logical_id == "APIHandler" else None)
        assert "CURSOR_SECRET" not in variables
        assert variables["APP_STAGE"] == STAGE
        assert environment_bytes(template, variables) <= MAX_ENVIRONMENT_BYTES


def test_package_resolves_no_secret_into_the_template(template: Template) -> None:
    assert "resolve:secretsmanager" not in json.dumps(template)


def test_package_is_for_its_stage_only(template: Template) -> None:
    stage = template["Parameters"]["Stage"]
    assert stage["Default"] == STAGE
    assert stage["AllowedValues"] == [STAGE]


def test_package_provisioned_concurrency_is_an_option_where_snapstart_is_off(
    built: Package,
) -> None:
    merge = _dev_merge(built)
    api = merge["Resources"]["APIHandler"]["Properties"]
    assert api["AutoPublishAlias"] == "live"
    assert "SnapStart" not in api
    assert api["ProvisionedConcurrencyConfig"]["Fn::If"][0] == "ApiProvisioned"
    assert merge["Parameters"]["ApiProvisionedConcurrency"]["Default"] == 0
    body = merge["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    uri = body["paths"]["/todos"]["get"]["x-amazon-apigateway-integration"]["uri"]
    assert uri["Fn::Sub"][1]["Target"]["Fn::If"][1] == {"Ref": "APIHandler.Alias"}
    assert "SnapStart" not in json.dumps(merge)


@pytest.fixture(scope="module")
def translated(built: Package) -> Template:
    """The CloudFormation that the SAM transform makes of the package (run locally)."""
    from samtranslator.translator.transform import (  # type: ignore[import-untyped]  # noqa: PLC0415
        transform,
    )

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    sam = built.template()
    for function in serverless_functions(sam).values():
        function["Properties"]["CodeUri"] = "s3://mytodolist-deploy-bucket/code.zip"
    result: Template = transform(sam, {"MailSender": "blog@example.com"}, NoManagedPolicies())
    return result


def test_package_transforms_and_lints_clean(
    built: Package, translated: Template, tmp_path: Path
) -> None:
    mappings = [
        r["Properties"]
        for r in translated["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
    ]
    queues_and_streams = (SQSEventConfig, DynamoDBEventConfig)
    assert len(mappings) == len([s for s in app.event_sources if isinstance(s, queues_and_streams)])
    assert all(m["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings)
    cfn = tmp_path / "cloudformation.json"
    cfn.write_text(json.dumps(translated))
    assert cfn_lint(built.template_path, cfn) == []


# -- SnapStart (prod): the API and thumbnail functions, called through their alias only --------

SNAPSTART = {"APIHandler": "APIHandlerAliaslive", "MakeThumbnails": "MakeThumbnailsAliaslive"}


def test_package_snapstart_is_on_for_the_api_and_thumbnail_functions_only(
    template: Template,
) -> None:
    for logical_id, function in serverless_functions(template).items():
        props = function["Properties"]
        if logical_id not in SNAPSTART:
            assert "SnapStart" not in props, logical_id
            continue
        assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        assert props["AutoPublishAlias"] == "live"
        # Callers see the alias alone: any changed property must publish a new version.
        assert props["AutoPublishAliasAllProperties"] is True
        assert props["VersionDeletionPolicy"] == "Delete"
        # What SnapStart cannot be combined with.
        assert "ProvisionedConcurrencyConfig" not in props
        assert "FileSystemConfigs" not in props
        assert props.get("EphemeralStorage", {}).get("Size", 512) <= 512
        assert props["Runtime"] == "python3.12"
    assert "ApiProvisionedConcurrency" not in template["Parameters"]
    assert "APIHandlerAliasInvokePermission" not in template["Resources"]


def _refs(value: Any) -> set[str]:
    """Every logical id a value refers to (Ref, Fn::GetAtt, Fn::Sub), anywhere inside it."""
    if isinstance(value, list):
        return set().union(*map(_refs, value)) if value else set()
    if not isinstance(value, dict):
        return set()
    found = {str(value["Ref"])} if "Ref" in value else set()
    if "Fn::GetAtt" in value:
        found.add(str(value["Fn::GetAtt"][0]))
    sub = value.get("Fn::Sub")
    text = sub[0] if isinstance(sub, list) else sub
    if isinstance(text, str):
        found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
    return found | set().union(*(_refs(v) for v in value.values()))


def test_package_every_invocation_of_a_snapstart_function_goes_through_its_alias(
    translated: Template,
) -> None:
    resources = translated["Resources"]
    for function, alias in SNAPSTART.items():
        assert resources[alias]["Type"] == "AWS::Lambda::Alias"
        assert resources[function]["Properties"]["SnapStart"]["ApplyOn"] == "PublishedVersions"
    targets: dict[str, Any] = {
        logical_id: r["Properties"]["FunctionName"]
        for logical_id, r in resources.items()
        if r["Type"] in {"AWS::Lambda::Permission", "AWS::Lambda::EventSourceMapping"}
    }
    paths = resources["RestAPI"]["Properties"]["Body"]["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            integration = operation["x-amazon-apigateway-integration"]
            if integration["type"] == "aws_proxy":
                targets[f"{method.upper()} {path}"] = integration["uri"]
    for logical_id, function in resources.items():
        if function["Type"] == "AWS::Lambda::Function":
            variables = function["Properties"].get("Environment", {}).get("Variables", {})
            targets[f"{logical_id} API_FUNCTION_NAME"] = variables.get("API_FUNCTION_NAME")
    through: dict[str, list[str]] = {alias: [] for alias in SNAPSTART.values()}
    for where, value in targets.items():
        refs = _refs(value)
        assert not refs & set(SNAPSTART), f"{where} invokes {refs & set(SNAPSTART)} unqualified"
        for alias in refs & set(through):
            through[alias].append(where)
    # API Gateway (every route and its permission) and the thumbnail queue reach the alias.
    routes = [w for w in targets if " /" in w]
    assert len(routes) == sum(len(methods) for methods in app.routes.values())
    assert sorted(through["APIHandlerAliaslive"]) == sorted([*routes, "APIHandlerInvokePermission"])
    assert through["MakeThumbnailsAliaslive"] == ["MakeThumbnailsMakeThumbnailsSqsEventSource"]
    # By name, the warmer's target: `mytodolist-prod:live`, never the bare function name.
    names = {json.dumps(v) for w, v in targets.items() if w.endswith("API_FUNCTION_NAME")}
    assert names == {json.dumps({"Fn::Sub": "mytodolist-${Stage}:live"})}
    assert invocation_problems(translated) == []


def test_package_alarms_count_every_version_and_alias_of_a_snapstart_function(
    template: Template,
) -> None:
    # AWS/Lambda metrics by FunctionName alone aggregate every version and alias: an error of a
    # restored `live` container counts. A Resource (alias) dimension would miss `$LATEST` calls.
    alarms = _of_type(template, "AWS::CloudWatch::Alarm").values()
    for suffix in ("", "-make_thumbnails"):
        name = {"Fn::Sub": f"mytodolist-${{Stage}}{suffix}"}
        dims = [
            a["Properties"]["Dimensions"]
            for a in alarms
            if a["Properties"].get("Namespace") == "AWS/Lambda"
            and a["Properties"]["Dimensions"][0]["Value"] == name
        ]
        assert {a[0]["Name"] for a in dims} == {"FunctionName"}
        assert all(len(d) == 1 for d in dims)
        assert len(dims) == 2  # errors and throttles


Mutation = Callable[[Template], None]


def _drop_batch_failures(t: Template) -> None:
    events = t["Resources"]["MakeThumbnails"]["Properties"]["Events"]
    del events["MakeThumbnailsSqsEventSource"]["Properties"]["FunctionResponseTypes"]


def _stream_as_text(t: Template) -> None:
    events = t["Resources"]["AnnouncePosts"]["Properties"]["Events"]
    events["AnnouncePostsDynamodbEventSource"]["Properties"]["Stream"] = "arn:aws:dynamodb:x"


def _no_on_failure(t: Template) -> None:
    events = t["Resources"]["SendWelcomeMails"]["Properties"]["Events"]
    del events["SendWelcomeMailsDynamodbEventSource"]["Properties"]["DestinationConfig"]


def _pool_by_text(t: Template) -> None:
    body = t["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    authorizer = body["securityDefinitions"]["CognitoUserPool"]["x-amazon-apigateway-authorizer"]
    authorizer["providerARNs"] = ["arn:aws:cognito-idp:us-east-1:1:userpool/x"]


def _big_environment(t: Template) -> None:
    t["Resources"]["WarmApi"]["Properties"]["Environment"]["Variables"]["EXTRA"] = "x" * 4000


def _placeholder(t: Template) -> None:
    variables = t["Resources"]["WarmApi"]["Properties"]["Environment"]["Variables"]
    variables["SITE_URL"] = "https://set-by-make-resources.invalid"


def _api_route_unqualified(t: Template) -> None:
    body = t["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    uri = body["paths"]["/todos"]["get"]["x-amazon-apigateway-integration"]["uri"]
    uri["Fn::Sub"][1]["Target"] = {"Fn::GetAtt": ["APIHandler", "Arn"]}


def _api_permission_unqualified(t: Template) -> None:
    t["Resources"]["APIHandlerInvokePermission"]["Properties"]["FunctionName"] = {
        "Ref": "APIHandler"
    }


def _thumbnails_without_alias(t: Template) -> None:
    # SAM would then wire the queue to the unqualified function.
    del t["Resources"]["MakeThumbnails"]["Properties"]["AutoPublishAlias"]


def _snapstart_and_provisioned(t: Template) -> None:
    t["Resources"]["APIHandler"]["Properties"]["ProvisionedConcurrencyConfig"] = {
        "ProvisionedConcurrentExecutions": 2
    }


def _big_ephemeral_storage(t: Template) -> None:
    t["Resources"]["MakeThumbnails"]["Properties"]["EphemeralStorage"] = {"Size": 1024}


def _warmer_targets_the_bare_name(t: Template) -> None:
    variables = t["Resources"]["WarmApi"]["Properties"]["Environment"]["Variables"]
    variables["API_FUNCTION_NAME"] = {"Fn::Sub": "mytodolist-${Stage}"}


@pytest.mark.parametrize(
    ("mutate", "finding"),
    [
        (_api_route_unqualified, "integration invokes APIHandler unqualified"),
        (_api_permission_unqualified, "APIHandlerInvokePermission.FunctionName invokes APIHandler"),
        (_thumbnails_without_alias, "MakeThumbnails: SnapStart without AutoPublishAlias"),
        (_snapstart_and_provisioned, "cannot be combined with provisioned concurrency"),
        (_big_ephemeral_storage, "ephemeral storage of at most 512 MB"),
        (_warmer_targets_the_bare_name, "WarmApi.Environment invokes APIHandler unqualified"),
        (_drop_batch_failures, "no ReportBatchItemFailures"),
        (_stream_as_text, "the stream is not Fn::GetAtt"),
        (_no_on_failure, "no on-failure queue"),
        (_pool_by_text, "not the stack's user pool"),
        (_big_environment, "environment up to"),
        (_placeholder, "still a placeholder"),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_package_checks_catch(
    built: Package, tmp_path: Path, mutate: Mutation, finding: str
) -> None:
    broken = copy.deepcopy(built.template())
    mutate(broken)
    (tmp_path / "sam.json").write_text(json.dumps(broken))
    (tmp_path / "deployment.zip").symlink_to(built.zip_path)
    found = problems(Package(STAGE, tmp_path))
    assert any(finding in problem for problem in found), found


def test_package_leaves_out_what_the_runtime_provides(built: Package) -> None:
    with zipfile.ZipFile(built.zip_path) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    assert not tops & {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3"}
    assert {"app.py", "chalicelib", "pynamodb", "PIL"} <= tops


def test_package_ships_bytecode_for_every_module(built: Package) -> None:
    with zipfile.ZipFile(built.zip_path) as archive:
        names = set(archive.namelist())
    sources = [n for n in names if n.endswith(".py") and "/tests/" not in n]
    missing = [
        n
        for n in sources
        if f"{n.rsplit('/', 1)[0] + '/' if '/' in n else ''}__pycache__/"
        f"{n.rsplit('/', 1)[-1][:-3]}.cpython-312.pyc" not in names
    ]
    assert sources
    assert missing == []


# -- operating it: logs, alarms, dashboard -----------------------------------------------------


def _of_type(template: Template, kind: str) -> dict[str, Template]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def test_package_functions_log_json_at_the_stages_level(template: Template) -> None:
    level = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"][STAGE][
        "environment_variables"
    ]["LOG_LEVEL"]
    for logical_id, function in serverless_functions(template).items():
        config = function["Properties"]["LoggingConfig"]
        assert config == {
            "LogFormat": "JSON",
            "ApplicationLogLevel": level,
            "SystemLogLevel": "WARN",
        }, logical_id
        group = template["Resources"][f"{logical_id}LogGroup"]["Properties"]
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_package_alarms_cover_every_queue_function_stream_and_table(template: Template) -> None:
    alarms = _of_type(template, "AWS::CloudWatch::Alarm")
    watched: dict[str, set[str]] = {}
    for alarm in alarms.values():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        metrics = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
        for metric in metrics or [props]:
            for dimension in metric["Dimensions"]:
                value = json.dumps(dimension["Value"])
                watched.setdefault(metric["MetricName"], set()).add(value)
    resources = resources_template()["Resources"]
    dlqs = [r for r in resources.values() if r["Type"] == "AWS::SQS::Queue"]
    dlqs = [q for q in dlqs if q["Properties"]["QueueName"]["Fn::Sub"].endswith("-dlq")]
    assert len(watched["ApproximateNumberOfMessagesVisible"]) == len(dlqs) >= 4
    functions = serverless_functions(template)
    assert len(watched["Errors"]) == len(watched["Throttles"]) == len(functions)
    streams = [s for s in app.event_sources if isinstance(s, DynamoDBEventConfig)]
    assert len(watched["IteratorAge"]) == len(streams) >= 2
    tables = [r for r in resources.values() if r["Type"] == "AWS::DynamoDB::Table"]
    assert len(watched["ReadThrottleEvents"]) == len(watched["WriteThrottleEvents"]) == len(tables)
    assert {"5XXError", "Latency"} <= set(watched)


def test_package_alarm_topic_mails_the_address_given_at_deploy(template: Template) -> None:
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert template["Parameters"]["AlarmEmail"]["Default"] == ""


def test_package_has_one_dashboard_with_the_alarmed_figures(template: Template) -> None:
    (dashboard,) = _of_type(template, "AWS::CloudWatch::Dashboard").values()
    body = json.loads(dashboard["Properties"]["DashboardBody"]["Fn::Sub"])
    text = json.dumps(body)
    figures = ("5XXError", "Latency", "Errors", "Throttles", "IteratorAge", "Requests")
    for figure in (*figures, "ApproximateNumberOfMessagesVisible", "ReadThrottleEvents"):
        assert figure in text


def test_package_api_writes_json_access_logs_that_expire(template: Template) -> None:
    setting = template["Resources"]["RestAPI"]["Properties"]["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(setting["Format"])
    assert {"requestId", "status", "resourcePath", "responseLatency"} <= set(fields)
    assert "ip" not in json.dumps(fields).lower()
    group = template["Resources"]["ApiAccessLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


# -- Real time (v1.2): the WebSocket API, its functions, the todos stream and @connections ------


def test_package_has_the_websocket_api_and_its_three_functions(template: Template) -> None:
    resources = template["Resources"]
    assert resources["WebsocketAPI"]["Properties"]["ProtocolType"] == "WEBSOCKET"
    routes = {
        r["Properties"]["RouteKey"]
        for r in resources.values()
        if r["Type"] == "AWS::ApiGatewayV2::Route"
    }
    assert routes == {"$connect", "$default", "$disconnect"}
    names = {
        logical_id: resources[logical_id]["Properties"]["FunctionName"]
        for logical_id in ("WebsocketConnect", "WebsocketMessage", "WebsocketDisconnect")
    }
    # Named as `chalice deploy` names them, so that each finds its call budget.
    assert names["WebsocketConnect"] == {"Fn::Sub": "mytodolist-${Stage}-websocket_connect"}
    assert set(config.CALL_BUDGETS) >= {"websocket_connect", "websocket_message", "poke_devices"}


def test_package_has_the_connections_table_and_the_todos_stream(template: Template) -> None:
    resources = template["Resources"]
    table = resources["ConnectionsTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by_connection"]
    todos = resources["TodosTable"]["Properties"]
    assert todos["StreamSpecification"]["StreamViewType"] in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")


def test_package_pokes_from_the_todos_stream_with_failure_settings(template: Template) -> None:
    (source,) = _events(_function_for(template, "poke_devices"), "DynamoDB")
    assert source["Stream"] == {"Fn::GetAtt": ["TodosTable", "StreamArn"]}
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["BisectBatchOnFunctionError"] is True
    assert source["StartingPosition"] == "LATEST"
    destination = source["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination == {"Fn::GetAtt": ["TodosStreamDeadLetterQueue", "Arn"]}
    env = _function_for(template, "poke_devices")["Properties"]["Environment"]["Variables"]
    assert env["CONNECTIONS_TABLE_NAME"] == {"Ref": "ConnectionsTable"}


def test_package_alarms_watch_the_poke_function_and_its_stream(template: Template) -> None:
    alarms = json.dumps(_of_type(template, "AWS::CloudWatch::Alarm"))
    for name in ("poke_devices-iterator-age", "poke_devices-errors", "todos-stream-dlq"):
        assert name in alarms, name


def test_package_scopes_manage_connections_to_this_websocket_api(template: Template) -> None:
    statements = [
        statement
        for resource in _of_type(template, "AWS::IAM::Role").values()
        for policy in resource["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        if "execute-api:ManageConnections" in statement["Action"]
    ]
    assert statements
    for statement in statements:
        resource = statement["Resource"]["Fn::Sub"]
        assert "${WebsocketAPI}/api/POST/@connections/*" in resource
        # Only posting: the app never closes or inspects a connection through the API.
        assert statement["Action"] == ["execute-api:ManageConnections"]
