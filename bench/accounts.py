"""A signed-in user on a server: a real sign-up and sign-in, and the access cookie."""

from __future__ import annotations

import uuid

import httpx

AUTH = "/api/v1/auth"
PASSWORD = "BenchPass123!"


def access_cookie(base: str) -> str:
    """Register a new account on `base`, sign in, and answer the access cookie's value."""
    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=base, timeout=30) as client:
        client.post(f"{AUTH}/register", json={"name": "Bench User", "email": email,
                                              "password": PASSWORD}).raise_for_status()
        signed_in = client.post(f"{AUTH}/login", json={"email": email, "password": PASSWORD})
        signed_in.raise_for_status()
        cookie = signed_in.cookies.get("access_token")
    if not cookie:
        raise RuntimeError(f"{base}: signing in set no access cookie")
    return cookie
