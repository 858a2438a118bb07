"""What handlers ask for: the app context, the actor, the service, the cache, settings.

Handlers never import another plugin; they meet the rest of the app through these.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from core.auth import Actor, AuthenticationFailed, ServicePrincipal
from core.cache import Cache
from core.context import AppContext
from core.errors import Forbidden, Unauthorized


def get_ctx(request: Request) -> AppContext:
    return request.state.ctx


def get_cache(request: Request) -> Cache:
    return get_ctx(request).cache


def get_settings(request: Request, name: str) -> Any:
    return get_ctx(request).settings(name)


def get_db(request: Request) -> Any:
    return get_ctx(request).db


async def optional_actor(request: Request) -> Actor | None:
    """The signed-in user, or None. The first authenticator that knows the request wins."""
    if "actor" in request.scope.get("itube", {}):
        return request.scope["itube"]["actor"]
    actor = None
    for authenticator in get_ctx(request).user_authenticators:
        actor = await authenticator.authenticate(request)
        if actor is not None:
            request.state.principal_id = actor.id
            break
    request.scope.setdefault("itube", {})["actor"] = actor
    return actor


async def current_actor(request: Request) -> Actor:
    """The signed-in user, or a 401 problem."""
    actor = await optional_actor(request)
    if actor is None:
        raise Unauthorized("Sign in to use this route")
    return actor


async def current_service(request: Request) -> ServicePrincipal:
    """The calling internal service: 401 for a wrong credential, 403 for none."""
    body = await request.body()
    for authenticator in get_ctx(request).service_authenticators:
        try:
            principal = await authenticator.authenticate(request, body)
        except AuthenticationFailed as exc:
            error = Unauthorized if exc.status == 401 else Forbidden
            raise error(exc.reason) from None
        if principal is not None:
            request.state.principal_id = principal.id
            return principal
    raise Forbidden("This route is for internal services; no service credential was presented")
