"""Accounts and sessions on a Cognito user pool (the `core.sessions.SessionProvider`).

The e-mail address is the Cognito username. Tokens are verified locally; logout signs
the user out globally at Cognito and puts the session on a deny-list in the cache.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
from typing import Any

from core.auth import Actor
from core.errors import (
    Forbidden,
    Problem,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from core.sessions import LoginRequest, RegisterRequest, SessionTokens, UserProfile
from plugins.auth_cognito.attempts import CodeAttempts
from plugins.auth_cognito.config import CognitoSettings, PoolTarget
from plugins.auth_cognito.gateway import CognitoError, CognitoGateway, problem_for
from plugins.auth_cognito.revocations import Revocations
from plugins.auth_cognito.tokens import InvalidToken, KeysUnavailable, TokenVerifier
from plugins.auth_cognito.users import find_user, save_user

log = logging.getLogger("itube.auth_cognito")
PROVIDER = "cognito"
SESSION_ENDED = "Your session has ended; sign in again"
WRONG_CODE = "The code is wrong or has expired"
TOO_MANY_CODES = "Too many wrong codes for this address; ask for a new code"


def pack_refresh(username: str, refresh_token: str) -> str:
    """The refresh cookie: Cognito needs the username again to sign a refresh."""
    encoded = base64.urlsafe_b64encode(username.encode()).decode().rstrip("=")
    return f"{encoded}.{refresh_token}"


def unpack_refresh(cookie: str) -> tuple[str, str] | None:
    encoded, _, token = cookie.partition(".")
    if not encoded or not token:
        return None
    try:
        username = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return username, token


class CognitoSessions:
    """Sign-up, confirmation, sign-in, refresh, sign-out and the profile, on Cognito."""

    name = PROVIDER

    def __init__(
        self,
        gateway: CognitoGateway,
        verifier: TokenVerifier,
        revocations: Revocations,
        attempts: CodeAttempts,
        pool: PoolTarget,
        settings: CognitoSettings,
    ) -> None:
        self.gateway = gateway
        self.verifier = verifier
        self.revocations = revocations
        self.attempts = attempts
        self.pool = pool
        self.settings = settings

    async def register(self, form: RegisterRequest) -> UserProfile:
        try:
            result = await self.gateway.sign_up(form.email, form.password, form.name)
            confirmed = bool(result.get("UserConfirmed"))
            if self.pool.auto_confirm and not confirmed:
                await self.gateway.admin_confirm(form.email)
                confirmed = True
        except CognitoError as exc:
            raise problem_for(exc) from None
        row = await save_user(result["UserSub"], form.email, form.name)
        return _profile(row, confirmed=confirmed)

    async def confirm(self, email: str, code: str) -> None:
        if await self.attempts.exhausted(email):
            raise ValidationFailed.field("code", TOO_MANY_CODES)
        try:
            await self.gateway.confirm(email, code)
        except CognitoError as exc:
            if exc.code == "NotAuthorizedException" and "CONFIRMED" in exc.message.upper():
                return  # confirmed already: confirming again changes nothing
            if exc.code in {"CodeMismatchException", "ExpiredCodeException",
                            "UserNotFoundException", "NotAuthorizedException"}:
                # An unknown address counts too, so the answers cannot tell them apart.
                await self.attempts.wrong(email)
                raise ValidationFailed.field("code", WRONG_CODE) from None
            raise problem_for(exc) from None
        await self.attempts.clear(email)

    async def resend_code(self, email: str) -> None:
        if self.pool.auto_confirm:
            return  # every sign-up is confirmed at once: there is never a code to resend
        try:
            await self.gateway.resend_code(email)
        except CognitoError as exc:
            # Unknown or already confirmed: the answer must not tell which.
            if exc.code not in {"UserNotFoundException", "InvalidParameterException",
                                "NotAuthorizedException"}:
                raise problem_for(exc) from None
            return
        await self.attempts.clear(email)

    async def login(self, form: LoginRequest) -> tuple[UserProfile, SessionTokens]:
        try:
            result = await self.gateway.password_auth(form.email, form.password)
        except CognitoError as exc:
            raise problem_for(exc) from None
        if "ChallengeName" in result:
            raise Forbidden(f"Signing in needs the {result['ChallengeName']} step, which this "
                            "API does not offer")
        auth = result["AuthenticationResult"]
        access = await self._trusted_claims(auth["AccessToken"])
        profile = await self._sign_in_profile(access, auth.get("IdToken"))
        refresh = pack_refresh(access.get("username") or form.email, auth["RefreshToken"])
        return profile, self._tokens(auth, refresh)

    async def refresh(self, refresh_token: str) -> tuple[UserProfile, SessionTokens]:
        unpacked = unpack_refresh(refresh_token)
        if unpacked is None:
            raise Unauthorized(SESSION_ENDED)
        username, token = unpacked
        try:
            result = await self.gateway.refresh_auth(username, token)
        except CognitoError as exc:
            if exc.code in {"NotAuthorizedException", "UserNotFoundException",
                            "ResourceNotFoundException"}:
                raise Unauthorized(SESSION_ENDED) from None
            raise problem_for(exc) from None
        auth = result["AuthenticationResult"]
        access = await self._trusted_claims(auth["AccessToken"])
        profile = await self._sign_in_profile(access, auth.get("IdToken"))
        rotated = auth.get("RefreshToken")
        return profile, self._tokens(auth, pack_refresh(username, rotated) if rotated else None)

    async def logout(self, access_token: str | None, refresh_token: str | None) -> str | None:
        """Global sign-out at Cognito, then the session on the deny-list. Without a valid
        access token, the refresh cookie is traded for one first."""
        claims = await self._claims_or_none(access_token) if access_token else None
        if claims is None and refresh_token:
            access_token, claims = await self._access_from_refresh(refresh_token)
        if claims is None or access_token is None:
            return None
        with contextlib.suppress(CognitoError):  # signed out already
            await self.gateway.global_sign_out(access_token)
        await self.revocations.revoke(claims)
        return str(claims["sub"])

    async def profile(self, actor: Actor) -> UserProfile:
        if actor.provider != PROVIDER:
            raise Unauthorized("Signed in through another provider")
        row = await find_user(actor.id) or await save_user(actor.id, actor.email or "", "")
        return _profile(row)

    async def actor_for(self, access_token: str) -> Actor | None:
        claims = await self._claims_or_none(access_token)
        if claims is None:
            return None

        async def cognito_accepts() -> bool:
            try:
                await self.gateway.get_user(access_token)
            except CognitoError:
                return False
            return True

        if await self.revocations.is_revoked(claims, cognito_accepts):
            return None
        username = str(claims.get("username") or "")
        return Actor(
            id=str(claims["sub"]),
            provider=PROVIDER,
            email=username if "@" in username else None,
            name=await self._known_name(str(claims["sub"])),
            claims={"jti": claims["jti"], "exp": claims["exp"]},
        )

    async def _known_name(self, subject: str) -> str | None:
        """The name the user's last sign-in recorded: an access token carries none. Read once
        per verification (the verified sessions keep one for a second); a session holds
        without it while the database does not answer."""
        try:
            known = await find_user(subject)
        except ServiceUnavailable:
            return None
        return (known["name"] or None) if known else None

    # -- helpers -----------------------------------------------------------------------------

    async def _claims_or_none(self, access_token: str) -> dict[str, Any] | None:
        try:
            return await self.verifier.access_claims(access_token)
        except InvalidToken as exc:
            log.debug("access token refused", extra={"reason": str(exc)})
            return None
        except KeysUnavailable:
            raise ServiceUnavailable("Sessions cannot be verified right now") from None

    async def _access_from_refresh(self, cookie: str) -> tuple[str | None, dict[str, Any] | None]:
        unpacked = unpack_refresh(cookie)
        if unpacked is None:
            return None, None
        try:
            result = await self.gateway.refresh_auth(*unpacked)
        except CognitoError:
            return None, None  # revoked or unknown already
        access_token = result["AuthenticationResult"]["AccessToken"]
        return access_token, await self._claims_or_none(access_token)

    async def _trusted_claims(self, access_token: str) -> dict[str, Any]:
        """Tokens straight from Cognito must verify; when they do not, the configured
        issuer, key-set URL or client id is wrong, and no session could ever work."""
        try:
            return await self.verifier.access_claims(access_token)
        except KeysUnavailable:
            raise ServiceUnavailable("Sessions cannot be verified right now") from None
        except InvalidToken as exc:
            log.error("Cognito's own token fails verification: check issuer, jwks_url and "
                      "client_id", extra={"reason": str(exc)})
            raise Problem("Sign-in is misconfigured on the server") from None

    async def _sign_in_profile(self, access: dict[str, Any], id_token: str | None) -> UserProfile:
        identity: dict[str, Any] = {}
        if id_token:
            try:
                identity = await self.verifier.id_claims(id_token)
            except InvalidToken as exc:
                log.warning("id token refused; profile from the access token",
                            extra={"reason": str(exc)})
        if identity.get("sub") not in (None, access["sub"]):
            identity = {}
        email = str(identity.get("email") or access.get("username") or "")
        row = await save_user(str(access["sub"]), email, str(identity.get("name") or ""))
        return _profile(row)

    def _tokens(self, auth: dict[str, Any], refresh_cookie: str | None) -> SessionTokens:
        return SessionTokens(
            access_token=auth["AccessToken"],
            access_max_age=int(auth.get("ExpiresIn") or 3600),
            refresh_token=refresh_cookie,
            refresh_max_age=self.settings.refresh_token_days * 86400,
        )


def _profile(row: dict[str, Any], *, confirmed: bool = True) -> UserProfile:
    return UserProfile(
        id=row["subject"],
        email=row["email"],
        name=row["name"],
        provider=PROVIDER,
        confirmed=confirmed,
        created_at=row["created_at"],
    )
