"""The service-auth allow-list: fnmatch patterns, answers remembered within a bound."""

from __future__ import annotations

import pytest

from core.auth import AllowList, AuthenticationFailed

PATTERNS = ["transcoder", "arn:aws:iam::123456789012:role/itube-*"]
CASES = [
    ("transcoder", True),
    ("Transcoder", False),  # case-sensitive, like the ARNs it holds
    ("arn:aws:iam::123456789012:role/itube-transcoder", True),
    ("arn:aws:iam::123456789012:role/other", False),
    ("arn:aws:iam::999999999999:role/itube-transcoder", False),
]


def allowed(allow_list: AllowList, principal: str) -> bool:
    try:
        allow_list.check(principal)
    except AuthenticationFailed as refused:
        assert refused.status == 403
        return False
    return True


@pytest.mark.parametrize(("principal", "expected"), CASES)
def test_each_answer_is_the_same_the_first_time_and_every_time_after(principal, expected):
    allow_list = AllowList(PATTERNS)
    assert [allowed(allow_list, principal) for _ in range(3)] == [expected] * 3


def test_past_the_bound_principals_are_still_checked_but_no_longer_remembered():
    allow_list = AllowList(["keep-*"])
    allow_list.MEMO_SIZE = 4
    principals = [f"keep-{n}" for n in range(3)] + [f"drop-{n}" for n in range(3)]
    answers = [allowed(allow_list, principal) for principal in principals]
    assert answers == [True] * 3 + [False] * 3
    assert len(allow_list._answers) == 4
    assert not allowed(allow_list, "drop-2") and allowed(allow_list, "keep-9")
