"""Hooks the auth_local plugin calls, for other plugins to implement."""

from __future__ import annotations

from collections.abc import Awaitable

import pluggy

hookspec = pluggy.HookspecMarker("itube")


@hookspec
def deliver_confirmation_code(email: str, name: str, code: str) -> Awaitable[None] | None:
    """Send a sign-up confirmation `code` to `email` (by mail, SMS...). Called when
    `[plugins.auth_local] confirmation = "code"`, on sign-up and on a resend. Every
    implementation is called; an awaitable result is awaited."""
