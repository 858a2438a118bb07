"""Both real user-auth providers pass the same contract."""

from __future__ import annotations

import pytest

from tests.auth.contract import UserAuthContract


class TestCognitoProvider(UserAuthContract):
    @pytest.fixture
    def auth(self, cognito_harness):
        return cognito_harness


class TestLocalProvider(UserAuthContract):
    @pytest.fixture
    def auth(self, local_harness):
        return local_harness
