"""The dev CLI, `python -m sandbox`: run the sandbox, create users, print tokens, reset data."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sandbox.endpoints import NOT_RUNNING, read_endpoints
from sandbox.settings import (
    DEFAULT_API_PORT,
    DEFAULT_AWS_PORT,
    DEFAULT_REGION,
    DEFAULT_SCHEDULE_SECONDS,
    DEFAULT_SITE_PORT,
    DEFAULT_SNAPSHOT_SECONDS,
    DEFAULT_WARM_CONCURRENCY,
    ENDPOINTS_FILE,
    SandboxError,
    SandboxSettings,
    sandbox_dir,
)

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
  python -m sandbox faults set 'dynamodb:*:throttle:0.1,lambda:*:duplicate:0.2'

environment:
  SANDBOX_API_PORT   API port (default {DEFAULT_API_PORT})
  SANDBOX_SITE_PORT  the blog site's port (default {DEFAULT_SITE_PORT})
  SANDBOX_AWS_PORT   moto's port, the AWS endpoint (default {DEFAULT_AWS_PORT})
  SANDBOX_HOST       the address to listen on (default 127.0.0.1; see the README first)
  SANDBOX_DIR        where endpoints.json and the saved state live (default <repo>/.sandbox)
  SANDBOX_SNAPSHOT_SECONDS  how often changes are saved (default {DEFAULT_SNAPSHOT_SECONDS:g})
  SANDBOX_SCHEDULE_SECONDS  period of schedules (the warmer) (default {DEFAULT_SCHEDULE_SECONDS})
  SANDBOX_WARM_CONCURRENCY  the warmer's concurrent calls (default {DEFAULT_WARM_CONCURRENCY})
  SANDBOX_FAULTS     fault rules from the start (see `python -m sandbox faults --help`)
  SANDBOX_FAULT_SEED seed of the fault draws: the same seed, the same faults (default random)
  AWS_DEFAULT_REGION region of the fake AWS (default {DEFAULT_REGION})"""


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
    create.add_argument("--editor", action="store_true", help="add the user to the `editors` group")

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
    _add_faults(commands)
    return parser


def _add_faults(commands: Any) -> None:
    from sandbox.fault_control import HELP  # noqa: PLC0415 - only its words

    faults = commands.add_parser(
        "faults",
        help="show, set or clear the running sandbox's fault rules (what each injected)",
        description="Make the running sandbox's AWS throttle, fail or slow down, and its event "
        "handlers crash or get batches twice, on purpose. Without a command: each rule with "
        "the calls it met and the faults it injected.",
        epilog=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = faults.add_subparsers(dest="faults_command", metavar="COMMAND")
    set_rules = actions.add_parser(
        "set",
        help="replace the rules with SPEC (a bad rule changes nothing)",
        description="Replace the rules with SPEC; their counts start at 0. A malformed SPEC is "
        "refused whole, naming each bad rule.",
        epilog=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    set_rules.add_argument("spec", metavar="SPEC", help="comma-separated rules")
    actions.add_parser("clear", help="remove every rule; shows what they had injected")


def _run(args: argparse.Namespace) -> int:
    from sandbox.run import run  # noqa: PLC0415 - chalice and moto only for `run`

    settings = SandboxSettings.from_environ(os.environ)
    return run(dataclasses.replace(settings, fresh=args.fresh))


def _user(args: argparse.Namespace) -> str:
    from sandbox.users import create_user  # noqa: PLC0415 - boto3 only where needed

    return create_user(args.email, args.password, editor=args.editor)


def _token(args: argparse.Namespace) -> str:
    from sandbox.users import id_token  # noqa: PLC0415

    return id_token(args.email, args.password)


def _reset(args: argparse.Namespace) -> str:
    from sandbox.reset import reset  # noqa: PLC0415

    return "\n".join(reset(users=args.users))


def _mail(args: argparse.Namespace) -> str:
    from sandbox.outbox import show  # noqa: PLC0415

    return show(to=args.to, as_json=args.json)


def _fire(args: argparse.Namespace) -> str:
    from sandbox.handlers import fire  # noqa: PLC0415 - chalice only for `fire`

    endpoints = read_endpoints(sandbox_dir(os.environ) / ENDPOINTS_FILE)
    return json.dumps(fire(endpoints, args.handler), indent=2, default=str)


def _faults(args: argparse.Namespace) -> str:
    from sandbox.fault_control import faults  # noqa: PLC0415

    return faults(args.faults_command, getattr(args, "spec", ""))


# Each command: `run`'s exit status, or what any other command prints.
_COMMANDS: dict[str, Callable[[argparse.Namespace], int | str]] = {
    "run": _run,
    "user": _user,
    "token": _token,
    "reset": _reset,
    "mail": _mail,
    "fire": _fire,
    "faults": _faults,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        done = _COMMANDS[args.command](args)
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
    if isinstance(done, int):
        return done
    print(done)
    return 0


def _is_connection_error(error: Exception) -> bool:
    from botocore.exceptions import EndpointConnectionError  # noqa: PLC0415

    return isinstance(error, EndpointConnectionError | ConnectionError)
