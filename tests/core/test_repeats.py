"""`RecentlyAsked` knows a key asked for again, within a fixed table."""

import pytest

from core.repeats import RecentlyAsked


def test_a_key_is_known_when_asked_for_again():
    asked = RecentlyAsked(slots=8)
    assert asked.again(("GET", "/a")) is False
    assert asked.again(("GET", "/a")) is True
    assert asked.again(("GET", "/a")) is True


def test_a_key_is_forgotten_once_another_takes_its_slot():
    asked = RecentlyAsked(slots=1)
    assert asked.again("a") is False
    assert asked.again("b") is False
    assert asked.again("a") is False
    assert asked.again("a") is True


@pytest.mark.parametrize("slots", [0, 3, 1000])
def test_slots_are_a_power_of_two(slots):
    with pytest.raises(ValueError):
        RecentlyAsked(slots=slots)
