"""The auth_cognito plugin's own record of the users Cognito knows."""

from __future__ import annotations

from piccolo.columns import Timestamptz, Varchar
from piccolo.table import Table


class CognitoUser(Table, tablename="auth_cognito_users"):
    """One row per Cognito user who registered or signed in through this API."""

    # The user pool's `sub`: the actor id every other plugin sees.
    subject = Varchar(length=64, unique=True)
    email = Varchar(length=254, index=True)
    name = Varchar(length=100, default="")
    created_at = Timestamptz()
