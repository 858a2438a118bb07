"""Speed-ups for moto's emulation in a process that provisions hundreds of apps.

moto gives every Cognito user pool the same private key, read from one file, and parses
and checks it again for each pool (an RSA key check: 0.1–0.3 s a pool, most of an app's
start in a test). The key is the same object for every pool here; what a pool signs and
what its JWKS serves are unchanged.
"""

from __future__ import annotations

import functools
import json
import types
from typing import Any


def share_user_pool_key() -> None:
    from joserfc import jwk
    from moto.cognitoidp import models

    @functools.lru_cache(maxsize=4)
    def import_once(document: str) -> Any:
        return jwk.RSAKey.import_key(json.loads(document))

    class RSAKey:
        @staticmethod
        def import_key(value: Any, *args: Any, **kwargs: Any) -> Any:
            if args or kwargs or not isinstance(value, dict):
                return jwk.RSAKey.import_key(value, *args, **kwargs)
            return import_once(json.dumps(value, sort_keys=True))

    models.jwk = types.SimpleNamespace(RSAKey=RSAKey)
