"""The `/api/v1/auth` routes: each reads its body, calls the session provider and renders
the result, counting every request against the rate limits."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.deps import current_actor, get_ctx
from core.errors import Unauthorized
from core.http import raw_json, read_json, render, respond
from core.routing import api_route
from core.sessions.cookies import (
    ACCESS_COOKIE,
    AUTH_PATH,
    REFRESH_COOKIE,
    SessionTokens,
    access_token_of,
    clear_session_cookies,
    refresh_token_of,
    set_session_cookies,
)
from core.sessions.forms import (
    Accepted,
    ConfirmRequest,
    ConfirmResult,
    LoginRequest,
    ResendCodeRequest,
    SessionInfo,
    UserProfile,
)
from core.sessions.limits import AuthLimiter
from core.sessions.policy import SessionPolicy
from core.sessions.provider import SessionProvider, session_key_of, verified_sessions
from core.sessions.validation import (
    check_confirmation,
    check_login,
    check_registration,
    check_resend_request,
    register_request_class,
)
from core.sessions.verified import VerifiedSessions


class SessionRoutes:
    """The handlers, bound to the provider kept in `ctx.state[state_key]`."""

    def __init__(self, state_key: str, policy: SessionPolicy) -> None:
        self.state_key = state_key
        self.policy = policy
        self.limiter = AuthLimiter(state_key, policy.rate_limits)
        self.register_body = register_request_class(policy.password)

    def _provider(self, request: Request) -> SessionProvider:
        return get_ctx(request).state[self.state_key]

    def _verified(self, request: Request) -> VerifiedSessions:
        return verified_sessions(get_ctx(request).state, self.state_key, self.policy)

    async def register(self, request: Request) -> Response:
        await self.limiter.hit(request, "register")
        body = await read_json(request, self.register_body)
        form = check_registration(body, self.policy.password)
        await self.limiter.hit(request, "register_per_email", form.email)
        return respond(await self._provider(request).register(form), status=201)

    async def confirm(self, request: Request) -> Response:
        await self.limiter.hit(request, "confirm")
        form = check_confirmation(await read_json(request, ConfirmRequest))
        await self.limiter.hit(request, "confirm_per_email", form.email)
        await self._provider(request).confirm(form.email, form.code)
        return respond(ConfirmResult(email=form.email, confirmed=True))

    async def resend_code(self, request: Request) -> Response:
        await self.limiter.hit(request, "resend_code")
        form = check_resend_request(await read_json(request, ResendCodeRequest))
        await self.limiter.hit(request, "resend_code", form.email)
        await self._provider(request).resend_code(form.email)
        detail = "If the account exists and awaits confirmation, a new code is on its way"
        return respond(Accepted(detail=detail), status=202)

    async def login(self, request: Request) -> Response:
        await self.limiter.hit(request, "login")
        form = check_login(await read_json(request, LoginRequest))
        await self.limiter.hit(request, "login_per_email", form.email)
        user, tokens = await self._provider(request).login(form)
        return self._session_response(user, tokens)

    async def refresh(self, request: Request) -> Response:
        # Per address only: the cookie names no account the server can trust before the
        # provider checks it, and counting by the name a forged cookie claims would let
        # anyone lock a user out of refreshing.
        await self.limiter.hit(request, "refresh")
        token = refresh_token_of(request)
        if token is None:
            raise Unauthorized("No refresh cookie; sign in again")
        user, tokens = await self._provider(request).refresh(token)
        access = access_token_of(request)
        if access is not None:  # replaced: shown again, it is checked again
            self._verified(request).forget(access)
        return self._session_response(user, tokens)

    async def logout(self, request: Request) -> Response:
        await self.limiter.hit(request, "logout")
        provider = self._provider(request)
        user_id = await provider.logout(access_token_of(request), refresh_token_of(request))
        if user_id is not None:
            self._verified(request).forget_user(provider.name, user_id)
        response = Response(status_code=204)
        clear_session_cookies(response, secure=self.policy.secure_cookies)
        return response

    async def me(self, request: Request) -> Response:
        actor = await current_actor(request)
        verified = self._verified(request)
        key = session_key_of(request)
        body = verified.profile_body(key, actor)
        if body is None:
            body = render(await self._provider(request).profile(actor))
            verified.keep_profile_body(key, actor, body)
        return raw_json(body)

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
