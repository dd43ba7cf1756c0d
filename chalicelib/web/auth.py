"""The Cognito user-pool authorizer shared by every private route."""

from __future__ import annotations

from chalice import CognitoUserPoolAuthorizer

from chalicelib.core.config import import_time_value

# A decorator argument, so read at import: the pool ARN per stage comes from .chalice/config.json
# (and is replaced by the pool's Fn::GetAtt in the packaged template).
cognito = CognitoUserPoolAuthorizer(
    "CognitoUserPool",
    provider_arns=[
        import_time_value(
            "USER_POOL_ARN", "arn:aws:cognito-idp:us-east-1:000000000000:userpool/unset"
        )
    ],
)
