"""The dev CLI, `python -m sandbox`: run the sandbox, create users, print tokens, reset data."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sandbox.env import (
    DEFAULT_API_PORT,
    DEFAULT_AWS_PORT,
    DEFAULT_REGION,
    DEFAULT_SCHEDULE_SECONDS,
    DEFAULT_SITE_PORT,
    DEFAULT_SNAPSHOT_SECONDS,
    DEFAULT_WARM_CONCURRENCY,
    ENDPOINTS_FILE,
    NOT_RUNNING,
    SandboxError,
    SandboxSettings,
    call_sandbox,
    point_at_sandbox,
    read_endpoints,
    sandbox_dir,
)

if TYPE_CHECKING:
    import boto3

# boto3's per-service stubs are optional extras; the DynamoDB client is typed loosely.
DynamoDBClient = Any

EDITORS_GROUP = "editors"
_BATCH = 25  # BatchWriteItem's limit

_DESCRIPTION = """\
The local sandbox of MyTodoList: moto stands in for AWS, the API runs under Chalice's local
server with real Cognito token checks. Start it with `run` (what `make run` does); the other
commands find the running sandbox through its endpoints.json."""

_EXAMPLES = f"""\
examples:
  python -m sandbox run
  python -m sandbox user create me@example.com 'Passw0rd!!' --editor
  TOKEN=$(python -m sandbox token me@example.com 'Passw0rd!!')
  curl -H "Authorization: $TOKEN" http://127.0.0.1:8000/todos
  python -m sandbox mail
  python -m sandbox fire warm_api
  python -m sandbox reset --users

environment:
  SANDBOX_API_PORT   API port (default {DEFAULT_API_PORT})
  SANDBOX_SITE_PORT  the blog site's port (default {DEFAULT_SITE_PORT})
  SANDBOX_AWS_PORT   moto's port, the AWS endpoint (default {DEFAULT_AWS_PORT})
  SANDBOX_HOST       the address to listen on (default 127.0.0.1; see the README first)
  SANDBOX_DIR        where endpoints.json and the saved state live (default <repo>/.sandbox)
  SANDBOX_SNAPSHOT_SECONDS  how often changes are saved (default {DEFAULT_SNAPSHOT_SECONDS:g})
  SANDBOX_SCHEDULE_SECONDS  period of schedules (the warmer) (default {DEFAULT_SCHEDULE_SECONDS})
  SANDBOX_WARM_CONCURRENCY  the warmer's concurrent calls (default {DEFAULT_WARM_CONCURRENCY})
  AWS_DEFAULT_REGION region of the fake AWS (default {DEFAULT_REGION})"""


def describe_password_policy(policy: dict[str, Any]) -> str:
    """The pool's password rules in words, for the error a weak password gets."""
    rules = [f"at least {policy.get('MinimumLength', 8)} characters"]
    for key, words in (
        ("RequireUppercase", "an upper-case letter"),
        ("RequireLowercase", "a lower-case letter"),
        ("RequireNumbers", "a digit"),
        ("RequireSymbols", "a symbol"),
    ):
        if policy.get(key):
            rules.append(words)
    return "passwords need " + ", ".join(rules)


def _password_policy() -> dict[str, Any]:
    from sandbox.resources import resources_of  # noqa: PLC0415 - only on this error path

    ((_, pool),) = resources_of("AWS::Cognito::UserPool").items()
    policy: dict[str, Any] = pool["Properties"]["Policies"]["PasswordPolicy"]
    return policy


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="start the sandbox and serve until Ctrl-C",
        description="Start moto (AWS) and the API on 127.0.0.1 (or SANDBOX_HOST), create the "
        "tables and the user pool from infra/resources.yaml, restore the state saved by the "
        "last run, write endpoints.json, and serve until Ctrl-C or SIGTERM. The state is saved "
        "every SANDBOX_SNAPSHOT_SECONDS (when it changed) and on stop.",
        epilog=_EXAMPLES.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--fresh", action="store_true", help="delete the saved state and start empty")

    user = commands.add_parser("user", help="manage sandbox users").add_subparsers(
        dest="user_command", required=True, metavar="COMMAND"
    )
    create = user.add_parser(
        "create",
        help="create a confirmed user and print its id (the `sub` claim)",
        description="Create a confirmed user whose username is its e-mail address, with a "
        "permanent password, and print the user's id (the `sub` claim of its tokens).",
    )
    create.add_argument("email", help="e-mail address, also the username")
    create.add_argument("password", help="10+ characters with upper, lower case and a digit")
    create.add_argument(
        "--editor", action="store_true", help=f"add the user to the `{EDITORS_GROUP}` group"
    )

    token = commands.add_parser(
        "token",
        help="sign in and print only the ID token",
        description="Sign in with USER_PASSWORD_AUTH and print only the ID token, for "
        "`TOKEN=$(python -m sandbox token EMAIL PASSWORD)`.",
    )
    token.add_argument("email")
    token.add_argument("password")

    reset = commands.add_parser(
        "reset",
        help="empty every table and the mail outbox (and delete every user with --users)",
        description="Delete every item of every table the sandbox created and every sent "
        "mail, and save that state at once; users are kept unless --users is given. With no "
        "sandbox running, delete the saved state (users included).",
    )
    reset.add_argument("--users", action="store_true", help="delete every user as well")

    mail = commands.add_parser(
        "mail",
        help="show the mails the sandbox has sent (moto's SES outbox)",
        description="List every mail moto's SES has accepted, oldest first: from, to, "
        "subject and the text body (HTML bodies shown as text, links as <url>).",
    )
    mail.add_argument("--to", metavar="ADDRESS", help="only mails to this address")
    mail.add_argument("--json", action="store_true", help="print a JSON list, for scripts")

    fire = commands.add_parser(
        "fire",
        help="run a scheduled handler now (e.g. warm_api)",
        description="Run one @app.schedule handler now, as EventBridge would, against the "
        "running sandbox, and print what it returned.",
    )
    fire.add_argument("handler", help="the handler's name, e.g. warm_api")
    return parser


def _connect() -> tuple[dict[str, Any], boto3.Session]:
    """The running sandbox's endpoints and a session that can only reach its moto."""
    import boto3  # noqa: PLC0415 - keeps `--help` fast

    endpoints = read_endpoints(sandbox_dir(os.environ) / ENDPOINTS_FILE)
    point_at_sandbox(os.environ, endpoints["aws_endpoint_url"], endpoints["region"])
    return endpoints, boto3.Session(region_name=endpoints["region"])


def _error_code(error: Exception) -> str:
    response: Any = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def create_user(email: str, password: str, *, editor: bool) -> str:
    """Create a confirmed user; returns its `sub`."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    endpoints, session = _connect()
    cognito = session.client("cognito-idp")
    pool_id = endpoints["user_pool_id"]
    try:
        created = cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
    except ClientError as e:
        if _error_code(e) == "UsernameExistsException":
            raise SandboxError(f"a user {email} already exists") from e
        raise
    try:
        cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=email, Password=password, Permanent=True
        )
    except ClientError as e:
        # A user without a usable password would only be in the way of the next attempt.
        cognito.admin_delete_user(UserPoolId=pool_id, Username=email)
        if _error_code(e) == "InvalidPasswordException":
            raise SandboxError(
                f"the password was refused: {describe_password_policy(_password_policy())}"
            ) from e
        raise
    if editor:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=EDITORS_GROUP)
    attributes = {a["Name"]: a.get("Value", "") for a in created["User"].get("Attributes", [])}
    return str(attributes["sub"])


def id_token(email: str, password: str) -> str:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    endpoints, session = _connect()
    cognito = session.client("cognito-idp")
    try:
        result = cognito.initiate_auth(
            AuthFlow="USER_PASSWORD_AUTH",
            ClientId=endpoints["user_pool_client_id"],
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
    except ClientError as e:
        if _error_code(e) in {"NotAuthorizedException", "UserNotFoundException"}:
            raise SandboxError(
                "wrong e-mail or password (create the user with `user create` first)"
            ) from e
        raise
    if "AuthenticationResult" not in result:
        raise SandboxError(f"sign-in needs a {result.get('ChallengeName')} challenge first")
    return str(result["AuthenticationResult"]["IdToken"])


def _table_keys(dynamodb: DynamoDBClient, table: str) -> list[str]:
    schema = dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
    return [k["AttributeName"] for k in schema]


def _item_keys(dynamodb: DynamoDBClient, table: str, keys: list[str]) -> Iterator[Any]:
    names = {f"#k{i}": key for i, key in enumerate(keys)}
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=table,
        ProjectionExpression=", ".join(names),
        ExpressionAttributeNames=names,
        ConsistentRead=True,
    ):
        yield from page.get("Items", [])


def _delete_all(dynamodb: DynamoDBClient, table: str) -> int:
    # Collected first: deleting while a scan pages through the table can skip items.
    items = list(_item_keys(dynamodb, table, _table_keys(dynamodb, table)))
    for start in range(0, len(items), _BATCH):
        pending: Any = {
            table: [{"DeleteRequest": {"Key": key}} for key in items[start : start + _BATCH]]
        }
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems")
    return len(items)


def _empty_tables(dynamodb: DynamoDBClient) -> list[str]:
    # The tables moto holds, not the template's: the template may have changed since `run`.
    tables = [
        name
        for page in dynamodb.get_paginator("list_tables").paginate()
        for name in page.get("TableNames", [])
    ]
    return [f"{table}: {_delete_all(dynamodb, table)} items deleted" for table in sorted(tables)]


def _delete_users(cognito: Any, pool_id: str) -> str:
    names = [
        user["Username"]
        for page in cognito.get_paginator("list_users").paginate(UserPoolId=pool_id)
        for user in page.get("Users", [])
        if "Username" in user
    ]
    for name in names:
        cognito.admin_delete_user(UserPoolId=pool_id, Username=name)
    return f"user pool {pool_id}: {len(names)} users deleted"


def forget_saved_state() -> list[str]:
    """With no sandbox running, `reset` deletes what the next `run` would restore."""
    from sandbox.state import STATE_DIR, StateStore  # noqa: PLC0415

    store = StateStore(sandbox_dir(os.environ) / STATE_DIR)
    if store.clear():
        return [f"{NOT_RUNNING}; deleted its saved state in {store.directory}"]
    return [f"{NOT_RUNNING}, and there is no saved state in {store.directory}"]


def reset(*, users: bool) -> list[str]:
    """Empty every app table and the outbox (and the user pool with users=True), then save."""
    try:
        endpoints, session = _connect()
    except SandboxError as e:
        if NOT_RUNNING not in str(e):
            raise
        return forget_saved_state()
    report = _empty_tables(session.client("dynamodb"))
    if users:
        report.append(_delete_users(session.client("cognito-idp"), endpoints["user_pool_id"]))
    aws = str(endpoints["aws_endpoint_url"])
    cleared = call_sandbox(aws, "outbox/clear", method="POST")
    report.append(f"mail outbox: {cleared['deleted']} mails deleted")
    # Saved now: a crash before the next periodic snapshot must not bring the data back.
    call_sandbox(aws, "snapshot", method="POST")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            from sandbox.server import run  # noqa: PLC0415 - chalice and moto only for `run`

            settings = SandboxSettings.from_environ(os.environ)
            return run(dataclasses.replace(settings, fresh=args.fresh))
        if args.command == "user":
            print(create_user(args.email, args.password, editor=args.editor))
        elif args.command == "token":
            print(id_token(args.email, args.password))
        elif args.command == "reset":
            print("\n".join(reset(users=args.users)))
        elif args.command == "mail":
            from sandbox.outbox import show  # noqa: PLC0415

            print(show(to=args.to, as_json=args.json))
        elif args.command == "fire":
            from sandbox.server import fire  # noqa: PLC0415 - chalice only for `fire`

            endpoints = read_endpoints(sandbox_dir(os.environ) / ENDPOINTS_FILE)
            print(json.dumps(fire(endpoints, args.handler), indent=2, default=str))
    except SandboxError as e:
        print(f"sandbox: {e}", file=sys.stderr)
        return 1
    except Exception as e:
        # endpoints.json names a sandbox whose process lives but no longer serves (or another
        # process got its pid): to the developer, that is no sandbox.
        if not _is_connection_error(e):
            raise
        print(f"sandbox: {NOT_RUNNING}: {e}", file=sys.stderr)
        return 1
    return 0


def _is_connection_error(error: Exception) -> bool:
    from botocore.exceptions import EndpointConnectionError  # noqa: PLC0415

    return isinstance(error, EndpointConnectionError | ConnectionError)
