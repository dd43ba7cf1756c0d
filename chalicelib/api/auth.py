"""The Cognito user-pool authorizer shared by every private route."""

from __future__ import annotations

import os

from chalice import CognitoUserPoolAuthorizer

# A decorator argument, so read at import: the pool ARN per stage comes from .chalice/config.json
# (and is replaced by the pool's Fn::GetAtt in the packaged template).
cognito = CognitoUserPoolAuthorizer(
    "CognitoUserPool",
    provider_arns=[
        os.environ.get("USER_POOL_ARN", "arn:aws:cognito-idp:us-east-1:000000000000:userpool/unset")
    ],
)
