"""Sandbox users for the CLI: create a confirmed one (an editor if asked), sign in for a token."""

from __future__ import annotations

from typing import Any

from sandbox.endpoints import connect
from sandbox.settings import SandboxError

EDITORS_GROUP = "editors"


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


def _error_code(error: Exception) -> str:
    response: Any = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def create_user(email: str, password: str, *, editor: bool) -> str:
    """Create a confirmed user; returns its `sub`."""
    from botocore.exceptions import ClientError  # noqa: PLC0415

    endpoints, session = connect()
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

    endpoints, session = connect()
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
