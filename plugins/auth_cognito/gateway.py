"""Cognito's user-pool API: every boto3 call in a worker thread, every failure typed.

boto3 is synchronous and each call is a network round trip, so none runs on the event
loop. An unreachable or throttling Cognito becomes a 503 with Retry-After; the errors a
user can cause stay `CognitoError` for the service to map (`problem_for`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from functools import partial
from typing import Any

import anyio.to_thread
import boto3
from botocore.credentials import Credentials
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from core.aws import CREDENTIAL_FAULTS, AwsClients
from core.errors import (
    Conflict,
    Forbidden,
    Problem,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from plugins.auth_cognito.config import PoolTarget

log = logging.getLogger("itube.auth_cognito")
UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError,
               ConnectionClosedError)
THROTTLED = {"TooManyRequestsException", "ThrottlingException", "InternalErrorException",
             "ServiceUnavailable", "RequestTimeout"}
RETRY_AFTER_SECONDS = 5
# One answer for an unknown user and a wrong password, so neither can be told apart.
WRONG_CREDENTIALS = "Incorrect e-mail address or password"


class CognitoError(Exception):
    """An error Cognito answered with, caused by the request (not by Cognito's health)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def secret_hash(client_secret: str, client_id: str, username: str) -> str:
    """base64(HMAC-SHA256(client secret, username + client id)), as Cognito expects."""
    digest = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def cognito_client(aws: AwsClients, pool: PoolTarget) -> Any:
    """The app's shared client, unless the pool lives at another endpoint or region."""
    endpoint = pool.endpoint_url or None
    if endpoint in (None, aws.endpoint_url) and pool.region == aws.region:
        return aws.client("cognito-idp")
    credentials = aws.credentials()
    # Static keys are passed on; anything refreshable is left to boto3's own chain.
    keys = (
        {"aws_access_key_id": credentials.access_key,
         "aws_secret_access_key": credentials.secret_key,
         "aws_session_token": credentials.token}
        if type(credentials) is Credentials else {}
    )
    config = aws.boto_config("cognito-idp", region=pool.region)  # the [aws] timeouts
    return boto3.session.Session().client(
        "cognito-idp", region_name=pool.region, endpoint_url=endpoint, config=config, **keys
    )


class CognitoGateway:
    """The calls the provider makes, with the pool's ids and SECRET_HASH filled in."""

    def __init__(self, client: Any, pool: PoolTarget) -> None:
        self.client = client
        self.pool = pool

    def _hash(self, username: str) -> str | None:
        if not self.pool.client_secret:
            return None
        return secret_hash(self.pool.client_secret, self.pool.client_id, username)

    def _signed(self, username: str) -> dict[str, str]:
        hashed = self._hash(username)
        return {"SecretHash": hashed} if hashed else {}

    def _auth_parameters(self, username: str, **params: str) -> dict[str, str]:
        hashed = self._hash(username)
        return {**params, "SECRET_HASH": hashed} if hashed else params

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Run one boto3 operation off the event loop."""
        method = getattr(self.client, operation)
        try:
            return await anyio.to_thread.run_sync(partial(method, **params))
        except UNREACHABLE as exc:
            log.warning("cognito unreachable", extra={"operation": operation, "error": str(exc)})
            raise ServiceUnavailable(
                "The sign-in service is unreachable; try again shortly",
                retry_after=RETRY_AFTER_SECONDS,
            ) from None
        except ClientError as exc:
            raise _client_error(operation, exc) from None
        except CREDENTIAL_FAULTS as exc:  # the credentials a signed call needs
            log.warning("cognito credentials unavailable", extra={
                "operation": operation, "error": type(exc).__name__, "reason": str(exc)})
            raise ServiceUnavailable(
                "The sign-in service is unreachable; try again shortly",
                retry_after=RETRY_AFTER_SECONDS,
            ) from None

    async def sign_up(self, email: str, password: str, name: str) -> dict[str, Any]:
        return await self.call(
            "sign_up", ClientId=self.pool.client_id, Username=email, Password=password,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "name", "Value": name}],
            **self._signed(email),
        )

    async def admin_confirm(self, email: str) -> None:
        await self.call("admin_confirm_sign_up", UserPoolId=self.pool.user_pool_id, Username=email)

    async def confirm(self, email: str, code: str) -> None:
        await self.call("confirm_sign_up", ClientId=self.pool.client_id, Username=email,
                        ConfirmationCode=code, **self._signed(email))

    async def resend_code(self, email: str) -> None:
        await self.call("resend_confirmation_code", ClientId=self.pool.client_id,
                        Username=email, **self._signed(email))

    async def password_auth(self, email: str, password: str) -> dict[str, Any]:
        params = self._auth_parameters(email, USERNAME=email, PASSWORD=password)
        return await self.call("initiate_auth", ClientId=self.pool.client_id,
                               AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params)

    async def refresh_auth(self, username: str, refresh_token: str) -> dict[str, Any]:
        params = self._auth_parameters(username, REFRESH_TOKEN=refresh_token)
        return await self.call("initiate_auth", ClientId=self.pool.client_id,
                               AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters=params)

    async def global_sign_out(self, access_token: str) -> None:
        await self.call("global_sign_out", AccessToken=access_token)

    async def get_user(self, access_token: str) -> dict[str, Any]:
        """The token's user; NotAuthorizedException once the token is signed out."""
        return await self.call("get_user", AccessToken=access_token)


def _client_error(operation: str, exc: ClientError) -> Exception:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in THROTTLED or status >= 500:
        log.warning("cognito unavailable", extra={"operation": operation, "code": code})
        return ServiceUnavailable(
            "The sign-in service is busy; try again shortly", retry_after=RETRY_AFTER_SECONDS
        )
    return CognitoError(code, str(error.get("Message", "")))


def _field_of(message: str) -> str:
    lowered = message.lower()
    for field in ("password", "email", "name", "code"):
        if field in lowered:
            return field
    return "email" if "username" in lowered else "(body)"


def problem_for(error: CognitoError) -> Exception:
    """The problem a client sees for an error Cognito answered with."""
    code = error.code
    if code == "UsernameExistsException":
        return Conflict("An account with this e-mail address already exists")
    if code == "InvalidPasswordException":
        return ValidationFailed.field("password", error.message or "does not meet the policy")
    if code == "InvalidParameterException":
        return ValidationFailed.field(_field_of(error.message), error.message or "invalid")
    if code in {"NotAuthorizedException", "UserNotFoundException"}:
        return Unauthorized(WRONG_CREDENTIALS)
    if code == "UserNotConfirmedException":
        return Forbidden("Confirm your e-mail address before signing in")
    if code == "PasswordResetRequiredException":
        return Forbidden("This account must reset its password before signing in")
    if code in {"CodeMismatchException", "ExpiredCodeException"}:
        return ValidationFailed.field("code", "The code is wrong or has expired")
    if code in {"LimitExceededException", "TooManyFailedAttemptsException",
                "CodeDeliveryFailureException"}:
        return TooManyRequests("Too many attempts for this account; try again later",
                               retry_after=60)
    log.error("unexpected cognito error", extra={"code": code})
    return Problem("The sign-in service answered unexpectedly")
