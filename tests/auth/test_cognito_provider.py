"""What only the Cognito provider does: SECRET_HASH, Cognito's errors as problems, calls
kept off the event loop, settings resolved from the emulation, production refusals."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import boto3
import pytest
from botocore.exceptions import ClientError
from moto.cognitoidp.utils import check_secret_hash

from core.app import prepare
from core.aws import AwsClients, AwsEnvironment
from core.cache import MemoryCache
from core.config import AwsSection, config_from_dict
from core.errors import ConfigError, ServiceUnavailable
from core.sessions import AUTH_PATH
from plugins.auth_cognito.attempts import CodeAttempts
from plugins.auth_cognito.config import CognitoSettings, PoolTarget, resolve_pool
from plugins.auth_cognito.gateway import CognitoError, CognitoGateway, problem_for, secret_hash
from plugins.cache_redis.backend import RedisCache
from plugins.cache_redis.config import RedisCacheSettings
from tests.auth.conftest import cognito_gateway
from tests.auth.contract import (
    PASSWORD,
    confirm,
    error_fields,
    login,
    new_email,
    register,
    wrong_code,
)
from tests.auth.tokens import pool_of

POOL = PoolTarget(user_pool_id="us-east-1_x", client_id="client", client_secret="secret",
                  issuer="https://issuer", jwks_url="https://issuer/jwks", endpoint_url="",
                  auto_confirm=False, region="us-east-1")


def test_secret_hash_is_what_cognito_recomputes():
    hashed = secret_hash("s3cr3t", "client-id", "user@example.com")
    assert check_secret_hash("s3cr3t", "client-id", "user@example.com", hashed)
    assert not check_secret_hash("s3cr3t", "client-id", "other@example.com", hashed)


@pytest.mark.parametrize(("code", "status", "field"), [
    ("UsernameExistsException", 409, None),
    ("InvalidPasswordException", 422, "password"),
    ("InvalidParameterException", 422, "email"),
    ("NotAuthorizedException", 401, None),
    ("UserNotFoundException", 401, None),
    ("UserNotConfirmedException", 403, None),
    ("CodeMismatchException", 422, "code"),
    ("ExpiredCodeException", 422, "code"),
    ("LimitExceededException", 429, None),
    ("SomethingNewException", 500, None),
])
def test_cognito_errors_become_problems(code, status, field):
    problem: Any = problem_for(CognitoError(code, "Invalid email address format."))
    assert problem.status == status
    if field:
        assert [error["field"] for error in problem.errors] == [field]


def test_unknown_user_and_wrong_password_map_to_the_same_problem():
    unknown = problem_for(CognitoError("UserNotFoundException", "User does not exist."))
    wrong = problem_for(CognitoError("NotAuthorizedException", "Incorrect username or password."))
    assert (unknown.status, unknown.detail) == (wrong.status, wrong.detail)  # type: ignore[attr-defined]


class RecordingClient:
    """A stand-in boto3 client: records the thread each call runs on, or fails."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.threads: list[threading.Thread] = []

    def sign_up(self, **params: Any) -> dict[str, Any]:
        self.threads.append(threading.current_thread())
        if self.error:
            raise self.error
        return {"UserSub": "sub", "UserConfirmed": False, "params": params}


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "slow down"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "SignUp")


def test_calls_run_off_the_event_loop_with_the_secret_hash():
    client = RecordingClient()
    result = anyio.run(CognitoGateway(client, POOL).sign_up, "a@example.com", PASSWORD, "A")
    assert client.threads and client.threads[0] is not threading.main_thread()
    assert result["params"]["SecretHash"] == secret_hash("secret", "client", "a@example.com")
    assert {"Name": "name", "Value": "A"} in result["params"]["UserAttributes"]


@pytest.mark.parametrize(("code", "status"), [
    ("TooManyRequestsException", 400), ("ThrottlingException", 400),
    ("InternalErrorException", 500), ("AnythingAtAll", 503),
])
def test_throttling_or_a_failing_cognito_is_503_with_retry_after(code, status):
    gateway = CognitoGateway(RecordingClient(client_error(code, status)), POOL)
    with pytest.raises(ServiceUnavailable) as caught:
        anyio.run(gateway.sign_up, "a@example.com", PASSWORD, "A")
    assert int(caught.value.headers["Retry-After"]) >= 1


def test_an_unreachable_cognito_is_503_with_retry_after(cognito_harness):
    client = cognito_harness.start(endpoint_url="http://127.0.0.1:9")
    response = register(client, new_email())
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["content-type"] == "application/problem+json"


def test_the_pools_own_password_policy_is_reported_on_the_password(cognito_harness):
    # Our check lets a password without a symbol through; the pool's policy does not.
    client = cognito_harness.start(password_policy={"require_symbol": False})
    response = register(client, new_email(), password="NoSymbols123A")
    assert response.status_code == 422, response.text
    assert error_fields(response) == {"password"}


def test_a_sign_in_challenge_is_403(cognito_harness, moto_endpoint):
    client = cognito_harness.start()
    pool = pool_of(client)
    email = new_email()
    boto3.client("cognito-idp", endpoint_url=moto_endpoint, region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing",
                 ).admin_create_user(UserPoolId=pool["cognito_user_pool_id"], Username=email,
                                     TemporaryPassword=PASSWORD)
    response = login(client, email)
    assert response.status_code == 403
    assert "NEW_PASSWORD_REQUIRED" in response.json()["detail"]


def test_the_users_table_records_a_sign_in_and_me_reads_it(cognito_harness):
    client = cognito_harness.start()
    email = new_email()
    registered = register(client, email, name="Ada Lovelace").json()
    assert login(client, email).status_code == 200
    me = client.get(f"{AUTH_PATH}/me").json()
    assert (me["id"], me["name"], me["email"]) == (registered["id"], "Ada Lovelace", email)
    assert me["created_at"] == registered["created_at"]


# -- confirmation codes ----------------------------------------------------------------------
# The emulator accepts any code, so the harness puts a code check of its own in front of it
# (`CodeMailingCognito`): what is tested here is our count, not Cognito's.


def test_past_the_wrong_codes_allowed_cognito_is_not_asked(cognito_harness):
    client = cognito_harness.start(confirm_by_code=True, confirmation_attempts=2)
    email = new_email()
    register(client, email)
    code = cognito_harness.code_for(email)
    cognito = cognito_gateway(client).client
    for _ in range(2):
        assert confirm(client, email, wrong_code(code)).status_code == 422
    assert cognito.confirmations_asked == 2
    for attempt in (wrong_code(code), code):
        assert confirm(client, email, attempt).status_code == 422
    assert cognito.confirmations_asked == 2
    assert client.post(f"{AUTH_PATH}/resend-code", json={"email": email}).status_code == 202
    assert confirm(client, email, cognito_harness.code_for(email)).status_code == 200
    assert cognito.confirmations_asked == 3


def test_unknown_addresses_count_like_known_ones(cognito_harness):
    client = cognito_harness.start(confirm_by_code=True, confirmation_attempts=1)
    known, unknown = new_email(), new_email()
    register(client, known)
    answers = []
    for email in (known, unknown):
        confirm(client, email, wrong_code(cognito_harness.code_for(known)))
        answers.append(confirm(client, email, "123456").json()["errors"])
    assert answers[0] == answers[1]


@pytest.mark.anyio
async def test_wrong_codes_are_counted_per_address_until_cleared():
    attempts = CodeAttempts(MemoryCache(), limit=2)
    for _ in range(2):
        assert not await attempts.exhausted("a@example.com")
        await attempts.wrong("a@example.com")
    assert await attempts.exhausted("a@example.com")
    assert not await attempts.exhausted("b@example.com")
    await attempts.clear("a@example.com")
    assert not await attempts.exhausted("a@example.com")


@pytest.mark.anyio
async def test_processes_sharing_redis_count_wrong_codes_together(redis_url, redis_prefix):
    settings = RedisCacheSettings(url=redis_url, key_prefix=redis_prefix)
    first, second = RedisCache(settings), RedisCache(settings)
    await first.open()
    await second.open()
    try:
        await CodeAttempts(first, limit=2).wrong("a@example.com")
        await CodeAttempts(second, limit=2).wrong("a@example.com")
        assert await CodeAttempts(first, limit=2).exhausted("a@example.com")
    finally:
        await first.close()
        await second.close()


# -- settings --------------------------------------------------------------------------------


def aws_with(resources: dict[str, str], region: str = "us-east-1") -> AwsClients:
    return AwsClients(AwsSection(region=region), AwsEnvironment(resources=resources))


def test_pool_settings_default_to_what_the_emulation_provisioned():
    pool = resolve_pool(CognitoSettings(), aws_with({
        "cognito_user_pool_id": "us-east-1_abc", "cognito_client_id": "cid",
        "cognito_client_secret": "sec", "cognito_issuer": "https://iss/us-east-1_abc",
        "cognito_jwks_url": "http://emulator/us-east-1_abc/.well-known/jwks.json",
        "cognito_endpoint_url": "http://emulator", "cognito_auto_confirm": "true",
    }))
    assert (pool.user_pool_id, pool.client_id, pool.client_secret) == ("us-east-1_abc", "cid",
                                                                       "sec")
    assert pool.jwks_url == "http://emulator/us-east-1_abc/.well-known/jwks.json"
    assert pool.issuer == "https://iss/us-east-1_abc"
    assert pool.auto_confirm is True


def test_issuer_and_key_set_derive_from_the_pools_region():
    settings = CognitoSettings(user_pool_id="eu-west-1_AbC123", client_id="cid")
    pool = resolve_pool(settings, aws_with({}, region="us-east-1"))
    assert pool.region == "eu-west-1"
    assert pool.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
    assert pool.jwks_url == pool.issuer + "/.well-known/jwks.json"
    assert pool.auto_confirm is False


def test_no_pool_at_all_stops_start_up():
    with pytest.raises(ConfigError, match="user_pool_id"):
        resolve_pool(CognitoSettings(), aws_with({}))


def production(**cognito: Any) -> Any:
    return config_from_dict({
        "app": {"plugins": ["auth_cognito"], "environment": "production"},
        "plugins": {"auth_cognito": cognito},
    }, environ={})


@pytest.mark.parametrize(("setting", "value"), [
    ("secure_cookies", False), ("auto_confirm_sign_ups", True),
])
def test_production_refuses_development_only_values(setting, value):
    prepare(production())  # the control: the same config without the value starts
    with pytest.raises(ConfigError, match=setting):
        prepare(production(**{setting: value}))


def test_a_malformed_rate_limit_stops_start_up():
    with pytest.raises(ConfigError, match="rate_limits.login"):
        prepare(production(rate_limits={"login": "many per minute"}))


@pytest.mark.parametrize(("setting", "value"), [
    ("confirmation_attempts", 0), ("password_policy", {"min_length": 300}),
])
def test_settings_that_could_never_work_stop_start_up(setting, value):
    with pytest.raises(ConfigError, match=setting):
        prepare(production(**{setting: value}))
