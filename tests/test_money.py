"""Money as people read it and type it: major units, points whole, signs kept."""

from __future__ import annotations

import pytest

from goodword.lib import money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (1050, "USD", "10.50"),
        (5, "USD", "0.05"),
        (-5, "USD", "-0.05"),
        (-1050, "EUR", "-10.50"),
        (1234, "KWD", "1.234"),
        (-1234, "KWD", "-1.234"),
        (1050, "JPY", "1050"),
        (120, "PTS", "120"),
        (-120, "PTS", "-120"),
        (0, "PTS", "0"),
    ],
)
def test_major_reads_minor_units_as_major(amount: int, currency: str, shown: str) -> None:
    assert money.major(amount, currency) == shown


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (1050, "USD", "$10.50"),
        (-300, "EUR", "-€3.00"),
        (1050, "CHF", "10.50 CHF"),
        (1200, "PTS", "1,200 points"),
        (-5, "PTS", "-5 points"),
    ],
)
def test_display_shows_points_without_decimals(amount: int, currency: str, shown: str) -> None:
    assert money.display(amount, currency) == shown


def test_points_are_typed_whole() -> None:
    assert money.decimals("PTS") == 0
    assert money.parse_major("120", "PTS") == 120
    assert money.parse_major("1,200", "PTS") == 1200
    with pytest.raises(ValueError, match="PTS amounts have at most 0 decimal places"):
        money.parse_major("1.5", "PTS")
