"""The user-session contract of password-based user-auth providers: a provider implements
`SessionProvider`, keeps it in `ctx.state[<name>]` and serves `session_routes(<name>, policy)`."""

from core.sessions.cookies import (
    ACCESS_COOKIE,
    AUTH_PATH,
    REFRESH_COOKIE,
    SessionTokens,
    set_session_cookies,
)
from core.sessions.forms import ConfirmRequest, LoginRequest, RegisterRequest, UserProfile
from core.sessions.policy import AuthRateLimits, PasswordPolicy, SessionPolicy
from core.sessions.provider import CookieAuthenticator, SessionProvider, session_authenticator
from core.sessions.routes import session_routes
from core.sessions.validation import (
    check_confirmation,
    check_login,
    check_registration,
    email_problem,
    name_problem,
    password_problem,
    register_request_class,
)
from core.sessions.verified import VerifiedSessions

__all__ = [
    "ACCESS_COOKIE",
    "AUTH_PATH",
    "REFRESH_COOKIE",
    "AuthRateLimits",
    "ConfirmRequest",
    "CookieAuthenticator",
    "LoginRequest",
    "PasswordPolicy",
    "RegisterRequest",
    "SessionPolicy",
    "SessionProvider",
    "SessionTokens",
    "UserProfile",
    "VerifiedSessions",
    "check_confirmation",
    "check_login",
    "check_registration",
    "email_problem",
    "name_problem",
    "password_problem",
    "register_request_class",
    "session_authenticator",
    "session_routes",
    "set_session_cookies",
]
