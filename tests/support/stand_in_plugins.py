"""The stand-in auth plugins as a module, for configs that name plugins by dotted path
(a real server process started by a test): `tests.support.stand_in_plugins`."""

from __future__ import annotations

from core.context import AppContext
from core.plugins import hookimpl
from tests.support.stand_ins import HeaderServiceAuth, HeaderUserAuth


@hookimpl
def user_authenticator(ctx: AppContext) -> HeaderUserAuth:
    return HeaderUserAuth()


@hookimpl
def service_authenticator(ctx: AppContext) -> HeaderServiceAuth:
    return HeaderServiceAuth()
