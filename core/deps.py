"""What handlers ask for: the app context, the client, the actor, the service.

Handlers never import another plugin; they meet the rest of the app through these.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from core.auth import Actor, AuthenticationFailed, ServiceAuthenticator, ServicePrincipal
from core.context import AppContext
from core.errors import Forbidden, Unauthorized
from core.metrics import record_auth_failure


def get_ctx(request: Request) -> AppContext:
    """The app's context, which the lifespan left in the request's state. Read from the
    scope: `request.state` makes a `State` object for every request."""
    try:
        ctx: AppContext = request.scope["state"]["ctx"]
    except KeyError:
        return request.state.ctx  # fails as it always did when the lifespan has not run
    return ctx


def client_address(request: Request) -> str:
    """The client's address: the peer, or what a trusted proxy reports (`[http]`)."""
    return get_ctx(request).clients.of(request.scope)


def _request_cache(request: Request) -> dict[str, Any]:
    """What this request already learnt about its caller (asked once, reused)."""
    return request.scope.setdefault("itube", {})


async def optional_actor(request: Request) -> Actor | None:
    """The signed-in user, or None. The first authenticator that knows the request wins."""
    known = _request_cache(request)
    if "actor" in known:
        return known["actor"]
    actor = None
    for authenticator in get_ctx(request).user_authenticators:
        actor = await authenticator.authenticate(request)
        if actor is not None:
            _note_principal(request, actor.id)
            break
    known["actor"] = actor
    return actor


def _note_principal(request: Request, principal_id: str) -> None:
    """Who the request's access line names. Into the state dict itself: `request.state`
    would wrap it in a new object first."""
    request.scope.setdefault("state", {})["principal_id"] = principal_id


async def current_actor(request: Request) -> Actor:
    """The signed-in user, or a 401 problem."""
    actor = await optional_actor(request)
    if actor is None:
        if not get_ctx(request).user_authenticators:
            record_auth_failure("user", "no_authenticator")
            raise Unauthorized("This route needs a signed-in user, and no user-auth plugin "
                               "is loaded (add one to [app] plugins)")
        record_auth_failure("user", "missing")
        raise Unauthorized("Sign in to use this route")
    return actor


async def current_service(request: Request) -> ServicePrincipal:
    """The calling internal service: 401 with a `WWW-Authenticate` challenge when no valid
    service credential was presented (none, or a wrong one), 403 when the service proved who
    it is but may not call the route (or no service-auth plugin is loaded).

    The answer is kept for the request, so a second call does not verify (and, for
    strategies with replay protection, refuse) the same credential again.
    """
    known = _request_cache(request)
    if "service" not in known:
        known["service"] = await _authenticate_service(request)
    return known["service"]


async def _authenticate_service(request: Request) -> ServicePrincipal:
    authenticators = get_ctx(request).service_authenticators
    if not authenticators:
        record_auth_failure("service", "no_authenticator")
        raise Forbidden("This route is for internal services, and no service-auth plugin "
                        "is loaded")
    body = await request.body()
    for authenticator in authenticators:
        try:
            principal = await authenticator.authenticate(request, body)
        except AuthenticationFailed as exc:
            record_auth_failure("service", "invalid" if exc.status == 401 else "forbidden")
            if exc.status == 401:
                raise _challenge(Unauthorized(exc.reason), authenticators) from None
            raise Forbidden(exc.reason) from None
        if principal is not None:
            _note_principal(request, principal.id)
            return principal
    record_auth_failure("service", "missing")
    raise _challenge(
        Unauthorized("This route is for internal services; no service credential was presented"),
        authenticators,
    )


def _challenge(problem: Unauthorized, authenticators: list[ServiceAuthenticator]) -> Unauthorized:
    """RFC 9110: a 401 names the schemes that would be accepted, one challenge each."""
    schemes = dict.fromkeys(getattr(a, "challenge", "") or a.name for a in authenticators)
    problem.headers["WWW-Authenticate"] = ", ".join(schemes)
    return problem
