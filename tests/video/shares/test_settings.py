"""The share-link settings: values that cannot work stop start-up, each naming its key."""

from __future__ import annotations

import pytest

from plugins.video.config import VideoSettings, settings_problems
from plugins.video.shares import tokens


@pytest.mark.parametrize("values, key", [
    ({"share_max_expires_seconds": 59}, "share_max_expires_seconds"),
    ({"share_max_views": 0}, "share_max_views"),
    ({"share_max_live_per_video": 0}, "share_max_live_per_video"),
    ({"share_rate_limit": "lots"}, "share_rate_limit"),
    ({"share_base_url": "video.example.com"}, "share_base_url"),
    ({"share_base_url": "ftp://video.example.com"}, "share_base_url"),
    ({"share_base_url": "https://video.example.com/?x=1"}, "share_base_url"),
])
def test_a_setting_that_cannot_work_is_named(values, key):
    problems = settings_problems(VideoSettings(**values))
    assert [problem for problem in problems if problem.startswith(f"plugins.video.{key}:")]


def test_the_defaults_and_a_base_url_are_accepted():
    assert settings_problems(VideoSettings()) == []
    assert settings_problems(VideoSettings(share_base_url="https://video.example.com",
                                           share_rate_limit="off")) == []


def test_tokens_are_random_well_formed_and_hashed():
    issued = {tokens.new_token() for _ in range(100)}
    assert len(issued) == 100
    assert all(tokens.is_well_formed(token) for token in issued)
    token = issued.pop()
    assert len(tokens.token_hash(token)) == 64 and token not in tokens.token_hash(token)
    assert tokens.same_hash(tokens.token_hash(token), tokens.token_hash(token))
    assert not tokens.same_hash(tokens.token_hash(token), tokens.token_hash(token[::-1]))
    for bad in ("", token[:-1], token + "A", token[:-1] + "=", token[:-1] + "\n"):
        assert not tokens.is_well_formed(bad)
