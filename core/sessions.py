"""The user-session contract that password-based user-auth providers implement.

One place for what every such provider must present identically: the `/api/v1/auth`
routes and their bodies, the input checks, the rate limits and the session cookies
(HttpOnly, SameSite=Lax, Secure unless turned off; the refresh cookie scoped to the auth
routes). A provider implements `SessionProvider`, keeps it in `ctx.state[<name>]` and
returns `session_routes(<name>, policy)` from `register_routes`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Protocol, runtime_checkable

import attrs
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.auth import Actor
from core.deps import client_address, current_actor, get_ctx
from core.errors import Unauthorized, ValidationFailed
from core.http import read_json, respond
from core.ratelimit import Limit, RateLimiter
from core.routing import api_route
from core.schema import TEXT_PATTERNS, text_problem

AUTH_PATH = "/api/v1/auth"
ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
# The HTML living standard's e-mail grammar (what browsers accept in <input type=email>).
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)
CODE = re.compile(r"[0-9]{4,10}")
# A name holds something besides spaces (the server trims it) and no control or
# bidirectional character.
NAME_PATTERN = "^(?=.*\\S)" + TEXT_PATTERNS["line"].removeprefix("^")
MAX_PASSWORD_LENGTH = 256
# Cognito's password character classes (basic Latin letters, ASCII digits, its symbols), so
# a password this API accepts is one the pool accepts too.
SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- "
PASSWORD_EXAMPLE = "SecurePass123!"


def _doc(**schema: Any) -> Any:
    """A required field documented in the JSON Schema; the checks below validate it."""
    return attrs.field(metadata=schema)


# -- bodies ----------------------------------------------------------------------------------


@attrs.define
class RegisterRequest:
    """A new account."""

    name: str = _doc(minLength=1, maxLength=100, pattern=NAME_PATTERN, example="Test User")
    email: str = _doc(format="email", maxLength=254, example="test@example.com")
    # The routes publish the configured policy instead (`register_request_class`).
    password: str = _doc(minLength=8, maxLength=MAX_PASSWORD_LENGTH, example=PASSWORD_EXAMPLE)


@attrs.define
class LoginRequest:
    email: str = _doc(format="email", minLength=1, example="test@example.com")
    password: str = _doc(minLength=1, example="SecurePass123!")


@attrs.define
class ConfirmRequest:
    email: str = _doc(format="email", example="test@example.com")
    code: str = _doc(pattern=f"^{CODE.pattern}$", example="123456")


@attrs.define
class ResendCodeRequest:
    email: str = _doc(format="email", example="test@example.com")


@attrs.define
class UserProfile:
    """A user as the auth provider knows them. `id` is the provider's subject."""

    id: str
    email: str
    name: str
    provider: str
    confirmed: bool
    created_at: dt.datetime | None = None


@attrs.define
class SessionInfo:
    """The signed-in user; the tokens travel only in HttpOnly cookies."""

    user: UserProfile
    # Seconds until the access cookie expires; refresh before then.
    expires_in: int


@attrs.define
class ConfirmResult:
    email: str
    confirmed: bool


@attrs.define
class Accepted:
    detail: str


# -- settings pieces shared by the providers -------------------------------------------------


def _class_escape(characters: str) -> str:
    """`characters` written inside a regex character class, valid in Python and ECMA-262."""
    return "".join(f"\\{char}" if char in "\\]-[^" else char for char in characters)


# (setting, the class inside [...], what the error message calls it)
CHARACTER_CLASSES = (
    ("require_uppercase", "A-Z", "an uppercase letter"),
    ("require_lowercase", "a-z", "a lowercase letter"),
    ("require_digit", "0-9", "a digit"),
    ("require_symbol", _class_escape(SYMBOLS), "a symbol"),
)


@attrs.define
class PasswordPolicy:
    # Checked before the provider sees the password; keep it equal to the provider's own.
    # Published in the OpenAPI document (minLength and a pattern) for clients to check.
    min_length: int = 8
    # Cognito's own limit is 256 (the embedded default's emulator refuses 99 or more).
    max_length: int = MAX_PASSWORD_LENGTH
    # An uppercase letter A-Z.
    require_uppercase: bool = True
    # A lowercase letter a-z.
    require_lowercase: bool = True
    # A digit 0-9.
    require_digit: bool = True
    # One of Cognito's symbols: ^ $ * . [ ] { } ( ) ? " ! @ # % & / \ , > < ' : ; | _ ~ ` = + -
    # or a space.
    require_symbol: bool = True

    def required_classes(self) -> list[tuple[str, str]]:
        """(character class, its name) of each kind of character a password must hold."""
        return [(chars, what) for setting, chars, what in CHARACTER_CLASSES
                if getattr(self, setting)]

    def pattern(self) -> str | None:
        """One lookahead per required class: the JSON Schema `pattern` of a password, the
        same in Python's and ECMA-262's dialects (no `.`, whose line breaks differ)."""
        lookaheads = [f"(?=[^{chars}]*[{chars}])" for chars, _ in self.required_classes()]
        return "^" + "".join(lookaheads) if lookaheads else None

    def problems(self, prefix: str) -> list[str]:
        """Messages for a policy no password could meet (for a plugin's `config_problems`)."""
        if 1 <= self.min_length <= self.max_length <= MAX_PASSWORD_LENGTH:
            return []
        return [f"{prefix}.min_length, max_length: expected 1 <= min_length <= max_length <= "
                f"{MAX_PASSWORD_LENGTH}, got {self.min_length} and {self.max_length}"]


@attrs.define
class AuthRateLimits:
    """Limits like "10/minute", "100/hour", "3/30s", or "off". Every route that spends a
    credential or a provider call counts per client address, and per e-mail address where
    the body names an account."""

    # Per client address.
    register: str = "10/minute"
    # Per e-mail address, whatever the client address.
    register_per_email: str = "5/hour"
    # Per client address.
    login: str = "30/minute"
    # Per e-mail address, whatever the client address (credential stuffing, guessing).
    login_per_email: str = "5/minute"
    # Per client address.
    confirm: str = "10/minute"
    # Per e-mail address, whatever the client address (code guessing, with the provider's
    # attempts per code).
    confirm_per_email: str = "10/hour"
    # Per client address and, separately, per e-mail address.
    resend_code: str = "3/minute"
    # Per client address: each refresh cookie, forged or not, costs a provider call.
    refresh: str = "60/minute"
    # Per client address: a sign-out costs provider calls too.
    logout: str = "30/minute"

    def parsed(self) -> dict[str, Limit | None]:
        return {field.name: Limit.parse(getattr(self, field.name))
                for field in attrs.fields(AuthRateLimits)}

    def problems(self, prefix: str) -> list[str]:
        """Messages for limits that do not parse (for a plugin's `config_problems`)."""
        problems = []
        for field in attrs.fields(AuthRateLimits):
            try:
                Limit.parse(getattr(self, field.name))
            except ValueError as exc:
                problems.append(f"{prefix}.{field.name}: {exc}")
        return problems


@attrs.frozen
class SessionPolicy:
    """What the shared routes need from the provider's settings."""

    secure_cookies: bool
    password: PasswordPolicy = attrs.Factory(PasswordPolicy)
    rate_limits: AuthRateLimits = attrs.Factory(AuthRateLimits)

    @classmethod
    def of(cls, settings: Any) -> SessionPolicy:
        """From a provider's settings, which name these `secure_cookies`, `password_policy`
        and `rate_limits`."""
        return cls(secure_cookies=settings.secure_cookies, password=settings.password_policy,
                   rate_limits=settings.rate_limits)

    def problems(self, prefix: str, *, production: bool) -> list[str]:
        """Messages for the provider's `config_problems`: limits that do not parse, a
        password policy nothing meets, cookies without Secure in production."""
        problems = [*self.rate_limits.problems(f"{prefix}.rate_limits"),
                    *self.password.problems(f"{prefix}.password_policy")]
        if production and not self.secure_cookies:
            problems.append(f"{prefix}.secure_cookies = false is for local development only; "
                            "production cookies must be Secure")
        return problems


# -- input checks ----------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    if not email:
        return "is required"
    if len(email) > 254 or not EMAIL.fullmatch(email):
        return "must be an e-mail address like name@example.com"
    return None


def password_problem(password: str, policy: PasswordPolicy) -> str | None:
    """What `password` lacks under `policy`: the very classes its published pattern checks."""
    if len(password) < policy.min_length:
        return f"must be at least {policy.min_length} characters"
    if len(password) > policy.max_length:
        return f"must be at most {policy.max_length} characters"
    missing = [what for chars, what in policy.required_classes()
               if not re.search(f"[{chars}]", password)]
    return f"must contain {', '.join(missing)}" if missing else None


def name_problem(name: str) -> str | None:
    if not name:
        return "is required"
    if len(name) > 100:
        return "must be at most 100 characters"
    return text_problem(name, "line")


def _raise_if_any(problems: dict[str, str | None]) -> None:
    errors = [{"field": field, "message": text} for field, text in problems.items() if text]
    if errors:
        raise ValidationFailed(errors)


def register_request_class(policy: PasswordPolicy) -> type[RegisterRequest]:
    """The register body with `policy` published on its `password` (minLength, maxLength
    and the lookahead pattern), so the document promises what `password_problem` checks."""
    schema: dict[str, Any] = {"minLength": policy.min_length, "maxLength": policy.max_length}
    pattern = policy.pattern()
    if pattern is not None:
        schema["pattern"] = pattern
    if password_problem(PASSWORD_EXAMPLE, policy) is None:
        schema["example"] = PASSWORD_EXAMPLE
    password = attrs.field(type=str, metadata=schema)
    return attrs.make_class(RegisterRequest.__name__, {"password": password},
                            bases=(RegisterRequest,), slots=True)


def check_registration(form: RegisterRequest, policy: PasswordPolicy) -> RegisterRequest:
    """The form with its e-mail normalised and its name trimmed, or a 422 naming each field."""
    form = RegisterRequest(
        name=form.name.strip(), email=normalize_email(form.email), password=form.password
    )
    _raise_if_any({
        "name": name_problem(form.name),
        "email": email_problem(form.email),
        "password": password_problem(form.password, policy),
    })
    return form


def check_login(form: LoginRequest) -> LoginRequest:
    form = LoginRequest(email=normalize_email(form.email), password=form.password)
    _raise_if_any({
        "email": None if form.email else "is required",
        "password": None if form.password else "is required",
    })
    return form


def check_confirmation(form: ConfirmRequest) -> ConfirmRequest:
    form = ConfirmRequest(email=normalize_email(form.email), code=form.code)
    _raise_if_any({
        "email": email_problem(form.email),
        "code": None if CODE.fullmatch(form.code) else "must be the 4 to 10 digit code sent",
    })
    return form


# -- cookies ---------------------------------------------------------------------------------


@attrs.frozen
class SessionTokens:
    """What a provider hands back on login or refresh; cookie values are opaque here."""

    access_token: str = attrs.field(repr=False)
    access_max_age: int
    # None on a refresh that did not rotate it: the client keeps the cookie it has.
    refresh_token: str | None = attrs.field(default=None, repr=False)
    refresh_max_age: int = 0


def set_session_cookies(response: Response, tokens: SessionTokens, *, secure: bool) -> None:
    response.set_cookie(
        ACCESS_COOKIE, tokens.access_token, max_age=tokens.access_max_age, path="/",
        secure=secure, httponly=True, samesite="lax",
    )
    if tokens.refresh_token is not None:
        response.set_cookie(
            REFRESH_COOKIE, tokens.refresh_token, max_age=tokens.refresh_max_age,
            path=AUTH_PATH, secure=secure, httponly=True, samesite="lax",
        )


def clear_session_cookies(response: Response, *, secure: bool) -> None:
    response.delete_cookie(ACCESS_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
    response.delete_cookie(
        REFRESH_COOKIE, path=AUTH_PATH, secure=secure, httponly=True, samesite="lax"
    )


def access_token_of(request: Request) -> str | None:
    return request.cookies.get(ACCESS_COOKIE) or None


def refresh_token_of(request: Request) -> str | None:
    return request.cookies.get(REFRESH_COOKIE) or None


# -- the provider protocol and the routes ----------------------------------------------------


@runtime_checkable
class SessionProvider(Protocol):
    """Accounts and sessions for the routes below. Methods raise `core.errors` problems."""

    name: str

    async def register(self, form: RegisterRequest) -> UserProfile: ...

    async def confirm(self, email: str, code: str) -> None: ...

    async def resend_code(self, email: str) -> None: ...

    async def login(self, form: LoginRequest) -> tuple[UserProfile, SessionTokens]: ...

    async def refresh(self, refresh_token: str) -> tuple[UserProfile, SessionTokens]: ...

    async def logout(self, access_token: str | None, refresh_token: str | None) -> None: ...

    async def profile(self, actor: Actor) -> UserProfile: ...

    async def actor_for(self, access_token: str) -> Actor | None:
        """The actor an access cookie stands for; None when it is invalid or revoked."""
        ...


class CookieAuthenticator:
    """The `UserAuthenticator` of a session provider: the access cookie names the actor."""

    def __init__(self, provider: SessionProvider) -> None:
        self.provider = provider
        self.name = provider.name

    async def authenticate(self, request: Request) -> Actor | None:
        token = access_token_of(request)
        return None if token is None else await self.provider.actor_for(token)


class SessionRoutes:
    """The handlers, bound to the provider kept in `ctx.state[state_key]`."""

    def __init__(self, state_key: str, policy: SessionPolicy) -> None:
        self.state_key = state_key
        self.policy = policy
        self.limits = policy.rate_limits.parsed()
        self.register_body = register_request_class(policy.password)
        self._limiter: RateLimiter | None = None

    def _provider(self, request: Request) -> SessionProvider:
        return get_ctx(request).state[self.state_key]

    async def _hit(self, request: Request, limit: str, identity: str | None = None) -> None:
        """Count one request against `limit`, keyed by `identity` or the client address."""
        scope = limit if identity is None else f"{limit}:email"
        if identity is None:
            identity = client_address(request)
        await self._limiter_of(request).hit(scope, identity, self.limits[limit])

    def _limiter_of(self, request: Request) -> RateLimiter:
        # One limiter per running app: its per-process fallback must outlive a request.
        cache = get_ctx(request).cache
        if self._limiter is None or self._limiter.cache is not cache:
            self._limiter = RateLimiter(cache, prefix=f"{self.state_key}:ratelimit")
        return self._limiter

    async def register(self, request: Request) -> Response:
        await self._hit(request, "register")
        body = await read_json(request, self.register_body)
        form = check_registration(body, self.policy.password)
        await self._hit(request, "register_per_email", form.email)
        return respond(await self._provider(request).register(form), status=201)

    async def confirm(self, request: Request) -> Response:
        await self._hit(request, "confirm")
        form = check_confirmation(await read_json(request, ConfirmRequest))
        await self._hit(request, "confirm_per_email", form.email)
        await self._provider(request).confirm(form.email, form.code)
        return respond(ConfirmResult(email=form.email, confirmed=True))

    async def resend_code(self, request: Request) -> Response:
        await self._hit(request, "resend_code")
        email = normalize_email((await read_json(request, ResendCodeRequest)).email)
        _raise_if_any({"email": email_problem(email)})
        await self._hit(request, "resend_code", email)
        await self._provider(request).resend_code(email)
        detail = "If the account exists and awaits confirmation, a new code is on its way"
        return respond(Accepted(detail=detail), status=202)

    async def login(self, request: Request) -> Response:
        await self._hit(request, "login")
        form = check_login(await read_json(request, LoginRequest))
        await self._hit(request, "login_per_email", form.email)
        user, tokens = await self._provider(request).login(form)
        return self._session_response(user, tokens)

    async def refresh(self, request: Request) -> Response:
        # Per address only: the cookie names no account the server can trust before the
        # provider checks it, and counting by the name a forged cookie claims would let
        # anyone lock a user out of refreshing.
        await self._hit(request, "refresh")
        token = refresh_token_of(request)
        if token is None:
            raise Unauthorized("No refresh cookie; sign in again")
        user, tokens = await self._provider(request).refresh(token)
        return self._session_response(user, tokens)

    async def logout(self, request: Request) -> Response:
        await self._hit(request, "logout")
        await self._provider(request).logout(access_token_of(request), refresh_token_of(request))
        response = Response(status_code=204)
        clear_session_cookies(response, secure=self.policy.secure_cookies)
        return response

    async def me(self, request: Request) -> Response:
        return respond(await self._provider(request).profile(await current_actor(request)))

    def _session_response(self, user: UserProfile, tokens: SessionTokens) -> Response:
        response = respond(SessionInfo(user=user, expires_in=tokens.access_max_age))
        set_session_cookies(response, tokens, secure=self.policy.secure_cookies)
        return response


SET_COOKIE = {"Set-Cookie": f"`{ACCESS_COOKIE}` (path /) and `{REFRESH_COOKIE}` "
                            f"(path {AUTH_PATH}), both HttpOnly, SameSite=Lax"}


def session_routes(state_key: str, policy: SessionPolicy) -> list[BaseRoute]:
    """The `/api/v1/auth` routes, served by the `SessionProvider` in `ctx.state[state_key]`."""
    h = SessionRoutes(state_key, policy)
    tags = ["auth"]
    return [
        api_route(f"{AUTH_PATH}/register", h.register, methods=["POST"], name="auth_register",
                  summary="Create an account", body=h.register_body, response=UserProfile,
                  status=201, errors=[409, 429, 503], tags=tags),
        api_route(f"{AUTH_PATH}/confirm", h.confirm, methods=["POST"], name="auth_confirm",
                  summary="Confirm an account with the code sent to its e-mail address",
                  body=ConfirmRequest, response=ConfirmResult, errors=[429, 503], tags=tags),
        api_route(f"{AUTH_PATH}/resend-code", h.resend_code, methods=["POST"],
                  name="auth_resend_code", summary="Send a new confirmation code",
                  body=ResendCodeRequest, response=Accepted, status=202, errors=[429, 503],
                  tags=tags),
        api_route(f"{AUTH_PATH}/login", h.login, methods=["POST"], name="auth_login",
                  summary="Sign in: sets the session cookies", body=LoginRequest,
                  response=SessionInfo, errors=[401, 403, 429, 503], tags=tags,
                  response_headers=SET_COOKIE),
        api_route(f"{AUTH_PATH}/refresh", h.refresh, methods=["POST"], name="auth_refresh",
                  summary="A new access cookie from the refresh cookie", response=SessionInfo,
                  errors=[401, 403, 429, 503], tags=tags, response_headers=SET_COOKIE),
        api_route(f"{AUTH_PATH}/logout", h.logout, methods=["POST"], name="auth_logout",
                  summary="Sign out everywhere: revokes the sessions, clears the cookies",
                  status=204, errors=[403, 429, 503], tags=tags),
        api_route(f"{AUTH_PATH}/me", h.me, methods=["GET"], name="auth_me",
                  summary="The signed-in user", response=UserProfile, auth="user", tags=tags),
    ]
